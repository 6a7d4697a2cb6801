//! The Manage Users tab (admins): search, filter, sort and page through the
//! account's users; add, edit, disable, enable and delete them in dialogs.
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use leptos::server_fn::ServerFn;

use crate::api::users::{
    list_users, AddUser, DeleteUser, DisableUser, EnableUser, ResendInvitation, SendPasswordReset,
    UpdateUser,
};
use crate::components::action::{answers, field_error, form_action, form_error};
use crate::components::address::Query;
use crate::components::form::{DoneNotice, Field, FormStatus};
use crate::components::loaded::{server_resource, Loaded};
use crate::components::modal::{close_on_success, question_id, CancelButton, Modal};
use crate::components::row_dialogs::{ConfirmDelete, EditDialog, RowDialogs};
use crate::components::say;
use crate::components::table::{
    email_parts, mark, DataTable, DeleteButton, EditButton, Pager, RowActions,
};
use crate::model::{
    searchable, AppError, UserPage, UserRow, UserSort, UserState, DISABLED_EMAIL, EMAIL_MAX,
    NAME_MAX, OWN_EMAIL, SEARCH_MAX,
};

use crate::components::signed_in::UserResource;

/// The signed-in user's id as the page loaded it, for what the tab does
/// differently to them; read outside rendering only (in an effect, or in a
/// dialog opened by a click), as one resource read in two `<Suspense>`s
/// hangs renders (see `UserResource`).
fn my_id() -> Option<i32> {
    let UserResource(user) = use_context::<UserResource>()?;
    user.get_untracked()?.ok().map(|me| me.id)
}

/// What the list says when nothing matches.
const NO_MATCH: &str = "No user matches this search and filter.";

