//! Manage Users: the admin's table of the account's users, and what an
//! admin does to them: invite, edit, reset a password, disable and enable,
//! delete. The rules that keep an account safe live here: emails are unique
//! system-wide, the last active admin can be neither demoted, disabled nor
//! deleted (also when two admins act at the same moment; a disabled admin
//! does not count), nobody disables or deletes themself, and another
//! account's user is "not found". The admin never sets or sees a password;
//! 2FA is the user's own business.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Admin;
use crate::domain::core::crypto::token_hash;
use crate::domain::core::directory;
use crate::domain::core::mail::{self, Email};
use crate::domain::core::people::{
    self, count_address_lookup, email_conflict, email_taken, NewUser, EMAIL_TAKEN,
};
use crate::domain::core::quota::{Action, Who};
use crate::domain::core::scope::{lock_account, lock_account_as, Scoped};
use crate::domain::core::tokens::{self, Purpose};
use crate::domain::core::validation::{self, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::{account, invitation_decline, user};
use crate::domain::features::{applications, certificates, oauth_tokens, phone_numbers};
use crate::domain::identity::email_links;
use crate::domain::identity::log_in::{self, LogIn};
use crate::domain::identity::sessions::end_sign_ins;
use crate::model::{
    ActivityKind, AppError, Invitation, UserPage, UserRow, UserSort, UserState, DECLINE_HOLD_DAYS,
};

pub const LAST_ADMIN: &str = "An account needs at least one admin who has activated: make \
     another active user an admin first.";
pub const NOT_YOURSELF: &str = "You cannot delete your own user; another admin can.";
pub const LAST_ACTIVE_ADMIN: &str = "An account needs at least one active admin: make another \
     user an admin (or enable a disabled one) first.";
pub const NOT_YOURSELF_DISABLE: &str =
    "You cannot disable your own user: you would lock yourself out. Another admin can.";
pub const OWN_EMAIL: &str =
    "Change your own email address on the Account tab: it asks for your password.";
pub use crate::domain::core::people::DECLINE_HOLD;
pub const DECLINE_EXPIRED: &str = "This invitation's link has expired, so there is nothing to \
     decline: an invitation nobody accepts is removed on its own within a week.";
/// What an invitation link says once it has been declined.
pub const LINK_DECLINED: &str = "This invitation was declined, so its link no longer works. \
     Nothing more is needed.";
/// Why a disabled user is sent no link that signs in.
pub const TARGET_DISABLED: &str =
    "This user is disabled. Enable them first; then they can get a link by email.";

/// The Add User and Edit User forms.
#[derive(Clone, Debug, Default)]
pub struct UserForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
    pub can_create: bool,
    pub can_share: bool,
}

struct Checked {
    first_name: String,
    last_name: String,
    email: String,
}

fn check(form: &UserForm) -> (Errors, Checked) {
    let mut errors = Errors::default();
    let first_name =
        errors.check("first_name", validation::person_name(&form.first_name, "First Name"));
    let last_name =
        errors.check("last_name", validation::person_name(&form.last_name, "Last Name"));
    let email = errors.check("email", validation::email(&form.email));
    (errors, Checked { first_name, last_name, email })
}

/// The invitation. Anyone can sign up and name themself and their company
/// as they like, so the subject carries none of an account's own words, and
/// the body quotes the inviter's name (beside their verified address) and
/// the company's, quotes inside escaped: a made-up name ("Your bank", "The
/// Voice Console team") reads as a name someone typed, not as the platform
/// speaking.
fn invitation_email(d: &Domain, to: &str, company: &str, inviter: &str, token: &str) -> Email {
    Email {
        to: to.into(),
        subject: "Your invitation to Voice Console".into(),
        body: format!(
            "{inviter} invited you to join {company:?} on Voice Console.\n\nTo choose your \
             password and log in, open this link and press the button on the page:\n\n{}\n\n\
             The link works once, for 48 hours. If it expires, ask the account's admin to send \
             a new one.\n\nNot expecting this? Open the same link and choose Decline \
             Invitation; they will not be able to invite this address again for \
             {DECLINE_HOLD_DAYS} days.\n",
            d.link("/activate", token)
        ),
    }
}

