//! Connecting to the database chosen by URL and bringing its schema up to date.
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

use crate::domain::migration::Migrator;

/// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and runs
/// any migrations not yet applied.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    if url.starts_with("sqlite::memory:") {
        // Every pooled connection to :memory: is a separate database.
        options.max_connections(1);
    }
    let db = Database::connect(options).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// Whether the database answers and has every migration this build knows:
/// what a load balancer's readiness probe asks before sending traffic.
pub async fn is_ready(db: &DatabaseConnection) -> bool {
    match Migrator::get_pending_migrations(db).await {
        Ok(pending) => pending.is_empty(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness: the database does not answer");
            false
        }
    }
}
