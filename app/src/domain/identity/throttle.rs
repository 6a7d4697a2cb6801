//! Throttling of everything that checks a secret a person knows: log-in
//! passwords (per email address, hashed, known or not, so the answer never
//! tells whether an account exists, and per client address), second-factor
//! codes (per user, across log-in attempts) and password re-checks of a
//! signed-in user (per user). Counts live in the database so that every
//! server process sees the same ones.
//!
//! An attempt is counted *before* the secret is checked ([`admit`]), with one
//! conditional UPDATE per subject (`failures < limit`), so a burst of parallel
//! guesses is admitted at most up to the limit however they interleave; a
//! success gives its count back ([`succeeded`]). After a few failures of one
//! email each further attempt waits a little longer; at the limit the subject
//! is locked for a short while. Log-in locks are short on purpose: an
//! attacker who knows someone's email can keep them out only for minutes at
//! a time, and "Forgot password?" works again after them. A user's wrong
//! codes are counted until a right one, not per window, and each lock of
//! theirs lasts twice the one before (`Kind::lock_length`): a code is one
//! of a million, and whoever has the password could otherwise try a few
//! every window for ever, however they spaced them.
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::crypto::token_hash;
use crate::domain::core::limits::ThrottlePolicy;
use crate::domain::core::quota::{
    client_key, duration_text, minutes_until, network_key, GROUP_FACTOR,
};
use crate::domain::core::Domain;
use crate::domain::entity::{login_failure, user};
use crate::model::{ActivityKind, AppError};

/// What kind of secret a subject guesses, which sets its limit and message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    LogInEmail,
    LogInAddress,
    /// An IPv6 client's /56 (`quota::network_key`).
    LogInNetwork,
    SecondFactor,
    PasswordRecheck,
}

impl Kind {
    /// The metrics label.
    fn key(self) -> &'static str {
        match self {
            Kind::LogInEmail => "log_in_email",
            Kind::LogInAddress => "log_in_address",
            Kind::LogInNetwork => "log_in_network",
            Kind::SecondFactor => "second_factor",
            Kind::PasswordRecheck => "password_recheck",
        }
    }

    /// The failures after which a subject that has had `locks` locks in a
    /// row is locked: the second factor's count runs on after each lock, so
    /// each lock allows `code_lock_after` more.
    fn limit(self, policy: &ThrottlePolicy, locks: i32) -> i32 {
        match self {
            Kind::LogInEmail | Kind::PasswordRecheck => policy.email_lock_after,
            Kind::LogInAddress => policy.address_lock_after,
            Kind::LogInNetwork => policy.address_lock_after.saturating_mul(GROUP_FACTOR),
            Kind::SecondFactor => policy.code_lock_after.saturating_mul(locks.max(0) + 1),
        }
    }

    /// Whether failures are counted per window (and forgotten with it), or,
    /// for the second factor, until a right code.
    fn windowed(self) -> bool {
        self != Kind::SecondFactor
    }

    /// Whether `row` has used up its tries: the next attempt locks it.
    fn spent(
        self,
        row: &login_failure::Model,
        policy: &ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> bool {
        let counting = !self.windowed() || now - row.window_started_at < policy.window;
        counting && row.failures >= self.limit(policy, row.locks)
    }

    /// How long a lock lasts that follows `earlier` locks in a row: the
    /// second factor's doubles each time; the others stay short, so that
    /// whoever knows an email can keep its owner out only minutes at a time.
    fn lock_length(self, policy: &ThrottlePolicy, earlier: i32) -> Duration {
        if self != Kind::SecondFactor {
            return policy.lock;
        }
        let longest = std::cmp::max(policy.code_lock_longest, policy.lock);
        // 2^20 locks of a minute already pass a year: the shift cannot overflow.
        let factor = 1i32 << std::cmp::min(earlier.max(0), 20);
        std::cmp::min(policy.lock * factor, longest)
    }

    /// The detail of the user's `sign_in.locked` event when a lock of this
    /// subject starts; `None` for a client's, which belongs to no user.
    fn lock_detail(self) -> Option<&'static str> {
        match self {
            Kind::LogInEmail => Some("too many failed log-ins"),
            Kind::SecondFactor => Some("too many wrong two-factor codes"),
            // Not a log-in lock, though recorded as one: said so.
            Kind::PasswordRecheck => {
                Some("too many wrong passwords in the settings; log-in is not locked")
            }
            Kind::LogInAddress | Kind::LogInNetwork => None,
        }
    }

    fn locked(self, minutes: i64) -> String {
        let wait = duration_text(minutes);
        match self {
            Kind::LogInEmail | Kind::LogInAddress | Kind::LogInNetwork => {
                format!("Too many failed log-ins. Try again in {wait}, or reset your password.")
            }
            Kind::SecondFactor => format!("Too many wrong two-factor codes. Try again in {wait}."),
            // The count is the user's, whichever session typed them: a
            // stolen session guessing locks its owner out of these changes
            // too, so the owner is told the way out that no count blocks.
            Kind::PasswordRecheck => format!(
                "Too many wrong passwords. Try again in {wait}. If you did not type them all, \
                 log out your other sessions, then reset your password from the log-in page."
            ),
        }
    }
}

