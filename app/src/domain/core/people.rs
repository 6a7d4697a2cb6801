//! The account's people as every layer needs them: one's own row, whether an
//! address is taken or declined the account, the one constructor of a new
//! user row, and the short list a user picker offers.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, Select, Set, SqlErr,
};

use crate::domain::core::actor::Member;
use crate::domain::core::clock;
use crate::domain::core::directory;
use crate::domain::core::quota::{self, Action, Who};
use crate::domain::core::scope::Scoped;
use crate::domain::core::Domain;
use crate::domain::entity::{invitation_decline, user};
use crate::model::{full_name, AppError, UserChoice, UserSort, DECLINE_HOLD_DAYS};

/// What a disabled user hears once their password (or link) was right; a
/// wrong password gets `log_in::WRONG_CREDENTIALS` as always, so the state
/// cannot be probed without the password.
pub const DISABLED: &str = "This user is disabled. Ask an admin of your account.";

/// How an email names a user who acted on someone else (an admin who
/// invites, resets or moves an address): their name quoted and escaped,
/// since anyone names themself as they like ("The Voice Console team"),
/// beside their address.
pub fn named(user: &user::Model) -> String {
    format!("{:?} ({})", user.full_name(), user.email)
}

/// The row of `user_id`, read on `conn` for an email that names them.
pub async fn find(conn: &impl ConnectionTrait, user_id: i32) -> Result<user::Model, AppError> {
    user::Entity::find_by_id(user_id).one(conn).await?.ok_or(AppError::NotFound)
}

/// Refuses a user an admin has disabled: no session, no second step.
pub fn refuse_disabled(user: &user::Model) -> Result<(), AppError> {
    match user.disabled_at {
        Some(_) => Err(AppError::Forbidden(DISABLED.into())),
        None => Ok(()),
    }
}

/// Said to whoever enters an address another user has: an admin adding or
/// editing a user, the operator, a verified user changing their own address
/// (an unverified one is answered as for a free address).
pub const EMAIL_TAKEN: &str = "This email address is already in use.";

/// Said at sign-up, where the one asking is most likely that address's user:
/// one invited (who has no password yet) or one whose address someone else
/// signed up with (who does not know its password) is emailed the way on by
/// "Forgot password?" (a reset link, or word that the invitation sets it).
pub const SIGN_UP_EMAIL_TAKEN: &str = "An account with this email address already exists. Log \
     in instead; if you have no password for it (you were invited, or did not sign up \
     yourself), use Forgot password? and we will email this address what to do.";

/// How long an account may send no invitation or email-change link to an
/// address whose owner declined its invitation: long enough that declining
/// stops the mail, short enough that someone who declined by mistake can be
/// invited again.
pub const DECLINE_HOLD: chrono::Duration = chrono::Duration::days(DECLINE_HOLD_DAYS);

/// Why the account `account_id` may not write to `email` (an invitation,
/// an email-change link, an admin's or the user's own), if its owner
/// declined one of the account's invitations within [`DECLINE_HOLD`], at
/// this address or another spelling of its mailbox: the refusal to give
/// beside the address.
pub async fn declined(
    d: &Domain,
    conn: &impl ConnectionTrait,
    account_id: i32,
    email: &str,
) -> Result<Option<String>, AppError> {
    let found = Scoped::account(account_id)
        .all::<invitation_decline::Entity>()
        .filter(
            Condition::any()
                .add(invitation_decline::Column::Mailbox.eq(quota::mailbox_of(email)))
                // The address itself, always: rows from before the mailbox
                // was kept have none, and a row's mailbox follows the rule
                // as it was when it was written.
                .add(invitation_decline::Column::Email.eq(email)),
        )
        .filter(invitation_decline::Column::DeclinedAt.gt(d.clock.now() - DECLINE_HOLD))
        .one(conn)
        .await?;
    Ok(found.map(|row| {
        format!(
            "The owner of this address declined an invitation to this account. It can be used \
             here again from {}.",
            clock::shown(row.declined_at + DECLINE_HOLD)
        )
    }))
}

