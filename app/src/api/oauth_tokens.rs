//! OAuth tokens (Stripe Connect): each user's own. The flow's callback is an
//! HTTP route of the server (`/oauth/stripe/callback`), not a server function.
use leptos::prelude::*;

use crate::model::{AppError, OAuthTokens};

#[server(prefix = "/fn", endpoint = "list_oauth_tokens")]
pub async fn list_oauth_tokens() -> Result<OAuthTokens, AppError> {
    use super::web::*;
    use crate::domain::features::oauth_tokens;
    oauth_tokens::list(&domain()?, &member().await?).await
}

/// Returns the provider URL the browser goes to next.
#[server(prefix = "/fn", endpoint = "start_oauth")]
pub async fn start_oauth(token_type: String) -> Result<String, AppError> {
    use super::web::*;
    use crate::domain::features::oauth_tokens;
    let (me, session) = signed_in().await?;
    oauth_tokens::start(&domain()?, &me, &session, &token_type).await
}

#[server(prefix = "/fn", endpoint = "delete_oauth_token")]
pub async fn delete_oauth_token(id: i32) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::features::oauth_tokens;
    oauth_tokens::delete(&domain()?, &member().await?, id).await
}
