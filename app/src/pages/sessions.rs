//! The Logged-In Sessions section of the Account tab. It has its own resource
//! (see `my_account` on why one resource is never read by two Suspenses).
use leptos::prelude::*;

use super::account::{Answers, SecurityChanges};
use crate::api::sessions::{list_sessions, EndOtherSessions, EndSession};
use crate::components::action::{form_action, form_error, success_message};
use crate::components::form::FormStatus;
use crate::components::loaded::{server_resource, Loaded};
use crate::components::table::{DataTable, RowActions};
use crate::model::SessionRow;

#[component]
pub fn SessionsSection() -> impl IntoView {
    let end = form_action::<EndSession>();
    let end_others = form_action::<EndOtherSessions>();
    // A password changed elsewhere on the tab signs the other sessions out;
    // a session ended here shows in the tab's security activity.
    let security = SecurityChanges::of_tab();
    security.count_answers(end, Answers::All);
    security.count_answers(end_others, Answers::All);
    let sessions = server_resource(move || security.get(), |_| list_sessions());
    // One outcome at a time: beside the answer to a new try, an earlier
    // "logged out" would read as if it were that answer.
    Effect::new(move |_| {
        if end.input().with(Option::is_some) {
            end_others.value().set(None);
        }
        if end_others.input().with(Option::is_some) {
            end.value().set(None);
        }
    });
    view! {
        <section class="panel" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Logged-In Sessions"</h2>
            <Loaded resource=sessions view=move |rows| {
                // Offered only when there is another session to end.
                let others = rows.iter().any(|row| !row.current);
                view! {
                    <SessionTable rows end />
                    {others.then(|| view! {
                        <div class="actions">
                            <button type="button" disabled=move || end_others.pending().get() aria-busy=move || end_others.pending().get().then_some("true") on:click=move |_| { end_others.dispatch(EndOtherSessions {}); }>"Log Out All Other Sessions"</button>
                        </div>
                    })}
                }
            } />
            <FormStatus
                error=form_error(end.value(), &[])
                success=success_message(end.value(), "The session is logged out.")
            />
            <FormStatus
                error=form_error(end_others.value(), &[])
                success=success_message(end_others.value(), "Every other session is logged out.")
            />
        </section>
    }
}

#[component]
fn SessionTable(rows: Vec<SessionRow>, end: ServerAction<EndSession>) -> impl IntoView {
    let row = move |row: SessionRow| {
        let id = row.id.clone();
        // Several sessions often share a device ("Chrome on Linux"): the
        // address and last use tell a screen reader's user which is which.
        let label = match row.client_address.as_str() {
            "" => format!("Log out {}, last seen {}", row.device, row.last_seen),
            address => format!("Log out {} at {address}, last seen {}", row.device, row.last_seen),
        };
        view! {
            <tr>
                <td>{row.device.clone()} {row.current.then(|| view! { " " <span class="badge">"This session"</span> })}</td>
                <td class="address">{row.client_address.clone()}</td>
                <td class="when">{row.last_seen.clone()}</td>
                <td class="when">{row.started.clone()}</td>
                <RowActions>
                    {(!row.current).then(|| view! {
                        <button type="button" aria-label=label disabled=move || end.pending().get() aria-busy=move || end.pending().get().then_some("true") on:click=move |_| { end.dispatch(EndSession { id: id.clone() }); }>"Log Out"</button>
                    })}
                </RowActions>
            </tr>
        }
    };
    view! {
        <DataTable caption="Where you are logged in" columns=&["Device", "Client Address", "Last Seen", "Logged In"] actions=true rows row />
    }
}
