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

/// How many failed emails `mail retry` leaves failed: those no key of the
/// key file opens.
pub async fn failed_mail_unopened(d: &Domain, _: &Operator) -> Result<u64, AppError> {
    mail::failed_unopened(d).await
}

/// A consistent copy of the embedded SQLite database at `to`, taken while
/// the server runs: `VACUUM INTO` reads in one transaction, so writers go on
/// and the copy holds exactly what was committed when it began. Returns the
/// copy's size in bytes. PostgreSQL is backed up with its own tools.
///
/// The copy is written beside `to` under a passing name, checked (SQLite's
/// `integrity_check`), flushed to disk (`VACUUM INTO` does not sync), and
/// only then linked under `to`, which refuses a file that appeared
/// meanwhile: a copy cut short (a crash, Ctrl-C, a full disk) never lies
/// under the name asked for, looking like a backup.
pub async fn backup(d: &Domain, _: &Operator, to: &std::path::Path) -> Result<u64, AppError> {
    use sea_orm::DbBackend;
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
    let name = to.file_name().and_then(|n| n.to_str());
    let name =
        name.ok_or_else(|| AppError::Conflict("The path is not a UTF-8 file name.".into()))?;
    let partial = to.with_file_name(format!(
        ".{name}.partial-{}",
        hex::encode(crate::domain::core::crypto::random_bytes::<6>())
    ));
    let copied = copy_checked(d, &partial, to).await;
    if copied.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    let bytes = copied.map_err(|why| AppError::Conflict(format!("The backup failed: {why}")))?;
    tracing::info!(target: "operator", to = %to.display(), bytes, "operator backed up the database");
    Ok(bytes)
}

/// [`backup`]'s steps, from the copy at `partial` to its place at `to`.
async fn copy_checked(
    d: &Domain,
    partial: &std::path::Path,
    to: &std::path::Path,
) -> Result<u64, String> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use std::io::ErrorKind;
    let path = partial.to_str().ok_or("the path is not UTF-8")?;
    // Made first, empty (which `VACUUM INTO` writes into), for the server's
    // user alone: the copy holds password hashes and live links.
    let mut made = std::fs::OpenOptions::new();
    made.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut made, 0o600);
    made.open(partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let vacuum = Statement::from_sql_and_values(DbBackend::Sqlite, "VACUUM INTO ?", [path.into()]);
    d.db.execute_raw(vacuum).await.map_err(|e| e.to_string())?;
    let copy = sea_orm::sqlx::sqlite::SqliteConnectOptions::new()
        .filename(partial)
        .read_only(true)
        .create_if_missing(false);
    let pool = sea_orm::sqlx::SqlitePool::connect_with(copy).await.map_err(|e| e.to_string())?;
    let verdict: Result<Vec<(String,)>, _> =
        sea_orm::sqlx::query_as("PRAGMA integrity_check").fetch_all(&pool).await;
    pool.close().await;
    match verdict.map_err(|e| e.to_string())?.as_slice() {
        [(ok,)] if ok == "ok" => {}
        found => {
            let lines: Vec<&str> = found.iter().map(|(line,)| line.as_str()).collect();
            return Err(format!("the copy does not check out: {}", lines.join("; ")));
        }
    }
    let file = std::fs::File::open(partial).map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| e.to_string())?;
    let bytes = file.metadata().map_err(|e| e.to_string())?.len();
    match std::fs::hard_link(partial, to) {
        Ok(()) => std::fs::remove_file(partial).map_err(|e| e.to_string())?,
        // A file system without hard links (FAT, some network mounts): a
        // rename, which would replace a file that appeared meanwhile, so
        // looked for once more just before.
        Err(e) if matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::PermissionDenied) => {
            if to.exists() {
                return Err(format!("{} appeared meanwhile; name a new file", to.display()));
            }
            std::fs::rename(partial, to).map_err(|e| format!("{}: {e}", to.display()))?;
        }
        Err(e) => return Err(format!("{}: {e}", to.display())),
    }
    // The new name itself, so a power cut does not lose the entry.
    let folder = match to.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    std::fs::File::open(folder).and_then(|f| f.sync_all()).map_err(|e| e.to_string())?;
    Ok(bytes)
}
