//! Setting a password by a link from an email (a reset, or an invitation's
//! activation). Applying a redeemed link is one step with two callers: the
//! link's page (`email_links`), and, when the user has two-factor
//! authentication on, the code that completes it (`log_in`). It sits below
//! both so that neither imports the other's caller. The notice every new
//! password sends (`notify_password_changed`) lives here too, for the
//! Account tab's Change Password (`profile`) as well.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::clock;
use crate::domain::core::mail::{self, Email};
use crate::domain::core::scope::Scoped;
use crate::domain::core::tokens::{self, Purpose};
use crate::domain::core::Domain;
use crate::domain::entity::{developer_key, user};
use crate::domain::identity::sessions::end_sign_ins;
use crate::domain::identity::two_factor;
use crate::model::{ActivityKind, AppError};

/// Whether redeeming a `purpose` link claims `user`'s account: a reset proves
/// the address, and on an account where nobody ever proved one it takes the
/// account from whoever signed up with it ([`apply`]).
pub async fn claims(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    purpose: Purpose,
) -> Result<bool, AppError> {
    Ok(purpose == Purpose::ResetPassword
        && user.email_verified_at.is_none()
        && !account_verified(conn, user.account_id).await?)
}

/// Applies a redeemed link in the caller's transaction, the link already used
/// up: claims an unverified account ([`claims`]), sets the password, marks the
/// address verified (the link proved it), ends the user's sessions and
/// records it. Returns the user as written.
pub async fn apply(
    d: &Domain,
    txn: &DatabaseTransaction,
    user: user::Model,
    purpose: Purpose,
    new_password_hash: String,
    client: Option<std::net::IpAddr>,
) -> Result<user::Model, AppError> {
    let claim = match claims(txn, &user, purpose).await? {
        true => Some(claim_unverified_account(d, txn, &user).await?),
        false => None,
    };
    let verified = user.email_verified_at.is_some();
    let mut active = user.into_active_model();
    active.password_hash = Set(Some(new_password_hash));
    if !verified {
        active.email_verified_at = Set(Some(d.clock.now()));
    }
    let user = active.update(txn).await?;
    end_sign_ins(txn, user.id, None).await?;
    // As a password change does: other reset links would undo this one, and
    // a pending email change (asked for by whoever knew the old password)
    // would hand the account to its new address.
    tokens::expire(d, txn, user.id, Purpose::ResetPassword).await?;
    tokens::expire(d, txn, user.id, Purpose::ChangeEmail).await?;
    let kind = match purpose {
        Purpose::Activate => ActivityKind::UserActivated,
        _ => {
            notify_password_changed(d, txn, &user, PasswordChange::Reset, client).await?;
            ActivityKind::PasswordReset
        }
    };
    let mut event = Event::new(kind, &user.email);
    if let Some(claim) = claim {
        event = event.detail(claim);
    }
    activity::record(d, txn, By::User(&user, client), event).await?;
    Ok(user)
}

/// How a password was changed, for the notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordChange {
    /// On the Account tab, with the current password.
    Changed,
    /// By a reset link sent to the address.
    Reset,
}

