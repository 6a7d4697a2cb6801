//! Where phone numbers come from. The domain asks a [`NumberProvider`] for a
//! toll-free number and gives numbers back through it; the embedded default,
//! [`LocalPool`], hands out numbers from a configured stock kept in the
//! database. A real carrier plugs in behind the same trait without touching
//! the UI or the domain rules.
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::domain::entity::local_number_pool as pool;
use crate::model::AppError;

/// A number a provider has reserved for an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    /// E.164, e.g. `+18005550100`.
    pub e164: String,
    pub pci: bool,
}

#[async_trait]
pub trait NumberProvider: Send + Sync {
    /// Reserves a toll-free number for `account_id`, or `None` when the
    /// provider has none to give. It runs inside the caller's transaction so
    /// that an embedded provider's bookkeeping commits or rolls back with the
    /// account's change; a carrier's API call cannot roll back, so such a
    /// provider must release the number itself if the transaction fails.
    async fn request_toll_free(
        &self,
        txn: &DatabaseTransaction,
        account_id: i32,
        now: DateTime<Utc>,
    ) -> Result<Option<Provisioned>, AppError>;

    /// Gives a number back to the provider (when it is released, or its
    /// account removed). The provider keeps it for a cool-down before anyone
    /// else gets it, so calls meant for the old holder do not reach the new.
    async fn release(
        &self,
        txn: &DatabaseTransaction,
        e164: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError>;

    /// How long a released number rests before this provider hands it out
    /// again, when this process decides it (the embedded pool's
    /// `NUMBER_COOLDOWN_DAYS`); a carrier decides its own.
    fn cooldown(&self) -> Option<Duration> {
        None
    }

    /// This provider with another rest (an operator command given the
    /// servers' recorded one); `None` when the provider has no rest of its
    /// own to change.
    fn with_cooldown(&self, _cooldown: Duration) -> Option<Arc<dyn NumberProvider>> {
        None
    }

    /// Records that a number an account holds now belongs to `account_id`
    /// (an operator merged the two accounts). The number goes on ringing
    /// where it did: no cool-down, nothing given back.
    async fn reassign(
        &self,
        txn: &DatabaseTransaction,
        e164: &str,
        account_id: i32,
    ) -> Result<(), AppError>;
}

/// NANP toll-free area codes.
pub const TOLL_FREE_PREFIXES: [&str; 7] = ["800", "833", "844", "855", "866", "877", "888"];

/// Whether `e164` is a well-formed NANP toll-free number, e.g. `+18005550100`.
fn is_toll_free(e164: &str) -> bool {
    let Some(digits) = e164.strip_prefix("+1") else { return false };
    digits.len() == 10
        && digits.chars().all(|c| c.is_ascii_digit())
        && TOLL_FREE_PREFIXES.contains(&&digits[..3])
        && !matches!(digits.as_bytes()[3], b'0' | b'1')
}

/// The embedded provider: numbers from the `local_number_pool` table.
pub struct LocalPool {
    /// How long a given-back number rests before it is handed out again.
    pub cooldown: Duration,
}

/// The default cool-down of a released number.
pub const COOLDOWN: Duration = Duration::days(30);

impl Default for LocalPool {
    fn default() -> Self {
        LocalPool { cooldown: COOLDOWN }
    }
}

#[async_trait]
impl NumberProvider for LocalPool {
    fn cooldown(&self) -> Option<Duration> {
        Some(self.cooldown)
    }

    fn with_cooldown(&self, cooldown: Duration) -> Option<Arc<dyn NumberProvider>> {
        Some(Arc::new(LocalPool { cooldown }))
    }

    async fn request_toll_free(
        &self,
        txn: &DatabaseTransaction,
        account_id: i32,
        now: DateTime<Utc>,
    ) -> Result<Option<Provisioned>, AppError> {
        let rested = sea_orm::Condition::any()
            .add(pool::Column::ReleasedAt.is_null())
            .add(pool::Column::ReleasedAt.lte(now - self.cooldown));
        // Take the first free number with a conditional UPDATE. When another
        // transaction took it meanwhile the UPDATE changes no row (PostgreSQL
        // re-checks `taken_by IS NULL` after waiting for that transaction), and
        // the next free number is tried, so two requests never share one.
        for _ in 0..16 {
            let Some(candidate) = pool::Entity::find()
                .filter(pool::Column::TakenBy.is_null())
                .filter(rested.clone())
                .order_by_asc(pool::Column::E164)
                .limit(1)
                .one(txn)
                .await?
            else {
                return Ok(None);
            };
            let claimed = pool::Entity::update_many()
                .col_expr(pool::Column::TakenBy, account_id.into())
                .filter(pool::Column::E164.eq(&candidate.e164))
                .filter(pool::Column::TakenBy.is_null())
                .filter(rested.clone())
                .exec(txn)
                .await?;
            if claimed.rows_affected == 1 {
                return Ok(Some(Provisioned { e164: candidate.e164, pci: candidate.pci }));
            }
        }
        tracing::warn!("local number pool: too much contention for a free number");
        Ok(None)
    }

