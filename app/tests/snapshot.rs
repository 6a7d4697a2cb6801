//! The refusal tests' snapshot reads every table: one added later is read too.
use app::domain::entity::quota_counter;
use app::domain::testing::{account_with_admin, fresh_domain, Snapshot, SNAPSHOT_ENTITIES};
use app::domain::testing::{log_in_by_password, PASSWORD};
use app::domain::Domain;
use chrono::Duration;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};

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

/// Whether a snapshot taken with `spent` as it is fails once `change` has
/// left it otherwise (`false`: removed it).
async fn fails_after(
    d: &Domain,
    spent: &quota_counter::Model,
    change: impl FnOnce(&mut quota_counter::Model) -> bool,
) -> bool {
    quota_counter::Entity::delete_by_id(spent.key.clone()).exec(&d.db).await.unwrap();
    spent.clone().into_active_model().insert(&d.db).await.unwrap();
    let before = Snapshot::take(d).await;
    quota_counter::Entity::delete_by_id(spent.key.clone()).exec(&d.db).await.unwrap();
    let mut row = spent.clone();
    if change(&mut row) {
        row.into_active_model().insert(&d.db).await.unwrap();
    }
    let d = d.clone();
    tokio::spawn(async move { before.assert_unchanged(&d).await }).await.is_err()
}

/// A count of attempts (here Ada's log-ins) may grow while a refused call
/// runs, but one that came out lower, went missing or had its window started
/// again before the old one was over would give a guesser tries back: the
/// snapshot fails on each. Once the window is over, a new one may start.
#[tokio::test]
async fn a_snapshot_fails_when_a_count_is_lowered_or_restarted_early() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    let key = format!("sign_in:actor:{}", ada.user_id());
    let spent = quota_counter::Entity::find_by_id(key).one(&d.db).await.unwrap();
    let spent = spent.expect("the log-in is counted");
    assert_eq!(spent.count, 1);

    let lowered = fails_after(&d, &spent, |row| {
        row.count = 0;
        true
    });
    assert!(lowered.await, "a count lowered is a change");
    assert!(fails_after(&d, &spent, |_| false).await, "a count removed is a change");
    let restarted = fails_after(&d, &spent, |row| {
        row.window_started_at += Duration::minutes(1);
        true
    });
    assert!(restarted.await, "a window started again before the old one is over is a change");
    let restarted_lower = fails_after(&d, &spent, |row| {
        row.window_started_at += Duration::minutes(59);
        row.count = 0;
        true
    });
    assert!(restarted_lower.await, "so is one started again and emptied a minute early");

    let raised = fails_after(&d, &spent, |row| {
        row.count = 2;
        true
    });
    assert!(!raised.await, "a count that grows is no change");
    assert!(!fails_after(&d, &spent, |_| true).await, "nor is one left as it was");
    clock.advance(Duration::minutes(60));
    let now = d.clock.now();
    let renewed = fails_after(&d, &spent, |row| {
        row.window_started_at = now;
        row.count = 0;
        true
    });
    assert!(!renewed.await, "a window started again once the old one is over is no change");
}

/// `assert_nothing_counted` is for calls refused before any count: unlike
/// `assert_unchanged`, it fails when a count of attempts (here Ada's
/// log-ins, written by hand so nothing else changes) grew, or appeared.
#[tokio::test]
async fn nothing_counted_fails_when_an_attempt_is_counted() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let key = format!("sign_in:actor:{}", ada.user_id());
    let counted_after = async |d: &Domain, count: Option<i32>| {
        let before = Snapshot::take(d).await;
        if let Some(count) = count {
            quota_counter::Entity::delete_by_id(key.clone()).exec(&d.db).await.unwrap();
            let row =
                quota_counter::Model { key: key.clone(), count, window_started_at: d.clock.now() };
            row.into_active_model().insert(&d.db).await.unwrap();
        }
        let d = d.clone();
        tokio::spawn(async move { before.assert_nothing_counted(&d).await }).await.is_err()
    };
    assert!(!counted_after(&d, None).await, "nothing done, nothing counted");
    assert!(counted_after(&d, Some(1)).await, "a count appeared");
    assert!(counted_after(&d, Some(2)).await, "a count grew");
    // Where `assert_unchanged` lets a count grow.
    let before = Snapshot::take(&d).await;
    quota_counter::Entity::delete_by_id(key.clone()).exec(&d.db).await.unwrap();
    let row = quota_counter::Model { key: key.clone(), count: 3, window_started_at: d.clock.now() };
    row.into_active_model().insert(&d.db).await.unwrap();
    before.assert_unchanged(&d).await;
}
