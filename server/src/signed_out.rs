//! Signed-out visitors of My Account pages go to log in, and come back after.
//! Answered before any rendering: the page itself also redirects (for
//! client-side navigation), but a server render that only redirects is wasted
//! work, and leptos 0.8 renders that end in a redirect occasionally stalled
//! under concurrent load in our tests.
use app::api::web::{WebContext, SESSION_COOKIE};
use app::domain::auth;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, Method, StatusCode};

/// `next`, percent-encoded for the query string (a path keeps its slashes).
fn encode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn session_token(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

pub async fn send_to_log_in(
    State(web): State<WebContext>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let my_account = path == "/account" || path.starts_with("/account/");
    if request.method() != Method::GET || !my_account {
        return next.run(request).await;
    }
    let signed_in = match session_token(&request) {
        Some(token) => auth::authenticate(&web.domain, &token).await.is_ok(),
        None => false,
    };
    if signed_in {
        next.run(request).await
    } else {
        let to = format!("/login?next={}", encode(&path));
        (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
    }
}
