//! Connecting to the database chosen by URL and bringing its schema up to date.
//!
//! On a SQLite file the console keeps two pools: one connection that every
//! write and transaction goes through, and several read-only connections for
//! the queries that only read (pages, lists, the session lookup). SQLite
//! allows one writer at a time anyway; a single writing connection means a
//! transaction that reads and then writes never meets another writer's
//! commit (which SQLite would refuse at once, whatever the busy timeout),
//! while WAL lets readers run beside it. Another process's writer (an
//! operator command) is kept out by [`begin`]. PostgreSQL gets one pool for both,
//! a small third pool for the user search's index statements (see
//! [`Connections::search_index`]) and a connection for the readiness probe
//! ([`Connections::probe`]).
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QuerySelect, QueryTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::domain::migration::Migrator;
use crate::model::AppError;

/// How long a SQLite connection waits for another's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The ways into one database: `write` for writes and transactions, `read`
/// for plain reads (the same pool unless the database is a SQLite file).
pub struct Connections {
    pub write: DatabaseConnection,
    pub read: DatabaseConnection,
    /// The user search's statements that must reach the users through the
    /// search index (`directory::IndexSearch`). On PostgreSQL a pool of its
    /// own whose sessions start with [`INDEX_ONLY_SETTINGS`]: set per
    /// statement instead, they took a transaction and three more round trips
    /// a search. On SQLite the read pool.
    pub search_index: DatabaseConnection,
    /// What `/readyz` asks: on PostgreSQL a connection of its own, so that
    /// a process whose pool is busy serving is not called unready (a load
    /// balancer would then send its load to the others, which would fill
    /// in turn). On SQLite the read pool: a local file is not "busy".
    pub probe: DatabaseConnection,
}

/// The planner settings of the PostgreSQL sessions that run the search's
/// index statements, and why:
/// - no sequential or plain index scan: the GIN index is then the only way
///   to the users. Left to itself, given a LIMIT and an estimate of many
///   holders, the planner walked the table ("user03" at a million users: 4 s
///   against 26 ms through the index), or the name index fetching each row
///   to check its pieces ("hiro", 100,000 holders: 2.3 s against 0.45 s);
/// - 16 MB of `work_mem`: the bitmap of the holders' table pages stays
///   exact (with the default 4 MB a lossy bitmap rechecks every row of its
///   pages: 3.5 s for "hiro" against 0.45 s);
/// - no JIT compilation: it cost 10-40 ms and saved nothing.
pub const INDEX_ONLY_SETTINGS: [(&str, &str); 4] =
    [("enable_seqscan", "off"), ("enable_indexscan", "off"), ("work_mem", "16MB"), ("jit", "off")];

/// Connects to `url` (`sqlite://path?mode=rwc`, `sqlite::memory:` or
/// `postgres://...`), runs any migrations not yet applied, and opens the read
/// and search index pools.
pub async fn connect(url: &str) -> Result<Connections, DbErr> {
    connect_as(url, Opening::Serving).await
}

/// Who opens the database, which decides what is done with the migrations
/// this build has and the database lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// A server: applies them.
    Serving,
    /// An operator command (a look at the mail, a new user): applies none,
    /// and refuses an older database, and one without the console's tables.
    /// Run from a newer build before its servers, it would otherwise migrate
    /// the database under the older servers, or act on a schema it does not
    /// know; pointed at another database (a `DATABASE_URL` without its
    /// database's name reaches the user's default one), it would set the
    /// console up there and record its key file's key as the servers'.
    Command,
    /// `backup`: a copy of the database as it is, so a newer build can back
    /// it up before the upgrade.
    AsItIs,
}

