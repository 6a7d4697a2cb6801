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
    pub test: Option<OAuthClient>,
    pub live: Option<OAuthClient>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            authorize_url: "https://connect.stripe.com/oauth/authorize".into(),
            token_url: "https://connect.stripe.com/oauth/token".into(),
            test: None,
            live: None,
        }
    }
}

/// Where the provider sends the browser back.
pub const CALLBACK_PATH: &str = "/oauth/stripe/callback";