#[component]
pub fn UsersTab() -> impl IntoView {
    // The search, filter and sort are in the address, so a reload, a link
    // or Back keeps them.
    let (search, state, sort) = from_address(&Query::now());
    let (search, state, sort) = (RwSignal::new(search), RwSignal::new(state), RwSignal::new(sort));
    // The cursors of the pages before this one, for "Previous page".
    let pages = RwSignal::new(Vec::<Option<String>>::new());
    let after = RwSignal::new(None::<String>);

    let add = form_action::<AddUser>();
    let update = form_action::<UpdateUser>();
    let delete = form_action::<DeleteUser>();
    let switch = StateSwitch::new();
    // Made once: made in the source, a memo would forget its last version.
    let changes = [
        answers(add),
        answers(update),
        answers(delete),
        answers(switch.disable),
        answers(switch.enable),
    ];
    let users = server_resource(
        move || ((search.get(), state.get(), sort.get(), after.get()), changes.map(|c| c.get())),
        |((search, state, sort, after), ..)| {
            let (sort, state) = (sort.key().to_string(), state.key().to_string());
            list_users(Some(search), Some(sort), after, Some(state))
        },
    );
    // Said to a screen reader after each search, filter, page or change,
    // as the table drawn anew is heard by nobody. Not on the first run (the
    // list as the page loaded, which the table says itself); the region is
    // empty as served, so the server's render and the browser's agree.
    let said = RwSignal::new(None::<String>);
    Effect::new(move |seen: Option<()>| {
        let summary = users.with(|page| match page {
            Some(Ok(page)) if !page.several_users => None,
            Some(Ok(page)) if page.rows.is_empty() => Some(NO_MATCH.to_string()),
            Some(Ok(page)) if page.rows.len() == 1 => Some("1 user shown.".to_string()),
            Some(Ok(page)) => Some(format!("{} users shown.", page.rows.len())),
            _ => None,
        });
        if let (Some(()), Some(summary)) = (seen, summary) {
            say(said, summary);
        }
    });
    let restart = move || {
        pages.set(Vec::new());
        after.set(None);
    };
    keep_in_address(search, state, sort, restart);
    // A page past the first left empty (its last user deleted, or disabled
    // under the Active filter) steps back to the page before: it would say
    // that nobody matches while earlier pages hold users.
    Effect::new(move || {
        let emptied = users.with(|page| matches!(page, Some(Ok(page)) if page.rows.is_empty()));
        if emptied && after.get_untracked().is_some() {
            let mut stack = pages.get_untracked();
            after.set(stack.pop().flatten());
            pages.set(stack);
        }
    });

    // Edit opens with the row a save answered when the list has not caught
    // up with that save yet: opened with the list's older row, the form's
    // "was" values would make the server take this admin's own last change
    // for another admin's. `listed_after` is the save the list was last
    // loaded after; the answers are kept apart from the action's value,
    // which a dialog's opening clears and the next answer replaces.
    let listed_after = RwSignal::new(0usize);
    Effect::new(move |_| {
        if users.with(|page| matches!(page, Some(Ok(_)))) {
            listed_after.set(update.version().get_untracked());
        }
    });
    let saved_rows = StoredValue::new(std::collections::HashMap::<i32, (usize, UserRow)>::new());
    Effect::new(move |_| {
        if let Some(Ok(saved)) = update.value().get() {
            let version = update.version().get_untracked();
            saved_rows.update_value(|rows| {
                rows.insert(saved.id, (version, saved));
            });
        }
    });
    let freshest = move |row: UserRow| {
        let listed_after = listed_after.get_untracked();
        saved_rows
            .with_value(|rows| rows.get(&row.id).filter(|(v, _)| *v > listed_after).cloned())
            .map_or(row, |(_, saved)| saved)
    };

    let dialogs = RowDialogs::<UserRow>::new();
    close_on_success(add, dialogs.adding);
    close_on_success(update, dialogs.edit_open);
    let notice = done_notice(add, switch, updated(update));
    // Edited themself: the top bar shows the new name, and an admin who is
    // one no more leaves for the Account tab, the admin tabs gone.
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        let Some(Ok(row)) = update.value().get() else { return };
        if Some(row.id) != my_id() {
            return;
        }
        if let Some(UserResource(user)) = use_context::<UserResource>() {
            user.refetch();
        }
        if !row.is_admin {
            navigate("/account", Default::default());
        }
    });

    // Add User comes with the list: a user who is not an admin, at this
    // tab's address, sees the refusal and nothing to press. It stands above
    // the list, with the notice of what was done: under a page of users and
    // the pager it was out of sight.
    let table = move |page| {
        view! {
            <p><button type="button" class="primary" on:click=move |_| dialogs.adding.set(true)>"Add User"</button></p>
            <UserTable page search state sort pages after restart=Callback::new(move |_| restart()) dialogs switch />
        }
    };
    view! {
        <section class="panel" aria-labelledby="users-heading">
            <h2 id="users-heading">"Manage Users"</h2>
            <DoneNotice done=notice />
            <Loaded resource=users view=table admin_only=true />
            <p class="sr-only" role="status">{move || said.get()}</p>
        </section>
        <Modal title="Add User" open=dialogs.adding id="add-user">
            <UserForm add=Some(add) update=None row=None />
        </Modal>
        <EditDialog title=|row: &UserRow| format!("Edit User: {}", row.full_name()) id="edit-user" dialogs form=move |row: UserRow| view! { <UserForm add=None update=Some(update) row=Some(freshest(row)) /> } />
        <ConfirmDelete
            title="Delete User"
            id="delete-user"
            dialogs
            action=delete
            // What `admin::hand_over` moves, and what ends with the user.
            question=|u: &UserRow| if u.invited {
                // They never logged in: only the invitation ends.
                format!(
                    "Delete {} {} ({})? Their invitation stops working, and anything assigned \
                     to them passes to you.",
                    u.first_name, u.last_name, u.email
                )
            } else {
                format!(
                    "Delete {} {} ({})? They can no longer log in, and their developer keys stop \
                     working. Their applications, JS libraries, phone numbers, certificates and \
                     OAuth tokens pass to you. A number running an application you cannot see \
                     stops running it (the Activity tab says which).",
                    u.first_name, u.last_name, u.email
                )
            }
            input=|u: &UserRow| DeleteUser { id: u.id }
            deleted=|u: &UserRow| format!("{} is deleted. What they owned is yours now.", u.full_name())
            done=notice
        />
        <ConfirmSwitch switch />
    }
}

/// The search, filter and sort as the address gives them; a part left out
/// (or not understood) is the default.
fn from_address(query: &Query) -> (String, UserState, UserSort) {
    (
        query.get("search").map(|s| searchable(&s)).unwrap_or_default(),
        query.get("show").map_or(UserState::All, |k| UserState::from_key(&k)),
        query.get("sort").map_or(UserSort::Name, |k| UserSort::from_key(&k)),
    )
}

