//! Probes for whoever runs the service: `/healthz` says the process answers
//! (it touches nothing), `/readyz` that the database answers and its schema is
//! current. Neither needs a session, and neither says more than ok / not ready.
//! While the process starts (the database opened and migrated) the listener
//! already answers, with [`starting`].
use app::api::web::WebContext;
use app::domain::core::db;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use http::StatusCode;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    WebContext: axum::extract::FromRef<S>,
{
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok"
}

/// What the listener answers before the application is ready: `/healthz`
/// says the process lives, anything else is 503 with a `Retry-After`
/// (`/readyz` included).
pub fn starting() -> Router {
    Router::new().route("/healthz", get(healthz)).fallback(|| async {
        (StatusCode::SERVICE_UNAVAILABLE, [(http::header::RETRY_AFTER, "5")], "starting")
    })
}

/// How long `/readyz` waits for the database.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Set once a stop began with a drain (`SHUTDOWN_DRAIN_SECONDS`): the process
/// still serves, but tells load balancers to send no new connections. One
/// per process, as the stop is.
pub static DRAINING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

async fn readyz(State(web): State<WebContext>) -> (StatusCode, &'static str) {
    if DRAINING.load(std::sync::atomic::Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready");
    }
    // A probe answers within its own timeout (often 1 s to a few), not
    // after the pool's: a database gone away is "not ready" at once.
    let answer = tokio::time::timeout(PROBE_TIMEOUT, db::is_ready(&web.domain.read)).await;
    if answer == Ok(true) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}