/// Who sends an invitation: an admin of the account, or the operators
/// (`server user add`).
#[derive(Clone, Copy)]
pub enum Inviter<'a> {
    Admin(&'a Admin),
    Operator,
}

impl Inviter<'_> {
    /// How the invitation names them, read in the caller's transaction.
    async fn named(self, conn: &impl ConnectionTrait) -> Result<String, AppError> {
        match self {
            Inviter::Admin(admin) => {
                let me = user::Entity::find_by_id(admin.member().user_id())
                    .one(conn)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let name = format!("{} {}", me.first_name, me.last_name);
                Ok(format!("{name:?} ({})", me.email))
            }
            Inviter::Operator => Ok("The Voice Console team".into()),
        }
    }
}

async fn company(conn: &impl ConnectionTrait, account_id: i32) -> Result<String, AppError> {
    Ok(account::Entity::find_by_id(account_id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)?
        .company_name)
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
    Ok(Scoped::of(admin.member())
        .users()
        .filter(user::Column::IsAdmin.eq(true))
        .filter(user::Column::Status.eq(user::ACTIVE))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::Id.ne(except))
        .count(txn)
        .await?)
}

/// Add User: the user appears as invited and gets an activation link.
pub async fn invite(d: &Domain, admin: &Admin, form: UserForm) -> Result<UserRow, AppError> {
    let (mut errors, checked) = check(&form);
    if !checked.email.is_empty() {
        count_address_lookup(d, admin.member()).await?;
        if email_taken(&d.db, &checked.email).await? {
            errors.add("email", EMAIL_TAKEN);
        }
    }
    errors.into_result()?;
    let now = d.clock.now();
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.db.begin().await?;
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
    send_invitation(d, &txn, &user, Inviter::Admin(admin)).await?;
    let event = Event::new(ActivityKind::UserInvited, &user.email).detail(roles(&user));
    activity::record(d, &txn, by, event).await?;
    txn.commit().await?;
    Ok(user_row(user))
}

/// Sends an invited user a fresh activation link (the old one stops working).
pub async fn resend_invitation(d: &Domain, admin: &Admin, id: i32) -> Result<(), AppError> {
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.db.begin().await?;
    lock_account_as(&txn, admin).await?;
    let user = find_in_account(&txn, admin, id).await?;
    if user.status == user::INVITED {
        spend_invitation(d, &txn, admin, &user.email).await?;
    }
    send_invitation(d, &txn, &user, Inviter::Admin(admin)).await?;
    let event = Event::new(ActivityKind::InvitationResent, &user.email);
    activity::record(d, &txn, by, event).await?;
    txn.commit().await.map_err(Into::into)
}

/// Counts an invitation an admin sends, per address, admin, account and
/// client address (verified accounts from one address, together, cannot use
/// up the platform's total); only a verified admin sends invitations.
async fn spend_invitation(
    d: &Domain,
    txn: &DatabaseTransaction,
    admin: &Admin,
    to: &str,
) -> Result<(), AppError> {
    admin.member().verified(txn).await?;
    let who = Who {
        recipient: Some(to.to_owned()),
        actor: Some(admin.member().user_id()),
        account: Some(admin.account_id()),
        client: admin.member().address(),
        ..Who::default()
    };
    d.spend(txn, Action::Invitation, &who).await
}

/// Writes a fresh activation link for an invited user (the old one stops
/// working) in the caller's transaction.
pub async fn send_invitation(
    d: &Domain,
    txn: &DatabaseTransaction,
    user: &user::Model,
    inviter: Inviter<'_>,
) -> Result<(), AppError> {
    if user.status != user::INVITED {
        return Err(AppError::field("form", "This user has already activated their account."));
    }
    if user.disabled_at.is_some() {
        return Err(AppError::Conflict(TARGET_DISABLED.into()));
    }
    // A link sent now must work for its whole life before the clean-up
    // removes the invitee at INVITATION_MAX_AGE.
    if user.created_at + INVITATION_MAX_AGE - Purpose::Activate.lifetime() < d.clock.now() {
        return Err(AppError::Conflict(format!(
            "This invitation was first sent on {}, and an invitation is removed {} days after \
             that: a new link would not last its 48 hours. Delete the user and add them again \
             to invite them anew.",
            user.created_at.format("%Y-%m-%d"),
            INVITATION_MAX_AGE.num_days()
        )));
    }
    let token = tokens::issue(d, txn, user.id, Purpose::Activate, None).await?;
    let company = company(txn, user.account_id).await?;
    let inviter = inviter.named(txn).await?;
    let email = invitation_email(d, &user.email, &company, &inviter, &token);
    mail::enqueue(txn, &d.secrets, d.clock.now(), email).await
}