/// The acting user's own row, read now.
pub async fn own_row(d: &Domain, actor: &Member) -> Result<user::Model, AppError> {
    Scoped::of(actor)
        .users()
        .filter(user::Column::Id.eq(actor.user_id()))
        .one(&d.db)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// Whether any account's user has `email`. Pass the transaction when inside one.
pub async fn email_taken(
    conn: &impl sea_orm::ConnectionTrait,
    email: &str,
) -> Result<bool, AppError> {
    Ok(user::Entity::find().filter(user::Column::Email.eq(email)).one(conn).await?.is_some())
}

/// Counts `asker`'s use of an address they entered, before it is looked up:
/// every account's addresses are one namespace, so whether it is taken says
/// whether it has an account anywhere here. Committed at once, so a refusal
/// for a taken address stays counted.
pub async fn count_address_lookup(d: &Domain, asker: &Member) -> Result<(), AppError> {
    let who = Who { actor: Some(asker.user_id()), client: asker.address(), ..Who::default() };
    d.spend_alone(Action::AddressLookup, &who).await
}

/// Two sign-ups racing for one address: the unique index decides, and the
/// loser gets the same message as if it had been taken before.
pub fn email_conflict(err: sea_orm::DbErr) -> AppError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::field("email", EMAIL_TAKEN),
        _ => err.into(),
    }
}

/// How many users a picker offers for one search.
pub const CHOICES: u64 = 8;

pub fn user_choice(u: &user::Model) -> UserChoice {
    UserChoice { id: u.id, name: u.full_name(), email: u.email.clone() }
}

/// The users `condition` selects, by id, as lists show them: their names
/// and addresses alone, not the rest of the row (the password hash, the
/// search texts and their pieces, about a kilobyte a user).
pub async fn choices_where(
    conn: &impl ConnectionTrait,
    condition: Condition,
) -> Result<HashMap<i32, UserChoice>, AppError> {
    use user::Column as C;
    let found: Vec<(i32, String, String, String)> = user::Entity::find()
        .select_only()
        .columns([C::Id, C::FirstName, C::LastName, C::Email])
        .filter(condition)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|(id, first, last, email)| {
            (id, UserChoice { id, name: full_name(&first, &last), email })
        })
        .collect())
}

/// The users a picker offers for what has been typed so far, among those
/// `scope` selects (the account's, narrowed): a bounded index scan however
/// many users the account has.
pub async fn choices_among(
    d: &Domain,
    scope: sea_orm::Select<user::Entity>,
    search: &str,
) -> Result<Vec<UserChoice>, AppError> {
    let found = directory::search(d, scope, search, UserSort::Name, None, CHOICES).await?;
    Ok(found.iter().map(user_choice).collect())
}

/// A user row about to be written: the one place a new user is built, for
/// sign-up, Add User and the operator alike.
pub struct NewUser {
    pub account_id: i32,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// `None`: invited, cannot log in until an activation link sets one.
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub can_create: bool,
    pub can_share: bool,
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl NewUser {
    /// Inserts the row; a race for the address ends in [`EMAIL_TAKEN`].
    pub async fn insert(
        self,
        conn: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> Result<user::Model, AppError> {
        user::ActiveModel {
            account_id: Set(self.account_id),
            email: Set(self.email),
            first_name: Set(self.first_name),
            last_name: Set(self.last_name),
            password_hash: Set(self.password_hash),
            is_admin: Set(self.is_admin),
            can_create: Set(self.can_create),
            can_share: Set(self.can_share),
            created_at: Set(now),
            email_verified_at: Set(self.email_verified_at),
            ..Default::default()
        }
        .insert(conn)
        .await
        .map_err(email_conflict)
    }
}

/// The account's admins who can act for it, but `except`: activated and
/// not disabled. An invited admin cannot until they activate (their link may
/// never be opened), nor can a disabled one.
pub fn active_admins_but(scope: &Scoped, except: i32) -> Select<user::Entity> {
    scope
        .users()
        .filter(user::Column::IsAdmin.eq(true))
        .filter(user::Column::Status.eq(user::ACTIVE))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::Id.ne(except))
}

/// The user with this address, in any account (operators and log-in only).
pub async fn by_email(
    conn: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<user::Model>, AppError> {
    let email = crate::domain::core::validation::normalize_email(email);
    // None holds a control character, and PostgreSQL errs on a NUL in a query.
    if email.contains(char::is_control) {
        return Ok(None);
    }
    Ok(user::Entity::find().filter(user::Column::Email.eq(email)).one(conn).await?)
}
