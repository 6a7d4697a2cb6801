//! The bottom layer of the domain: imports only `entity` (and `migration`).
//! Capabilities, tenant scope, the people of an account, and the
//! infrastructure every rule needs: clock, crypto, sealed secrets, email
//! links, validation, names, limits, the outbox, the outbound client and the number
//! provider. [`Domain`] is the context every service is handed.
pub mod activity;
pub mod actor;
pub mod clock;
pub mod crypto;
pub mod db;
pub mod directory;
pub mod edits;
pub mod limits;
pub mod mail;
pub mod names;
pub mod oauth_provider;
pub mod outbound;
pub mod people;
pub mod provisioning;
pub mod quota;
pub mod scope;
pub mod secrets;
pub mod tokens;
pub mod validation;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::model::AppError;
use clock::Clock;
use crypto::PasswordHasher;
use limits::{SessionPolicy, ThrottlePolicy};
use oauth_provider::OAuthConfig;
use provisioning::NumberProvider;
use quota::QuotaPolicy;
use secrets::Secrets;

/// Everything the services need, handed to them explicitly.
#[derive(Clone)]
pub struct Domain {
    /// Every write and transaction.
    pub db: DatabaseConnection,
    /// Plain reads that need no transaction (see [`db`] on why the two differ).
    pub read: DatabaseConnection,
    /// The user search's index statements (see [`db::Connections`]).
    pub search_index: DatabaseConnection,
    /// What the readiness probe asks (see [`db::Connections::probe`]).
    pub probe: DatabaseConnection,
    /// What PostgreSQL's statistics say of the search index, kept a while.
    pub search_statistics: Arc<directory::PieceStatistics>,
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordHasher,
    pub sessions: SessionPolicy,
    /// The address people use to reach the console; every link in an email
    /// starts with it (never with a request's Host header).
    pub public_url: String,
    /// Seals and opens stored secrets.
    pub secrets: Arc<Secrets>,
    /// The ids of sealing keys the operator declared lost
    /// (`SECRET_KEYS_LOST`): what they sealed never opens again, and may be
    /// dropped where keeping it would block something (a deleted user's
    /// OAuth token). A key merely missing from this host's file is another
    /// host's, not lost.
    pub lost_keys: Arc<[String]>,
    /// The outbound HTTPS client (presents the account's client certificates).
    pub outbound: Arc<outbound::Outbound>,
    /// The OAuth provider (Stripe Connect) and this server's clients.
    pub oauth: Arc<OAuthConfig>,
    /// When failed log-ins, 2FA codes and password re-checks slow down and lock.
    pub throttle: ThrottlePolicy,
    /// Where toll-free numbers come from.
    pub numbers: Arc<dyn NumberProvider>,
    /// How often each subject (a user, an account, an address, the
    /// platform) may do what costs others: emails, numbers, sign-ins,
    /// password checks, changes, exports, Stripe starts (`quota::Action`).
    pub quotas: QuotaPolicy,
    /// How many of each thing an account keeps at most.
    pub holdings: limits::Holdings,
    /// How long activity events are kept (`ACTIVITY_RETENTION_DAYS`).
    pub activity_retention: chrono::Duration,
    /// Where people write for what only the platform's operators can do
    /// (`SUPPORT_EMAIL`): every "contact support" names it when it is set.
    pub support_email: Option<String>,
    /// Work that runs on when its request is gone (a Stripe code's
    /// exchange): a stopping server waits for it, within its grace, before
    /// it closes the database.
    pub background: tokio_util::task::TaskTracker,
    /// "Forgot password?" answers before the address is looked up and its
    /// link written (which then runs in `background`): how long the answer
    /// takes must not tell whether the address has an account. Off in
    /// tests, which look for the email at once.
    pub reply_before_sending: bool,
    /// The resets written in `background` at once: a request waits here
    /// once they are all busy (whatever its address), so a flood of
    /// requests does not pile up work it was never made to wait for.
    pub reset_writers: Arc<tokio::sync::Semaphore>,
}

/// How many resets are written in the background at once: a few for each
/// of the write pool's connections.
pub const RESET_WRITERS: usize = 8;

/// How long activity events are kept unless configured otherwise.
pub const DEFAULT_ACTIVITY_RETENTION_DAYS: i64 = 365;

impl Domain {
    /// "contact support", with the address when one is configured: told to
    /// someone who cannot do a thing themself, it must say where to ask.
    pub fn contact_support(&self) -> String {
        crate::model::contact_support(self.support_email.as_deref())
    }

    /// A link into the console, e.g. `link("/reset-password", token)`.
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.public_url)
    }

    /// A transaction on the writing connection; every change that reads
    /// before it writes runs in one (see [`db::begin`] for SQLite's lock).
    pub async fn begin(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        db::begin(&self.db).await
    }

    /// Reads that must agree with each other, on the read pool (see [`db::snapshot`]).
    pub async fn snapshot(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        db::snapshot(&self.read).await
    }

    /// Counts one `action` by `who` in `conn`'s transaction (see [`quota::spend`]).
    pub async fn spend<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        action: quota::Action,
        who: &quota::Who,
    ) -> Result<(), AppError> {
        quota::spend(conn, &self.quotas, self.clock.now(), action, who).await
    }

    /// Counts one `action` by `who` in a transaction of its own, committed at
    /// once: every count it takes, or, past any limit, none (on a bare
    /// connection the counts before the one refused would stay taken).
    pub async fn spend_alone(
        &self,
        action: quota::Action,
        who: &quota::Who,
    ) -> Result<(), AppError> {
        let txn = self.begin().await?;
        self.spend(&txn, action, who).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Refuses `action` by `who` when a limit has no count left, taking none
    /// (see [`quota::refuse_spent`]).
    pub async fn refuse_spent(
        &self,
        action: quota::Action,
        who: &quota::Who,
    ) -> Result<(), AppError> {
        quota::refuse_spent(&self.db, &self.quotas, self.clock.now(), action, who).await
    }

    pub fn new(db: db::Connections, clock: Arc<dyn Clock>, secrets: Arc<Secrets>) -> Self {
        let db::Connections { write: db, read, search_index, probe } = db;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Domain {
            db,
            read,
            search_index,
            probe,
            search_statistics: Arc::default(),
            clock,
            // One core is left to everything else, so a flood of log-ins
            // (each an argon2 verification) cannot starve other requests.
            passwords: PasswordHasher::new(cores.saturating_sub(1).max(1)),
            sessions: SessionPolicy::default(),
            public_url: "http://127.0.0.1:3000".into(),
            secrets,
            numbers: Arc::new(provisioning::LocalPool::default()),
            quotas: QuotaPolicy::default(),
            holdings: limits::Holdings::default(),
            throttle: ThrottlePolicy::default(),
            outbound: Arc::new(outbound::Outbound::public()),
            oauth: Arc::new(OAuthConfig::default()),
            activity_retention: chrono::Duration::days(DEFAULT_ACTIVITY_RETENTION_DAYS),
            support_email: None,
            lost_keys: Arc::from([]),
            background: tokio_util::task::TaskTracker::new(),
            reply_before_sending: true,
            reset_writers: Arc::new(tokio::sync::Semaphore::new(RESET_WRITERS)),
        }
    }
}

/// Database failures are logged here with their detail; the browser only
/// learns that something went wrong.
impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}
