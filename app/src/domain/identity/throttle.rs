//! Log-in throttling. Failed log-ins are counted per email address (hashed,
//! known or not, so the answer never tells whether an account exists) and
//! per client address, in the database so that every server process sees
//! the same counts. After a few failures each further attempt must wait a
//! little longer; after more, the subject is locked for a short while. The
//! lock is short on purpose: an attacker who knows someone's email can keep
//! them out only for minutes at a time, and "Forgot password?" always works.
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::domain::core::crypto::token_hash;
use crate::domain::core::Domain;
use crate::domain::entity::login_failure;
use crate::model::AppError;

/// What is counted: an email and, when known, the client's address.
pub struct Subjects {
    email: String,
    address: Option<String>,
}

impl Subjects {
    pub fn new(normalized_email: &str, address: Option<std::net::IpAddr>) -> Self {
        Subjects {
            email: format!("email:{}", token_hash(normalized_email)),
            address: address.map(|a| format!("ip:{a}")),
        }
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.email).chain(self.address.as_ref())
    }
}

fn minutes(until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    ((until - now).num_seconds() + 59) / 60
}

/// Refuses an attempt while a subject is locked or waiting out its backoff.
pub async fn check(d: &Domain, subjects: &Subjects) -> Result<(), AppError> {
    let now = d.clock.now();
    let policy = d.throttle;
    let rows = login_failure::Entity::find()
        .filter(login_failure::Column::Subject.is_in(subjects.all().cloned()))
        .all(&d.db)
        .await?;
    for row in rows {
        // A lock lasts its full time, even past the window it was counted in.
        if let Some(until) = row.locked_until.filter(|until| *until > now) {
            return Err(AppError::TooManyRequests(format!(
                "Too many failed log-ins. Try again in {} minutes, or reset your password.",
                minutes(until, now).max(1)
            )));
        }
        let counting = now - row.window_started_at < policy.window;
        if counting && row.subject == subjects.email && row.failures >= policy.email_slow_after {
            let wait = Duration::seconds(
                (1i64 << (row.failures - policy.email_slow_after + 1).min(6)).min(60),
            );
            if now - row.last_failure_at < wait {
                return Err(AppError::TooManyRequests(format!(
                    "Too many failed log-ins. Wait {} seconds and try again.",
                    (wait - (now - row.last_failure_at)).num_seconds().max(1)
                )));
            }
        }
    }
    Ok(())
}

/// Counts a failure against every subject, locking those over their limit.
pub async fn record_failure(d: &Domain, subjects: &Subjects) -> Result<(), AppError> {
    // Here only: its min/max would shadow the integers' elsewhere.
    use sea_orm::sea_query::ExprTrait;
    let now = d.clock.now();
    let policy = d.throttle;
    for subject in subjects.all() {
        // One statement per subject, so concurrent failures all count: a
        // fresh window starts at 1, a running one adds 1.
        let window_open =
            Expr::col((login_failure::Entity, login_failure::Column::WindowStartedAt))
                .gt(now - policy.window);
        login_failure::Entity::insert(login_failure::ActiveModel {
            subject: Set(subject.clone()),
            failures: Set(1),
            window_started_at: Set(now),
            last_failure_at: Set(now),
            locked_until: Set(None),
        })
        .on_conflict(
            OnConflict::column(login_failure::Column::Subject)
                .value(
                    login_failure::Column::Failures,
                    Expr::case(
                        window_open.clone(),
                        Expr::col((login_failure::Entity, login_failure::Column::Failures)).add(1),
                    )
                    .finally(1),
                )
                .value(
                    login_failure::Column::WindowStartedAt,
                    Expr::case(
                        window_open.clone(),
                        Expr::col((login_failure::Entity, login_failure::Column::WindowStartedAt)),
                    )
                    .finally(now),
                )
                .value(login_failure::Column::LastFailureAt, now)
                .to_owned(),
        )
        .exec(&d.db)
        .await?;
        let limit = if subject.starts_with("ip:") {
            policy.address_lock_after
        } else {
            policy.email_lock_after
        };
        login_failure::Entity::update_many()
            .col_expr(login_failure::Column::LockedUntil, Some(now + policy.lock).into())
            .filter(login_failure::Column::Subject.eq(subject))
            .filter(login_failure::Column::Failures.gte(limit))
            .filter(
                login_failure::Column::LockedUntil
                    .is_null()
                    .or(login_failure::Column::LockedUntil.lt(now)),
            )
            .exec(&d.db)
            .await?;
    }
    Ok(())
}

/// A successful log-in forgets the email's failures (not the address's).
pub async fn record_success(d: &Domain, subjects: &Subjects) -> Result<(), AppError> {
    login_failure::Entity::delete_by_id(subjects.email.clone()).exec(&d.db).await?;
    Ok(())
}
