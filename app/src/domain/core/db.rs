//! Connecting to the database chosen by URL and bringing its schema up to date.
//!
//! On a SQLite file the console keeps two pools: one connection that every
//! write and transaction goes through, and several read-only connections for
//! the queries that only read (pages, lists, the session lookup). SQLite
//! allows one writer at a time anyway; a single writing connection means a
//! transaction that reads and then writes never meets another writer's
//! commit (which SQLite would refuse at once, whatever the busy timeout),
//! while WAL lets readers run beside it. PostgreSQL gets one pool for both.
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

use crate::domain::migration::Migrator;

/// How long a SQLite connection waits for another's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The two ways into one database: `write` for writes and transactions,
/// `read` for plain reads (the same pool unless the database is a SQLite file).
pub struct Connections {
    pub write: DatabaseConnection,
    pub read: DatabaseConnection,
}

/// Connects to `url` (`sqlite://path?mode=rwc`, `sqlite::memory:` or
/// `postgres://...`), runs any migrations not yet applied, and opens the read pool.
pub async fn connect(url: &str) -> Result<Connections, DbErr> {
    let write = connect_and_migrate(url).await?;
    let read = if is_sqlite_file(url) {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let mut options = ConnectOptions::new(url.to_owned());
        options.sqlx_logging(false).max_connections(2 * cores as u32).min_connections(1);
        check_connections(&mut options, url);
        // Read-only at the SQLite level: a write sent here by mistake fails loudly.
        options.map_sqlx_sqlite_opts(|o| {
            o.read_only(true).create_if_missing(false).busy_timeout(BUSY_TIMEOUT)
        });
        Database::connect(options).await?
    } else {
        write.clone()
    };
    Ok(Connections { write, read })
}

/// The writing connection alone, migrated (tools and tests that only write).
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    check_connections(&mut options, url);
    if url.starts_with("sqlite") {
        // One connection: for `:memory:` every connection is a separate
        // database; for a file, see the module comment.
        options.max_connections(1).min_connections(1);
    }
    if is_sqlite_file(url) {
        // WAL: readers never wait for the writer. NORMAL: a commit is durable
        // at the next checkpoint rather than at each fsync, which WAL keeps
        // consistent across a crash (a power cut may lose the last commits).
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(BUSY_TIMEOUT)
        });
    }
    let db = Database::connect(options).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// When the pool checks a connection before handing it out. sqlx's default
/// checks it every time, a round trip before each query (to SQLite's worker
/// thread, or to PostgreSQL and back); sqlx still checks each connection as
/// it comes back, so one an error broke is closed then either way.
fn check_connections(options: &mut ConnectOptions, url: &str) {
    if url.starts_with("sqlite") {
        // A SQLite connection is a file open in this process: nothing
        // outside can drop it.
        options.test_before_acquire(false);
    } else {
        // PostgreSQL, or a proxy before it, may drop a connection left idle;
        // one used within the last second is taken as alive. One dropped within
        // that second (the server restarted) fails the query that gets it.
        options.test_before_acquire_if_idle_for(IDLE_BEFORE_CHECK);
    }
}

/// How long a PostgreSQL connection may sit idle before it is checked again.
pub const IDLE_BEFORE_CHECK: Duration = Duration::from_secs(1);

fn is_sqlite_file(url: &str) -> bool {
    url.starts_with("sqlite") && !url.contains(":memory:") && !url.contains("mode=memory")
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

/// A pool's connections now: how many are open and how many of those idle
/// (for the metrics endpoint).
pub struct PoolUse {
    pub open: u32,
    pub idle: usize,
}

pub fn pool_use(conn: &DatabaseConnection) -> PoolUse {
    match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = conn.get_postgres_connection_pool();
            PoolUse { open: pool.size(), idle: pool.num_idle() }
        }
        _ => {
            let pool = conn.get_sqlite_connection_pool();
            PoolUse { open: pool.size(), idle: pool.num_idle() }
        }
    }
}