/// [`connect`], as `opening` asks.
pub async fn connect_as(url: &str, opening: Opening) -> Result<Connections, DbErr> {
    let write = open_writer(url).await?;
    match opening {
        Opening::Serving => migrate(&write, url).await?,
        Opening::Command => {
            // A new database: no migrations table, or an empty one.
            let applied = match has_migrations_table(&write).await? {
                true => applied_migrations(&write).await?,
                false => Default::default(),
            };
            let missing =
                Migrator::migrations().iter().filter(|m| !applied.contains(m.name())).count();
            if applied.is_empty() {
                return Err(DbErr::Custom(
                    "the database has no console tables: is DATABASE_URL (or DATA_DIR) the \
                     servers'? A server's first start creates them; if one is starting now, \
                     run the command once /readyz answers 200"
                        .into(),
                ));
            } else if missing > 0 {
                return Err(DbErr::Custom(format!(
                    "the database is older than this build ({missing} of its migrations not \
                     applied): if this build's server is starting now, run the command once \
                     /readyz answers 200; otherwise back it up (`backup` runs on it; pg_dump on \
                     PostgreSQL), then start this build's server, which applies them; or run \
                     the command with the build the servers run"
                )));
            }
        }
        Opening::AsItIs => {}
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let read = if is_sqlite_file(url) {
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
    let search_index = if url.starts_with("postgres") {
        // Grown as searches need them (one connection at start): most
        // requests never search.
        let mut options = ConnectOptions::new(url.to_owned());
        options.sqlx_logging(false).max_connections(2 * cores as u32).min_connections(0);
        check_connections(&mut options, url);
        options.map_sqlx_postgres_opts(|o| o.options(INDEX_ONLY_SETTINGS));
        Database::connect(options).await?
    } else {
        read.clone()
    };
    let probe = if url.starts_with("postgres") {
        let mut options = ConnectOptions::new(url.to_owned());
        // Connected when first probed: a command or a test never is.
        options.sqlx_logging(false).max_connections(1).min_connections(0).connect_lazy(true);
        check_connections(&mut options, url);
        Database::connect(options).await?
    } else {
        read.clone()
    };
    Ok(Connections { write, read, search_index, probe })
}

/// The writing connection alone, migrated (tools and tests that only write).
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = open_writer(url).await?;
    migrate(&db, url).await?;
    Ok(db)
}

/// Whether the database has the migrations table where its statements find
/// it: on PostgreSQL by the search path, as `applied_migrations` reads it
/// (sea-orm's `has_table` looks in the first schema only).
async fn has_migrations_table(conn: &DatabaseConnection) -> Result<bool, DbErr> {
    use sea_orm::{DbBackend, Statement};
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT to_regclass('seaql_migrations') IS NOT NULL",
        _ => "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
    };
    let row = conn.query_one_raw(Statement::from_string(backend, sql)).await?;
    Ok(row.and_then(|row| row.try_get_by_index::<bool>(0).ok()).unwrap_or(false))
}

/// The names of the migrations applied to the database; an error when it
/// has no migrations table.
async fn applied_migrations(
    conn: &DatabaseConnection,
) -> Result<std::collections::HashSet<String>, DbErr> {
    use sea_orm::Statement;
    let query = Statement::from_string(
        conn.get_database_backend(),
        "SELECT version FROM seaql_migrations".to_owned(),
    );
    let rows = conn.query_all_raw(query).await?;
    Ok(rows.iter().filter_map(|row| row.try_get::<String>("", "version").ok()).collect())
}

/// The writing connection, as every opening sets it up.
async fn open_writer(url: &str) -> Result<DatabaseConnection, DbErr> {
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
    Database::connect(options).await
}

/// Begins a transaction; on SQLite one that takes the write lock at once
/// (`BEGIN IMMEDIATE`). An operator command is a second process writing to
/// the server's file, and SQLite refuses at once, whatever the busy timeout,
/// a write from a transaction whose snapshot another process has committed
/// past since it first read; taken at the start, the lock makes either wait
/// its turn instead. Within a process nothing changes: its one writing
/// connection runs one transaction at a time anyway. PostgreSQL ignores the
/// mode (its row locks make the later writer wait).
pub async fn begin(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let immediate = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(immediate).await
}

