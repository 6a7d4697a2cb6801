//! Log-in: the password (throttled), then the second factor when it is on.
use chrono::Duration;
use sea_orm::prelude::DateTimeUtc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    Select, Set,
};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::crypto::{new_token, token_hash};
use crate::domain::core::people;
use crate::domain::core::quota::{self, Action, Who};
use crate::domain::core::scope::lock_account_of;
use crate::domain::core::tokens::{self, Purpose};
use crate::domain::core::validation;
use crate::domain::core::Domain;
use crate::domain::entity::{login_challenge, user};
use crate::domain::identity::sessions::{start_session, NewSession, SecondFactor};
use crate::domain::identity::{password_link, reauth, throttle, two_factor};
use crate::model::{ActivityKind, AppError};

pub const WRONG_CREDENTIALS: &str = "The email address or password is incorrect.";
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
pub const CHALLENGE_TRIES_USED: &str =
    "Too many wrong codes for this log-in. Please enter your email and password again.";
/// Beside the log-in page's empty fields.
pub const EMAIL_REQUIRED: &str = "Email Address is required.";
pub const PASSWORD_REQUIRED: &str = "Password is required.";
/// The same two, for the code step of a password link: its user may not
/// know the password "again" would ask for, and the link still works.
pub const LINK_STEP_EXPIRED: &str = "This step has expired, and your password was not changed. \
     Open the link in your email again while it lasts, or ask for a new one.";
pub const LINK_STEP_TRIES_USED: &str = "Too many wrong codes, and your password was not changed. \
     Open the link in your email again while it lasts, or ask for a new one.";

/// Checks the password (throttled per email and per client address) and
/// opens a session, or asks for the second factor. An unknown email costs the
/// same password verification as a known one and gets the same answer. A
/// disabled user with the right password is told so ([`after_password`]).
/// One exception to the same answer, accepted: a user who has used up their
/// right-password log-ins for the hour (`quota::Action::SignIn`, only they
/// can) is refused before the hash, so for that hour anyone asking about
/// their address hears "too many log-ins". A client address that has used
/// up its own count hears that for every address, known or not.
pub async fn log_in(
    d: &Domain,
    email: &str,
    password: &str,
    user_agent: &str,
    client: Option<std::net::IpAddr>,
) -> Result<LogIn, AppError> {
    let email = validation::normalize_email(email);
    // An empty field is said beside it, before anything is counted: not a
    // failed log-in, which would count towards the address's lock.
    if email.is_empty() {
        return Err(AppError::field("email", EMAIL_REQUIRED));
    }
    if password.is_empty() {
        return Err(AppError::field("password", PASSWORD_REQUIRED));
    }
    // No address holds a control character (every form that sets one
    // refuses them), and PostgreSQL errs on a NUL in a query's text, before
    // any count. Answered as an unknown address, and at once: no user can
    // have it, so how long the answer takes tells nothing.
    if email.contains(char::is_control) {
        return Err(AppError::field("password", WRONG_CREDENTIALS));
    }
    let subjects = throttle::Subjects::log_in(&email, client);
    let by_email = || user::Entity::find().filter(user::Column::Email.eq(&email));
    let found = by_email().one(&d.read).await?;
    // Right passwords are counted per user and per client address (a client
    // with many accounts of its own). A spent count refuses before the hash,
    // whatever the password, so a loop of right ones cannot hold the hashing
    // thread; and before the attempt is counted, so people behind a shared
    // address that is spent do not lock their own emails by trying again.
    // The client's count is asked for unknown addresses too: were it asked
    // only for known ones, a spent client could tell them apart.
    let who =
        |user: Option<&user::Model>| Who { actor: user.map(|u| u.id), client, ..Who::default() };
    // Both on the read pool: a spent count, or a locked address or client,
    // is refused before any turn on the writer (see
    // `throttle::refuse_waiting`).
    let now = d.clock.now();
    quota::refuse_spent(&d.read, &d.quotas, now, Action::SignIn, &who(found.as_ref())).await?;
    throttle::refuse_waiting(d, &subjects).await?;
    // The attempt is counted, and a lock it starts recorded, in one transaction.
    let txn = d.begin().await?;
    let admission = throttle::admit_on(d, &txn, &subjects).await?;
    if let throttle::Admission::Refused { locked_now: Some(why), .. } = &admission {
        if let Some(user) = by_email().one(&txn).await? {
            let event = Event::new(ActivityKind::SignInLocked, &user.email).detail(*why);
            activity::record(d, &txn, By::User(&user, client), event).await?;
        }
    }
    txn.commit().await?;
    admission.into_result()?;
    let hash = found.as_ref().and_then(|u| u.password_hash.as_deref());
    let matches = d.passwords.verify(password, hash).await?;
    let user = match found {
        Some(user) if matches => user,
        found => {
            metrics::counter!("console_login_failures_total", "step" => "password").increment(1);
            // A known user's failed sign-in is theirs and their account's to
            // see; an unknown address belongs to no account.
            if let Some(user) = found {
                let event =
                    Event::new(ActivityKind::SignInFailed, &user.email).detail("wrong password");
                activity::record(d, &d.db, By::User(&user, client), event).await?;
            }
            return Err(AppError::field("password", WRONG_CREDENTIALS));
        }
    };
    // The password was right: its count is cleared as for any right one, so
    // a user enabled again is not held up by tries made while disabled.
    // Counted before the throttle forgets the tries, so a refusal here (a
    // parallel log-in took the last count) leaves them counted.
    d.spend_alone(Action::SignIn, &who(Some(&user))).await?;
    throttle::succeeded(d, &subjects).await?;
    after_password(d, &user, user_agent, client).await
}