    async fn release(
        &self,
        txn: &DatabaseTransaction,
        e164: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        pool::Entity::update_many()
            .col_expr(pool::Column::TakenBy, Option::<i32>::None.into())
            .col_expr(pool::Column::ReleasedAt, Some(now).into())
            .filter(pool::Column::E164.eq(e164))
            .exec(txn)
            .await?;
        Ok(())
    }

    async fn reassign(
        &self,
        txn: &DatabaseTransaction,
        e164: &str,
        account_id: i32,
    ) -> Result<(), AppError> {
        pool::Entity::update_many()
            .col_expr(pool::Column::TakenBy, Some(account_id).into())
            .filter(pool::Column::E164.eq(e164))
            .filter(pool::Column::TakenBy.is_not_null())
            .exec(txn)
            .await?;
        Ok(())
    }
}

/// Adds numbers to the local pool's stock; numbers already there (free or
/// taken) are left as they are. Returns how many were new.
pub async fn stock_local_pool(
    db: &impl ConnectionTrait,
    numbers: &[Provisioned],
) -> Result<u64, AppError> {
    if let Some(bad) = numbers.iter().find(|n| !is_toll_free(&n.e164)) {
        tracing::error!(number = %bad.e164, "the number pool holds a number that is not toll-free E.164");
        return Err(AppError::Internal);
    }
    let before = pool::Entity::find().count(db).await?;
    for chunk in numbers.chunks(500) {
        let rows = chunk.iter().map(|n| pool::ActiveModel {
            e164: Set(n.e164.clone()),
            pci: Set(n.pci),
            taken_by: Set(None),
            released_at: Set(None),
        });
        pool::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([pool::Column::E164])
            .exec(db)
            .await?;
    }
    Ok(pool::Entity::find().count(db).await? - before)
}

/// Stocks [`default_pool`] when no pool file is configured, into an empty
/// pool only: a first start gets numbers to try the console with, while a
/// process started without the file after others that have one stocked
/// theirs (several hosts on one PostgreSQL database) adds no made-up
/// numbers to the stock every account draws on, where nothing would ever
/// remove them. (Started at the same moment as those on a new database, it
/// may still add them: start the first host alone.) Returns how many were
/// new.
pub async fn stock_built_in_pool(db: &impl ConnectionTrait) -> Result<u64, AppError> {
    if pool::Entity::find().count(db).await? > 0 {
        return Ok(0);
    }
    stock_local_pool(db, &default_pool()).await
}

/// The stock used when no pool file is configured: 40 numbers, every fourth
/// PCI-enabled.
pub fn default_pool() -> Vec<Provisioned> {
    ["800", "888"]
        .iter()
        .flat_map(|area| {
            (100..120).map(move |line| Provisioned {
                e164: format!("+1{area}5550{line}"),
                pci: line % 4 == 0,
            })
        })
        .collect()
}

/// Reads a pool file: one E.164 toll-free number a line, optionally followed
/// by `pci`; blank lines and `#` comments are skipped.
pub fn parse_pool(text: &str) -> Result<Vec<Provisioned>, String> {
    let mut numbers = Vec::new();
    for (at, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let e164 = words.next().unwrap_or_default().to_owned();
        let pci = match words.next() {
            None => false,
            Some(w) if w.eq_ignore_ascii_case("pci") => true,
            Some(other) => return Err(format!("line {}: unexpected {other:?}", at + 1)),
        };
        if !is_toll_free(&e164) {
            return Err(format!(
                "line {}: {e164:?} is not a toll-free number in E.164 (+1 800/833/844/855/866/877/888 …)",
                at + 1
            ));
        }
        numbers.push(Provisioned { e164, pci });
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toll_free_numbers() {
        assert!(is_toll_free("+18005550100"));
        assert!(is_toll_free("+18885550100"));
        assert!(!is_toll_free("+14155550100"), "not a toll-free area code");
        assert!(!is_toll_free("+1800555010"), "too short");
        assert!(!is_toll_free("+18000550100"), "exchange cannot start with 0");
        assert!(!is_toll_free("18005550100"), "no +");
    }

    #[test]
    fn pool_files() {
        let parsed = parse_pool("# stock\n+18005550100 pci\n\n+18335550101\n").unwrap();
        assert_eq!(
            parsed,
            vec![
                Provisioned { e164: "+18005550100".into(), pci: true },
                Provisioned { e164: "+18335550101".into(), pci: false },
            ]
        );
        assert!(parse_pool("+14155550100\n").unwrap_err().contains("line 1"));
        assert!(parse_pool("+18005550100 yes\n").unwrap_err().contains("unexpected"));
        assert_eq!(default_pool().len(), 40);
        assert!(default_pool().iter().all(|n| is_toll_free(&n.e164)));
    }
}
