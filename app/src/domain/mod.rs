//! Server-only business rules. No Leptos and no HTTP in here: every entry
//! point (server functions, the operator CLI, later the JSON API) calls these
//! services with the acting user, so each rule lives in one place.
pub mod account_info;
pub mod actor;
pub mod applications;
pub mod auth;
pub mod certificates;
pub mod clock;
pub mod crypto;
pub mod db;
pub mod deployments;
pub mod developer_keys;
pub mod directory;
pub mod entity;
pub mod integrations;
pub mod libraries;
pub mod lifecycle;
pub mod mail;
pub mod migration;
pub mod oauth;
pub mod outbound;
pub mod phones;
pub mod provisioning;
pub mod scope;
pub mod secrets;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod two_factor;
pub mod user_admin;
pub mod users;
pub mod validation;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::model::AppError;
use auth::SessionPolicy;
use clock::Clock;
use crypto::PasswordHasher;
use provisioning::NumberProvider;
use secrets::Keyring;

/// Everything the services need, handed to them explicitly.
#[derive(Clone)]
pub struct Domain {
    pub db: DatabaseConnection,
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordHasher,
    pub sessions: SessionPolicy,
    /// The address people use to reach the console; every link in an email
    /// starts with it (never with a request's Host header).
    pub public_url: String,
    /// Seals and opens stored secrets.
    pub secrets: Arc<Keyring>,
    /// The outbound HTTPS client (presents the account's client certificates).
    pub outbound: Arc<outbound::Outbound>,
    /// The OAuth provider (Stripe Connect) and this server's clients.
    pub oauth: Arc<oauth::OAuthConfig>,
    /// When failed log-ins slow down and lock.
    pub throttle: throttle::ThrottlePolicy,
    /// Where toll-free numbers come from.
    pub numbers: Arc<dyn NumberProvider>,
}

impl Domain {
    /// A link into the console, e.g. `link("/reset-password", token)`.
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.public_url)
    }

    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, secrets: Arc<Keyring>) -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Domain {
            db,
            clock,
            // One core is left to everything else, so a flood of log-ins
            // (each an argon2 verification) cannot starve other requests.
            passwords: PasswordHasher::new(cores.saturating_sub(1).max(1)),
            sessions: SessionPolicy::default(),
            public_url: "http://127.0.0.1:3000".into(),
            secrets,
            numbers: Arc::new(provisioning::LocalPool),
            throttle: throttle::ThrottlePolicy::default(),
            outbound: Arc::new(outbound::Outbound::public()),
            oauth: Arc::new(oauth::OAuthConfig::default()),
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
