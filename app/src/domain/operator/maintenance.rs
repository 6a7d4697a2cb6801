//! `mail failed`, `mail retry` and `backup`: the outbox's failures, and a
//! copy of the embedded database.

use crate::domain::core::actor::Operator;
use crate::domain::core::mail;
use crate::domain::core::Domain;
use crate::domain::entity::email_outbox;
use crate::model::AppError;

/// `mail failed`: the emails whose delivery failed for good.
pub async fn failed_mail(d: &Domain, _: &Operator) -> Result<Vec<email_outbox::Model>, AppError> {
    mail::failed(d).await
}

/// `mail retry`: queues one failed email (or all) again with a fresh set of tries.
pub async fn retry_mail(d: &Domain, _: &Operator, id: Option<i32>) -> Result<u64, AppError> {
    let queued = mail::retry_failed(d, id).await?;
    tracing::info!(target: "operator", queued, ?id, "operator queued failed emails again");
    Ok(queued)
}

/// A consistent copy of the embedded SQLite database at `to`, taken while
/// the server runs: `VACUUM INTO` reads in one transaction, so writers go on
/// and the copy holds exactly what was committed when it began. Returns the
/// copy's size in bytes. PostgreSQL is backed up with its own tools.
pub async fn backup(d: &Domain, _: &Operator, to: &std::path::Path) -> Result<u64, AppError> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    if d.db.get_database_backend() != DbBackend::Sqlite {
        return Err(AppError::Conflict(
            "`server backup` copies the embedded SQLite database; back up PostgreSQL with \
             pg_dump (see the README)."
                .into(),
        ));
    }
    if to.exists() {
        return Err(AppError::Conflict(format!(
            "{} already exists; name a new file.",
            to.display()
        )));
    }
    let path = to.to_str().ok_or_else(|| AppError::Conflict("The path is not UTF-8.".into()))?;
    d.db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [path.into()],
    ))
    .await
    .map_err(|e| AppError::Conflict(format!("The backup failed: {e}")))?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    tracing::info!(target: "operator", to = %to.display(), bytes, "operator backed up the database");
    Ok(bytes)
}
