//! Manage Users: the admin's table of the account's users, and what an
//! admin does to them: invite (the invitation itself is `invitations`),
//! edit, reset a password, disable and enable, delete. The rules that keep
//! an account safe live here: emails are unique
//! system-wide, the last active admin can be neither demoted, disabled nor
//! deleted (also when two admins act at the same moment; a disabled admin
//! does not count), nobody disables or deletes themself, and another
//! account's user is "not found". The admin never sets or sees a password;
//! 2FA is the user's own business.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QuerySelect, Set,
};

use super::hand_over::hand_over;
use super::invitations::{self, send_invitation, spend_invitation, Inviter, TARGET_DISABLED};
use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Admin;
use crate::domain::core::directory;
use crate::domain::core::edits::{self, Edit};
use crate::domain::core::people::{
    self, count_address_lookup, email_conflict, email_taken, NewUser, EMAIL_TAKEN,
};
use crate::domain::core::quota::Who;
use crate::domain::core::scope::{lock_account_as, Scoped};
use crate::domain::core::tokens;
use crate::domain::core::validation::{self, Errors, PersonFields};
use crate::domain::core::Domain;
use crate::domain::entity::user;
use crate::domain::identity::email_links;
use crate::domain::identity::sessions::end_sign_ins;
use crate::model::{ActivityKind, AppError, UserPage, UserRow, UserSort, UserState};

pub const LAST_ADMIN: &str = "An account needs at least one admin who has activated: make \
     another active user an admin first.";
pub const NOT_YOURSELF: &str = "You cannot delete your own user; another admin can.";
pub const LAST_VERIFIED: &str = "This is the only user of the account whose email address is \
     verified, and an account without one is removed once a week has passed since its sign-up: \
     verify your own address first (the Account tab), then delete them.";
pub const LAST_ACTIVE_ADMIN: &str = "An account needs at least one active admin: make another \
     user an admin (or enable a disabled one) first.";
pub const NOT_YOURSELF_DISABLE: &str =
    "You cannot disable your own user: you would lock yourself out. Another admin can.";
pub use crate::model::OWN_EMAIL;

/// The Add User and Edit User forms.
#[derive(Clone, Debug, Default)]
pub struct UserForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
    pub can_create: bool,
    pub can_share: bool,
    /// The address a change of this user's waited on when Edit User opened
    /// (empty: none). Read from what the form opened with only: a pending
    /// change is replaced by a new address only when the form showed it.
    pub pending_email: String,
}

/// Said when a change of address was asked for (by another admin, or by
/// the user) since Edit User opened: the form's new one would replace it.
pub fn address_asked_meanwhile(waiting: &str) -> String {
    format!(
        "A change of this user's address to {waiting} was asked for since you opened this \
         form. Reload the page to see it, then make yours."
    )
}

/// Edit User as sent: the form and the values it opened with.
pub type UserEdit = Edit<UserForm>;

fn check(form: &UserForm) -> (Errors, PersonFields) {
    validation::person_fields(&form.first_name, &form.last_name, &form.email)
}

