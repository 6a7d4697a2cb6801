//! Sign-up, log-in, sessions and log-out.
use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, SqlErr, TransactionTrait,
};

use super::actor::Member;
use super::crypto::{new_token, token_hash};
use super::entity::{account, login_challenge, session, user};
use super::tokens::{self, Purpose};
use super::validation::{self, Errors};
use super::Domain;
use super::{lifecycle, mail, throttle, two_factor};
use crate::model::AppError;

/// How long sessions live: ended after `idle` without a request, and after
/// `absolute` in any case.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { idle: Duration::days(7), absolute: Duration::days(30) }
    }
}

/// `last_seen_at` is refreshed at most this often, so reading pages does not
/// turn every request into a database write.
const LAST_SEEN_GRANULARITY: Duration = Duration::minutes(1);

pub struct SignUp {
    pub company_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password: String,
}

/// A new session: the token goes into the cookie and nowhere else.
pub struct NewSession {
    pub token: String,
    pub member: Member,
}

pub const WRONG_CREDENTIALS: &str = "The email address or password is incorrect.";
pub const EMAIL_TAKEN: &str = "An account with this email address already exists. Log in instead.";

/// Creates an account whose first user is its admin, and signs them in.
pub async fn sign_up(d: &Domain, input: SignUp, user_agent: &str) -> Result<NewSession, AppError> {
    let mut errors = Errors::default();
    let company_name = errors.check("company_name", validation::company_name(&input.company_name));
    let first_name =
        errors.check("first_name", validation::person_name(&input.first_name, "First Name"));
    let last_name =
        errors.check("last_name", validation::person_name(&input.last_name, "Last Name"));
    let email = errors.check("email", validation::email(&input.email));
    let context = [first_name.as_str(), last_name.as_str(), email.as_str(), company_name.as_str()];
    errors.check("password", validation::new_password(&input.password, &context));
    if !email.is_empty() && email_taken(&d.db, &email).await? {
        errors.add("email", EMAIL_TAKEN);
    }
    errors.into_result()?;

    let password_hash = d.passwords.hash(&input.password).await?;
    let now = d.clock.now();
    let txn = d.db.begin().await?;
    let account = account::ActiveModel {
        company_name: Set(company_name),
        plan: Set("demo".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let user = user::ActiveModel {
        account_id: Set(account.id),
        email: Set(email),
        first_name: Set(first_name),
        last_name: Set(last_name),
        password_hash: Set(Some(password_hash)),
        is_admin: Set(true),
        can_create: Set(true),
        can_share: Set(true),
        created_at: Set(now),
        email_verified_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(email_conflict)?;
    let token = tokens::issue(d, &txn, user.id, Purpose::VerifyEmail, None).await?;
    mail::enqueue(&txn, now, lifecycle::verification_email(d, &user.email, &token)).await?;
    txn.commit().await?;
    start_session(d, &user, user_agent).await
}

/// Whether any account's user has `email`. Pass the transaction when inside one.
pub async fn email_taken(
    conn: &impl sea_orm::ConnectionTrait,
    email: &str,
) -> Result<bool, AppError> {
    Ok(user::Entity::find().filter(user::Column::Email.eq(email)).one(conn).await?.is_some())
}

/// Two sign-ups racing for one address: the unique index decides, and the
/// loser gets the same message as if it had been taken before.
pub fn email_conflict(err: sea_orm::DbErr) -> AppError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::field("email", EMAIL_TAKEN),
        _ => err.into(),
    }
}

/// How a correct password continues: with a session, or (2FA on) with a
/// challenge the second factor must answer.
pub enum LogIn {
    Session(NewSession),
    SecondFactor { challenge: String },
}

/// How long the second step of a log-in may take, and how many codes it may try.
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(5);
pub const CHALLENGE_ATTEMPTS: i32 = 5;
pub const CHALLENGE_EXPIRED: &str =
    "This log-in has expired. Please enter your email and password again.";

/// Checks the password (throttled per email and per client address) and
/// opens a session, or asks for the second factor. An unknown email costs the
/// same password verification as a known one and gets the same answer.
pub async fn log_in_from(
    d: &Domain,
    email: &str,
    password: &str,
    user_agent: &str,
    client: Option<std::net::IpAddr>,
) -> Result<LogIn, AppError> {
    let email = validation::normalize_email(email);
    let subjects = throttle::Subjects::new(&email, client);
    throttle::check(d, &subjects).await?;
    let found = user::Entity::find().filter(user::Column::Email.eq(&email)).one(&d.db).await?;
    let hash = found.as_ref().and_then(|u| u.password_hash.as_deref());
    let matches = d.passwords.verify(password, hash).await?;
    let user = match found {
        Some(user) if matches => user,
        _ => {
            throttle::record_failure(d, &subjects).await?;
            return Err(AppError::field("password", WRONG_CREDENTIALS));
        }
    };
    throttle::record_success(d, &subjects).await?;
    if two_factor::is_enabled(&d.db, user.id).await? {
        let challenge = new_token();
        login_challenge::ActiveModel {
            token_hash: Set(token_hash(&challenge)),
            user_id: Set(user.id),
            attempts: Set(0),
            created_at: Set(d.clock.now()),
        }
        .insert(&d.db)
        .await?;
        return Ok(LogIn::SecondFactor { challenge });
    }
    Ok(LogIn::Session(start_session(d, &user, user_agent).await?))
}

/// A password-only log-in without a client address (tests, tools): refused
/// for users with 2FA on, who must go through [`log_in_from`].
pub async fn log_in(
    d: &Domain,
    email: &str,
    password: &str,
    user_agent: &str,
) -> Result<NewSession, AppError> {
    match log_in_from(d, email, password, user_agent, None).await? {
        LogIn::Session(session) => Ok(session),
        LogIn::SecondFactor { .. } => Err(AppError::field("code", "Enter your two-factor code.")),
    }
}

/// The second step of a log-in: a TOTP or recovery code for the challenge.
pub async fn complete_second_factor(
    d: &Domain,
    challenge: &str,
    code: &str,
    user_agent: &str,
) -> Result<NewSession, AppError> {
    let expired = || AppError::field("code", CHALLENGE_EXPIRED);
    let hash = token_hash(challenge);
    let found =
        login_challenge::Entity::find_by_id(hash.clone()).one(&d.db).await?.ok_or_else(expired)?;
    if d.clock.now() - found.created_at > CHALLENGE_LIFETIME || found.attempts >= CHALLENGE_ATTEMPTS
    {
        login_challenge::Entity::delete_by_id(hash).exec(&d.db).await?;
        return Err(expired());
    }
    if !two_factor::verify(d, &d.db, found.user_id, code).await? {
        login_challenge::Entity::update_many()
            .col_expr(login_challenge::Column::Attempts, (found.attempts + 1).into())
            .filter(login_challenge::Column::TokenHash.eq(&hash))
            .exec(&d.db)
            .await?;
        return Err(AppError::field("code", two_factor::WRONG_CODE));
    }
    // Deleting is the claim: one challenge opens one session.
    let claimed = login_challenge::Entity::delete_by_id(hash).exec(&d.db).await?;
    let user = user::Entity::find_by_id(found.user_id).one(&d.db).await?;
    match user {
        Some(user) if claimed.rows_affected == 1 => start_session(d, &user, user_agent).await,
        _ => Err(expired()),
    }
}

pub(super) async fn start_session(
    d: &Domain,
    user: &user::Model,
    user_agent: &str,
) -> Result<NewSession, AppError> {
    let token = new_token();
    let now = d.clock.now();
    session::ActiveModel {
        token_hash: Set(token_hash(&token)),
        user_id: Set(user.id),
        user_agent: Set(user_agent.chars().take(200).collect()),
        created_at: Set(now),
        last_seen_at: Set(now),
    }
    .insert(&d.db)
    .await?;
    Ok(NewSession { token, member: Member::new(user.id, user.account_id, user.is_admin) })
}

/// The member a session token belongs to, if the session is still alive.
/// The admin flag is read fresh from the user row on every request, so a
/// demotion takes effect at once.
pub async fn authenticate(d: &Domain, token: &str) -> Result<Member, AppError> {
    let hash = token_hash(token);
    let found = session::Entity::find_by_id(hash.clone())
        .find_also_related(user::Entity)
        .one(&d.db)
        .await?;
    let Some((session, Some(user))) = found else {
        return Err(AppError::Unauthenticated);
    };
    let now = d.clock.now();
    let expired = now - session.last_seen_at > d.sessions.idle
        || now - session.created_at > d.sessions.absolute;
    if expired {
        session::Entity::delete_by_id(hash).exec(&d.db).await?;
        return Err(AppError::Unauthenticated);
    }
    if now - session.last_seen_at > LAST_SEEN_GRANULARITY {
        let mut active: session::ActiveModel = session.into();
        active.last_seen_at = Set(now);
        active.update(&d.db).await?;
    }
    Ok(Member::new(user.id, user.account_id, user.is_admin))
}

pub async fn log_out(d: &Domain, token: &str) -> Result<(), AppError> {
    session::Entity::delete_by_id(token_hash(token)).exec(&d.db).await?;
    Ok(())
}

/// Ends every session of a user except, optionally, the one in use.
pub(super) async fn end_sessions<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user_id: i32,
    keep_token: Option<&str>,
) -> Result<(), AppError> {
    let mut delete = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
    if let Some(token) = keep_token {
        delete = delete.filter(session::Column::TokenHash.ne(token_hash(token)));
    }
    delete.exec(conn).await?;
    Ok(())
}