/// How long an invited user keeps their address after their last
/// invitation link expired: then they are removed, so nobody's invitation
/// blocks an address for ever.
pub const INVITEE_HOLD: chrono::Duration = chrono::Duration::days(7);

/// How long an invitation holds its address however often it is sent
/// again: without a bound, an account resending every few days would keep
/// anyone's address from signing up for ever.
pub const INVITATION_MAX_AGE: chrono::Duration = chrono::Duration::days(30);

/// Removes invited users whose newest link expired more than
/// [`INVITEE_HOLD`] ago, or who were first invited more than
/// [`INVITATION_MAX_AGE`] ago (the `batch` oldest a run); what an admin gave them
/// passes to the account's longest-standing other active admin. An invitee
/// whose account has no such admin stays (an operator can help); they are
/// few, as the last active admin cannot be deleted or demoted. Returns how
/// many were removed.
pub async fn remove_expired_invitees(d: &Domain, batch: u64) -> Result<u64, AppError> {
    let cutoff = d.clock.now() - INVITEE_HOLD;
    let too_old = d.clock.now() - INVITATION_MAX_AGE;
    let expired = |query: sea_orm::Select<user::Entity>| {
        let unheld = Condition::all()
            .add(user::Column::Id.not_in_subquery(tokens::holders(Purpose::Activate, cutoff)))
            .add(user::Column::CreatedAt.lt(cutoff));
        query
            .filter(user::Column::Status.eq(user::INVITED))
            .filter(Condition::any().add(unheld).add(user::Column::CreatedAt.lt(too_old)))
    };
    let mut removed = 0;
    let mut after = 0;
    // Page by id, so invitees who must stay never hold up the others.
    while removed < batch {
        let page = expired(user::Entity::find())
            .filter(user::Column::Id.gt(after))
            .order_by_asc(user::Column::Id)
            .limit(batch)
            .all(&d.db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        removed += remove_invitees(d, page, &expired).await?;
    }
    if removed > 0 {
        tracing::info!(removed, "removed invited users whose invitation expired");
    }
    Ok(removed)
}

async fn remove_invitees(
    d: &Domain,
    candidates: Vec<user::Model>,
    expired: &impl Fn(sea_orm::Select<user::Entity>) -> sea_orm::Select<user::Entity>,
) -> Result<u64, AppError> {
    let mut removed = 0;
    for candidate in candidates {
        let txn = d.db.begin().await?;
        // Checked again under the account's lock (which a resend takes too):
        // an invitation sent or accepted a moment ago keeps the user.
        lock_account(&txn, candidate.account_id).await?;
        let Some(invitee) = expired(user::Entity::find_by_id(candidate.id)).one(&txn).await? else {
            continue;
        };
        let Some(heir) = heir_of(&txn, &invitee).await? else {
            tracing::warn!(user = invitee.id, "an expired invitee's account has no active admin");
            continue;
        };
        hand_over(d, &txn, &invitee, heir.id).await?;
        removed += user::Entity::delete_by_id(invitee.id).exec(&txn).await?.rows_affected;
        txn.commit().await?;
    }
    Ok(removed)
}

/// Who receives what an admin gave an invitee who goes: the account's
/// longest-standing other active admin, if it has one.
async fn heir_of(
    txn: &DatabaseTransaction,
    invitee: &user::Model,
) -> Result<Option<user::Model>, AppError> {
    Ok(Scoped::account(invitee.account_id)
        .users()
        .filter(user::Column::IsAdmin.eq(true))
        .filter(user::Column::Status.eq(user::ACTIVE))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::Id.ne(invitee.id))
        .order_by_asc(user::Column::Id)
        .one(txn)
        .await?)
}

