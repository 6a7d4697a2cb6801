//! How the databases are opened (see `domain::core::db`): SQLite with WAL,
//! a read-only pool beside the one writing connection, and the query planner
//! stability guarantee that lets SQLite reuse its prepared statements;
//! PostgreSQL's pooled connections checked once they have sat idle.
use std::time::Duration;

use app::domain::core::db::IDLE_BEFORE_CHECK;
use app::domain::testing::{account_with_admin, domain_on, fresh_shared_database_url, Snapshot};
use sea_orm::{ConnectionTrait, Database, Statement};

async fn text(conn: &impl ConnectionTrait, sql: &str) -> Vec<String> {
    let rows = conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql));
    rows.await.unwrap().iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect()
}

#[tokio::test]
async fn a_sqlite_file_is_read_beside_its_writer_and_never_written_through_the_read_pool() {
    let path = std::env::temp_dir().join(format!("console-db-test-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let (d, _) = domain_on(&format!("sqlite://{}?mode=rwc", path.display())).await;

    assert_eq!(text(&d.db, "PRAGMA journal_mode").await, ["wal"]);
    assert!(
        text(&d.read, "PRAGMA compile_options").await.iter().any(|o| o == "ENABLE_QPSG"),
        "SQLite must be built with LIBSQLITE3_FLAGS from .cargo/config.toml"
    );
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let before = Snapshot::take(&d).await;
    let refused = d.read.execute_unprepared("UPDATE accounts SET company_name = 'x'").await;
    assert!(refused.unwrap_err().to_string().contains("readonly"));
    before.assert_unchanged(&d).await;

    // What the writer commits, the readers see at once.
    let sql = format!("SELECT email FROM users WHERE id = {}", ada.user_id());
    assert_eq!(text(&d.read, &sql).await, ["ada@example.com"]);
    let _ = std::fs::remove_file(&path);
}

/// A listing built from several tables reads in one snapshot
/// (`Domain::snapshot`): what another request commits meanwhile (a user
/// deleted, whose applications pass to the admin) is not half seen, and
/// the listing cannot meet a row whose owner is gone.
#[tokio::test]
async fn a_snapshot_reads_one_moment_of_the_database_while_others_write() {
    let (d, _) = domain_on(&fresh_shared_database_url().await).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let name = format!("SELECT company_name FROM accounts WHERE id = {}", ada.account_id());
    let rename =
        format!("UPDATE accounts SET company_name = 'Renamed' WHERE id = {}", ada.account_id());

    let read = d.snapshot().await.unwrap();
    assert_eq!(text(&read, &name).await, ["Acme"]);
    d.db.execute_unprepared(&rename).await.unwrap();
    assert_eq!(text(&read, &name).await, ["Acme"], "the snapshot's moment, to its end");
    read.commit().await.unwrap();
    assert_eq!(text(&d.read, &name).await, ["Renamed"], "after it, the commit");

    // It only reads: a write sent through it by mistake fails loudly.
    let read = d.snapshot().await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = read.execute_unprepared("UPDATE accounts SET company_name = 'x'").await;
    assert!(refused.is_err(), "a write in a read-only snapshot");
    read.rollback().await.unwrap();
    before.assert_unchanged(&d).await;
}

/// PostgreSQL may drop a pooled connection (a restart, a proxy's idle
/// timeout). The pool checks a connection that has sat idle before handing
/// it out, so the next request gets a live one instead of an error; one in
/// constant use is not checked, which saves each query a round trip.
#[tokio::test]
async fn a_postgresql_connection_the_server_dropped_is_replaced_before_it_is_used_again() {
    let url = fresh_shared_database_url().await;
    if !url.starts_with("postgres") {
        eprintln!("SQLite: a connection is a file open in this process, nothing drops it");
        return;
    }
    let (d, _) = domain_on(&url).await;
    let used = text(&d.db, "SELECT pg_backend_pid()::text").await;

    let admin = Database::connect(&url).await.unwrap();
    let dropped = text(
        &admin,
        "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await;
    assert!(dropped.iter().all(|t| t == "true") && !dropped.is_empty(), "{dropped:?}");
    tokio::time::sleep(IDLE_BEFORE_CHECK + Duration::from_millis(200)).await;

    let now = text(&d.db, "SELECT pg_backend_pid()::text").await;
    assert_ne!(now, used, "a new connection answers");
    admin.close().await.ok();
}

/// Processes of a new build started at once on one database migrate it one
/// after the other, and none fails on another's tables: several servers of
/// a deploy on PostgreSQL, or a server and an operator command on a SQLite
/// file. The database is several migrations behind, as an upgrade after a
/// few releases finds it: with one quick migration pending, the starts
/// rarely overlapped (session 45's review).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_starting_at_once_migrate_in_turn() {
    use sea_orm_migration::MigratorTrait;
    let url = fresh_shared_database_url().await;
    let before = app::domain::core::db::connect_and_migrate(&url).await.unwrap();
    app::domain::migration::Migrator::down(&before, Some(6)).await.unwrap();
    before.close().await.unwrap();
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { app::domain::core::db::connect_and_migrate(&url).await })
        })
        .collect();
    for start in starts {
        start.await.unwrap().expect("each process migrates or finds it done");
    }
    let after = app::domain::core::db::connect_and_migrate(&url).await.unwrap();
    use app::domain::core::db::{readiness, Readiness};
    assert_eq!(readiness(&after).await, Readiness::Ready, "every migration applied");
}

