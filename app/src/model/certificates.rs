//! Client certificates for outbound HTTPS.
use serde::{Deserialize, Serialize};

/// A client certificate of the account, as every user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRow {
    pub id: i32,
    pub domain: String,
    pub subject: String,
    pub issuer: String,
    /// When it may first be used, `YYYY-MM-DD HH:MM UTC`.
    pub valid_from: String,
    /// When it expires, `YYYY-MM-DD HH:MM UTC`.
    pub expires: String,
    pub expiry: Expiry,
    pub added_by: String,
    /// Whether the signed-in user may replace or delete it (who added it, or
    /// an admin). Named for deleting, which came first: the JSON replies
    /// keep the name.
    pub can_delete: bool,
}

/// How many days before it expires a certificate is flagged (the server
/// decides, the page says it).
pub const EXPIRY_WARNING_DAYS: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiry {
    /// Its validity starts later: servers refuse it until `valid_from`.
    NotYetValid,
    Valid,
    /// Within [`EXPIRY_WARNING_DAYS`].
    Soon,
    Expired,
}