/// What follows a proven password (a log-in, or a reset or activation link):
/// a session, or, with 2FA on, a challenge the second factor must answer. No
/// path to a session skips the second factor, and none is open to a disabled
/// user.
pub async fn after_password(
    d: &Domain,
    user: &user::Model,
    user_agent: &str,
    client: Option<std::net::IpAddr>,
) -> Result<LogIn, AppError> {
    people::refuse_disabled(user)?;
    if two_factor::is_enabled(&d.db, user.id).await? {
        throttle::lock_if_spent(d, &throttle::Subjects::second_factor(user.id), user.id, client)
            .await?;
        let txn = d.begin().await?;
        // As `start_session` does: a reset or password change committed
        // since the password was checked ended the code steps open then,
        // and one opened now with the old password must not follow.
        let current = lock_account_of(&txn, user.id).await?;
        reauth::refuse_changed_since(user, &current, "password")?;
        let challenge = challenge(d, &txn, user.id, None).await?;
        txn.commit().await?;
        return Ok(LogIn::SecondFactor { challenge });
    }
    let session = start_session(d, user, user_agent, client, SecondFactor::NotAsked).await?;
    Ok(LogIn::Session(session))
}

/// How many code steps one password link may have open at a time: each
/// costs a password hash, and the link, unlike a log-in, is not used up
/// until a code is accepted.
pub const OPEN_PER_LINK: u64 = 3;
pub const TOO_MANY_FOR_LINK: &str = "This link was used several times in the last few minutes. \
     Enter the code on the page you opened, or try the link again in 5 minutes.";

/// Refuses a password link that already has [`OPEN_PER_LINK`] code steps
/// open (started in the last [`CHALLENGE_LIFETIME`]).
pub async fn refuse_busy_link(
    d: &Domain,
    conn: &impl ConnectionTrait,
    link_hash: &str,
) -> Result<(), AppError> {
    let open = open_for_link(link_hash, d.clock.now()).count(conn).await?;
    match open >= OPEN_PER_LINK {
        true => Err(AppError::TooManyRequests(TOO_MANY_FOR_LINK.into())),
        false => Ok(()),
    }
}

/// The code steps `link_hash` opened that may still be answered at `now`
/// (found through `idx_login_challenges_link_hash`).
pub fn open_for_link(link_hash: &str, now: DateTimeUtc) -> Select<login_challenge::Entity> {
    login_challenge::Entity::find()
        .filter(login_challenge::Column::LinkHash.eq(link_hash))
        .filter(login_challenge::Column::CreatedAt.gt(now - CHALLENGE_LIFETIME))
}

/// What a password link leaves for the second factor to apply
/// ([`password_link::apply`]) once its code is accepted.
pub struct PendingLink {
    pub new_password_hash: String,
    /// The hash of the link's token, as `email_tokens` stores it.
    pub link_hash: String,
}

/// Opens the second step of a log-in for `user_id` on `conn`, carrying a
/// password link's change when one started it; returns the challenge's token.
pub async fn challenge(
    d: &Domain,
    conn: &impl ConnectionTrait,
    user_id: i32,
    pending: Option<PendingLink>,
) -> Result<String, AppError> {
    let challenge = new_token();
    let (new_password_hash, link_hash) = match pending {
        Some(p) => (Some(p.new_password_hash), Some(p.link_hash)),
        None => (None, None),
    };
    login_challenge::ActiveModel {
        token_hash: Set(token_hash(&challenge)),
        user_id: Set(user_id),
        attempts: Set(0),
        created_at: Set(d.clock.now()),
        new_password_hash: Set(new_password_hash),
        link_hash: Set(link_hash),
    }
    .insert(conn)
    .await?;
    Ok(challenge)
}

impl LogIn {
    /// The session, or the refusal of a caller that cannot ask for a code.
    pub fn into_session(self) -> Result<NewSession, AppError> {
        match self {
            LogIn::Session(session) => Ok(session),
            LogIn::SecondFactor { .. } => {
                Err(AppError::field("code", "Enter your two-factor code."))
            }
        }
    }
}

