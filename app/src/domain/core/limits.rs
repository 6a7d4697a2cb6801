//! The numbers that bound a session, a log-in's throttle, an account's plan
//! and what an account keeps. How often each thing may be done is in
//! `quota`; how long each link lives, in `tokens`.
use chrono::Duration;
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::domain::entity::account;
use crate::model::AppError;

/// How long sessions live: ended after `idle` without a request, and after
/// `absolute` in any case. A user keeps at most `kept_per_user`: a log-in
/// beyond that ends their least recently seen, so signing in again and again
/// does not grow the table without bound.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
    pub kept_per_user: u64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { idle: Duration::days(7), absolute: Duration::days(30), kept_per_user: 100 }
    }
}

/// The thresholds, documented in the README. Attempts are counted before
/// their secret is checked; a success gives its count back (see
/// `identity::throttle`), so the counts are of failures in effect.
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    /// Attempts are counted within this window, then forgotten.
    pub window: Duration,
    /// From this many attempts of one email, each next one waits 2, 4, 8 … seconds (at most a minute).
    pub email_slow_after: i32,
    /// This many attempts of one email are checked; then it is locked for
    /// `lock`. Also the limit of one user's password re-checks.
    pub email_lock_after: i32,
    /// This many attempts from one client address (an IPv6 /64) are
    /// checked; then it is locked for `lock`.
    pub address_lock_after: i32,
    /// At this many wrong second-factor codes of one user (over all their
    /// log-ins and security settings) the user's codes are locked for `lock`,
    /// and each further lock before a right code for twice the one before,
    /// up to `code_lock_longest`: a code is one of a million, and whoever
    /// has the password could otherwise try five every `lock` for ever.
    pub code_lock_after: i32,
    pub code_lock_longest: Duration,
    /// How long after its last wrong code a user's run of locks is
    /// remembered (the clean-up keeps the row that long).
    pub code_locks_remembered: Duration,
    pub lock: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            window: Duration::minutes(15),
            email_slow_after: 3,
            email_lock_after: 10,
            address_lock_after: 50,
            code_lock_after: 5,
            code_lock_longest: Duration::days(1),
            code_locks_remembered: Duration::days(7),
            lock: Duration::minutes(15),
        }
    }
}

/// How many of each thing one account keeps at most (developer keys: one
/// user). Anyone can sign up, and every account's rows share one database:
/// no table grows without bound at one account's hand. The defaults are far
/// above what a company uses; the README lists them.
#[derive(Clone, Copy, Debug)]
pub struct Holdings {
    pub integrations: u64,
    pub certificates: u64,
    pub js_libraries: u64,
    pub applications: u64,
    pub developer_keys: u64,
    pub oauth_tokens: u64,
    /// On the full plan (a demo account holds one): the tab and the API
    /// list every number at once, and each request draws on the stock that
    /// every account shares.
    pub phone_numbers: u64,
}

impl Default for Holdings {
    fn default() -> Self {
        Holdings {
            integrations: 100,
            certificates: 100,
            js_libraries: 200,
            applications: 500,
            developer_keys: 20,
            oauth_tokens: 50,
            phone_numbers: 1000,
        }
    }
}

/// Refuses one more when `held` already reaches `most`, with `refusal`. The
/// caller counts under the account's lock, so two adds at once cannot both
/// take the last place.
pub fn refuse_full(held: u64, most: u64, refusal: impl FnOnce() -> String) -> Result<(), AppError> {
    match held >= most {
        true => Err(AppError::Conflict(refusal())),
        false => Ok(()),
    }
}

/// The most ids one request may name (owner changes, an application's
/// libraries and integrations): far beyond what a person selects, well within
/// every database's limit on query parameters.
pub const IDS_MAX: usize = 500;

/// Each id once, for a statement's `IN` list: an account may hold 100,000
/// links (500 applications with 200 libraries each), so the ids they name,
/// repeated, would pass both databases' bound on a statement's parameters;
/// distinct, they are at most what the account holds.
pub fn distinct(ids: impl IntoIterator<Item = i32>) -> std::collections::BTreeSet<i32> {
    ids.into_iter().collect()
}

/// Refuses a list longer than `max`, naming the field.
pub fn at_most(field: &str, len: usize, max: usize) -> Result<(), AppError> {
    if len > max {
        return Err(AppError::field(field, format!("At most {max} at a time.")));
    }
    Ok(())
}

/// What an account may hold. Sign-ups start on the demo plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    Demo,
    Full,
}

impl Plan {
    pub fn key(self) -> &'static str {
        match self {
            Plan::Demo => "demo",
            Plan::Full => "full",
        }
    }

    pub fn from_key(key: &str) -> Option<Plan> {
        match key {
            "demo" => Some(Plan::Demo),
            "full" => Some(Plan::Full),
            _ => None,
        }
    }

    /// How many phone numbers an account on this plan may hold.
    pub fn number_limit(self) -> Option<usize> {
        match self {
            Plan::Demo => Some(1),
            Plan::Full => None,
        }
    }
}

/// The plan an account is on now.
pub async fn plan(conn: &impl ConnectionTrait, account_id: i32) -> Result<Plan, AppError> {
    let model =
        account::Entity::find_by_id(account_id).one(conn).await?.ok_or(AppError::NotFound)?;
    Ok(Plan::from_key(&model.plan).unwrap_or(Plan::Demo))
}
