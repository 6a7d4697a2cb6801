//! The settings every process on one database shares: the first start
//! records its own, a process started with other ones is refused with
//! nothing recorded, and `settings adopt` changes them for every process.
use app::domain::core::actor::Operator;
use app::domain::core::quota::QuotaPolicy;
use app::domain::entity::shared_setting;
use app::domain::operator::{self, RecordedSetting, SettingDiffers};
use app::domain::testing::{domain_on, fresh_shared_database_url, Snapshot};
use app::domain::Domain;
use sea_orm::{EntityTrait, QueryOrder};

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

fn adopted(name: &str, ours: &str, before: Option<&str>) -> RecordedSetting {
    RecordedSetting { name: name.into(), recorded: before.map(Into::into), ours: ours.into() }
}

#[tokio::test]
async fn a_server_with_other_limits_or_durations_is_refused_until_they_are_adopted() {
    let url = fresh_shared_database_url().await;
    let op = Operator::from_command_line();
    let first = process(&url, "", |_| {}).await;
    assert_eq!(operator::agree_on_settings(&first, &op).await.unwrap(), [], "the first records");
    let recorded = shared_setting::Entity::find()
        .order_by_asc(shared_setting::Column::Name)
        .all(&first.db)
        .await
        .unwrap();
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
    let same = process(&url, &spelled, |d| {
        d.sessions.idle = chrono::Duration::days(7);
        d.activity_retention = chrono::Duration::days(365);
    })
    .await;
    assert_eq!(operator::agree_on_settings(&same, &op).await.unwrap(), []);

    // Laxer limits, a longer session, a shorter rest: refused, each named,
    // and nothing recorded.
    let before = Snapshot::take(&first).await;
    let lax = process(&url, "sign_up.client=1000/60", |_| {}).await;
    let refused = operator::agree_on_settings(&lax, &op).await.unwrap();
    assert_eq!(refused, [differs("LIMITS", "sign_up.client=1000/60", "")]);
    // A window alone, or a limit the defaults do not have, differs too.
    for other in ["sign_up.client=5/30", "sign_up.account=9/60"] {
        let refused = operator::agree_on_settings(&process(&url, other, |_| {}).await, &op).await;
        assert_eq!(refused.unwrap(), [differs("LIMITS", other, "")]);
    }
    let longer = process(&url, "", |d| {
        d.sessions.idle = chrono::Duration::minutes(90);
        d.sessions.absolute = chrono::Duration::hours(48);
        d.activity_retention = chrono::Duration::days(30);
        d.numbers = std::sync::Arc::new(app::domain::core::provisioning::LocalPool {
            cooldown: chrono::Duration::zero(),
        });
    })
    .await;
    assert_eq!(
        operator::agree_on_settings(&longer, &op).await.unwrap(),
        [
            differs("ACTIVITY_RETENTION_DAYS", "30", ""),
            differs("NUMBER_COOLDOWN_DAYS", "0", ""),
            differs("SESSION_IDLE_MINUTES", "90", ""),
            differs("SESSION_LIFETIME_HOURS", "48", "")
        ]
    );
    before.assert_unchanged(&first).await;

    // Adopted, the lax limits are the servers' own: the process that had
    // them starts, and one with the old ones does not.
    let changed = operator::adopt_settings(&lax, &op).await.unwrap();
    assert_eq!(changed, [adopted("LIMITS", "sign_up.client=1000/60", Some(""))]);
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
/// the other is refused, whichever wins. On SQLite its one writer takes them in
/// turn anyway; on PostgreSQL (the CI run) the table lock does, without
/// which the two inserts collided in 2 of 3 runs.
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

/// A value recorded by another build reads as this build writes it: a
/// limit or duration now equal to the default is the default, so a build
/// that makes it its default is not refused.
#[tokio::test]
async fn a_value_another_build_recorded_that_is_now_the_default_agrees() {
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let url = fresh_shared_database_url().await;
    let op = Operator::from_command_line();
    let first = process(&url, "", |_| {}).await;
    assert_eq!(operator::agree_on_settings(&first, &op).await.unwrap(), []);
    let default_limit = QuotaPolicy::default().limits()[0].to_string();
    for (name, value) in [
        ("LIMITS", format!("{default_limit}, sign_up.client=0/60")),
        ("SESSION_IDLE_MINUTES", "10080".into()),
    ] {
        let row = shared_setting::Entity::find_by_id(name).one(&first.db).await.unwrap().unwrap();
        let mut row = row.into_active_model();
        row.value = Set(value);
        row.update(&first.db).await.unwrap();
    }
    let refused = operator::agree_on_settings(&first, &op).await.unwrap();
    assert_eq!(refused, [differs("LIMITS", "", "sign_up.client=0/60")]);
    let closed = process(&url, "sign_up.client=0/60", |_| {}).await;
    assert_eq!(operator::agree_on_settings(&closed, &op).await.unwrap(), []);
}

/// `settings adopt` on a database with nothing recorded records every
/// setting and says so; an operator command acts with the recorded
/// settings, whatever its own environment's, and one recorded that does
/// not read stops it, named.
#[tokio::test]
async fn adopt_records_what_was_missing_and_commands_act_with_the_recorded_settings() {
    use app::domain::core::provisioning::LocalPool;
    use chrono::Duration;
    let url = fresh_shared_database_url().await;
    let op = Operator::from_command_line();
    let servers = process(&url, "sign_up.client=7/60", |d| {
        d.numbers = std::sync::Arc::new(LocalPool { cooldown: Duration::days(2) });
        d.sessions.idle = Duration::minutes(90);
        d.sessions.absolute = Duration::hours(48);
        d.activity_retention = Duration::days(30);
    })
    .await;
    let written = operator::adopt_settings(&servers, &op).await.unwrap();
    assert_eq!(
        written,
        [
            adopted("ACTIVITY_RETENTION_DAYS", "30", None),
            adopted("LIMITS", "sign_up.client=7/60", None),
            adopted("NUMBER_COOLDOWN_DAYS", "2", None),
            adopted("SESSION_IDLE_MINUTES", "90", None),
            adopted("SESSION_LIFETIME_HOURS", "48", None)
        ]
    );

    let mut command = process(&url, "", |_| {}).await;
    operator::use_recorded_settings(&mut command, &op).await.unwrap();
    assert_eq!(command.quotas.overrides(), "sign_up.client=7/60");
    assert_eq!(command.numbers.cooldown(), Some(Duration::days(2)));
    assert_eq!(command.sessions.idle, Duration::minutes(90));
    assert_eq!(command.sessions.absolute, Duration::hours(48));
    assert_eq!(command.activity_retention, Duration::days(30));
    assert_eq!(operator::agree_on_settings(&command, &op).await.unwrap(), []);

    for (name, value, says) in [
        ("SESSION_IDLE_MINUTES", "-5", "-5 is not 1 to 525600"),
        ("ACTIVITY_RETENTION_DAYS", "a year", "\"a year\" is not a number"),
        ("LIMITS", "sign_up.everyone=1/60", "unknown subject"),
    ] {
        use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
        let row = shared_setting::Entity::find_by_id(name).one(&servers.db).await.unwrap();
        let before = row.clone().unwrap().value;
        let mut changed = row.unwrap().into_active_model();
        changed.value = Set(value.into());
        let changed = changed.update(&servers.db).await.unwrap();
        let mut command = process(&url, "", |_| {}).await;
        match operator::use_recorded_settings(&mut command, &op).await {
            Err(app::model::AppError::Conflict(m)) => {
                assert!(m.contains(name) && m.contains(says), "{m}")
            }
            other => panic!("{name}={value}: {other:?}"),
        }
        let mut restored = changed.into_active_model();
        restored.value = Set(before);
        restored.update(&servers.db).await.unwrap();
    }
}
