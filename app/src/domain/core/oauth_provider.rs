//! The OAuth provider (Stripe Connect) as configured: its endpoints and this
//! server's clients. Configuration only; the flow is `features::oauth_tokens`.

/// One mode's OAuth client (Stripe calls them test and live).
#[derive(Clone, Default)]
pub struct OAuthClient {
    pub client_id: String,
    pub secret: String,
}

/// Never prints the secret, should the configuration end up in a log line.
impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// The provider's endpoints and this server's clients, from configuration.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    pub authorize_url: String,
    pub token_url: String,
    /// Where a connection is ended (Stripe disconnects the account from the
    /// platform): when the console deletes its last token for an account.
    pub deauthorize_url: String,
    pub test: Option<OAuthClient>,
    pub live: Option<OAuthClient>,
    /// The longest a callback's claim, code exchange and storing may take
    /// together: under the request timeout, so the browser hears the end,
    /// and under `secrets rotate`'s wait, since the token is sealed in it.
    /// Over the outbound call's own timeout: a code is sent only while its
    /// answer can still be read within this limit.
    pub exchange_limit: std::time::Duration,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            authorize_url: "https://connect.stripe.com/oauth/authorize".into(),
            token_url: "https://connect.stripe.com/oauth/token".into(),
            deauthorize_url: "https://connect.stripe.com/oauth/deauthorize".into(),
            test: None,
            live: None,
            exchange_limit: EXCHANGE_LIMIT,
        }
    }
}

/// The default [`OAuthConfig::exchange_limit`]: the outbound call's 15 s
/// and a moment for the database.
pub const EXCHANGE_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

// A code is sent only while the outbound call's whole timeout fits in what
// is left of the limit: the limit leaves more than a second for the claim
// and the checks before it, or hardly a code would be sent.
const _: () = assert!(EXCHANGE_LIMIT.as_secs() > super::outbound::TIMEOUT.as_secs() + 1);

/// Where the provider sends the browser back.
pub const CALLBACK_PATH: &str = "/oauth/stripe/callback";