/// A read-only transaction on `read` whose reads all see one moment of the
/// database. A listing built from several tables (applications and their
/// owners, numbers and theirs) would otherwise meet, now and then, a row
/// whose owner a deletion committed between two of its reads. SQLite's
/// deferred transaction takes its snapshot at its first read; PostgreSQL's
/// default isolation takes one per statement, so it asks for repeatable
/// read (which, read-only, never fails for a conflict). Reading on one
/// connection is cheaper too: the pool pings a connection each time it is
/// handed back, once instead of once a query.
pub async fn snapshot(read: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{AccessMode, IsolationLevel, TransactionOptions, TransactionTrait};
    let options = match read.get_database_backend() {
        sea_orm::DbBackend::Postgres => TransactionOptions {
            isolation_level: Some(IsolationLevel::RepeatableRead),
            access_mode: Some(AccessMode::ReadOnly),
            ..TransactionOptions::default()
        },
        _ => TransactionOptions::default(),
    };
    read.begin_with_options(options).await
}

/// A transaction holding the one lock on `table`, for a record that two
/// processes starting at once must not both write (each would find it
/// missing and insert its own): SQLite's [`begin`] takes its one write lock
/// already; PostgreSQL's row locks would not stop two inserts, so the table
/// is locked against other writers (readers go on).
pub async fn begin_locking(
    db: &DatabaseConnection,
    table: &'static str,
) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::ConnectionTrait;
    let txn = begin(db).await?;
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_unprepared(&format!("LOCK TABLE {table} IN EXCLUSIVE MODE")).await?;
    }
    Ok(txn)
}

/// A part of `txn` that can roll back alone (a `SAVEPOINT`): it runs
/// inside `txn`, under the lock `txn` took.
pub async fn savepoint(
    txn: &sea_orm::DatabaseTransaction,
) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::TransactionTrait;
    txn.begin().await
}

/// Any number, the same in every process: the key of the lock below.
const MIGRATION_LOCK: i64 = 0x766f_6963_6500;

/// Applies the pending migrations. On PostgreSQL several processes may start
/// at once (a deploy of several): each would see the same migrations pending
/// and the second fail on the first's tables. So they take turns on an
/// advisory lock, held by a session of its own (not a transaction left idle,
/// which a server's `idle_in_transaction_session_timeout` would end) while
/// the migrations run on the pool; the next finds nothing pending. There
/// sea-orm runs each migration in a transaction of its own.
///
/// On SQLite sea-orm uses none, so a failure or a crash halfway through a
/// migration would leave half a schema that no later start could finish.
/// SQLite's DDL is transactional: all pending migrations run in one
/// transaction, so a start applies them all or nothing. Its write lock,
/// taken as it begins ([`begin`]), makes a second server started beside it
/// wait up to the busy timeout and then find nothing pending. Inside a transaction SQLite ignores
/// `PRAGMA foreign_keys = OFF`, and foreign keys are on: a future migration
/// must not rebuild a table by drop-and-rename (dropping it would cascade to
/// its children's rows); add columns, or copy the children first.
async fn migrate(db: &DatabaseConnection, url: &str) -> Result<(), DbErr> {
    use sea_orm::DbBackend;
    if db.get_database_backend() != DbBackend::Postgres {
        let txn = begin(db).await?;
        Migrator::up(&txn, None).await?;
        return txn.commit().await;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    // The session holding the lock sits idle while the migrations run on
    // `db`: sqlx closes a connection idle for 10 minutes, or 30 minutes
    // old, even the pool's last one, and the lock would go with it halfway
    // through a long migration (a rewrite of a large table), letting a
    // second process start the same one.
    options.sqlx_logging(false).max_connections(1).min_connections(1);
    options.idle_timeout(None).max_lifetime(None);
    let turn = Database::connect(options).await?;
    turn.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).await?;
    let migrated = Migrator::up(db, None).await;
    // Closing the session would release the lock too; unlocking first
    // lets the next process go on at once.
    let unlock = format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})");
    let _ = turn.execute_unprepared(&unlock).await;
    let _ = turn.close().await;
    migrated
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
        // With the database gone, a request fails after this rather than
        // sqlx's default 30 s (the request timeout); so does a first start.
        options.acquire_timeout(ACQUIRE_TIMEOUT);
    }
}