/// Keeps the search, filter and sort and the address in step: a change to
/// the list is written there (the defaults left out), and a change of the
/// address sets the list, from its first page.
fn keep_in_address(
    search: RwSignal<String>,
    state: RwSignal<UserState>,
    sort: RwSignal<UserSort>,
    restart: impl Fn() + Copy + 'static,
) {
    let parts = move || {
        let parts = [
            ("search", search.get().trim().to_owned(), String::new()),
            ("show", state.get().key().to_owned(), UserState::All.key().to_owned()),
            ("sort", sort.get().key().to_owned(), UserSort::Name.key().to_owned()),
        ];
        parts
            .into_iter()
            .filter(|(_, value, default)| value != default)
            .map(|(n, v, _)| (n, v))
            .collect()
    };
    let follow = move |query: &Query| {
        let (wanted_search, wanted_state, wanted_sort) = from_address(query);
        // Typed spaces are the user's; the address holds the search trimmed.
        let changed = search.get_untracked().trim() != wanted_search
            || state.get_untracked() != wanted_state
            || sort.get_untracked() != wanted_sort;
        if changed {
            search.set(wanted_search);
            state.set(wanted_state);
            sort.set(wanted_sort);
            restart();
        }
    };
    crate::components::address::keep_in_address(parts, follow);
}

/// What the latest change done in a dialog did, said above the list once
/// the dialog has closed: whom Add User invited and where the email went,
/// whom Disable or Enable switched, whom Edit User saved, or where an
/// address change waits
/// (Delete says whom it removed through [`ConfirmDelete`]).
fn done_notice(
    add: ServerAction<AddUser>,
    switch: StateSwitch,
    updated: Signal<Option<String>>,
) -> RwSignal<Option<String>> {
    let notice = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(u)) = add.value().get() {
            let (name, email) = (u.full_name(), u.email);
            notice.set(Some(format!("{name} is invited: the activation email went to {email}.")));
        }
    });
    Effect::new(move |_| {
        let disabled = switch.disable.value().with(|v| matches!(v, Some(Ok(_))));
        let enabled = switch.enable.value().with(|v| matches!(v, Some(Ok(_))));
        if disabled || enabled {
            let said = switch.row.get_untracked().map(|u| {
                let who = u.full_name();
                // An invitee has never logged in: what changes is whether
                // their invitation can be activated.
                match (disabled, u.invited) {
                    (true, false) => format!("{who} is disabled and logged out everywhere."),
                    (false, false) => format!("{who} is enabled and can log in again."),
                    (true, true) => format!("{who}'s invitation is on hold."),
                    (false, true) => format!(
                        "{who}'s invitation is no longer on hold. If its link has expired, \
                         Resend Invitation sends a new one."
                    ),
                }
            });
            notice.set(said);
        }
    });
    Effect::new(move |_| {
        if let Some(text) = updated.get() {
            notice.set(Some(text));
        }
    });
    // Disable or Enable opening starts another task, as the other dialogs
    // do (`ConfirmDelete`): the notice of an earlier one goes.
    Effect::new(move |was_open: Option<bool>| {
        let open = switch.open.get();
        if open && was_open == Some(false) {
            notice.set(None);
        }
        open
    });
    notice
}

/// After Edit User's Save: that it was saved, or, when it gave an active user
/// a new address, where the confirmation went. The row keeps the old address
/// until the user confirms the new one, which would otherwise look as if the
/// change was lost.
fn updated(update: ServerAction<UpdateUser>) -> Signal<Option<String>> {
    // The input is gone once the answer is in: kept while it runs, with the
    // address the user had when it was sent.
    let asked = RwSignal::new(String::new());
    let had = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(input) = update.input().get() {
            asked.set(input.email.trim().to_lowercase());
            // What the form opened with, which the server compares with:
            // the row the dialog was opened from may be older.
            had.set(input.was_email.trim().to_lowercase());
        }
    });
    // The server saves only the fields the form changed: an address another
    // admin (or the user's confirmation) changed meanwhile sent nothing here.
    let changed = move || asked.with_untracked(|a| had.with_untracked(|h| a != h));
    // Said when the answer arrives: the next Save's input must not pair with
    // the previous answer while it runs.
    Signal::derive(move || {
        match update.value().get() {
        Some(Ok(row))
            if !row.invited && changed() && asked.with_untracked(|a| !a.is_empty() && *a != row.email) =>
        {
            Some(format!(
                "A confirmation link went to {}: {} {}'s address changes when they open it.",
                asked.get_untracked(),
                row.first_name,
                row.last_name
            ))
        }
        // An invitee's address changes at once, and the invitation with
        // it (the earlier link stops working): say where it went.
        Some(Ok(row)) if row.invited && changed() && had.with_untracked(|had| !had.is_empty() && *had != row.email) => {
            Some(format!(
                "{} is saved: a new activation email went to {}, and the earlier link no longer works.",
                row.full_name(),
                row.email
            ))
        }
        Some(Ok(row)) => Some(format!("{} is saved.", row.full_name())),
        _ => None,
    }
    })
}

