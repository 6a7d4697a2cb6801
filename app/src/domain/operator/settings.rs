//! The settings every process on one database must share: the limits
//! (`LIMITS`), how long sessions last, how long activity is kept and how
//! long a released number rests. The counts behind the limits were already
//! in the database, but each process read the limits themselves from its
//! own environment: one started with laxer ones admitted what the others
//! refused. The database now records them (`shared_settings`): the first
//! server start its own, `settings adopt` a change; a server started with
//! others does not start.
use std::collections::BTreeMap;

use chrono::Duration;
use sea_orm::{ActiveValue::Set, EntityTrait};

use crate::domain::core::actor::Operator;
use crate::domain::core::limits::SessionPolicy;
use crate::domain::core::quota::QuotaPolicy;
use crate::domain::core::{db, provisioning, Domain, DEFAULT_ACTIVITY_RETENTION_DAYS};
use crate::domain::entity::shared_setting;
use crate::model::AppError;

/// The settings shared, by the name of their environment variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shared {
    Limits,
    NumberCooldownDays,
    SessionIdleMinutes,
    SessionLifetimeHours,
    ActivityRetentionDays,
}

impl Shared {
    const ALL: [Shared; 5] = [
        Shared::Limits,
        Shared::NumberCooldownDays,
        Shared::SessionIdleMinutes,
        Shared::SessionLifetimeHours,
        Shared::ActivityRetentionDays,
    ];

    fn name(self) -> &'static str {
        match self {
            Shared::Limits => "LIMITS",
            Shared::NumberCooldownDays => "NUMBER_COOLDOWN_DAYS",
            Shared::SessionIdleMinutes => "SESSION_IDLE_MINUTES",
            Shared::SessionLifetimeHours => "SESSION_LIFETIME_HOURS",
            Shared::ActivityRetentionDays => "ACTIVITY_RETENTION_DAYS",
        }
    }

    /// `d`'s value as recorded (see [`SharedSettings`]); `None` when `d`
    /// has no such setting (a carrier decides its numbers' rest itself).
    fn of(self, d: &Domain) -> Option<String> {
        match self {
            Shared::Limits => Some(d.quotas.overrides()),
            Shared::NumberCooldownDays => d.numbers.cooldown().map(|c| self.written(c.num_days())),
            Shared::SessionIdleMinutes => Some(self.written(d.sessions.idle.num_minutes())),
            Shared::SessionLifetimeHours => Some(self.written(d.sessions.absolute.num_hours())),
            Shared::ActivityRetentionDays => Some(self.written(d.activity_retention.num_days())),
        }
    }

    /// A duration's default in this build and the values the server's
    /// configuration takes, in its variable's unit; `None` for `LIMITS`.
    fn duration(self) -> Option<(i64, std::ops::RangeInclusive<i64>)> {
        let sessions = SessionPolicy::default();
        match self {
            Shared::Limits => None,
            Shared::NumberCooldownDays => Some((provisioning::COOLDOWN.num_days(), 0..=3650)),
            Shared::SessionIdleMinutes => Some((sessions.idle.num_minutes(), 1..=525_600)),
            Shared::SessionLifetimeHours => Some((sessions.absolute.num_hours(), 1..=8_760)),
            Shared::ActivityRetentionDays => Some((DEFAULT_ACTIVITY_RETENTION_DAYS, 1..=3650)),
        }
    }

    /// A duration as recorded: empty when it is this build's default.
    fn written(self, number: i64) -> String {
        match self.duration().is_some_and(|(default, _)| default == number) {
            true => String::new(),
            false => number.to_string(),
        }
    }

    /// A recorded value as this build writes it, so that another build's
    /// value equal to this build's default reads as the default (a build
    /// that makes `sign_up.client=10/60` its default is not refused the
    /// record of an older one given it in `LIMITS`). A value this build
    /// does not read stays as it is, and differs from any of its own.
    fn normalized(self, recorded: &str) -> String {
        match self {
            Shared::Limits => QuotaPolicy::default()
                .with_overrides(recorded)
                .map_or_else(|_| recorded.to_owned(), |limits| limits.overrides()),
            _ => recorded.parse().map_or_else(|_| recorded.to_owned(), |n| self.written(n)),
        }
    }

    /// Gives `d` a recorded value (`normalized` already), checked as the
    /// configuration checks it: a row changed by hand could hold anything.
    fn apply(self, d: &mut Domain, recorded: &str) -> Result<(), String> {
        if self == Shared::Limits {
            d.quotas = QuotaPolicy::default().with_overrides(recorded)?;
            return Ok(());
        }
        let Some((default, range)) = self.duration() else { return Ok(()) };
        let number = match recorded {
            "" => default,
            text => text.parse::<i64>().map_err(|_| format!("{text:?} is not a number"))?,
        };
        if !range.contains(&number) {
            return Err(format!("{number} is not {} to {}", range.start(), range.end()));
        }
        match self {
            Shared::NumberCooldownDays => {
                if let Some(numbers) = d.numbers.with_cooldown(Duration::days(number)) {
                    d.numbers = numbers;
                }
            }
            Shared::SessionIdleMinutes => d.sessions.idle = Duration::minutes(number),
            Shared::SessionLifetimeHours => d.sessions.absolute = Duration::hours(number),
            Shared::ActivityRetentionDays => d.activity_retention = Duration::days(number),
            Shared::Limits => {}
        }
        Ok(())
    }
}

