//! Periodic work, run by the worker in every server process: delivering the
//! outbox, and forgetting what has expired. Every job is safe to run in
//! several processes at once.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use lettre::message::Mailbox;

use crate::domain::admin::invitations;
use crate::domain::core::activity;
use crate::domain::core::db;
use crate::domain::core::mail::{self, Transport};
use crate::domain::core::quota;
use crate::domain::core::scope::{lock_account, Scoped};
use crate::domain::core::tokens;
use crate::domain::core::Domain;
use crate::domain::entity::{
    account, invitation_decline, login_challenge, login_failure, oauth_state, session, user,
};
use crate::domain::features::oauth_tokens::STATE_LIFETIME;
use crate::domain::identity::email_links::UNVERIFIED_ACCOUNT_LIFETIME;
use crate::domain::identity::log_in::CHALLENGE_LIFETIME;
use crate::domain::identity::throttle::CODE_SUBJECT;
use crate::model::AppError;

/// Delivers up to `batch` due emails; returns how many were attempted. Once
/// `stopping` is true no further email is started.
pub async fn deliver_mail(
    d: &Domain,
    transport: &Transport,
    sender: &Mailbox,
    batch: u64,
    stopping: &(dyn Fn() -> bool + Sync),
) -> Result<usize, AppError> {
    mail::deliver_due_until(d, transport, sender, batch, stopping).await
}

/// The hourly clean-up: unverified accounts past their week, invitees whose
/// invitation expired a week ago or who were first invited 30 days ago
/// (`invitations::INVITATION_MAX_AGE`), expired throttling records and limit
/// counts, sessions, log-in challenges and OAuth states, activity events past their
/// retention, invitation declines past their hold, and old emails (in the
/// outbox and, with the embedded default, in the mail folder `transport`
/// writes to) and links. One failing does not stop the others; each failure
/// is reported by [`job_failed`].
pub async fn clean_up(d: &Domain, transport: &Transport) {
    if let Err(err) = remove_unverified_accounts(d).await {
        job_failed(Job::UnverifiedAccounts, &err);
    }
    // Above the most invitations the limits let in an hour (2,000 in all).
    if let Err(err) = invitations::remove_expired_invitees(d, 10_000).await {
        job_failed(Job::ExpiredInvitees, &err);
    }
    if let Err(err) = forget_expired(d).await {
        job_failed(Job::ExpiredRecords, &err);
    }
    if let Err(err) = forget_old_activity(d).await {
        job_failed(Job::OldActivity, &err);
    }
    if let Err(err) = forget_old_mail_and_links(d, transport).await {
        job_failed(Job::OldMailAndLinks, &err);
    }
}

/// The periodic jobs, as their failures are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// A pass of the mail worker (not an email the SMTP server refused).
    Mail,
    UnverifiedAccounts,
    ExpiredInvitees,
    ExpiredRecords,
    OldActivity,
    OldMailAndLinks,
}

impl Job {
    pub const ALL: [Job; 6] = [
        Job::Mail,
        Job::UnverifiedAccounts,
        Job::ExpiredInvitees,
        Job::ExpiredRecords,
        Job::OldActivity,
        Job::OldMailAndLinks,
    ];

    /// Its `job` label.
    pub fn key(self) -> &'static str {
        match self {
            Job::Mail => "mail",
            Job::UnverifiedAccounts => "unverified_accounts",
            Job::ExpiredInvitees => "expired_invitees",
            Job::ExpiredRecords => "expired_records",
            Job::OldActivity => "old_activity",
            Job::OldMailAndLinks => "old_mail_and_links",
        }
    }
}

/// The failure counter of `job`.
fn failures(job: Job) -> metrics::Counter {
    metrics::counter!("console_job_failures_total", "job" => job.key())
}

/// Shows every job's failure count, at 0 until one fails: an alert on
/// its increase would miss the first failure of a series that appears
/// with it.
pub fn count_failures_from_zero() {
    for job in Job::ALL {
        failures(job).absolute(0);
    }
}

/// Logs a periodic job's failure and counts it in
/// `console_job_failures_total{job}`: a job that fails at every run leaves
/// its table growing in silence, and a count is what an alert can watch.
pub fn job_failed(job: Job, err: &AppError) {
    tracing::error!(job = job.key(), error = %err, "a periodic job failed");
    failures(job).increment(1);
}

/// Removes emails whose last try was more than
/// [`mail::KEPT_AFTER_LAST_TRY`] ago (and the mail folder's files of emails
/// queued that long ago) and links expired more than
/// [`tokens::KEPT_AFTER_EXPIRY`] ago, in batches. All are written at the
/// rate the email limits allow, for ever. Returns how many.
pub async fn forget_old_mail_and_links(d: &Domain, transport: &Transport) -> Result<u64, AppError> {
    let now = d.clock.now();
    let mail = mail::forget_before(&d.db, now - mail::KEPT_AFTER_LAST_TRY, 1000).await?;
    let links = tokens::forget_expired_before(&d.db, now - tokens::KEPT_AFTER_EXPIRY, 1000).await?;
    let files = mail::forget_files_before(transport, now - mail::KEPT_AFTER_LAST_TRY).await?;
    if mail + links + files > 0 {
        tracing::info!(mail, links, files, "removed old emails and links");
    }
    Ok(mail + links + files)
}

/// Removes activity events older than the retention (`ACTIVITY_RETENTION_DAYS`),
/// in batches. Returns how many.
pub async fn forget_old_activity(d: &Domain) -> Result<u64, AppError> {
    let cutoff = d.clock.now() - d.activity_retention;
    let removed = activity::forget_before(&d.db, cutoff, 1000).await?;
    if removed > 0 {
        tracing::info!(removed, "removed activity events past their retention");
    }
    Ok(removed)
}

