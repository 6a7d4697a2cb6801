//! The refusal tests' snapshot reads every table: one added later is read too.
use app::domain::testing::{account_with_admin, fresh_domain, Snapshot, SNAPSHOT_ENTITIES};

#[test]
fn the_snapshot_reads_every_entity() {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain/entity/mod.rs"),
    )
    .unwrap();
    let entities: Vec<&str> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert_eq!(entities, SNAPSHOT_ENTITIES, "list the new entity in testing::snapshot_tables!");
}

#[tokio::test]
async fn a_snapshot_sees_a_change_and_ignores_what_it_is_told_to() {
    let (d, _) = fresh_domain().await;
    let before = Snapshot::take(&d).await;
    before.assert_unchanged(&d).await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    let changed = tokio::spawn(async move { before.assert_unchanged(&d).await }).await;
    assert!(changed.is_err(), "a new account is a change");

    let (d, _) = fresh_domain().await;
    let before = Snapshot::take_except(&d, &["accounts", "users"]).await;
    account_with_admin(&d, "Acme", "ada@example.com").await;
    before.assert_unchanged(&d).await;
}