async fn find_in_account(
    conn: &impl ConnectionTrait,
    admin: &Admin,
    id: i32,
) -> Result<user::Model, AppError> {
    Scoped::of(admin.member())
        .users()
        .filter(user::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// The account's admins other than `except` who can act for it: what the
/// last-admin rules count. A disabled admin cannot, nor can an invited one
/// until they activate: their link may never be opened (a mistyped address),
/// and when it expires the invitation is removed, leaving no admin at all.
async fn other_admins(
    txn: &DatabaseTransaction,
    admin: &Admin,
    except: i32,
) -> Result<u64, AppError> {
    Ok(people::active_admins_but(&Scoped::of(admin.member()), except).count(txn).await?)
}

/// Add User: the user appears as invited and gets an activation link.
pub async fn invite(d: &Domain, admin: &Admin, form: UserForm) -> Result<UserRow, AppError> {
    let (mut errors, checked) = check(&form);
    if !checked.email.is_empty() {
        // Only a verified admin invites, and the invitation form tells an
        // unverified sign-up nothing about which addresses have an account.
        admin.member().verified(&d.db).await?;
        count_address_lookup(d, admin.member()).await?;
        if email_taken(&d.db, &checked.email).await? {
            errors.add("email", EMAIL_TAKEN);
        }
    }
    errors.into_result()?;
    let now = d.clock.now();
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.begin().await?;
    lock_account_as(&txn, admin).await?;
    admin.member().verified(&txn).await?;
    if let Some(refusal) = people::declined(d, &txn, admin.account_id(), &checked.email).await? {
        return Err(AppError::field("email", refusal));
    }
    let user = NewUser {
        account_id: admin.account_id(),
        email: checked.email,
        first_name: checked.first_name,
        last_name: checked.last_name,
        password_hash: None,
        is_admin: form.is_admin,
        can_create: form.can_create,
        can_share: form.can_share,
        email_verified_at: None,
    }
    .insert(&txn, now)
    .await?;
    spend_invitation(d, &txn, admin, &user.email).await?;
    send_invitation(d, &txn, &user, Inviter::Admin(admin), false).await?;
    let event = Event::new(ActivityKind::UserInvited, &user.email).detail(roles(&user));
    activity::record(d, &txn, by, event).await?;
    txn.commit().await?;
    Ok(user_row(user))
}

/// Sends an invited user a fresh activation link (the old one stops working).
pub async fn resend_invitation(d: &Domain, admin: &Admin, id: i32) -> Result<(), AppError> {
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.begin().await?;
    lock_account_as(&txn, admin).await?;
    let user = find_in_account(&txn, admin, id).await?;
    if user.status == user::INVITED {
        // Another spelling of this mailbox may have declined since this
        // invitation was sent.
        if let Some(refusal) = people::declined(d, &txn, admin.account_id(), &user.email).await? {
            return Err(AppError::Conflict(refusal));
        }
        spend_invitation(d, &txn, admin, &user.email).await?;
    }
    send_invitation(d, &txn, &user, Inviter::Admin(admin), true).await?;
    let event = Event::new(ActivityKind::InvitationResent, &user.email);
    activity::record(d, &txn, by, event).await?;
    txn.commit().await.map_err(Into::into)
}

/// Why no admin may change `target`'s address, whatever the address.
fn email_refusal(admin: &Admin, target: &user::Model) -> Option<&'static str> {
    if target.id == admin.member().user_id() {
        // The Account tab asks for the password first; a stolen session
        // must not move the admin's own address without it.
        Some(OWN_EMAIL)
    } else if target.disabled_at.is_some() {
        // No link goes to a disabled user, an invitation's or an address
        // change's: its page would refuse them.
        Some(TARGET_DISABLED)
    } else {
        None
    }
}

/// Edit User: only the fields the form changed are saved (see [`edits`]).
/// An active user's new email takes effect when confirmed from the new
/// address; an invited user's invitation goes to the new address at once.
pub async fn update(
    d: &Domain,
    admin: &Admin,
    id: i32,
    edit: impl Into<UserEdit>,
) -> Result<UserRow, AppError> {
    let Edit { form, was } = edit.into();
    let (mut errors, mut checked) = check(&form);
    // What the form opened with, checked as the form is (see
    // `edits::as_opened`).
    let was = was.map(|shown| {
        let (refused, checked) = check(&shown);
        let opened =
            |field, checked, shown: &String| edits::as_opened(&refused, field, checked, shown);
        let checked = PersonFields {
            first_name: opened("first_name", checked.first_name, &shown.first_name),
            last_name: opened("last_name", checked.last_name, &shown.last_name),
            email: opened("email", checked.email, &shown.email),
        };
        (checked, shown)
    });
    let was = was.as_ref();
    // A new address is counted before the transaction, so that a refusal
    // (the address taken) does not roll its count back. An address the form
    // left as it opened is none, whatever the user's is now.
    let current = find_in_account(&d.db, admin, id).await?;
    // An address stored under older rules (`.ann@`, before the mailer's own
    // check) is kept as it is while the form leaves it so: refused, it
    // would block every other edit of the user.
    let refused_email = if validation::normalize_email(&form.email) == current.email {
        errors.take("email")
    } else {
        None
    };
    if refused_email.is_some() {
        checked.email = current.email.clone();
    }
    // A form refused for what it holds is refused before anything is
    // counted; conflicts with another admin's save are found under the lock.
    std::mem::take(&mut errors).into_result()?;
    // A save of what is there already (a double submit, the same edit made
    // in two windows), or of the form as it opened (Save pressed with
    // nothing edited, whatever another admin changed since: the merge would
    // keep theirs), is neither written, counted nor logged.
    let names = (&checked.first_name, &checked.last_name, &checked.email);
    let flags = (form.is_admin, form.can_create, form.can_share);
    let as_stored = names == (&current.first_name, &current.last_name, &current.email)
        && flags == (current.is_admin, current.can_create, current.can_share);
    let as_opened = was.is_some_and(|(w, shown)| {
        names == (&w.first_name, &w.last_name, &w.email)
            && flags == (shown.is_admin, shown.can_create, shown.can_share)
    });
    if as_stored || as_opened {
        // Only to an admin still: a demoted one is refused, not answered.
        admin.recheck(&d.db).await?;
        return user_row_now(d, &d.db, current).await;
    }
    let email_edited = was.is_none_or(|(w, _)| w.email != checked.email);
    if email_edited && !checked.email.is_empty() && checked.email != current.email {
        // Refused before anything is counted, as the lock refuses them (it
        // checks again, should the user be disabled meanwhile); only to an
        // admin still.
        if let Some(refusal) = email_refusal(admin, &current) {
            admin.recheck(&d.db).await?;
            return Err(AppError::field("email", refusal));
        }
        // As for an invitation: checked before anything is counted.
        admin.member().verified(&d.db).await?;
        if current.status != user::INVITED {
            email_links::refuse_email_change_spent(d, admin.member(), &checked.email).await?;
        }
        count_address_lookup(d, admin.member()).await?;
    }
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.begin().await?;
    lock_account_as(&txn, admin).await?;
    let target = find_in_account(&txn, admin, id).await?;
    let first_name = edits::merged(
        &mut errors,
        ("first_name", "First Name"),
        checked.first_name,
        was.map(|(w, _)| &w.first_name),
        &target.first_name,
    );
    let last_name = edits::merged(
        &mut errors,
        ("last_name", "Last Name"),
        checked.last_name,
        was.map(|(w, _)| &w.last_name),
        &target.last_name,
    );
    let email = edits::merged(
        &mut errors,
        ("email", "Email Address"),
        checked.email,
        was.map(|(w, _)| &w.email),
        &target.email,
    );
    // Two values only: a flag changed here and by another admin has the
    // same value, so a flag is never refused, only left as it is now.
    let mut flag = |names, get: fn(&UserForm) -> bool, now: bool| {
        edits::merged(&mut errors, names, get(&form), was.map(|(_, w)| get(w)).as_ref(), &now)
    };
    let is_admin = flag(("is_admin", "Account Admin"), |f| f.is_admin, target.is_admin);
    let can_create = flag(("can_create", "Can Create"), |f| f.can_create, target.can_create);
    let can_share = flag(("can_share", "Can Share"), |f| f.can_share, target.can_share);
    let email_changes = !email.is_empty() && email != target.email;
    if let (true, Some(refused)) = (email_changes, &refused_email) {
        // Kept only as the stored address: changed by another admin since it
        // was read, it would be written back unchecked.
        errors.add("email", refused.clone());
    }
    let refusal = email_changes.then(|| email_refusal(admin, &target)).flatten();
    if let Some(refusal) = refusal {
        errors.add("email", refusal);
    } else if email_changes {
        // As for an invitation: only a verified admin sends the link, and
        // only a verified one is told whether the address has an account.
        admin.member().verified(&txn).await?;
        if email_taken(&txn, &email).await? {
            errors.add("email", EMAIL_TAKEN);
        } else if let Some(refusal) =
            // Neither an invitation nor an email-change link goes to an
            // address that said no.
            people::declined(d, &txn, admin.account_id(), &email).await?
        {
            errors.add("email", refusal);
        } else if let Some(waiting) =
            asked_meanwhile(d, &txn, &target, was.map(|(_, shown)| shown), &email).await?
        {
            errors.add("email", address_asked_meanwhile(&waiting));
        }
    }
    if target.is_admin && !is_admin && other_admins(&txn, admin, target.id).await? == 0 {
        errors.add("is_admin", LAST_ADMIN);
    }
    errors.into_result()?;
    // Saved so by another admin since the check above, or left so by the
    // merge: nothing to write or log (the count is spent already).
    let unchanged = (&first_name, &last_name) == (&target.first_name, &target.last_name)
        && (is_admin, can_create, can_share)
            == (target.is_admin, target.can_create, target.can_share);
    if unchanged && !email_changes {
        return user_row_now(d, &txn, target).await;
    }

    let invited = target.status == user::INVITED;
    let mut active = target.clone().into_active_model();
    active.first_name = Set(first_name);
    active.last_name = Set(last_name);
    active.is_admin = Set(is_admin);
    active.can_create = Set(can_create);
    active.can_share = Set(can_share);
    if email_changes && invited {
        active.email = Set(email.clone());
    }
    let updated = active.update(&txn).await.map_err(email_conflict)?;
    if target.is_admin && !updated.is_admin {
        // Email changes they asked for as an admin stop with their role.
        tokens::expire_requested_by(d, &txn, target.id).await?;
    }
    let event = edit_event(&target, &updated, email_changes.then_some(email.as_str()));
    activity::record(d, &txn, by, event.about_other(admin.member(), target.id)).await?;
    if email_changes && invited {
        // Every link to the old address stops, not only the invitation.
        tokens::expire_all(d, &txn, vec![updated.id]).await?;
        spend_invitation(d, &txn, admin, &updated.email).await?;
        send_invitation(d, &txn, &updated, Inviter::Admin(admin), false).await?;
    } else if email_changes {
        email_links::send_email_change(d, &txn, admin.member(), &updated, &email).await?;
    }
    let row = user_row_now(d, &txn, updated).await?;
    txn.commit().await?;
    Ok(row)
}

/// The address a change of `target`'s waits on, when the Edit User form
/// (`shown`, as it opened) did not show it and asks for another: the new
/// link would replace it unseen. Asked under the account lock, which every
/// request for a change takes.
async fn asked_meanwhile(
    d: &Domain,
    txn: &DatabaseTransaction,
    target: &user::Model,
    shown: Option<&UserForm>,
    email: &str,
) -> Result<Option<String>, AppError> {
    // A page without what it opened with sets the address as sent; an
    // invited user's address changes at once, with no link to wait on.
    let Some(shown) = shown.filter(|_| target.status != user::INVITED) else {
        return Ok(None);
    };
    let shown = validation::normalize_email(&shown.pending_email);
    let mut waiting = email_links::pending_email_changes(d, txn, vec![target.id]).await?;
    Ok(waiting.remove(&target.id).filter(|waiting| *waiting != shown && waiting != email))
}

/// Reset Password: the user gets a reset link; the admin never sets or sees a
/// password. An invited user gets a fresh invitation instead.
pub async fn send_password_reset(d: &Domain, admin: &Admin, id: i32) -> Result<(), AppError> {
    let target = find_in_account(&d.db, admin, id).await?;
    if target.status == user::INVITED {
        return resend_invitation(d, admin, id).await;
    }
    if target.disabled_at.is_some() {
        return Err(AppError::Conflict(TARGET_DISABLED.into()));
    }
    // As any email an admin sends: from a verified admin, and counted per
    // client address and account too, so the accounts one address signs up
    // cannot together spend the platform's total and close "Forgot
    // password?" to everyone.
    admin.member().verified(&d.db).await?;
    let who = Who {
        recipient: Some(target.email.clone()),
        actor: Some(admin.member().user_id()),
        account: Some(admin.account_id()),
        client: admin.member().address(),
        ..Who::default()
    };
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let asker = email_links::ResetAsker::Admin(admin, by);
    email_links::send_password_reset(d, &target.email, &who, asker).await
}

/// Delete User: removes the user and their sessions, and hands everything
/// they owned to the admin who deleted them, in one transaction.
pub async fn delete(d: &Domain, admin: &Admin, id: i32) -> Result<(), AppError> {
    if id == admin.member().user_id() {
        return Err(AppError::Forbidden(NOT_YOURSELF.into()));
    }
    let txn = d.begin().await?;
    lock_account_as(&txn, admin).await?;
    let target = find_in_account(&txn, admin, id).await?;
    if target.is_admin && other_admins(&txn, admin, target.id).await? == 0 {
        return Err(AppError::Forbidden(LAST_ADMIN.into()));
    }
    // What keeps the account from the clean-up of sign-ups never verified
    // (and from a claim by whoever resets its sign-up address): deleted by
    // an admin who never verified theirs, it would take the whole account
    // with it within the hour.
    if target.email_verified_at.is_some() {
        let others = Scoped::of(admin.member())
            .users()
            .filter(user::Column::Id.ne(target.id))
            .filter(user::Column::EmailVerifiedAt.is_not_null());
        if others.count(&txn).await? == 0 {
            return Err(AppError::Forbidden(LAST_VERIFIED.into()));
        }
    }
    let heir = find_in_account(&txn, admin, admin.member().user_id()).await?;
    let handed_over = hand_over(d, &txn, &target, &heir).await?;
    end_sign_ins(&txn, target.id, None).await?;
    tokens::expire_requested_by(d, &txn, target.id).await?;
    user::Entity::delete_by_id(target.id).exec(&txn).await?;
    let mut events = vec![Event::new(ActivityKind::UserDeleted, &target.email)];
    events.extend(handed_over.events);
    activity::record_all(d, &txn, By::Remedy(admin.member()), events).await?;
    txn.commit().await?;
    handed_over.dropped.disconnect_unless_held(d).await;
    Ok(())
}

/// Disable User: the user can no longer sign in, and their sessions and
/// developer keys stop at once (every session and key lookup reads
/// `disabled_at`; their sessions and pending second steps are also deleted).
/// Everything they own stays theirs. The last active admin cannot be
/// disabled, and nobody disables themself. Disabling a disabled user changes
/// nothing.
pub async fn disable(d: &Domain, admin: &Admin, id: i32) -> Result<UserRow, AppError> {
    let txn = d.begin().await?;
    // The same lock as every admin-count rule: two admins disabling each
    // other at once are serialised, and the second sees the first's change.
    lock_account_as(&txn, admin).await?;
    let target = find_in_account(&txn, admin, id).await?;
    // Checked before "yourself", so the account's only admin hears why.
    if target.is_admin
        && target.disabled_at.is_none()
        && other_admins(&txn, admin, target.id).await? == 0
    {
        return Err(AppError::Forbidden(LAST_ACTIVE_ADMIN.into()));
    }
    if target.id == admin.member().user_id() {
        return Err(AppError::Forbidden(NOT_YOURSELF_DISABLE.into()));
    }
    if target.disabled_at.is_some() {
        return user_row_now(d, &txn, target).await;
    }
    let mut active = target.into_active_model();
    active.disabled_at = Set(Some(d.clock.now()));
    let updated = active.update(&txn).await?;
    end_sign_ins(&txn, updated.id, None).await?;
    // Not to come back with an Enable: the link was for an admin's hands.
    tokens::expire_requested_by(d, &txn, updated.id).await?;
    let event = Event::new(ActivityKind::UserDisabled, &updated.email).about(updated.id);
    activity::record(d, &txn, By::Remedy(admin.member()), event).await?;
    let row = user_row_now(d, &txn, updated).await?;
    txn.commit().await?;
    Ok(row)
}

/// Enable User: a disabled user may sign in again and their developer keys
/// work again. Their old sessions stay ended: a log-in that raced the
/// disable is refused under the lock (`sessions::start_session`), and any
/// session stored all the same (written by an older version) ends here.
/// Enabling an enabled user changes nothing.
pub async fn enable(d: &Domain, admin: &Admin, id: i32) -> Result<UserRow, AppError> {
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.begin().await?;
    lock_account_as(&txn, admin).await?;
    let target = find_in_account(&txn, admin, id).await?;
    if target.disabled_at.is_none() {
        return user_row_now(d, &txn, target).await;
    }
    let mut active = target.into_active_model();
    active.disabled_at = Set(None);
    let updated = active.update(&txn).await?;
    end_sign_ins(&txn, updated.id, None).await?;
    let event = Event::new(ActivityKind::UserEnabled, &updated.email).about(updated.id);
    activity::record(d, &txn, by, event).await?;
    let row = user_row_now(d, &txn, updated).await?;
    txn.commit().await?;
    Ok(row)
}

fn yes(on: bool) -> &'static str {
    if on {
        "yes"
    } else {
        "no"
    }
}