/// An operator command (`server user reset-2fa`, `server mail retry`) is a
/// second process writing to the server's SQLite file. A transaction that
/// reads and then writes must wait for the other process's write, not fail:
/// SQLite refuses at once, whatever the busy timeout, a write from a
/// transaction whose snapshot another process's commit has made stale. So
/// every transaction takes the write lock when it begins (`db::begin`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_beside_another_process_writing_waits_for_it_instead_of_failing() {
    let url = fresh_shared_database_url().await;
    if !url.starts_with("sqlite") {
        eprintln!("PostgreSQL: a row lock makes the later writer wait; nothing SQLite-specific");
        return;
    }
    let (server, _) = domain_on(&url).await;
    account_with_admin(&server, "Acme", "ada@example.com").await;
    let operator = app::domain::core::db::connect_and_migrate(&url).await.unwrap();

    let txn = app::domain::core::db::begin(&server.db).await.unwrap();
    assert_eq!(text(&txn, "SELECT company_name FROM accounts").await, ["Acme"]);
    let other = tokio::spawn(async move {
        let sql = "UPDATE accounts SET company_name = company_name || ', operator'";
        operator.execute_unprepared(sql).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sql = "UPDATE accounts SET company_name = company_name || ', server'";
    txn.execute_unprepared(sql).await.expect("the transaction that began first writes");
    txn.commit().await.unwrap();
    other.await.unwrap().expect("the other process's write waited for the commit");
    let names = text(&server.db, "SELECT company_name FROM accounts").await;
    assert_eq!(names, ["Acme, server, operator"], "both writes landed, in turn");
}

/// A start whose migrations fail leaves a SQLite file as it found it, so the
/// next start (the cause mended) applies them all. Without one transaction
/// around them, a migration failing after its first statements would leave
/// those applied and unrecorded, and every later start would fail on them.
/// Here a table left in the way makes one of the later migrations fail.
#[tokio::test]
async fn a_failed_migration_on_sqlite_leaves_no_half_applied_schema() {
    let path = std::env::temp_dir().join(format!("console-migrate-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let blocker = Database::connect(&url).await.unwrap();
    blocker.execute_unprepared("CREATE TABLE invitation_declines (x INTEGER)").await.unwrap();
    blocker.close().await.unwrap();

    let failed = app::domain::core::db::connect_and_migrate(&url).await;
    let err = failed.expect_err("the migration that creates invitation_declines fails");
    assert!(err.to_string().contains("invitation_declines"), "{err}");
    let tables = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
    let conn = Database::connect(&url).await.unwrap();
    assert_eq!(text(&conn, tables).await, ["invitation_declines"], "nothing else was created");

    conn.execute_unprepared("DROP TABLE invitation_declines").await.unwrap();
    conn.close().await.unwrap();
    let migrated = app::domain::core::db::connect_and_migrate(&url).await.unwrap();
    use app::domain::core::db::{readiness, Readiness};
    assert_eq!(readiness(&migrated).await, Readiness::Ready, "every migration applied");
    migrated.close().await.unwrap();
    let _ = std::fs::remove_file(&path);
}

/// An operator command migrates no database: run from a newer build
/// before its servers, it refuses instead of migrating the database under
/// the older servers, and changes nothing; a backup opens it as it is.
/// Pointed at a database without the console's tables, it sets nothing up.
#[tokio::test]
async fn an_operator_command_does_not_migrate_a_database_in_use() {
    use app::domain::core::db::{connect_as, readiness, Opening, Readiness};
    // A file or a PostgreSQL database of its own, new and empty.
    let url = fresh_shared_database_url().await;
    let refused = connect_as(&url, Opening::Command).await.err().expect("refused");
    assert!(refused.to_string().contains("the database has no console tables"), "{refused}");
    let conn = Database::connect(&url).await.unwrap();
    let tables = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table'",
    };
    assert_eq!(text(&conn, tables).await, Vec::<String>::new(), "nothing was set up");
    conn.close().await.unwrap();
    // The servers' first start sets it up.
    let new = connect_as(&url, Opening::Serving).await.unwrap();
    assert_eq!(readiness(&new.write).await, Readiness::Ready);
    // The servers run an older build: its last migration is not applied.
    use sea_orm_migration::MigratorTrait;
    let migrations = app::domain::migration::Migrator::migrations();
    let last = migrations.last().unwrap().name();
    let delete = format!("DELETE FROM seaql_migrations WHERE version = '{last}'");
    new.write.execute_unprepared(&delete).await.unwrap();
    new.write.close().await.unwrap();
    let refused = connect_as(&url, Opening::Command).await.err().expect("refused");
    assert!(refused.to_string().contains("the database is older than this build"), "{refused}");
    // A backup opens it as it is.
    let as_it_is = connect_as(&url, Opening::AsItIs).await.unwrap();
    assert!(matches!(readiness(&as_it_is.write).await, Readiness::MigrationsMissing(_)));
    as_it_is.write.close().await.unwrap();
    let conn = Database::connect(&url).await.unwrap();
    let versions = format!("SELECT version FROM seaql_migrations WHERE version = '{last}'");
    assert!(text(&conn, &versions).await.is_empty(), "nothing was migrated");
    conn.close().await.unwrap();
    if let Some(path) = url.strip_prefix("sqlite://").and_then(|p| p.split('?').next()) {
        let _ = std::fs::remove_file(path);
    }
}

/// Every column that names another row (`…_id`, `added_by`, `requested_by`)
/// leads an index, or its table's key: a lookup by it (a tab's rows, a
/// count under the account lock, the rows a delete must clear, and on
/// PostgreSQL a foreign key's check) otherwise reads every account's rows.
/// The exceptions name why a lookup by theirs never happens.
#[tokio::test]
async fn every_column_naming_another_row_leads_an_index() {
    const NOT_LOOKED_UP_BY: [(&str, &str); 8] = [
        // The id of the key that sealed the row's secret: read by `secrets
        // rotate` and `secrets status`, which read every row anyway.
        ("email_outbox", "key_id"),
        ("integrations", "key_id"),
        ("two_factor", "key_id"),
        ("certificates", "key_id"),
        ("oauth_tokens", "key_id"),
        // Stripe's id for the connected account: looked up within one
        // account, by the account's index.
        ("oauth_tokens", "provider_account_id"),
        // Looked up within one account, by (account_id, …) indexes; not
        // foreign keys (an event outlives its user).
        ("activity_events", "actor_user_id"),
        ("activity_events", "subject_user_id"),
    ];
    let (d, _) = app::domain::testing::fresh_domain().await;
    if d.db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        eprintln!("the schema is the same on PostgreSQL (one set of migrations); read on SQLite");
        return;
    }
    let tables = text(
        &d.db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE 'users_search%' AND name <> 'seaql_migrations'",
    )
    .await;
    let mut unindexed = Vec::new();
    for table in tables {
        let columns = text(&d.db, &format!("SELECT name FROM pragma_table_info('{table}')")).await;
        let leading = text(
            &d.db,
            &format!(
                "SELECT i.name FROM pragma_index_list('{table}') l, pragma_index_info(l.name) i \
                 WHERE i.seqno = 0 UNION SELECT name FROM pragma_table_info('{table}') WHERE pk = 1"
            ),
        )
        .await;
        for column in columns {
            let names_a_row =
                column.ends_with("_id") || column == "added_by" || column == "requested_by";
            if names_a_row
                && !leading.contains(&column)
                && !NOT_LOOKED_UP_BY.contains(&(table.as_str(), column.as_str()))
            {
                unindexed.push(format!("{table}.{column}"));
            }
        }
    }
    assert!(unindexed.is_empty(), "no index leads with {unindexed:?}");
}

/// `backup` leaves a checked copy under the name asked for and nothing
/// else beside it; it refuses a name taken, and a copy that cannot be made
/// leaves no file behind. (PostgreSQL is backed up with its own tools.)
#[tokio::test]
async fn a_backup_is_whole_under_its_name_or_not_there() {
    use app::domain::core::actor::Operator;
    use app::domain::operator;
    let (d, _) = app::domain::testing::fresh_concurrent_domain().await;
    if d.db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        let refused = operator::backup(&d, &Operator::from_command_line(), "x.db".as_ref()).await;
        assert!(
            matches!(&refused, Err(app::model::AppError::Conflict(m)) if m.contains("pg_dump")),
            "{refused:?}"
        );
        return;
    }
    app::domain::testing::account_with_admin(&d, "Acme", "ada@example.com").await;
    let folder = std::env::temp_dir().join(format!("console-backup-{}", std::process::id()));
    // A run that failed leaves its folder, and process ids come round again.
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    let to = folder.join("copy.db");
    let bytes = operator::backup(&d, &Operator::from_command_line(), &to).await.unwrap();
    assert_eq!(bytes, std::fs::metadata(&to).unwrap().len());
    let beside: Vec<_> =
        std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(beside, vec![std::ffi::OsString::from("copy.db")], "no partial copy left");
    let copy = Database::connect(format!("sqlite://{}?mode=ro", to.display())).await.unwrap();
    assert_eq!(text(&copy, "SELECT email FROM users").await, vec!["ada@example.com".to_string()]);
    copy.close().await.unwrap();
    // A name taken is refused, the file as it was.
    let again = operator::backup(&d, &Operator::from_command_line(), &to).await;
    let taken = format!("{} already exists; name a new file.", to.display());
    assert_eq!(again, Err(app::model::AppError::Conflict(taken)));
    assert_eq!(std::fs::metadata(&to).unwrap().len(), bytes);
    // A folder that is not there: refused, nothing made.
    let nowhere = folder.join("missing").join("copy.db");
    let failed = operator::backup(&d, &Operator::from_command_line(), &nowhere).await;
    assert!(
        matches!(&failed, Err(app::model::AppError::Conflict(m)) if m.starts_with("The backup failed: ")),
        "{failed:?}"
    );
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1);
    std::fs::remove_dir_all(&folder).unwrap();
}
