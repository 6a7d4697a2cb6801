//! Password hashing and random tokens.
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

use crate::model::AppError;

/// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes, verifies and judges passwords on the blocking pool, at most
/// `permits` at a time: each hash takes ~20 ms of CPU and 19 MiB, so an
/// unbounded flood of log-ins would otherwise starve every other request.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        PasswordHasher { permits: Arc::new(Semaphore::new(concurrency.max(1))) }
    }

    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let password = password.to_owned();
        self.run(move || hash_now(&password)).await
    }

    /// Verifies `password` against `hash`; with no hash (unknown email, or a
    /// user who never set a password) it verifies against a dummy hash, so the
    /// answer takes as long either way and reveals nothing.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AppError> {
        let password = password.to_owned();
        let known = hash.is_some();
        let hash = hash.map(str::to_owned).unwrap_or_else(|| dummy_hash().to_owned());
        let matches = self.run(move || verify_now(&password, &hash)).await?;
        Ok(known && matches)
    }

    /// Judges a new password ([`super::validation::new_password`]) in the
    /// same slots as the hashes: zxcvbn takes tens of milliseconds of CPU,
    /// and unbounded (sign-ups from a thousand addresses at once) it took
    /// tokio's every blocking thread, starving the hashes and every other
    /// request as a flood of log-ins would.
    pub async fn judge(
        &self,
        password: &str,
        context: &[&str],
        label: &'static str,
    ) -> Result<Result<String, String>, AppError> {
        let password = password.to_owned();
        let context: Vec<String> = context.iter().map(|c| (*c).to_owned()).collect();
        self.run(move || {
            let context: Vec<&str> = context.iter().map(String::as_str).collect();
            super::validation::new_password(&password, &context, label)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self.permits.acquire().await.map_err(|_| AppError::Internal)?;
        tokio::task::spawn_blocking(work).await.map_err(|_| AppError::Internal)
    }
}

/// Hashes synchronously; for operator commands and test fixtures.
pub fn hash_now(password: &str) -> String {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16-byte salt encodes");
    argon2().hash_password(password.as_bytes(), &salt).expect("argon2 hashing").to_string()
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now("dummy password that nobody has"))
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

/// A fresh 256-bit token, URL-safe, for cookies and links.
pub fn new_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// What is stored instead of a token: its SHA-256, hex-encoded.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