/// Removes accounts older than [`UNVERIFIED_ACCOUNT_LIFETIME`] none of whose
/// users ever verified an address, freeing their addresses. Returns how many.
pub async fn remove_unverified_accounts(d: &Domain) -> Result<u64, AppError> {
    let cutoff = d.clock.now() - UNVERIFIED_ACCOUNT_LIFETIME;
    let never_verified =
        |query: sea_orm::Select<account::Entity>| query.filter(never_verified_before(cutoff));
    let mut removed = 0;
    let mut after = 0;
    // Page by page to the end: sign-ups may come faster than one page an
    // hour, and each page's statement stays short.
    loop {
        let doomed: Vec<i32> = never_verified(account::Entity::find())
            .filter(account::Column::Id.gt(after))
            .select_only()
            .column(account::Column::Id)
            .order_by_asc(account::Column::Id)
            .limit(500)
            .into_tuple()
            .all(&d.db)
            .await?;
        let Some(&last) = doomed.last() else { break };
        after = last;
        removed += remove_accounts(d, doomed, &never_verified).await?;
    }
    if removed > 0 {
        tracing::info!(removed, "removed accounts whose address was never verified");
    }
    Ok(removed)
}

/// Accounts created before `cutoff` none of whose users has verified an
/// address. A correlated `NOT EXISTS`, which both databases run as an
/// anti-join by the users' account index: PostgreSQL plans `id NOT IN
/// (every verified user's account)` over a list too big for its memory as a
/// rescan of the list for each account, and the hour's other clean-ups wait
/// behind it.
pub fn never_verified_before(cutoff: DateTime<Utc>) -> Condition {
    let verified_user = Query::select()
        .expr(Expr::value(1))
        .from(user::Entity)
        .and_where(
            Expr::col((user::Entity, user::Column::AccountId))
                .equals((account::Entity, account::Column::Id)),
        )
        .and_where(user::Column::EmailVerifiedAt.is_not_null())
        .to_owned();
    Condition::all()
        .add(account::Column::CreatedAt.lt(cutoff))
        .add(Expr::exists(verified_user).not())
}

async fn remove_accounts(
    d: &Domain,
    doomed: Vec<i32>,
    never_verified: &impl Fn(sea_orm::Select<account::Entity>) -> sea_orm::Select<account::Entity>,
) -> Result<u64, AppError> {
    let mut removed = 0;
    for account_id in doomed {
        // One account at a time, locked and checked again: a user who
        // verifies at this moment keeps the account.
        let txn = d.begin().await?;
        lock_account(&txn, account_id).await?;
        let still = never_verified(account::Entity::find_by_id(account_id)).one(&txn).await?;
        if still.is_none() {
            continue;
        }
        // Its numbers go back to the provider (to rest out the cool-down)
        // before the account's rows go.
        let numbers = Scoped::account(account_id).phone_numbers().all(&txn).await?;
        for number in numbers {
            d.numbers.release(&txn, &number.e164, d.clock.now()).await?;
        }
        removed += account::Entity::delete_by_id(account_id).exec(&txn).await?.rows_affected;
        txn.commit().await?;
    }
    Ok(removed)
}

/// Forgets failures whose window and lock are both over (a user's wrong
/// codes, which count until a right one, only `code_locks_remembered` after
/// the last), log-in challenges,
/// OAuth states and sessions past their lifetime, and declined invitations past their
/// hold, so a flood of made-up emails does not grow the tables for ever.
pub async fn forget_expired(d: &Domain) -> Result<u64, AppError> {
    let now = d.clock.now();
    // In batches read by the window's index: a spray of made-up emails from
    // many addresses grows the table, and one statement over it held the
    // only writer for its whole run.
    let over = Condition::all()
        .add(login_failure::Column::WindowStartedAt.lt(now - d.throttle.window))
        .add(
            Condition::any()
                .add(login_failure::Column::LockedUntil.is_null())
                .add(login_failure::Column::LockedUntil.lt(now)),
        )
        .add(
            Condition::any()
                .add(login_failure::Column::Subject.not_like(format!("{CODE_SUBJECT}%")))
                .add(
                    login_failure::Column::LastFailureAt.lt(now - d.throttle.code_locks_remembered),
                ),
        );
    let failures = db::delete_in_batches::<login_failure::Entity>(
        &d.db,
        login_failure::Column::Subject,
        1000,
        over,
    )
    .await?;
    let challenges = login_challenge::Entity::delete_many()
        .filter(login_challenge::Column::CreatedAt.lt(now - CHALLENGE_LIFETIME))
        .exec(&d.db)
        .await?;
    let states = oauth_state::Entity::delete_many()
        .filter(oauth_state::Column::CreatedAt.lt(now - STATE_LIFETIME))
        .exec(&d.db)
        .await?;
    let quotas = quota::forget_expired(&d.db, &d.quotas, now).await?;
    // A dead session is refused when it comes back; until then it kept its
    // client address and browser for as long as its user existed. In
    // batches: the first run on a database of years holds the writer for
    // one batch at a time.
    let dead = Condition::any()
        .add(session::Column::LastSeenAt.lt(now - d.sessions.idle))
        .add(session::Column::CreatedAt.lt(now - d.sessions.absolute));
    let sessions =
        db::delete_in_batches::<session::Entity>(&d.db, session::Column::TokenHash, 1000, dead)
            .await?;
    // A declined invitation's address is kept only while it holds.
    let declines = invitation_decline::Entity::delete_many()
        .filter(invitation_decline::Column::DeclinedAt.lt(now - invitations::DECLINE_HOLD))
        .exec(&d.db)
        .await?;
    Ok(failures
        + challenges.rows_affected
        + states.rows_affected
        + quotas
        + declines.rows_affected
        + sessions)
}
