//! The Manage Users tab (admins): the account's users.
use leptos::either::Either;
use leptos::prelude::*;

use super::Refused;
use crate::api::users::list_users;
use crate::model::{AppError, UserRow};

#[component]
pub fn UsersTab() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <section class="panel" aria-labelledby="users-heading">
            <h2 id="users-heading">"Manage Users"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(rows) => Either::Left(view! { <UserTable rows /> }),
                        Err(AppError::Forbidden(why)) => Either::Right(Either::Left(view! { <Refused message=why /> })),
                        Err(err) => Either::Right(Either::Right(view! { <p class="alert error">{err.to_string()}</p> })),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn check(on: bool) -> impl IntoView {
    if on {
        Either::Left(view! { <span class="check" aria-label="Yes">"✓"</span> })
    } else {
        Either::Right(view! { <span class="sr-only">"No"</span> })
    }
}

#[component]
fn UserTable(rows: Vec<UserRow>) -> impl IntoView {
    if rows.len() < 2 {
        return Either::Left(view! {
            <p>"You are the only user of this account so far. Adding users is coming to this tab soon."</p>
        });
    }
    Either::Right(view! {
        <table>
            <caption class="sr-only">"Users of this account"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Admin"</th>
                    <th scope="col">"Can Create"</th>
                    <th scope="col">"Can Share"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|u| view! {
                        <tr>
                            <td>{format!("{} {}", u.first_name, u.last_name)}</td>
                            <td>{u.email}</td>
                            <td>{check(u.is_admin)}</td>
                            <td>{check(u.can_create)}</td>
                            <td>{check(u.can_share)}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    })
}