/// The start of a user's second-factor subject, `code:{user_id}`.
pub const CODE_SUBJECT: &str = "code:";

/// What is counted for one kind of attempt.
pub struct Subjects {
    subjects: Vec<(String, Kind)>,
}

impl Subjects {
    /// A log-in: the client's address and an IPv6 client's /56, when
    /// known, and the email. [`admit_on`] refuses while any is locked
    /// before it counts any.
    pub fn log_in(normalized_email: &str, address: Option<std::net::IpAddr>) -> Self {
        let mut subjects: Vec<(String, Kind)> = Vec::new();
        if let Some(address) = address {
            subjects.push((format!("ip:{}", client_key(address)), Kind::LogInAddress));
            if let Some(network) = network_key(address) {
                subjects.push((format!("ip:{network}"), Kind::LogInNetwork));
            }
        }
        subjects.push((format!("email:{}", token_hash(normalized_email)), Kind::LogInEmail));
        Subjects { subjects }
    }

    /// A second-factor code of one user, in a log-in or a security setting.
    pub fn second_factor(user_id: i32) -> Self {
        Subjects { subjects: vec![(format!("{CODE_SUBJECT}{user_id}"), Kind::SecondFactor)] }
    }

    /// A signed-in user's password, asked again before a sensitive change.
    pub fn password_recheck(user_id: i32) -> Self {
        Subjects { subjects: vec![(format!("password:{user_id}"), Kind::PasswordRecheck)] }
    }
}

fn unlocked(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(login_failure::Column::LockedUntil.is_null())
        .add(login_failure::Column::LockedUntil.lte(now))
}

/// Counts an attempt against every subject before the secret is checked, or
/// refuses it while a subject is locked or waiting out its backoff. Counts
/// already taken stay taken when a later subject refuses: every attempt that
/// reached the database counts.
///
/// The lock this attempt starts, if it starts one, is recorded in the
/// activity of `user_id` (`subjects` are theirs: their codes, their
/// password asked again), as a log-in email's is: it means someone tried
/// their codes or password many times, which they and their admins should
/// see.
pub async fn admit(
    d: &Domain,
    subjects: &Subjects,
    user_id: i32,
    client: Option<std::net::IpAddr>,
) -> Result<(), AppError> {
    refuse_waiting(d, subjects).await?;
    let txn = d.begin().await?;
    let admission = admit_on(d, &txn, subjects).await?;
    if let Admission::Refused { locked_now: Some(why), .. } = &admission {
        record_lock(d, &txn, user_id, client, why).await?;
    }
    txn.commit().await?;
    admission.into_result()
}

/// `user_id`'s `sign_in.locked` event, saying `why`.
async fn record_lock(
    d: &Domain,
    txn: &sea_orm::DatabaseTransaction,
    user_id: i32,
    client: Option<std::net::IpAddr>,
    why: &str,
) -> Result<(), AppError> {
    if let Some(user) = user::Entity::find_by_id(user_id).one(txn).await? {
        let event = Event::new(ActivityKind::SignInLocked, &user.email).detail(why);
        activity::record(d, txn, By::User(&user, client), event).await?;
    }
    Ok(())
}

