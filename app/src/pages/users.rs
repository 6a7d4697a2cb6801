//! The Manage Users tab (admins): search, sort and page through the account's
//! users; add, edit and delete them in dialogs.
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use super::Refused;
use crate::api::users::{
    list_users, AddUser, DeleteUser, ResendInvitation, SendPasswordReset, UpdateUser,
};
use crate::components::form::{field_error, form_error, Field, FormStatus};
use crate::components::modal::{close_on_success, Confirm, Modal, RowDialogs};
use crate::model::{AppError, UserPage, UserRow, UserSort};

#[component]
pub fn UsersTab() -> impl IntoView {
    let search = RwSignal::new(String::new());
    let sort = RwSignal::new(UserSort::Name);
    // The cursors of the pages before this one, for "Previous page".
    let pages = RwSignal::new(Vec::<Option<String>>::new());
    let after = RwSignal::new(None::<String>);

    let add = ServerAction::<AddUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let users = Resource::new(
        move || {
            (
                search.get(),
                sort.get(),
                after.get(),
                add.version().get(),
                update.version().get(),
                delete.version().get(),
            )
        },
        |(search, sort, after, ..)| list_users(Some(search), Some(sort.key().to_string()), after),
    );
    let restart = move || {
        pages.set(Vec::new());
        after.set(None);
    };

    let dialogs = RowDialogs::<UserRow>::new();
    let RowDialogs { adding, editing, edit_open, deleting, delete_open } = dialogs;
    close_on_success(add.value(), adding);
    close_on_success(update.value(), edit_open);
    close_on_success(delete.value(), delete_open);

    let table = move || {
        Suspend::new(async move {
            match users.await {
                Ok(page) => EitherOf3::A(view! {
                    <UserTable page search sort pages after restart=Callback::new(move |_| restart()) dialogs />
                }),
                Err(AppError::Forbidden(why)) => EitherOf3::B(view! { <Refused message=why /> }),
                Err(err) => EitherOf3::C(view! { <p class="alert error">{err.to_string()}</p> }),
            }
        })
    };
    let delete_message = Signal::derive(move || {
        deleting
            .get()
            .map(|u| {
                format!(
                    "Delete {} {} ({})? They can no longer sign in.",
                    u.first_name, u.last_name, u.email
                )
            })
            .unwrap_or_default()
    });
    let delete_error = Signal::derive(move || match delete.value().get() {
        Some(Err(err)) => Some(err.to_string()),
        _ => None,
    });
    view! {
        <section class="panel" aria-labelledby="users-heading">
            <h2 id="users-heading">"Manage Users"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>{table}</Transition>
            <FormStatus error=delete_error />
            <button type="button" class="primary" on:click=move |_| adding.set(true)>"Add User"</button>
        </section>
        <Modal title=Signal::derive(|| "Add User".to_string()) open=adding id="add-user">
            <UserForm add=Some(add) update=None row=None />
        </Modal>
        <Modal title=Signal::derive(|| "Edit User".to_string()) open=edit_open id="edit-user">
            {move || editing.get().map(|row| view! { <UserForm add=None update=Some(update) row=Some(row) /> })}
        </Modal>
        <Confirm
            title=Signal::derive(|| "Delete User".to_string())
            open=delete_open
            id="delete-user"
            message=delete_message
            pending=delete.pending()
            on_yes=Callback::new(move |_| {
                if let Some(row) = deleting.get_untracked() {
                    delete.dispatch(DeleteUser { id: row.id });
                }
            })
        />
    }
}

fn check(on: bool) -> impl IntoView {
    if on {
        Either::Left(view! { <span class="check" aria-label="Yes">"✓"</span> })
    } else {
        Either::Right(view! { <span class="sr-only">"No"</span> })
    }
}

