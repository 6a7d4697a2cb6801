//! Client certificates for outbound HTTPS.
use serde::{Deserialize, Serialize};

/// A client certificate of the account, as every user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRow {
    pub id: i32,
    pub domain: String,
    pub subject: String,
    pub issuer: String,
    /// The first day it may be used, `YYYY-MM-DD`.
    pub valid_from: String,
    /// The day it expires, `YYYY-MM-DD`.
    pub expires: String,
    pub expiry: Expiry,
    pub added_by: String,
    /// Whether the signed-in user may delete it (who added it, or an admin).
    pub can_delete: bool,
}

/// How many days before it expires a certificate is flagged (the server
/// decides, the page says it).
pub const EXPIRY_WARNING_DAYS: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiry {
    /// Its validity starts later (a renewal stored ahead of time): servers
    /// refuse it until `valid_from`.
    NotYetValid,
    Valid,
    /// Within [`EXPIRY_WARNING_DAYS`].
    Soon,
    Expired,
}