/// The Disable / Enable dialog: which row it is about, and the two actions.
#[derive(Clone, Copy)]
struct StateSwitch {
    row: RwSignal<Option<UserRow>>,
    open: RwSignal<bool>,
    disable: ServerAction<DisableUser>,
    enable: ServerAction<EnableUser>,
}

impl StateSwitch {
    fn new() -> Self {
        StateSwitch {
            row: RwSignal::new(None),
            open: RwSignal::new(false),
            disable: form_action(),
            enable: form_action(),
        }
    }

    /// Opens the dialog about `row`, without an earlier answer in it.
    fn ask(&self, row: UserRow) {
        self.disable.value().set(None);
        self.enable.value().set(None);
        self.row.set(Some(row));
        self.open.set(true);
    }
}

/// Asks before disabling (or enabling) a user; a refusal is shown in the
/// dialog, which closes once the change is made.
#[component]
fn ConfirmSwitch(switch: StateSwitch) -> impl IntoView {
    close_on_success(switch.disable, switch.open);
    close_on_success(switch.enable, switch.open);
    let disabling = move || switch.row.with(|r| r.as_ref().is_some_and(|r| !r.disabled));
    let title = Signal::derive(move || {
        String::from(if disabling() { "Disable User" } else { "Enable User" })
    });
    let question = move || {
        switch.row.with(|row| {
            row.as_ref().map(|u| {
                let who = format!("{} {} ({})", u.first_name, u.last_name, u.email);
                match (u.disabled, u.invited) {
                    (true, false) => format!(
                        "Enable {who}? They can log in again; their old sessions stay ended."
                    ),
                    (false, false) => format!(
                        "Disable {who}? They are logged out everywhere at once, cannot log in, \
                         and their developer keys stop working. Everything they own stays."
                    ),
                    (true, true) => format!(
                        "Enable {who}? Their invitation can be activated again while its link \
                         lasts."
                    ),
                    (false, true) => format!(
                        "Disable {who}? Their invitation is put on hold: its link cannot be \
                         activated until you enable them. Anything assigned to them stays."
                    ),
                }
            })
        })
    };
    let (disable_error, enable_error) =
        (form_error(switch.disable.value(), &[]), form_error(switch.enable.value(), &[]));
    let error =
        Signal::derive(move || if disabling() { disable_error.get() } else { enable_error.get() });
    let pending = move || switch.disable.pending().get() || switch.enable.pending().get();
    let yes = move |_| {
        if let Some(row) = switch.row.get_untracked() {
            if row.disabled {
                switch.enable.dispatch(EnableUser { id: row.id });
            } else {
                switch.disable.dispatch(DisableUser { id: row.id });
            }
        }
    };
    view! {
        <Modal title open=switch.open id="switch-user" asks=true>
            <p id=question_id("switch-user")>{question}</p>
            <FormStatus error />
            <div class="actions">
                // Enabling gives access back: no danger in it.
                <button
                    type="button"
                    class=move || if disabling() { "danger" } else { "primary" }
                    disabled=pending
                    on:click=yes
                >
                    "Yes"
                </button>
                <button type="button" autofocus on:click=move |_| switch.open.set(false)>"Cancel"</button>
            </div>
        </Modal>
    }
}

/// The Status cell: Disabled (and Invited, for an invitation on hold),
/// Invited (and whether its link expired, so an admin does not wait on an
/// invitation nobody can accept) or Active.
fn status(u: &UserRow) -> impl IntoView {
    if u.disabled {
        let invited = u.invited.then_some(" · Invited");
        Either::Left(view! { <span class="badge disabled">"Disabled"</span>{invited} })
    } else {
        Either::Right(match (u.invited, u.invitation_expired) {
            (true, true) => "Invited · link expired",
            (true, false) => "Invited",
            _ => "Active",
        })
    }
}

