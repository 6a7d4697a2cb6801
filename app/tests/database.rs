//! How the embedded SQLite default is opened (see `domain::core::db`): WAL,
//! a read-only pool beside the one writing connection, and the query planner
//! stability guarantee that lets SQLite reuse its prepared statements.
use app::domain::testing::{account_with_admin, domain_on, Snapshot};
use sea_orm::{ConnectionTrait, Statement};

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