/// A process's shared settings by the name of their environment variable,
/// each as one text however it was written (`LIMITS` in one order, spaces
/// gone), empty when it is the default. A default is not written out: two
/// builds with different defaults, each run with its own, agree (run one
/// build on a database's servers, as the README says).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedSettings(BTreeMap<&'static str, String>);

impl SharedSettings {
    /// The settings `d` runs with.
    pub fn of(d: &Domain) -> SharedSettings {
        let each = Shared::ALL.into_iter().filter_map(|s| Some((s.name(), s.of(d)?)));
        SharedSettings(each.collect())
    }

    /// The recorded value of each of these settings as this build writes
    /// it (see [`Shared::normalized`]); left out: not recorded.
    fn recorded_as_written(
        &self,
        recorded: &[shared_setting::Model],
    ) -> BTreeMap<&'static str, String> {
        Shared::ALL
            .into_iter()
            .filter(|s| self.0.contains_key(s.name()))
            .filter_map(|s| {
                let row = recorded.iter().find(|r| r.name == s.name())?;
                Some((s.name(), s.normalized(&row.value)))
            })
            .collect()
    }

    /// Where these settings and `recorded` differ; a setting not recorded
    /// (a build that shares more than the one that recorded) differs in
    /// nothing, and one recorded that this build does not share is left.
    fn differences(&self, recorded: &[shared_setting::Model]) -> Vec<SettingDiffers> {
        let recorded = self.recorded_as_written(recorded);
        self.0
            .iter()
            .filter_map(|(name, ours)| {
                let theirs = recorded.get(name)?;
                (theirs != ours).then(|| SettingDiffers {
                    name: name.to_string(),
                    ours: ours.clone(),
                    theirs: theirs.clone(),
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
/// process runs with, and answers those it wrote (`recorded`: the value
/// before, `None` when there was none). Running servers keep theirs until
/// restarted, and a server started with the old ones does not start from
/// then on.
pub async fn adopt_settings(d: &Domain, _: &Operator) -> Result<Vec<RecordedSetting>, AppError> {
    let txn = db::begin_locking(&d.db, "shared_settings").await?;
    let recorded = shared_setting::Entity::find().all(&txn).await?;
    let written: Vec<RecordedSetting> = compared(d, &recorded)
        .into_iter()
        .filter(|s| s.recorded.as_ref() != Some(&s.ours))
        .collect();
    for setting in &written {
        shared_setting::Entity::delete_by_id(setting.name.clone()).exec(&txn).await?;
        shared_setting::Entity::insert(row(d, &setting.name, &setting.ours)).exec(&txn).await?;
    }
    txn.commit().await?;
    for s in &written {
        let before = s.recorded.as_deref().unwrap_or("(none)");
        tracing::warn!(target: "operator", setting = s.name, before, now = s.ours, "adopted a shared setting");
    }
    Ok(written)
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
    Ok(compared(d, &recorded))
}

/// Each of `d`'s shared settings beside its recorded value.
fn compared(d: &Domain, recorded: &[shared_setting::Model]) -> Vec<RecordedSetting> {
    let ours = SharedSettings::of(d);
    let mut recorded = ours.recorded_as_written(recorded);
    let each = ours.0.into_iter().map(|(name, ours)| RecordedSetting {
        name: name.to_owned(),
        recorded: recorded.remove(name),
        ours,
    });
    each.collect()
}

/// Gives an operator command's domain the servers' recorded settings in
/// place of its environment's: `account merge` carries the per-account
/// counts still in their windows, and run without `LIMITS` (a plain shell)
/// it would judge them by the defaults. A setting not recorded keeps the
/// environment's; one recorded that does not read (a row changed by hand,
/// or a newer build's limit) stops the command, named.
pub async fn use_recorded_settings(d: &mut Domain, _: &Operator) -> Result<(), AppError> {
    let recorded = shared_setting::Entity::find().all(&d.read).await?;
    for shared in Shared::ALL {
        let Some(row) = recorded.iter().find(|r| r.name == shared.name()) else { continue };
        if let Err(err) = shared.apply(d, &shared.normalized(&row.value)) {
            return Err(AppError::Conflict(format!(
                "{} as the servers' settings record it ({:?}) does not read: {err}. Run this \
                 command with the servers' build; if the record was changed by hand, record \
                 theirs again with `server settings adopt --yes`, run with the servers' build \
                 and environment.",
                shared.name(),
                row.value
            )));
        }
    }
    Ok(())
}

fn row(d: &Domain, name: &str, value: &str) -> shared_setting::ActiveModel {
    shared_setting::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(value.to_owned()),
        recorded_at: Set(d.clock.now()),
    }
}
