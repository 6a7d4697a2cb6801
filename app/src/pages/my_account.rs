//! The My Account page: the top bar, the tab bar, and the current tab.
use leptos::either::Either;
use leptos::prelude::*;

use leptos::server_fn::ServerFn;
use leptos_router::components::{Outlet, Redirect};
use leptos_router::hooks::use_location;

use crate::api::log_in::LogOut;
use crate::components::address::{here, log_in_url};
use crate::components::loaded::{loading, past_dry_runs};
use crate::components::signed_in::{signed_in_user_resource, UserResource};
use crate::components::tabs::{Tab, TabBar};
use crate::model::{AppError, UNVERIFIED_LIMITS};

#[component]
pub fn MyAccountPage() -> impl IntoView {
    let user = signed_in_user_resource();
    provide_context(UserResource(user));
    provide_context(super::phone_numbers::UnsavedOwners::new());
    let location = use_location();
    let main = NodeRef::<leptos::html::Main>::new();
    // The tab opened by a link, after the first (which the page's load
    // says): "Phone Numbers tab".
    let opened = RwSignal::new(String::new());
    Effect::new(move |first: Option<()>| {
        let path = location.pathname.get();
        let path = path.trim_end_matches('/');
        if first.is_some() {
            if let Some(tab) = Tab::ALL.into_iter().find(|tab| tab.path() == path) {
                opened.set(format!("{} tab", tab.label()));
            }
        }
    });

    // The tab content (<Outlet/>) sits beside this Transition, not inside it:
    // nested suspending routes are a known hydration trap (leptos #3726).
    let chrome = move || {
        Suspend::new(async move {
            past_dry_runs().await;
            match user.await {
                Ok(me) => Either::Left(view! {
                    <header class="topbar">
                        <span class="brand">"Voice Console"</span>
                        <span class="who">
                            <span class="name">{me.full_name()}</span>
                            <span class="company">{me.company_name.clone()}</span>
                        </span>
                        // A plain form, not an action: the log-in page it
                        // lands on is loaded afresh, as plain HTML, and the
                        // app's memory of this user goes with the page.
                        <form method="post" action=LogOut::PATH class="logout">
                            <button type="submit">"Log Out"</button>
                        </form>
                    </header>
                    <h1>"My Account"</h1>
                    <TabBar is_admin=me.is_admin />
                    // Every tab says it before an action is refused for it;
                    // the Account tab has its own notice, with the resend button.
                    {(!me.email_verified).then(|| view! {
                        <Show when=move || location.pathname.get() != "/account">
                            <div class="panel notice" role="note">
                                <p>
                                    "Your email address is not verified yet: open the link we sent you. "
                                    {UNVERIFIED_LIMITS} " "
                                    <a href="/account">"Send a new link from the Account tab."</a>
                                </p>
                            </div>
                        </Show>
                    })}
                }),
                Err(AppError::Unauthenticated) => {
                    Either::Right(Either::Left(view! { <Redirect path=log_in_url(&here()) /> }))
                }
                Err(err) => Either::Right(Either::Right(view! {
                    <p class="alert error">{err.to_string()}</p>
                })),
            }
        })
    };

    view! {
        <div class="console">
            // Past the top bar and the ten tabs, for keyboard users. The
            // router takes over same-origin links, so the focus is moved here.
            <a class="skip-link" href="#main" on:click=move |ev| {
                ev.prevent_default();
                if let Some(main) = main.get() {
                    let _ = main.focus();
                }
            }>"Skip to content"</a>
            // A Transition: when the user is loaded again (a saved name),
            // the top bar and the tabs stay until it has come, instead of
            // giving way to "Loading…" and back.
            <Transition fallback=loading>{chrome}</Transition>
            // On a wide screen the tabs float at the left of what follows
            // them (the stylesheet): in the chrome's Transition, as the user
            // resource is read in one Suspense only (see `UserResource`).
            // The router swaps a tab's content in place, the focus staying
            // on its link: said, or a screen reader user hears nothing change.
            <p class="sr-only" role="status">{move || opened.get()}</p>
            <main id="main" tabindex="-1" node_ref=main>
                <Outlet />
            </main>
        </div>
    }
}
