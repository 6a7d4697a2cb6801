//! Where the OAuth provider sends the browser back: a cross-site GET, so it
//! changes something only when its `state` is one the same session started
//! (see `app::domain::features::oauth_tokens`). It always answers with a redirect to the
//! OAuth Tokens tab and a fixed outcome code, never with provider text.
use app::api::web::{signed_in_from, WebContext};
use app::domain::features::oauth_tokens;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Callback {
    state: Option<String>,
    code: Option<String>,
}

fn back(outcome: &str) -> Response {
    let location = format!("/account/oauth-tokens?oauth={outcome}");
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

pub async fn stripe_callback(
    State(web): State<WebContext>,
    Query(query): Query<Callback>,
    // Last: it takes the whole request.
    parts: Parts,
) -> Response {
    let invalid = oauth_tokens::CallbackRefusal::InvalidState.key();
    let Ok((me, session)) = signed_in_from(&web, &parts).await else { return back(invalid) };
    let Some(state) = query.state else { return back(invalid) };
    match oauth_tokens::callback(&web.domain, &me, &session, &state, query.code.as_deref()).await {
        Ok(_) => back("connected"),
        Err(refusal) => back(refusal.key()),
    }
}
