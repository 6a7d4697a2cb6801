//! Tabs whose feature has not been built yet say so plainly. Admin tabs are
//! still refused to non-admins, so the URL does not reveal them either.
use leptos::either::Either;
use leptos::prelude::*;

use super::my_account::signed_in_user_resource;
use super::Refused;
use crate::components::tabs::Tab;

#[component]
pub fn NotBuilt(tab: Tab) -> impl IntoView {
    let user = signed_in_user_resource();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(me) if tab.admin_only() && !me.is_admin => Either::Left(view! {
                        <Refused message="Only an account admin can see this page.".into() />
                    }),
                    Ok(_) => Either::Right(Some(view! {
                        <section class="panel">
                            <h2>{tab.label()}</h2>
                            <p class="not-built">
                                "This tab is not available yet: the " {tab.label()}
                                " feature is still being built."
                            </p>
                        </section>
                    })),
                    Err(_) => Either::Right(None),
                }
            })}
        </Suspense>
    }
}