/// The second step of a log-in: a TOTP or recovery code for the challenge.
pub async fn complete_second_factor(
    d: &Domain,
    challenge: &str,
    code: &str,
    user_agent: &str,
    client: Option<std::net::IpAddr>,
) -> Result<NewSession, AppError> {
    if code.trim().is_empty() {
        return Err(AppError::field("code", two_factor::CODE_REQUIRED));
    }
    let expired = || AppError::field("code", CHALLENGE_EXPIRED);
    let hash = token_hash(challenge);
    let found =
        login_challenge::Entity::find_by_id(hash.clone()).one(&d.db).await?.ok_or_else(expired)?;
    let (ran_out, tries_used) = match found.link_hash {
        Some(_) => (LINK_STEP_EXPIRED, LINK_STEP_TRIES_USED),
        None => (CHALLENGE_EXPIRED, CHALLENGE_TRIES_USED),
    };
    // Here only: its min/max would shadow the integers' elsewhere.
    use sea_orm::sea_query::ExprTrait;
    // The challenge's tries are taken one by one, atomically, so parallel
    // guesses each count; the user's code throttle counts across challenges.
    let tried = login_challenge::Entity::update_many()
        .col_expr(
            login_challenge::Column::Attempts,
            Expr::col(login_challenge::Column::Attempts).add(1),
        )
        .filter(login_challenge::Column::TokenHash.eq(&hash))
        .filter(login_challenge::Column::Attempts.lt(CHALLENGE_ATTEMPTS))
        .exec(&d.db)
        .await?;
    // "Open the link again" only while it works: a newer link or a change
    // since may have ended it, and then its own message says why.
    let link_gone = async || match &found.link_hash {
        Some(link_hash) => tokens::check_hash(d, &d.db, link_hash, None).await.err(),
        None => None,
    };
    if d.clock.now() - found.created_at > CHALLENGE_LIFETIME {
        login_challenge::Entity::delete_by_id(hash).exec(&d.db).await?;
        return Err(link_gone().await.unwrap_or_else(|| AppError::field("code", ran_out)));
    }
    if tried.rows_affected == 0 {
        let still = login_challenge::Entity::find_by_id(hash.clone()).one(&d.db).await?;
        login_challenge::Entity::delete_by_id(hash).exec(&d.db).await?;
        // Gone meanwhile (sessions ended everywhere, a parallel right code).
        if still.is_none() {
            return Err(expired());
        }
        // Its tries are used up: the code's lock, when that is why, says how
        // long to wait; otherwise the password step (or, for a password
        // link's step, the link) opens a new one.
        let codes = throttle::Subjects::second_factor(found.user_id);
        throttle::lock_if_spent(d, &codes, found.user_id, client).await?;
        return Err(link_gone().await.unwrap_or_else(|| AppError::field("code", tries_used)));
    }
    // A password link used or expired meanwhile ends its code step before
    // the code is checked, so a right code is never counted as a wrong one.
    if let Some(link_hash) = &found.link_hash {
        if let Err(gone) = tokens::check_hash(d, &d.db, link_hash, None).await {
            login_challenge::Entity::delete_by_id(hash).exec(&d.db).await?;
            return Err(gone);
        }
    }
    // Asked under the account's lock, which the claim below holds until it
    // commits: the second of two right codes at once finds the step gone.
    let still = async |txn: &sea_orm::DatabaseTransaction| {
        let open = login_challenge::Entity::find_by_id(hash.clone()).one(txn).await?;
        open.map(|_| ()).ok_or_else(expired)
    };
    let claim = hash.clone();
    let outcome = two_factor::with_code_while(d, found.user_id, code, client, still, async |txn| {
        // Deleting is the claim: one challenge opens one session.
        let claimed = login_challenge::Entity::delete_by_id(claim).exec(txn).await?;
        let user = match user::Entity::find_by_id(found.user_id).one(txn).await? {
            Some(user) if claimed.rows_affected == 1 => {
                people::refuse_disabled(&user).map(|()| user)?
            }
            _ => return Err(expired()),
        };
        // A password link's change happens here, with the code, or not at all.
        match (found.new_password_hash, found.link_hash) {
            (Some(new_password_hash), Some(link_hash)) => {
                let link = tokens::consume_hash(d, txn, &link_hash, None).await?;
                let purpose = match Purpose::of(&link)? {
                    p @ (Purpose::ResetPassword | Purpose::Activate) => p,
                    _ => return Err(AppError::Internal),
                };
                password_link::apply(d, txn, user, purpose, new_password_hash, client).await
            }
            _ => Ok(user),
        }
    })
    .await;
    if let Err(AppError::Invalid(_)) = &outcome {
        metrics::counter!("console_login_failures_total", "step" => "code").increment(1);
    }
    // A wrong code (not an expired log-in) is a failed sign-in of its user,
    // written beside the code's count.
    let wrong = outcome.as_ref().err().and_then(|e| e.message_for("code"));
    let detail = match wrong.as_deref() {
        Some(two_factor::WRONG_CODE) => Some("wrong two-factor code"),
        Some(two_factor::CODE_USED) => Some("two-factor code already used"),
        _ => None,
    };
    if let Some(detail) = detail {
        if let Some(user) = user::Entity::find_by_id(found.user_id).one(&d.db).await? {
            let event = Event::new(ActivityKind::SignInFailed, &user.email).detail(detail);
            activity::record(d, &d.db, By::User(&user, client), event).await?;
        }
    }
    start_session(d, &outcome?, user_agent, client, SecondFactor::Answered).await
}
