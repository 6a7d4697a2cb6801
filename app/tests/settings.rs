//! The settings every process on one database shares: the first start
//! records its own, a process started with other ones is refused with
//! nothing recorded, and `settings adopt` changes them for every process.
use app::domain::core::actor::Operator;
use app::domain::core::quota::QuotaPolicy;
use app::domain::entity::shared_setting;
use app::domain::operator::{self, SettingDiffers};
use app::domain::testing::{domain_on, fresh_shared_database_url, Snapshot};
use app::domain::Domain;
use sea_orm::EntityTrait;

/// A process on `url` whose environment gave it `limits` and `change`.
async fn process(url: &str, limits: &str, change: impl FnOnce(&mut Domain)) -> Domain {
    let (mut d, _) = domain_on(url).await;
    d.quotas = QuotaPolicy::default().with_overrides(limits).unwrap();
    change(&mut d);
    d
}

fn differs(name: &str, ours: &str, theirs: &str) -> SettingDiffers {
    SettingDiffers { name: name.into(), ours: ours.into(), theirs: theirs.into() }
}

#[tokio::test]
async fn a_server_with_other_limits_or_durations_is_refused_until_they_are_adopted() {
    let url = fresh_shared_database_url().await;
    let op = Operator::from_command_line();
    let first = process(&url, "", |_| {}).await;
    assert_eq!(operator::agree_on_settings(&first, &op).await.unwrap(), [], "the first records");
    let recorded = shared_setting::Entity::find().all(&first.db).await.unwrap();
    let names: Vec<&str> = recorded.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ACTIVITY_RETENTION_DAYS",
            "LIMITS",
            "NUMBER_COOLDOWN_DAYS",
            "SESSION_IDLE_MINUTES",
            "SESSION_LIFETIME_HOURS"
        ]
    );
    assert!(recorded.iter().all(|r| r.value.is_empty()), "defaults: {recorded:?}");

    // The defaults spelled out are the defaults.
    let spelled = QuotaPolicy::default().limits()[0].to_string();
    let same = process(&url, &spelled, |_| {}).await;
    assert_eq!(operator::agree_on_settings(&same, &op).await.unwrap(), []);

    // Laxer limits, a longer session, a shorter rest: refused, each named,
    // and nothing recorded.
    let before = Snapshot::take(&first).await;
    let lax = process(&url, "sign_up.client=1000/60", |_| {}).await;
    let refused = operator::agree_on_settings(&lax, &op).await.unwrap();
    assert_eq!(refused, [differs("LIMITS", "sign_up.client=1000/60", "")]);
    let longer = process(&url, "", |d| {
        d.sessions.idle = chrono::Duration::minutes(90);
        d.numbers = std::sync::Arc::new(app::domain::core::provisioning::LocalPool {
            cooldown: chrono::Duration::zero(),
        });
    })
    .await;
    assert_eq!(
        operator::agree_on_settings(&longer, &op).await.unwrap(),
        [differs("NUMBER_COOLDOWN_DAYS", "0", ""), differs("SESSION_IDLE_MINUTES", "90", "")]
    );
    before.assert_unchanged(&first).await;

    // Adopted, the lax limits are the servers' own: the process that had
    // them starts, and one with the old ones does not.
    let changed = operator::adopt_settings(&lax, &op).await.unwrap();
    assert_eq!(changed, [differs("LIMITS", "sign_up.client=1000/60", "")]);
    assert_eq!(operator::agree_on_settings(&lax, &op).await.unwrap(), []);
    let refused = operator::agree_on_settings(&first, &op).await.unwrap();
    assert_eq!(refused, [differs("LIMITS", "", "sign_up.client=1000/60")]);
    assert_eq!(operator::adopt_settings(&lax, &op).await.unwrap(), [], "nothing to change");
    let shown = operator::shared_settings(&first, &op).await.unwrap();
    let limits = shown.iter().find(|s| s.name == "LIMITS").unwrap();
    assert_eq!(limits.recorded.as_deref(), Some("sign_up.client=1000/60"));
    assert_eq!(limits.ours, "");
}

/// A setting the database has no record of (one a newer build shares
/// first) is recorded by the next start, without refusing it.
#[tokio::test]
async fn a_setting_not_recorded_yet_is_recorded_by_the_next_start() {
    let url = fresh_shared_database_url().await;
    let op = Operator::from_command_line();
    let first = process(&url, "sign_up.client=7/60", |_| {}).await;
    assert_eq!(operator::agree_on_settings(&first, &op).await.unwrap(), []);
    shared_setting::Entity::delete_by_id("SESSION_IDLE_MINUTES").exec(&first.db).await.unwrap();

    let next = process(&url, "sign_up.client=7/60", |d| {
        d.sessions.idle = chrono::Duration::minutes(90);
    })
    .await;
    assert_eq!(operator::agree_on_settings(&next, &op).await.unwrap(), []);
    let idle = shared_setting::Entity::find_by_id("SESSION_IDLE_MINUTES").one(&first.db).await;
    assert_eq!(idle.unwrap().unwrap().value, "90");
    // From then on it is checked like the others.
    let refused = operator::agree_on_settings(&first, &op).await.unwrap();
    assert_eq!(refused, [differs("SESSION_IDLE_MINUTES", "", "90")]);
}

/// Two first starts at once with different limits: one records its own and
/// the other is refused, whichever wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_first_starts_at_once_record_one_set_of_settings() {
    let url = fresh_shared_database_url().await;
    let op = Operator::from_command_line();
    let a = process(&url, "sign_up.client=1/60", |_| {}).await;
    let b = process(&url, "sign_up.client=2/60", |_| {}).await;
    let (ra, rb) =
        tokio::join!(operator::agree_on_settings(&a, &op), operator::agree_on_settings(&b, &op));
    let outcomes = [ra.unwrap(), rb.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| o.is_empty()).count(), 1, "{outcomes:?}");
    let recorded = shared_setting::Entity::find_by_id("LIMITS").one(&a.db).await.unwrap();
    let winner = recorded.unwrap().value;
    let loser = outcomes.iter().find(|o| !o.is_empty()).unwrap();
    assert_eq!(loser.len(), 1, "{loser:?}");
    assert_eq!(loser[0].theirs, winner);
    assert_ne!(loser[0].ours, winner);
}