/// How long a request waits for a PostgreSQL connection before failing.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a PostgreSQL connection may sit idle before it is checked again.
pub const IDLE_BEFORE_CHECK: Duration = Duration::from_secs(1);

fn is_sqlite_file(url: &str) -> bool {
    url.starts_with("sqlite") && !url.contains(":memory:") && !url.contains("mode=memory")
}

/// Whether the database answers and has every migration this build knows:
/// what a load balancer's readiness probe asks before sending traffic. A
/// migration this build does not know (a newer build's, during a rolling
/// deploy) leaves it ready: migrations only add. One read of the migrations
/// table, on the connection given (the server's probe, [`Connections::probe`]);
/// sea-orm's own pending check would create that
/// table on the writer and call an unknown migration an error.
pub async fn readiness(read: &DatabaseConnection) -> Readiness {
    match applied_migrations(read).await {
        Ok(applied) => {
            let missing: Vec<String> = Migrator::migrations()
                .iter()
                .map(|m| m.name().to_owned())
                .filter(|name| !applied.contains(name))
                .collect();
            match missing.is_empty() {
                true => Readiness::Ready,
                false => Readiness::MigrationsMissing(missing),
            }
        }
        Err(err) => Readiness::NoAnswer(err.to_string()),
    }
}

/// What [`readiness`] found.
#[derive(Debug, PartialEq)]
pub enum Readiness {
    Ready,
    /// This build's migrations not applied yet (by their names).
    MigrationsMissing(Vec<String>),
    /// The database's error.
    NoAnswer(String),
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

/// Deletes the rows of `E` that `which` holds for, `batch` at a time, so
/// that no statement holds the write lock long (the clean-ups' first run on
/// a database that never had them may find millions); `key` is the table's
/// primary key. Returns how many.
pub async fn delete_in_batches<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    key: E::Column,
    batch: u64,
    which: sea_orm::Condition,
) -> Result<u64, AppError> {
    let batch = batch.max(1);
    let mut removed = 0;
    loop {
        let some = E::find().filter(which.clone()).select_only().column(key).limit(batch);
        let mut delete = E::delete_many().filter(key.in_subquery(some.into_query()));
        // On PostgreSQL `which` again on the rows deleted: a row another
        // transaction changed meanwhile (a failed email queued again, a
        // count whose window started anew) is then checked as changed, where
        // the batch's list of keys alone would delete it anyway. (A batch
        // that kept one ends the loop early; the next hour's run goes on.)
        // SQLite's delete reads its list as the only writer, so it needs
        // none, and there the condition could lead its planner, which has
        // no statistics, away from the key to an index on the condition.
        if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
            delete = delete.filter(which.clone());
        }
        let gone = delete.exec(conn).await?.rows_affected;
        removed += gone;
        if gone < batch {
            return Ok(removed);
        }
    }
}

/// Deletes the row `id` of `E`, or says it was not found when it is gone
/// already. A delete reads its row before its transaction, so two deletes
/// sent at once both find it; only the one that removes it may go on to
/// record an event, and the other changes nothing.
pub async fn delete_found<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    id: i32,
) -> Result<(), AppError>
where
    i32: Into<<E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType>,
{
    match E::delete_by_id(id).exec(conn).await?.rows_affected {
        1 => Ok(()),
        _ => Err(AppError::NotFound),
    }
}