/// Decline Invitation, on the page an invitation link opens, by whoever holds
/// the link: the invitation is removed at once, and the account cannot invite
/// the address again for [`DECLINE_HOLD`], so nobody keeps mailing an address
/// that said no. What an admin gave the invitee passes to an heir as when an
/// invitation expires ([`heir_of`]). The link goes with the invitee, so
/// declining again or activating finds no such link.
pub async fn decline_invitation(d: &Domain, token: &str) -> Result<(), AppError> {
    let link = match tokens::check(d, &d.db, token, Purpose::Activate).await {
        Ok(link) => link,
        // "Ask for a new one" is no advice to someone who wants none.
        Err(err) if err.message_for("token").as_deref() == Some(tokens::LINK_EXPIRED) => {
            return Err(AppError::field("token", DECLINE_EXPIRED));
        }
        Err(err) => return Err(declined_link(d, token, err).await?),
    };
    let account_id = user::Entity::find_by_id(link.user_id)
        .one(&d.db)
        .await?
        .ok_or(AppError::NotFound)?
        .account_id;
    let txn = d.db.begin().await?;
    // The lock every change of the account's users takes: an invitation sent
    // again or edited at this moment waits, then finds the invitee gone.
    lock_account(&txn, account_id).await?;
    tokens::consume(d, &txn, token, Purpose::Activate).await?;
    let invitee = user::Entity::find_by_id(link.user_id).one(&txn).await?;
    let Some(invitee) = invitee.filter(|u| u.status == user::INVITED) else {
        // A valid activation link belongs to an invited user; one made
        // active some other way has no invitation left to decline.
        return Err(AppError::field("token", tokens::LINK_USED));
    };
    if invitee.account_id != account_id {
        // Moved by an account merge since the lock was chosen.
        return Err(AppError::Conflict("Please try again.".into()));
    }
    let heir = heir_of(&txn, &invitee).await?.ok_or_else(|| {
        AppError::Conflict(
            "This account has no active admin at the moment, so the invitation cannot be \
             declined now. Try again later, or ignore it: its link stops working after 48 hours."
                .into(),
        )
    })?;
    hand_over(d, &txn, &invitee, heir.id).await?;
    user::Entity::delete_by_id(invitee.id).exec(&txn).await?;
    // An address that declines again, after an earlier hold ran out, moves
    // its time on (one row per account and address; the account's lock
    // keeps two declines from both inserting).
    let earlier = Scoped::account(account_id)
        .all::<invitation_decline::Entity>()
        .filter(invitation_decline::Column::Email.eq(&invitee.email))
        .one(&txn)
        .await?;
    let mut decline = match earlier {
        Some(row) => row.into_active_model(),
        None => invitation_decline::ActiveModel {
            account_id: Set(account_id),
            email: Set(invitee.email.clone()),
            ..Default::default()
        },
    };
    decline.declined_at = Set(d.clock.now());
    decline.link_hash = Set(Some(link.token_hash.clone()));
    decline.save(&txn).await?;
    // Without the decliner's address: they owe the account that invited
    // them nothing, as an unknown address's failed log-in is nobody's.
    let event = Event::new(ActivityKind::InvitationDeclined, &invitee.email);
    activity::record(d, &txn, By::User(&invitee, None), event).await?;
    txn.commit().await?;
    Ok(())
}

/// What the page an invitation link opens names before anything is pressed:
/// the account and the address invited. It only reads (mail scanners open
/// links in advance); a link that no longer works says why at once, in the
/// words pressing Activate would get.
pub async fn read_invitation(d: &Domain, token: &str) -> Result<Invitation, AppError> {
    let link = match tokens::check(d, &d.read, token, Purpose::Activate).await {
        Ok(link) => link,
        Err(err) => return Err(declined_link(d, token, err).await?),
    };
    let invitee =
        user::Entity::find_by_id(link.user_id).one(&d.read).await?.ok_or(AppError::NotFound)?;
    // Refused as pressing Activate would be.
    log_in::refuse_disabled(&invitee)?;
    Ok(Invitation { company: company(&d.read, invitee.account_id).await?, email: invitee.email })
}