#[allow(clippy::too_many_arguments)]
#[component]
fn UserTable(
    page: UserPage,
    search: RwSignal<String>,
    sort: RwSignal<UserSort>,
    pages: RwSignal<Vec<Option<String>>>,
    after: RwSignal<Option<String>>,
    restart: Callback<()>,
    dialogs: RowDialogs<UserRow>,
) -> impl IntoView {
    if !page.several_users {
        return Either::Left(view! {
            <p>"You are the only user of this account so far. Add your colleagues to work together."</p>
        });
    }
    let next = page.next.clone();
    let has_previous = !pages.get_untracked().is_empty();
    let empty = page.rows.is_empty();
    Either::Right(view! {
        <div class="toolbar">
            <div class="field">
                <label for="user-search">"Search users"</label>
                <input
                    id="user-search"
                    type="search"
                    prop:value=move || search.get()
                    placeholder="Name or email"
                    on:input=move |ev| {
                        search.set(event_target_value(&ev));
                        restart.run(());
                    }
                />
            </div>
            <div class="field">
                <label for="user-sort">"Sort by"</label>
                <select
                    id="user-sort"
                    on:change=move |ev| {
                        sort.set(UserSort::from_key(&event_target_value(&ev)));
                        restart.run(());
                    }
                >
                    {UserSort::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.key() selected=move || sort.get() == s>{s.label()}</option> })
                        .collect_view()}
                </select>
            </div>
        </div>
        {empty.then(|| view! { <p>"No user matches this search."</p> })}
        <table>
            <caption class="sr-only">"Users of this account"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Admin"</th>
                    <th scope="col">"Can Create"</th>
                    <th scope="col">"Can Share"</th>
                    <th scope="col">"2FA"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {page
                    .rows
                    .into_iter()
                    .map(|u| {
                        let name = format!("{} {}", u.first_name, u.last_name);
                        let (for_edit, for_delete) = (u.clone(), u.clone());
                        view! {
                            <tr>
                                <td>{name.clone()}</td>
                                <td>{u.email.clone()}</td>
                                <td>{check(u.is_admin)}</td>
                                <td>{check(u.can_create)}</td>
                                <td>{check(u.can_share)}</td>
                                <td>{check(u.two_factor_enabled)}</td>
                                <td>{if u.invited { "Invited" } else { "Active" }}</td>
                                <td class="actions">
                                    <button type="button" aria-label=format!("Edit {name}") on:click=move |_| dialogs.edit(for_edit.clone())>"Edit"</button>
                                    <button type="button" class="danger" aria-label=format!("Delete {name}") on:click=move |_| dialogs.delete(for_delete.clone())>"Delete"</button>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <nav class="pager" aria-label="Pages of users">
            <button type="button" disabled=!has_previous on:click=move |_| {
                let mut stack = pages.get_untracked();
                after.set(stack.pop().flatten());
                pages.set(stack);
            }>"Previous page"</button>
            <button type="button" disabled=next.is_none() on:click=move |_| {
                if let Some(cursor) = next.clone() {
                    pages.update(|stack| stack.push(after.get_untracked()));
                    after.set(Some(cursor));
                }
            }>"Next page"</button>
        </nav>
    })
}

const USER_FIELDS: &[&str] = &["first_name", "last_name", "email", "is_admin"];

/// The Add User form, or with `row` the Edit User form.
#[component]
fn UserForm(
    add: Option<ServerAction<AddUser>>,
    update: Option<ServerAction<UpdateUser>>,
    row: Option<UserRow>,
) -> impl IntoView {
    let prefix = if row.is_some() { "edit-" } else { "add-" };
    let value = row.clone().unwrap_or(UserRow {
        id: 0,
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        is_admin: false,
        can_create: false,
        can_share: false,
        two_factor_enabled: false,
        invited: true,
    });
    // Both actions answer with a UserRow; the fields read whichever this form uses.
    let result = Signal::derive(move || match (add, update) {
        (Some(add), _) => add.value().get(),
        (_, Some(update)) => update.value().get(),
        _ => None,
    });
    let pending = Signal::derive(move || {
        add.map(|a| a.pending().get()).unwrap_or(false)
            || update.map(|u| u.pending().get()).unwrap_or(false)
    });
    let fields = view! {
        <FormStatus error=form_error(result, USER_FIELDS) />
        <Field label="First Name" name="first_name" form=prefix value=value.first_name.clone() maxlength=100 error=field_error(result, "first_name") />
        <Field label="Last Name" name="last_name" form=prefix value=value.last_name.clone() maxlength=100 error=field_error(result, "last_name") />
        <Field
            label="Email Address"
            name="email"
            form=prefix
            input_type="email"
            value=value.email.clone()
            hint=if row.as_ref().is_some_and(|r| !r.invited) {
                "A new address takes effect when the user confirms it from that address."
            } else {
                "The activation email goes to this address."
            }
            error=field_error(result, "email")
        />
        <fieldset class="field">
            <legend>"Account Admin"</legend>
            <label class="inline"><input type="radio" name="is_admin" value="yes" checked=value.is_admin />" Yes"</label>
            <label class="inline"><input type="radio" name="is_admin" value="no" checked=!value.is_admin />" No"</label>
            <p class="error" aria-live="polite">{move || field_error(result, "is_admin").get()}</p>
        </fieldset>
        <div class="field">
            <label class="inline"><input type="checkbox" name="can_create" value="on" checked=value.can_create />" Can Create"</label>
            <label class="inline"><input type="checkbox" name="can_share" value="on" checked=value.can_share />" Can Share"</label>
        </div>
    };
    match (add, update, row) {
        (_, Some(update), Some(row)) => EitherOf3::A(view! {
            <ActionForm action=update attr:novalidate=true>
                <input type="hidden" name="id" value=row.id />
                {fields}
                <p>"Two-factor authentication: " {if row.two_factor_enabled { "On" } else { "Off" }} " (only the user can change it)"</p>
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || pending.get()>"Update"</button>
                </div>
            </ActionForm>
            <PasswordHelp row />
        }),
        (Some(add), _, _) => EitherOf3::B(view! {
            <ActionForm action=add attr:novalidate=true>
                {fields}
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || pending.get()>"Add"</button>
                </div>
            </ActionForm>
        }),
        _ => EitherOf3::C(()),
    }
}

/// Reset Password for an active user, Resend Invitation for an invited one.
#[component]
fn PasswordHelp(row: UserRow) -> impl IntoView {
    let reset = ServerAction::<SendPasswordReset>::new();
    let resend = ServerAction::<ResendInvitation>::new();
    let id = row.id;
    if row.invited {
        let sent = Signal::derive(move || {
            matches!(resend.value().get(), Some(Ok(())))
                .then(|| "A new activation email is on its way.".to_string())
        });
        Either::Left(view! {
            <div class="actions">
                <FormStatus error=form_error(resend.value(), &[]) success=sent />
                <button type="button" on:click=move |_| { resend.dispatch(ResendInvitation { id }); }>"Resend Invitation"</button>
            </div>
        })
    } else {
        let sent = Signal::derive(move || {
            matches!(reset.value().get(), Some(Ok(())))
                .then(|| "A password reset email is on its way.".to_string())
        });
        Either::Right(view! {
            <div class="actions">
                <FormStatus error=form_error(reset.value(), &[]) success=sent />
                <button type="button" on:click=move |_| { reset.dispatch(SendPasswordReset { id }); }>"Reset Password"</button>
            </div>
        })
    }
}