/// A user's admin flag and permissions, for events.
fn roles(user: &user::Model) -> String {
    format!(
        "admin: {}, can create: {}, can share: {}",
        yes(user.is_admin),
        yes(user.can_create),
        yes(user.can_share)
    )
}

/// The flags an edit changed, each with what it was ("can share: yes (was
/// no)"): the ones left as they were would hide which one changed.
fn roles_changed(before: &user::Model, after: &user::Model) -> String {
    [
        ("admin", before.is_admin, after.is_admin),
        ("can create", before.can_create, after.can_create),
        ("can share", before.can_share, after.can_share),
    ]
    .into_iter()
    .filter(|(_, was, now)| was != now)
    .map(|(flag, was, now)| format!("{flag}: {} (was {})", yes(now), yes(was)))
    .collect::<Vec<_>>()
    .join(", ")
}

/// What Edit User changed: a role change when the admin flag or a
/// permission changed, an edit otherwise; the detail says what changed.
fn edit_event(before: &user::Model, after: &user::Model, new_email: Option<&str>) -> Event {
    let role_changed = (before.is_admin, before.can_create, before.can_share)
        != (after.is_admin, after.can_create, after.can_share);
    let mut changes = Vec::new();
    if role_changed {
        changes.push(roles_changed(before, after));
    }
    if (&before.first_name, &before.last_name) != (&after.first_name, &after.last_name) {
        changes.push(format!("name: {} (was {})", after.full_name(), before.full_name()));
    }
    if let Some(email) = new_email {
        // An invited user's address changes at once; an active user's only
        // when they confirm it (an `email.changed` event of their own).
        changes.push(match after.email == email {
            true => format!("email: {email}"),
            false => format!("email change to {email} awaits confirmation"),
        });
    }
    let kind = if role_changed { ActivityKind::UserRoleChanged } else { ActivityKind::UserUpdated };
    let detail = if changes.is_empty() { "no change".to_owned() } else { changes.join("; ") };
    Event::new(kind, &before.email).detail(detail)
}