/// Whether an attempt was admitted, and if not, whether this attempt is the
/// one that locked a user's subject (which the activity log records): its
/// event's detail.
pub enum Admission {
    Admitted,
    Refused { error: AppError, locked_now: Option<&'static str> },
}

impl Admission {
    pub fn into_result(self) -> Result<(), AppError> {
        match self {
            Admission::Admitted => Ok(()),
            Admission::Refused { error, .. } => Err(error),
        }
    }
}

/// [`admit`] on `conn` (a transaction the caller commits, refused or not, so
/// that a lock and its activity event are written together).
pub async fn admit_on(
    d: &Domain,
    conn: &impl ConnectionTrait,
    subjects: &Subjects,
) -> Result<Admission, AppError> {
    // While any subject is locked or waiting, the attempt is refused before
    // anything is counted: a locked client must not go on spending an
    // email's count (locking out its user at no cost of a hash) or its
    // /56's, nor a locked-out user's retries their office's shared address.
    if let Some(error) = waiting(d, conn, subjects).await? {
        return Ok(Admission::Refused { error, locked_now: None });
    }
    for (subject, kind) in &subjects.subjects {
        // The row may go between its insert and its update: the clean-up
        // forgets an expired one, and a right secret ([`succeeded`]) deletes
        // it, which a burst of right passwords (a double submit, several
        // windows) can do round after round. The next round inserts it
        // afresh; a few rounds outlast any real burst.
        let mut outcome = Outcome::Vanished;
        for _ in 0..ROUNDS {
            outcome = admit_one(d, conn, subject, *kind).await?;
            if !matches!(outcome, Outcome::Vanished) {
                break;
            }
        }
        match outcome {
            Outcome::Admitted => {}
            Outcome::Refused(message, locked_now) => {
                metrics::counter!("console_throttle_refusals_total").increment(1);
                return Ok(Admission::Refused {
                    error: AppError::TooManyRequests(message),
                    locked_now: kind.lock_detail().filter(|_| locked_now),
                });
            }
            Outcome::Vanished => return Err(AppError::Internal),
        }
    }
    Ok(Admission::Admitted)
}

/// Refuses, read on the read pool, while a subject is locked or waiting out
/// its backoff: a flood of log-ins at a locked subject is answered by
/// reads, without a turn on SQLite's one writer each (a password asked
/// again, or a code, counts a write of its own first all the same).
/// [`admit_on`] checks again in its transaction.
pub async fn refuse_waiting(d: &Domain, subjects: &Subjects) -> Result<(), AppError> {
    match waiting(d, &d.read, subjects).await? {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// The refusal a locked or waiting subject gives, if any is.
async fn waiting(
    d: &Domain,
    conn: &impl ConnectionTrait,
    subjects: &Subjects,
) -> Result<Option<AppError>, AppError> {
    let now = d.clock.now();
    for (subject, kind) in &subjects.subjects {
        let row = login_failure::Entity::find_by_id(subject.to_owned()).one(conn).await?;
        if let Some(message) = row.and_then(|row| must_wait(&row, *kind, &d.throttle, now)) {
            metrics::counter!("console_throttle_refusals_total").increment(1);
            return Ok(Some(AppError::TooManyRequests(message)));
        }
    }
    Ok(None)
}

/// How many times [`admit_on`] counts a subject whose row went meanwhile.
const ROUNDS: usize = 8;

/// Why an attempt on a subject must wait, counted or not: a running lock
/// (which lasts its full time, even past the window it was counted in), or
/// an email's backoff after a few failures.
fn must_wait(
    row: &login_failure::Model,
    kind: Kind,
    policy: &ThrottlePolicy,
    now: DateTime<Utc>,
) -> Option<String> {
    if let Some(until) = row.locked_until.filter(|until| *until > now) {
        return Some(kind.locked(minutes_until(until, now)));
    }
    let counting = now - row.window_started_at < policy.window;
    if !(counting && kind == Kind::LogInEmail && row.failures >= policy.email_slow_after) {
        return None;
    }
    let doublings = std::cmp::min(row.failures - policy.email_slow_after + 1, 6);
    let wait = Duration::seconds(std::cmp::min(1i64 << doublings, 60));
    if now - row.last_failure_at >= wait {
        return None;
    }
    let seconds = std::cmp::max((wait - (now - row.last_failure_at)).num_seconds(), 1);
    let seconds = if seconds == 1 { "1 second".into() } else { format!("{seconds} seconds") };
    Some(format!("Too many failed log-ins. Wait {seconds} and try again."))
}

enum Outcome {
    Admitted,
    /// Refused, and whether this attempt started the lock.
    Refused(String, bool),
    /// Not counted: the row went, or another attempt counted first; read
    /// it again.
    Vanished,
}

async fn admit_one(
    d: &Domain,
    conn: &impl ConnectionTrait,
    subject: &str,
    kind: Kind,
) -> Result<Outcome, AppError> {
    // Here only: its min/max would shadow the integers' elsewhere.
    use sea_orm::sea_query::ExprTrait;
    let now = d.clock.now();
    let policy = d.throttle;
    login_failure::Entity::insert(login_failure::ActiveModel {
        subject: Set(subject.to_owned()),
        failures: Set(0),
        window_started_at: Set(now),
        last_failure_at: Set(now),
        locked_until: Set(None),
        locks: Set(0),
    })
    .on_conflict_do_nothing_on([login_failure::Column::Subject])
    .exec(conn)
    .await?;
    let Some(row) = login_failure::Entity::find_by_id(subject.to_owned()).one(conn).await? else {
        return Ok(Outcome::Vanished);
    };
    if let Some(message) = must_wait(&row, kind, &policy, now) {
        return Ok(Outcome::Refused(message, false));
    }
    // A window that is over (and not locked) starts again at zero; a
    // user's wrong codes count on until a right one.
    if kind.windowed() {
        login_failure::Entity::update_many()
            .col_expr(login_failure::Column::Failures, Expr::value(0))
            .col_expr(login_failure::Column::WindowStartedAt, Expr::value(now))
            .filter(login_failure::Column::Subject.eq(subject))
            .filter(login_failure::Column::WindowStartedAt.lte(now - policy.window))
            .filter(unlocked(now))
            .exec(conn)
            .await?;
    }
    // The limit of the run of locks read; a lock started since (which
    // raises it) leaves this update nothing, and the lock is told of below.
    let limit = kind.limit(&policy, row.locks);
    let mut counting = login_failure::Entity::update_many()
        .col_expr(
            login_failure::Column::Failures,
            Expr::col(login_failure::Column::Failures).add(1),
        )
        .col_expr(login_failure::Column::LastFailureAt, Expr::value(now))
        .filter(login_failure::Column::Subject.eq(subject))
        .filter(login_failure::Column::Failures.lt(limit))
        .filter(login_failure::Column::Locks.eq(row.locks))
        .filter(unlocked(now));
    // A burst that read the same count lets through only what one attempt
    // after another would before the email waits: up to that count, and
    // from it one at a time. The others (PostgreSQL re-checks this condition
    // once the first has committed) find no lock to tell of below, so they
    // read the row again and are told to wait, instead of all passing on
    // the count they read.
    if kind == Kind::LogInEmail {
        counting = counting.filter(
            login_failure::Column::Failures
                .lt(policy.email_slow_after)
                .or(login_failure::Column::Failures.eq(row.failures)),
        );
    }
    let admitted = counting.exec(conn).await?;
    if admitted.rows_affected == 1 {
        return Ok(Outcome::Admitted);
    }
    // Over the limit: the lock starts now (or keeps the one running).
    Ok(match lock(d, conn, subject, kind).await? {
        Some((message, started)) => Outcome::Refused(message, started),
        None => Outcome::Vanished,
    })
}

/// Locks `subject` from now, unless a lock is running (which keeps its end):
/// what it says, and whether this call started it; `None` when there is no
/// lock to tell of: the row is gone (a success or the clean-up forgot it
/// meanwhile), or it is a fresh row under its limit.
async fn lock(
    d: &Domain,
    conn: &impl ConnectionTrait,
    subject: &str,
    kind: Kind,
) -> Result<Option<(String, bool)>, AppError> {
    // Here only: its min/max would shadow the integers' elsewhere.
    use sea_orm::sea_query::ExprTrait;
    let now = d.clock.now();
    let Some(row) = login_failure::Entity::find_by_id(subject.to_owned()).one(conn).await? else {
        return Ok(None);
    };
    let until = now + kind.lock_length(&d.throttle, row.locks);
    // Only a row at its limit is locked. The caller saw it there, but a
    // right secret may have deleted it since and another attempt inserted
    // it afresh at 0 or 1: a burst of right passwords (a double submit)
    // locked its own user that way. Two attempts locking at once both
    // read the same run of locks; the one whose update finds it unchanged
    // starts the lock, the other tells of it.
    let mut locking = login_failure::Entity::update_many()
        .col_expr(login_failure::Column::LockedUntil, Some(until).into());
    if kind == Kind::SecondFactor {
        // Only a run that lengthens its locks is kept: the clean-up keeps
        // such a row for days, and made-up emails must not grow the table.
        locking = locking
            .col_expr(login_failure::Column::Locks, Expr::col(login_failure::Column::Locks).add(1));
    }
    let started = locking
        .filter(login_failure::Column::Subject.eq(subject))
        .filter(login_failure::Column::Failures.gte(kind.limit(&d.throttle, row.locks)))
        .filter(login_failure::Column::Locks.eq(row.locks))
        .filter(unlocked(now))
        .exec(conn)
        .await?
        .rows_affected
        == 1;
    // A lock that has run out (kept on the row after its window started
    // again) is no lock: with the row under its limit now, nothing is.
    let locked = login_failure::Entity::find_by_id(subject.to_owned())
        .one(conn)
        .await?
        .and_then(|r| r.locked_until)
        .filter(|until| *until > now);
    let Some(until) = locked else { return Ok(None) };
    tracing::warn!(kind = ?kind, "throttle lock");
    metrics::counter!("console_login_locks_total", "kind" => kind.key()).increment(1);
    Ok(Some((kind.locked(minutes_until(until, now)), started)))
}

/// Refuses, without counting an attempt, while a subject must wait
/// ([`must_wait`]: locked, or an email in its backoff) or has used up its
/// tries for the window; in the second case it starts the lock (a write),
/// as the next attempt would. For a step that leads only to such
/// an attempt: the password step of a user whose second factor is locked
/// tells them so, instead of opening a code step no code can pass.
///
/// A lock it starts is recorded as [`admit`]'s is.
pub async fn lock_if_spent(
    d: &Domain,
    subjects: &Subjects,
    user_id: i32,
    client: Option<std::net::IpAddr>,
) -> Result<(), AppError> {
    let now = d.clock.now();
    let policy = d.throttle;
    for (subject, kind) in &subjects.subjects {
        let Some(row) = login_failure::Entity::find_by_id(subject.to_owned()).one(&d.db).await?
        else {
            continue;
        };
        let message = match must_wait(&row, *kind, &policy, now) {
            Some(message) => Some(message),
            None if kind.spent(&row, &policy, now) => {
                let txn = d.begin().await?;
                let locked = lock(d, &txn, subject, *kind).await?;
                if let (Some((_, true)), Some(why)) = (&locked, kind.lock_detail()) {
                    record_lock(d, &txn, user_id, client, why).await?;
                }
                txn.commit().await?;
                locked.map(|(message, _)| message)
            }
            None => None,
        };
        if let Some(message) = message {
            metrics::counter!("console_throttle_refusals_total").increment(1);
            return Err(AppError::TooManyRequests(message));
        }
    }
    Ok(())
}

/// Forgets a user's wrong codes and their run of locks, in the transaction
/// that removes their second factor (turned off, or reset by support or a
/// claim): a lock on codes they no longer have would outlive it, and a new
/// second factor would start under it.
pub async fn forget_codes(conn: &impl ConnectionTrait, user_id: i32) -> Result<(), AppError> {
    login_failure::Entity::delete_by_id(format!("{CODE_SUBJECT}{user_id}")).exec(conn).await?;
    Ok(())
}

/// An attempt that was counted but checked no secret: what it was for had
/// gone by the time it held the lock (the second of a double submit finds
/// the log-in step used). Its count is given back, so a right code sent twice
/// does not leave one counted against its user; giving back never takes a
/// count below zero, nor ends a lock.
pub async fn give_back(d: &Domain, subjects: &Subjects) -> Result<(), AppError> {
    for (subject, _) in &subjects.subjects {
        take_one_back(d, subject).await?;
    }
    Ok(())
}

/// One failure fewer on `subject`, if it has any.
async fn take_one_back(d: &Domain, subject: &str) -> Result<(), AppError> {
    // Here only: its min/max would shadow the integers' elsewhere.
    use sea_orm::sea_query::ExprTrait;
    login_failure::Entity::update_many()
        .col_expr(
            login_failure::Column::Failures,
            Expr::col(login_failure::Column::Failures).sub(1),
        )
        .filter(login_failure::Column::Subject.eq(subject))
        .filter(login_failure::Column::Failures.gt(0))
        .exec(&d.db)
        .await?;
    Ok(())
}

/// A correct secret: the user's own subjects forget their failures (so a
/// few typos do not add up over a day); a client address only gets this
/// attempt back, as it may be shared by many people and many guesses.
pub async fn succeeded(d: &Domain, subjects: &Subjects) -> Result<(), AppError> {
    for (subject, kind) in &subjects.subjects {
        if matches!(kind, Kind::LogInAddress | Kind::LogInNetwork) {
            take_one_back(d, subject).await?;
        } else {
            login_failure::Entity::delete_by_id(subject.clone()).exec(&d.db).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::fresh_domain;

    async fn row_at(d: &Domain, subject: &str, failures: i32) {
        let now = d.clock.now();
        login_failure::Entity::insert(login_failure::ActiveModel {
            subject: Set(subject.to_owned()),
            failures: Set(failures),
            window_started_at: Set(now),
            last_failure_at: Set(now),
            locked_until: Set(None),
            locks: Set(0),
        })
        .exec(&d.db)
        .await
        .unwrap();
    }

    async fn locked_until(d: &Domain, subject: &str) -> Option<DateTime<Utc>> {
        let row = login_failure::Entity::find_by_id(subject.to_owned()).one(&d.db).await.unwrap();
        row.unwrap().locked_until
    }

    /// The race a burst of right passwords ran into, played in order: an
    /// attempt saw its subject's row at the limit, a right password
    /// deleted it, another attempt inserted it afresh, and the first one
    /// went on to lock.
    #[tokio::test]
    async fn only_a_row_at_its_limit_is_locked() {
        let (d, _) = fresh_domain().await;
        let limit = Kind::PasswordRecheck.limit(&d.throttle, 0);
        row_at(&d, "password:1", 1).await;
        assert!(lock(&d, &d.db, "password:1", Kind::PasswordRecheck).await.unwrap().is_none());
        assert_eq!(locked_until(&d, "password:1").await, None);

        row_at(&d, "password:2", limit).await;
        let (message, started) =
            lock(&d, &d.db, "password:2", Kind::PasswordRecheck).await.unwrap().unwrap();
        assert!(started);
        assert!(message.starts_with("Too many wrong passwords."), "{message}");
        assert!(message.contains("log out your other sessions"), "{message}");
        assert_eq!(locked_until(&d, "password:2").await, Some(d.clock.now() + d.throttle.lock));

        // A lock that ran out, left on a row whose new window is under its
        // limit, is not told as a running one.
        row_at(&d, "password:3", 1).await;
        let ended = d.clock.now() - Duration::minutes(1);
        login_failure::Entity::update_many()
            .col_expr(login_failure::Column::LockedUntil, Some(ended).into())
            .filter(login_failure::Column::Subject.eq("password:3"))
            .exec(&d.db)
            .await
            .unwrap();
        assert!(lock(&d, &d.db, "password:3", Kind::PasswordRecheck).await.unwrap().is_none());
        assert_eq!(locked_until(&d, "password:3").await, Some(ended));
    }
}