fn check(on: bool) -> impl IntoView {
    mark(on, "Yes", "No")
}

#[allow(clippy::too_many_arguments)]
#[component]
fn UserTable(
    page: UserPage,
    search: RwSignal<String>,
    state: RwSignal<UserState>,
    sort: RwSignal<UserSort>,
    pages: RwSignal<Vec<Option<String>>>,
    after: RwSignal<Option<String>>,
    restart: Callback<()>,
    dialogs: RowDialogs<UserRow>,
    switch: StateSwitch,
) -> impl IntoView {
    if !page.several_users {
        return Either::Left(view! {
            <p>"You are the only user of this account so far. Add your colleagues to work together."</p>
        });
    }
    let next = page.next.clone();
    let own_id = page.own_id;
    Either::Right(view! {
        <div class="toolbar">
            <div class="field">
                <label for="user-search">"Search Users"</label>
                <input
                    id="user-search"
                    type="search"
                    // The attribute for the server's render (a search from
                    // the address), the property for what is typed after.
                    value=search.get_untracked()
                    prop:value=move || search.get()
                    placeholder="Name or email"
                    maxlength=SEARCH_MAX
                    on:input=move |ev| {
                        search.set(searchable(&event_target_value(&ev)));
                        restart.run(());
                    }
                />
            </div>
            <ToolbarSelect
                id="user-state"
                label="Show"
                value=state
                choices=&UserState::ALL
                key_of=UserState::key
                label_of=UserState::label
                from_key=UserState::from_key
                restart
            />
            <ToolbarSelect
                id="user-sort"
                label="Sort By"
                value=sort
                choices=&UserSort::ALL
                key_of=UserSort::key
                label_of=UserSort::label
                from_key=UserSort::from_key
                restart
            />
        </div>
        <DataTable
            caption="Users of this account"
            empty=NO_MATCH
            columns=&["Name", "Email", "Admin", "Can Create", "Can Share", "2FA", "Status"]
            actions=true
            rows=page.rows
            row=move |u: UserRow| {
                let name = u.full_name();
                let own = u.id == own_id;
                view! {
                    <tr>
                        <td>
                            {name.clone()} {own.then_some(" (you)")}
                            // On a phone the Status column lies off screen,
                            // behind the row's buttons: a user who cannot
                            // log in is marked where the eye is.
                            {(u.disabled || u.invited).then(|| {
                                let (class, text) = match (u.disabled, u.invited) {
                                    (true, true) => ("badge disabled", "Disabled · Invited"),
                                    (true, false) => ("badge disabled", "Disabled"),
                                    _ if u.invitation_expired => ("badge", "Invited · link expired"),
                                    _ => ("badge", "Invited"),
                                };
                                view! { <span class=format!("{class} phone-only") aria-hidden="true">{text}</span> }
                            })}
                        </td>
                        <td class="email">
                            {email_parts(u.email.clone())}
                            {u.pending_email.clone().map(|to| view! {
                                <span class="pending-email">"Changing to " {email_parts(to)}</span>
                            })}
                        </td>
                        <td>{check(u.is_admin)}</td>
                        <td>{check(u.can_create)}</td>
                        <td>{check(u.can_share)}</td>
                        <td>{check(u.two_factor_enabled)}</td>
                        <td>{status(&u)}</td>
                        <RowActions>
                            <EditButton dialogs row=u.clone() name=name.clone() />
                            // Nobody disables or deletes themself: another admin can.
                            {(!own).then(|| view! {
                                <SwitchButton switch row=u.clone() name=name.clone() />
                                <DeleteButton dialogs row=u name />
                            })}
                        </RowActions>
                    </tr>
                }
            }
        />
        <Pager label="Pages of users" pages cursor=after next />
    })
}

/// One of the toolbar's selects (which users to show, how to sort them); a
/// change starts again from the first page.
#[allow(clippy::too_many_arguments)]
#[component]
fn ToolbarSelect<T>(
    id: &'static str,
    label: &'static str,
    value: RwSignal<T>,
    choices: &'static [T],
    key_of: fn(T) -> &'static str,
    label_of: fn(T) -> &'static str,
    from_key: fn(&str) -> T,
    restart: Callback<()>,
) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    let options = choices.iter().map(move |&choice| {
        view! { <option value=key_of(choice) selected=move || value.get() == choice>{label_of(choice)}</option> }
    });
    view! {
        <div class="field">
            <label for=id>{label}</label>
            // `selected` for the server's render, the property for a change
            // of the address (Back) after a choice was picked.
            <select
                id=id
                prop:value=move || key_of(value.get())
                on:change=move |ev| {
                    value.set(from_key(&event_target_value(&ev)));
                    restart.run(());
                }
            >
                {options.collect_view()}
            </select>
        </div>
    }
}

