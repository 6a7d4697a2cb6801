//! OAuth tokens: connected Stripe accounts.
use serde::{Deserialize, Serialize};

/// A connected Stripe account, as its owner sees it. The tokens stay on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokenRow {
    pub id: i32,
    /// "Test" or "Live".
    pub token_type: String,
    pub provider_account_id: String,
    pub added: String,
}

/// The OAuth Tokens tab: whether Stripe is enabled for the account, the
/// token types this server can connect (those it has a Stripe client for),
/// and the user's tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokens {
    pub enabled: bool,
    /// The platform's support address, for the notices that send people there.
    pub support_email: Option<String>,
    pub test: bool,
    pub live: bool,
    pub rows: Vec<OAuthTokenRow>,
}
