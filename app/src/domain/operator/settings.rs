//! The settings every process on one database must share: the limits
//! (`LIMITS`), how long sessions last, how long activity is kept and how
//! long a released number rests. The counts behind the limits were already
//! in the database, but each process read the limits themselves from its
//! own environment: one started with laxer ones admitted what the others
//! refused. The database now records them (`shared_settings`): the first
//! server start its own, `settings adopt` a change; a server started with
//! others does not start.
use std::collections::BTreeMap;

use sea_orm::{ActiveValue::Set, EntityTrait};

use crate::domain::core::actor::Operator;
use crate::domain::core::limits::SessionPolicy;
use crate::domain::core::{db, provisioning, Domain, DEFAULT_ACTIVITY_RETENTION_DAYS};
use crate::domain::entity::shared_setting;
use crate::model::AppError;

/// A process's shared settings by the name of their environment variable,
/// each as one text however it was written (`LIMITS` in one order, spaces
/// gone), empty when it is the default. A default is not written out, so a
/// build that changes one does not refuse the settings an older build
/// recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedSettings(BTreeMap<&'static str, String>);

impl SharedSettings {
    /// The settings `d` runs with.
    pub fn of(d: &Domain) -> SharedSettings {
        let given = |value: i64, default: i64| match value == default {
            true => String::new(),
            false => value.to_string(),
        };
        let sessions = SessionPolicy::default();
        let mut settings = BTreeMap::from([
            ("LIMITS", d.quotas.overrides()),
            (
                "SESSION_IDLE_MINUTES",
                given(d.sessions.idle.num_minutes(), sessions.idle.num_minutes()),
            ),
            (
                "SESSION_LIFETIME_HOURS",
                given(d.sessions.absolute.num_hours(), sessions.absolute.num_hours()),
            ),
            (
                "ACTIVITY_RETENTION_DAYS",
                given(d.activity_retention.num_days(), DEFAULT_ACTIVITY_RETENTION_DAYS),
            ),
        ]);
        // A carrier decides its numbers' rest itself: nothing to share.
        if let Some(cooldown) = d.numbers.cooldown() {
            let days = given(cooldown.num_days(), provisioning::COOLDOWN.num_days());
            settings.insert("NUMBER_COOLDOWN_DAYS", days);
        }
        SharedSettings(settings)
    }

    /// Where these settings and `recorded` differ; a setting not recorded
    /// (a build that shares more than the one that recorded) differs in
    /// nothing, and one recorded that this build does not share is left.
    fn differences(&self, recorded: &[shared_setting::Model]) -> Vec<SettingDiffers> {
        let recorded: BTreeMap<&str, &str> =
            recorded.iter().map(|r| (r.name.as_str(), r.value.as_str())).collect();
        self.0
            .iter()
            .filter_map(|(name, ours)| {
                let theirs = *recorded.get(name)?;
                (theirs != ours).then(|| SettingDiffers {
                    name: name.to_string(),
                    ours: ours.clone(),
                    theirs: theirs.to_owned(),
                })
            })
            .collect()
    }
}

/// One setting a process runs with (`ours`) that is not the one recorded
/// (`theirs`); empty is the default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingDiffers {
    pub name: String,
    pub ours: String,
    pub theirs: String,
}

/// Checks `d`'s shared settings against the recorded ones, recording those
/// the database has none of (its first start, or a setting a newer build
/// shares). Every server runs it at its start and does not start when it
/// answers differences: it would hold accounts to other limits.
pub async fn agree_on_settings(d: &Domain, _: &Operator) -> Result<Vec<SettingDiffers>, AppError> {
    let ours = SharedSettings::of(d);
    // Most starts find every setting recorded as theirs: read without the
    // lock, which on SQLite is the one writer's.
    let recorded = shared_setting::Entity::find().all(&d.db).await?;
    let all_recorded = ours.0.keys().all(|name| recorded.iter().any(|r| r.name == *name));
    let differs = ours.differences(&recorded);
    if all_recorded || !differs.is_empty() {
        return Ok(differs);
    }
    // Two first starts at once would each find nothing and record its own.
    let txn = db::begin_locking(&d.db, "shared_settings").await?;
    let recorded = shared_setting::Entity::find().all(&txn).await?;
    let differs = ours.differences(&recorded);
    if !differs.is_empty() {
        return Ok(differs);
    }
    let missing: Vec<_> =
        ours.0.iter().filter(|(name, _)| !recorded.iter().any(|r| r.name == **name)).collect();
    if !missing.is_empty() {
        let rows = missing.iter().map(|(name, value)| row(d, name, value));
        shared_setting::Entity::insert_many(rows).exec(&txn).await?;
        let names: Vec<&str> = missing.iter().map(|(name, _)| **name).collect();
        tracing::info!(target: "operator", settings = names.join(","), "recorded the shared settings");
    }
    txn.commit().await?;
    Ok(Vec::new())
}

/// `settings adopt`: records `d`'s shared settings as the ones every
/// process runs with, and answers those it changed (`theirs` what was
/// recorded before). Running servers keep theirs until restarted, and a
/// server started with the old ones does not start from then on.
pub async fn adopt_settings(d: &Domain, _: &Operator) -> Result<Vec<SettingDiffers>, AppError> {
    let ours = SharedSettings::of(d);
    let txn = db::begin_locking(&d.db, "shared_settings").await?;
    let recorded = shared_setting::Entity::find().all(&txn).await?;
    let changed = ours.differences(&recorded);
    let missing = ours.0.iter().filter(|(name, _)| !recorded.iter().any(|r| r.name == **name));
    let changed_names = changed.iter().map(|c| c.name.as_str());
    let written: Vec<&str> = changed_names.chain(missing.map(|(name, _)| *name)).collect();
    for name in &written {
        let value = &ours.0[name];
        shared_setting::Entity::delete_by_id(name.to_string()).exec(&txn).await?;
        shared_setting::Entity::insert(row(d, name, value)).exec(&txn).await?;
    }
    txn.commit().await?;
    for c in &changed {
        tracing::warn!(target: "operator", setting = c.name, before = c.theirs, now = c.ours, "adopted a shared setting");
    }
    Ok(changed)
}

/// The shared settings `d` runs with that are not the recorded ones, for
/// the metrics: after a `settings adopt`, the servers not restarted yet.
/// Nothing is recorded here.
pub async fn settings_differing(d: &Domain) -> Result<Vec<SettingDiffers>, AppError> {
    let recorded = shared_setting::Entity::find().all(&d.read).await?;
    Ok(SharedSettings::of(d).differences(&recorded))
}

/// A shared setting as recorded (`None`: not yet) beside a process's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedSetting {
    pub name: String,
    pub recorded: Option<String>,
    pub ours: String,
}

/// The recorded settings beside `d`'s own (`settings show`).
pub async fn shared_settings(d: &Domain, _: &Operator) -> Result<Vec<RecordedSetting>, AppError> {
    let recorded = shared_setting::Entity::find().all(&d.read).await?;
    let ours = SharedSettings::of(d).0;
    let shown = ours.into_iter().map(|(name, ours)| RecordedSetting {
        name: name.to_owned(),
        recorded: recorded.iter().find(|r| r.name == name).map(|r| r.value.clone()),
        ours,
    });
    Ok(shown.collect())
}

fn row(d: &Domain, name: &str, value: &str) -> shared_setting::ActiveModel {
    shared_setting::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(value.to_owned()),
        recorded_at: Set(d.clock.now()),
    }
}