/// Opens the Disable (or, for a disabled user, Enable) dialog about `row`;
/// its accessible name is "Disable {name}" or "Enable {name}".
#[component]
fn SwitchButton(switch: StateSwitch, row: UserRow, name: String) -> impl IntoView {
    let label = if row.disabled { "Enable" } else { "Disable" };
    view! {
        <button type="button" aria-label=format!("{label} {name}") on:click=move |_| switch.ask(row.clone())>
            {label}
        </button>
    }
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
    let yourself = row.as_ref().is_some_and(|r| Some(r.id) == my_id());
    let demoting_yourself = yourself && row.as_ref().is_some_and(|r| r.is_admin);
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
        invitation_expired: false,
        disabled: false,
        pending_email: None,
    });
    // Both actions answer with a UserRow; the fields read whichever this form uses.
    let result = Signal::derive(move || match (add, update) {
        (Some(add), _) => add.value().get(),
        (_, Some(update)) => update.value().get(),
        _ => None,
    });
    let admin_error = field_error(result, "is_admin");
    let admin_invalid = move || admin_error.get().map(|_| "true");
    let pending = Signal::derive(move || {
        add.map(|a| a.pending().get()).unwrap_or(false)
            || update.map(|u| u.pending().get()).unwrap_or(false)
    });
    let fields = view! {
        <FormStatus error=form_error(result, USER_FIELDS) />
        <Field label="First Name" name="first_name" form=prefix value=value.first_name.clone() maxlength=NAME_MAX error=field_error(result, "first_name") />
        <Field label="Last Name" name="last_name" form=prefix value=value.last_name.clone() maxlength=NAME_MAX error=field_error(result, "last_name") />
        <Field
            label="Email Address"
            name="email"
            form=prefix
            input_type="email"
            maxlength=EMAIL_MAX
            value=value.email.clone()
            // One's own address changes on the Account tab, which asks for
            // the password; a disabled user's not at all, since no link goes
            // to them (the server refuses both here).
            readonly=yourself || value.disabled
            hint=if yourself {
                OWN_EMAIL
            } else if value.disabled {
                DISABLED_EMAIL
            } else if row.as_ref().is_some_and(|r| !r.invited) {
                "A new address takes effect when the user confirms it from that address."
            } else {
                "The activation email goes to this address."
            }
            also_described_by=value.pending_email.is_some().then(|| format!("{prefix}pending-email"))
            error=field_error(result, "email")
        />
        {value.pending_email.clone().map(|to| view! {
            <p class="pending-email" id=format!("{prefix}pending-email")>
                "Waiting for confirmation from " <strong>{to}</strong>
                {if value.disabled {
                    ": the address changes once the user is enabled again and opens the link sent there, while it lasts."
                } else {
                    ": the address changes when the user opens the link sent there."
                }}
                {(!value.disabled && !yourself).then_some(" A new address here replaces that change.")}
            </p>
        })}
        <fieldset class="field" class:invalid=move || admin_error.get().is_some() aria-describedby=format!("{prefix}is-admin-error")>
            <legend>"Account Admin"</legend>
            // Marked as the other fields are, so a refusal (the last admin
            // saying No) is drawn and focused where it is.
            <label class="inline"><input type="radio" name="is_admin" value="yes" checked=value.is_admin aria-invalid=admin_invalid />" Yes"</label>
            <label class="inline"><input type="radio" name="is_admin" value="no" checked=!value.is_admin aria-invalid=admin_invalid />" No"</label>
            {demoting_yourself.then(|| view! {
                <p class="hint">"This is you: with No, the admin tabs close for you once you save, until another admin makes you one again."</p>
            })}
            <p class="error" id=format!("{prefix}is-admin-error") aria-live="polite">{move || admin_error.get()}</p>
        </fieldset>
        <fieldset class="field" aria-describedby=format!("{prefix}permissions-hint")>
            <legend>"Permissions"</legend>
            <label class="inline"><input type="checkbox" name="can_create" value="on" checked=value.can_create />" Can Create"</label>
            <label class="inline"><input type="checkbox" name="can_share" value="on" checked=value.can_share />" Can Share"</label>
            <p class="hint" id=format!("{prefix}permissions-hint")>
                "Can Create: create applications. Can Share: share their applications with \
                 users of this account. With neither, a user still sees the applications \
                 shared with them and deploys the phone numbers they own."
            </p>
        </fieldset>
    };
    match (add, update, row) {
        (_, Some(update), Some(row)) => {
            let opened_with = opened_with(&row);
            EitherOf3::A(view! {
                <ActionForm action=update attr:novalidate=true>
                    <input type="hidden" name="id" value=row.id />
                    {opened_with}
                    {fields}
                    <p>"Two-factor authentication: " {if row.two_factor_enabled { "On" } else { "Off" }} " (only the user can change it)"</p>
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || pending.get() aria-busy=move || pending.get().then_some("true")>"Update"</button>
                        <CancelButton />
                    </div>
                </ActionForm>
                <PasswordHelp row />
            })
        }
        (Some(add), _, _) => EitherOf3::B(view! {
            <ActionForm action=add attr:novalidate=true>
                {fields}
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || pending.get() aria-busy=move || pending.get().then_some("true")>"Add"</button>
                    <CancelButton />
                </div>
            </ActionForm>
        }),
        _ => EitherOf3::C(()),
    }
}