pub fn user_row(u: user::Model) -> UserRow {
    UserRow {
        id: u.id,
        invited: u.status == user::INVITED,
        invitation_expired: false,
        first_name: u.first_name,
        last_name: u.last_name,
        email: u.email,
        is_admin: u.is_admin,
        can_create: u.can_create,
        can_share: u.can_share,
        two_factor_enabled: u.two_factor_enabled,
        disabled: u.disabled_at.is_some(),
        pending_email: None,
    }
}

/// The rows of `users`, each with the email change it waits on, if any,
/// and, for an invitee, whether their invitation link still works.
async fn user_rows_now<C: sea_orm::ConnectionTrait>(
    d: &Domain,
    conn: &C,
    users: Vec<user::Model>,
) -> Result<Vec<UserRow>, AppError> {
    let ids = users.iter().map(|u| u.id).collect();
    let mut pending = email_links::pending_email_changes(d, conn, ids).await?;
    let invited = users.iter().filter(|u| u.status == user::INVITED).map(|u| u.id).collect();
    let live = invitations::with_live_link(d, conn, invited).await?;
    Ok(users
        .into_iter()
        .map(|u| {
            let expired = u.status == user::INVITED && !live.contains(&u.id);
            let pending_email = pending.remove(&u.id);
            UserRow { pending_email, invitation_expired: expired, ..user_row(u) }
        })
        .collect())
}