/// Tells `user` at their address, in the change's transaction, that their
/// password changed: someone who had it and changed it would otherwise
/// lock the owner out unnoticed. Developer keys outlive a new password (as
/// most platforms' keys do: a forgotten password is no reason to stop a
/// running program), so the notice names them, for a revoke if one is
/// strange: by name and day made, never their prefix (part of the secret),
/// each name quoted and escaped on its own line, since whoever had the
/// password may have chosen it to read as the platform's words. An
/// unverified address gets no notice (`mail::enqueue_notice`); a reset's
/// link has just proved it.
pub async fn notify_password_changed(
    d: &Domain,
    txn: &DatabaseTransaction,
    user: &user::Model,
    how: PasswordChange,
    client: Option<std::net::IpAddr>,
) -> Result<(), AppError> {
    let now = d.clock.now();
    let keys: Vec<String> = developer_key::Entity::find()
        .filter(developer_key::Column::UserId.eq(user.id))
        .order_by_asc(developer_key::Column::CreatedAt)
        .all(txn)
        .await?
        .into_iter()
        .map(|k| format!("  - {:?}, made {}\n", k.name, clock::shown(k.created_at)))
        .collect();
    let (how, sessions) = match how {
        PasswordChange::Changed => ("changed on the My Account page", "Your other sessions were"),
        PasswordChange::Reset => {
            ("reset with a link sent to this address", "All your sessions were")
        }
    };
    let from = client.map(|c| format!(" from {c}")).unwrap_or_default();
    let keys = if keys.is_empty() {
        String::new()
    } else {
        format!(
            "Developer keys keep working after a password change. Yours:\n\n{}\nIf you do not \
             know one, revoke it under My Account.\n\n",
            keys.concat()
        )
    };
    let notice = Email {
        to: user.email.clone(),
        subject: "Your password was changed".into(),
        body: format!(
            "The password of your Voice Console user {} was {how} at {}{from}. {sessions} \
             logged out.\n\n{keys}If this was not you, reset your password at once at \
             {}/forgot-password and {}.\n",
            user.email,
            clock::shown(now),
            d.public_url,
            d.contact_support()
        ),
    };
    mail::enqueue_notice(txn, &d.secrets, now, user, notice).await
}

/// Whether any user of the account has proved their address.
async fn account_verified(conn: &impl ConnectionTrait, account_id: i32) -> Result<bool, AppError> {
    Ok(Scoped::account(account_id)
        .users()
        .filter(user::Column::EmailVerifiedAt.is_not_null())
        .one(conn)
        .await?
        .is_some())
}

/// Whoever signed up with someone else's address loses everything that let
/// them act when the address's owner claims it by a reset: every session,
/// second factor, developer key and pending link of the account's users, and the users still
/// invited to it (nobody in the account ever proved an address, so they were
/// all invited by the claimed sign-up). Returns what the claim's event says,
/// so that the owner, finding users and keys gone, reads why.
async fn claim_unverified_account(
    d: &Domain,
    txn: &DatabaseTransaction,
    claimed: &user::Model,
) -> Result<String, AppError> {
    let account = Scoped::account(claimed.account_id);
    let users: Vec<i32> =
        account.users().select_only().column(user::Column::Id).into_tuple().all(txn).await?;
    for &id in &users {
        end_sign_ins(txn, id, None).await?;
        // A second factor the squatter set up would lock the owner out.
        two_factor::remove(txn, id).await?;
    }
    developer_key::Entity::delete_many()
        .filter(developer_key::Column::UserId.is_in(users.clone()))
        .exec(txn)
        .await?;
    tokens::expire_all(d, txn, users).await?;
    let invited: Vec<(i32, String)> = account
        .users()
        .select_only()
        .columns([user::Column::Id, user::Column::Email])
        .filter(user::Column::Id.ne(claimed.id))
        .filter(user::Column::Status.eq(user::INVITED))
        .order_by_asc(user::Column::Email)
        .into_tuple()
        .all(txn)
        .await?;
    user::Entity::delete_many()
        .filter(user::Column::Id.is_in(invited.iter().map(|(id, _)| *id)))
        .exec(txn)
        .await?;
    tracing::warn!(account = claimed.account_id, "an unverified account was claimed by a reset");
    let mut said = "the account, whose addresses nobody had verified, was claimed: every log-in, \
                    second factor, developer key and emailed link of its users ended"
        .to_owned();
    if !invited.is_empty() {
        said.push_str("; invitations withdrawn: ");
        let emails: Vec<&str> = invited.iter().map(|(_, email)| email.as_str()).collect();
        let room = activity::DETAIL_ROOM.saturating_sub(said.chars().count());
        said.push_str(&activity::names_within(&emails, room));
    }
    Ok(said)
}
