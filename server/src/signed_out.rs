//! Signed-out visitors of My Account pages go to log in, and come back after.
//! Answered before any rendering: the page itself also redirects (for
//! client-side navigation), but a server render that only redirects is wasted
//! work. The session found here is handed to
//! the render, which then looks it up no more. The pages that start a new
//! session (log-in, sign-up, an invitation, a reset link) get it too, only to tell a
//! signed-in visitor who they are and that going on ends that session.
use app::api::web::{session_token_in, SignedIn, WebContext};
use app::components::address::log_in_url;
use app::components::address::Query;
use app::domain::identity::sessions;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, Method, StatusCode};

pub async fn send_to_log_in(
    State(web): State<WebContext>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let my_account = path == "/account" || path.starts_with("/account/");
    let starts_a_session =
        matches!(path.as_str(), "/login" | "/signup" | "/activate" | "/reset-password");
    if request.method() != Method::GET || !(my_account || starts_a_session) {
        return next.run(request).await;
    }
    let signed_in = match session_token_in(&web, request.headers()) {
        Some(token) => match sessions::authenticate_user(&web.domain, &token).await {
            Ok((member, me)) => Some(SignedIn { member, token, me }),
            Err(_) => None,
        },
        None => None,
    };
    match signed_in {
        None if starts_a_session => next.run(request).await,
        Some(signed_in) => {
            // The render's server functions take the member from here.
            request.extensions_mut().insert(signed_in);
            next.run(request).await
        }
        None => {
            // With its query, so a shared link to a search or a filtered log
            // opens as it was sent once the visitor has logged in.
            let query = Query::new(request.uri().query().unwrap_or_default());
            let here = query.without_refusal().after(&path);
            (StatusCode::FOUND, [(header::LOCATION, log_in_url(&here))]).into_response()
        }
    }
}