/// What Edit User opened with, sent with the form: the server saves only
/// what the admin changed, and refuses a field another admin changed too.
fn opened_with(row: &UserRow) -> impl IntoView {
    let on = |ticked: bool| if ticked { "on" } else { "off" };
    view! {
        <input type="hidden" name="was" value="yes" />
        <input type="hidden" name="was_first_name" value=row.first_name.clone() />
        <input type="hidden" name="was_last_name" value=row.last_name.clone() />
        <input type="hidden" name="was_email" value=row.email.clone() />
        <input type="hidden" name="was_is_admin" value=if row.is_admin { "yes" } else { "no" } />
        <input type="hidden" name="was_can_create" value=on(row.can_create) />
        <input type="hidden" name="was_can_share" value=on(row.can_share) />
        <input type="hidden" name="was_pending_email" value=row.pending_email.clone().unwrap_or_default() />
    }
}

/// Reset Password for an active user, Resend Invitation for an invited one;
/// neither for a disabled one.
#[component]
fn PasswordHelp(row: UserRow) -> impl IntoView {
    let id = row.id;
    // Named, so the admin sees where it went before they close the dialog.
    if row.disabled {
        // The server refuses either email to a disabled user every time:
        // said, not offered.
        EitherOf3::A(view! {
            <p class="hint">"This user is disabled. Enable them first; then they can get a link by email."</p>
        })
    } else if row.invited {
        let action = form_action::<ResendInvitation>();
        let sent = format!("A new activation email is on its way to {}.", row.email);
        let input = ResendInvitation { id };
        let expired = row.invitation_expired.then(|| view! {
            <p class="hint">"Their invitation link has expired: resend it so they can activate their account."</p>
        });
        EitherOf3::B(view! { {expired} <MailButton action input label="Resend Invitation" sent /> })
    } else {
        let action = form_action::<SendPasswordReset>();
        let sent = format!("A password reset email is on its way to {}.", row.email);
        let input = SendPasswordReset { id };
        EitherOf3::C(view! { <MailButton action input label="Reset Password" sent /> })
    }
}

/// A button that has the server send the user an email, and the outcome.
#[component]
fn MailButton<S>(
    action: ServerAction<S>,
    input: S,
    label: &'static str,
    sent: String,
) -> impl IntoView
where
    S: ServerFn<Output = (), Error = AppError> + Clone + Send + Sync + 'static,
{
    let done =
        Signal::derive(move || matches!(action.value().get(), Some(Ok(()))).then(|| sent.clone()));
    view! {
        // The button above what it says: side by side, "A password reset
        // email is on its way…" squeezed the button to two lines.
        <div class="mail-button">
            <button type="button" disabled=move || action.pending().get() aria-busy=move || action.pending().get().then_some("true") on:click=move |_| { action.dispatch(input.clone()); }>{label}</button>
            <FormStatus error=form_error(action.value(), &[]) success=done />
        </div>
    }
}