/// The button on the page an activation link opens: sets the first password
/// and signs the new user in.
pub async fn activate(
    d: &Domain,
    token: &str,
    password: &str,
    user_agent: &str,
    client: Option<std::net::IpAddr>,
) -> Result<LogIn, AppError> {
    match email_links::redeem_password_link(
        d,
        token,
        Purpose::Activate,
        password,
        user_agent,
        client,
    )
    .await
    {
        Err(err) => Err(declined_link(d, token, err).await?),
        done => done,
    }
}

/// `err`, or, when it says an invitation link is unknown and the link was
/// declined (it went with its invitee), that it was declined.
async fn declined_link(d: &Domain, token: &str, err: AppError) -> Result<AppError, AppError> {
    if err.message_for("token").as_deref() != Some(tokens::LINK_INVALID) {
        return Ok(err);
    }
    // On the read pool: an unknown token costs the single SQLite writer
    // nothing, however many anyone sends to the page.
    let declined = invitation_decline::Entity::find()
        .filter(invitation_decline::Column::LinkHash.eq(token_hash(token.trim())))
        .one(&d.read)
        .await?;
    Ok(match declined {
        Some(_) => AppError::field("token", LINK_DECLINED),
        None => err,
    })
}

/// Edit User. An active user's new email takes effect when confirmed from the
/// new address; an invited user's invitation goes to the new address at once.
pub async fn update(
    d: &Domain,
    admin: &Admin,
    id: i32,
    form: UserForm,
) -> Result<UserRow, AppError> {
    let (mut errors, checked) = check(&form);
    // A new address is counted before the transaction, so that a refusal
    // (the address taken) does not roll its count back.
    let current = find_in_account(&d.db, admin, id).await?;
    if !checked.email.is_empty() && checked.email != current.email {
        count_address_lookup(d, admin.member()).await?;
    }
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.db.begin().await?;
    lock_account_as(&txn, admin).await?;
    let target = find_in_account(&txn, admin, id).await?;
    let email_changes = !checked.email.is_empty() && checked.email != target.email;
    if email_changes && target.id == admin.member().user_id() {
        // The Account tab asks for the password first; a stolen session
        // must not move the admin's own address without it.
        errors.add("email", OWN_EMAIL);
    } else if email_changes && email_taken(&txn, &checked.email).await? {
        errors.add("email", EMAIL_TAKEN);
    } else if email_changes {
        // Neither an invitation nor an email-change link goes to an address
        // that said no.
        if let Some(refusal) = people::declined(d, &txn, admin.account_id(), &checked.email).await?
        {
            errors.add("email", refusal);
        }
    }
    if target.is_admin && !form.is_admin && other_admins(&txn, admin, target.id).await? == 0 {
        errors.add("is_admin", LAST_ADMIN);
    }
    errors.into_result()?;

    let invited = target.status == user::INVITED;
    let mut active = target.clone().into_active_model();
    active.first_name = Set(checked.first_name);
    active.last_name = Set(checked.last_name);
    active.is_admin = Set(form.is_admin);
    active.can_create = Set(form.can_create);
    active.can_share = Set(form.can_share);
    if email_changes && invited {
        active.email = Set(checked.email.clone());
    }
    let updated = active.update(&txn).await.map_err(email_conflict)?;
    let event = edit_event(&target, &updated, email_changes.then_some(checked.email.as_str()));
    activity::record(d, &txn, by, event.about_other(admin.member(), target.id)).await?;
    if email_changes && invited {
        // Every link to the old address stops, not only the invitation.
        tokens::expire_all(d, &txn, vec![updated.id]).await?;
        spend_invitation(d, &txn, admin, &updated.email).await?;
        send_invitation(d, &txn, &updated, Inviter::Admin(admin)).await?;
    } else if email_changes {
        email_links::send_email_change(d, &txn, admin.member(), &updated, &checked.email).await?;
    }
    let row = user_row_now(d, &txn, updated).await?;
    txn.commit().await?;
    Ok(row)
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
    let who = Who {
        recipient: Some(target.email.clone()),
        actor: Some(admin.member().user_id()),
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
    let txn = d.db.begin().await?;
    lock_account_as(&txn, admin).await?;
    let target = find_in_account(&txn, admin, id).await?;
    if target.is_admin && other_admins(&txn, admin, target.id).await? == 0 {
        return Err(AppError::Forbidden(LAST_ADMIN.into()));
    }
    hand_over(d, &txn, &target, admin.member().user_id()).await?;
    end_sign_ins(&txn, target.id, None).await?;
    user::Entity::delete_by_id(target.id).exec(&txn).await?;
    let event = Event::new(ActivityKind::UserDeleted, &target.email);
    activity::record(d, &txn, By::Remedy(admin.member()), event).await?;
    txn.commit().await?;
    Ok(())
}

/// Disable User: the user can no longer sign in, and their sessions and
/// developer keys stop at once (every session and key lookup reads
/// `disabled_at`; their sessions and pending second steps are also deleted).
/// Everything they own stays theirs. The last active admin cannot be
/// disabled, and nobody disables themself. Disabling a disabled user changes
/// nothing.
pub async fn disable(d: &Domain, admin: &Admin, id: i32) -> Result<UserRow, AppError> {
    let txn = d.db.begin().await?;
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
    let event = Event::new(ActivityKind::UserDisabled, &updated.email).about(updated.id);
    activity::record(d, &txn, By::Remedy(admin.member()), event).await?;
    let row = user_row_now(d, &txn, updated).await?;
    txn.commit().await?;
    Ok(row)
}

/// Enable User: a disabled user may sign in again and their developer keys
/// work again. Their old sessions stay ended: any session still stored was
/// opened by a log-in that raced the disable, and ends here. Enabling an
/// enabled user changes nothing.
pub async fn enable(d: &Domain, admin: &Admin, id: i32) -> Result<UserRow, AppError> {
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.db.begin().await?;
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

/// Gives what `from` owned to `to`, inside the deletion's transaction.
/// Everything a user can own joins this list as its feature lands (each
/// feature's tests check its hand-over).
async fn hand_over(
    d: &Domain,
    txn: &DatabaseTransaction,
    leaving: &user::Model,
    to: i32,
) -> Result<(), AppError> {
    let (from, scope) = (leaving.id, &Scoped::account(leaving.account_id));
    applications::hand_over(txn, leaving, to).await?;
    // After the applications: it checks what the new owner can see.
    phone_numbers::hand_over(txn, scope, from, to).await?;
    certificates::hand_over(txn, from, to).await?;
    oauth_tokens::hand_over(&d.secrets, txn, from, to).await?;
    Ok(())
}

/// A user's admin flag and permissions, for events.
fn roles(user: &user::Model) -> String {
    let yes = |on: bool| if on { "yes" } else { "no" };
    format!(
        "admin: {}, can create: {}, can share: {}",
        yes(user.is_admin),
        yes(user.can_create),
        yes(user.can_share)
    )
}

/// What Edit User changed: a role change when the admin flag or a
/// permission changed, an edit otherwise; the detail says what changed.
fn edit_event(before: &user::Model, after: &user::Model, new_email: Option<&str>) -> Event {
    let role_changed = (before.is_admin, before.can_create, before.can_share)
        != (after.is_admin, after.can_create, after.can_share);
    let mut changes = Vec::new();
    if role_changed {
        changes.push(roles(after));
    }
    if (&before.first_name, &before.last_name) != (&after.first_name, &after.last_name) {
        changes.push(format!("name: {} {}", after.first_name, after.last_name));
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

/// The rows of `users`, each with the email change it waits on, if any.
async fn user_rows_now<C: sea_orm::ConnectionTrait>(
    d: &Domain,
    conn: &C,
    users: Vec<user::Model>,
) -> Result<Vec<UserRow>, AppError> {
    let ids = users.iter().map(|u| u.id).collect();
    let mut pending = email_links::pending_email_changes(d, conn, ids).await?;
    Ok(users
        .into_iter()
        .map(|u| UserRow { pending_email: pending.remove(&u.id), ..user_row(u) })
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