/// [`user_rows_now`] for one user.
async fn user_row_now<C: sea_orm::ConnectionTrait>(
    d: &Domain,
    conn: &C,
    u: user::Model,
) -> Result<UserRow, AppError> {
    let rows = user_rows_now(d, conn, vec![u]).await?;
    rows.into_iter().next().ok_or(AppError::Internal)
}

/// A page of the account's users, whatever their state.
pub async fn list_users(
    d: &Domain,
    admin: &Admin,
    search: &str,
    sort: UserSort,
    after: Option<&str>,
) -> Result<UserPage, AppError> {
    list_users_in_state(d, admin, search, UserState::All, sort, after).await
}

/// A page of the account's users in `state` (all, enabled or disabled).
pub async fn list_users_in_state(
    d: &Domain,
    admin: &Admin,
    search: &str,
    state: UserState,
    sort: UserSort,
    after: Option<&str>,
) -> Result<UserPage, AppError> {
    let scope = Scoped::of(admin.member());
    let in_state = directory::in_state(scope.users(), state);
    let (rows, next) = directory::page(d, in_state, search, sort, after).await?;
    // A page of two users or more says so; otherwise two ids say whether
    // there is more than one user, without counting all.
    let several_users = rows.len() > 1
        || scope
            .users()
            .select_only()
            .column(user::Column::Id)
            .limit(2)
            .into_tuple::<i32>()
            .all(&d.read)
            .await?
            .len()
            > 1;
    let rows = user_rows_now(d, &d.read, rows).await?;
    Ok(UserPage { rows, next, several_users, own_id: admin.member().user_id() })
}
