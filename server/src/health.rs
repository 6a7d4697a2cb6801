//! Probes for whoever runs the service: `/healthz` says the process answers
//! (it touches nothing), `/readyz` that the database answers and its schema is
//! current. Neither needs a session, and neither says more than ok / not ready.
//! While the process starts (the database opened and migrated) the listener
//! already answers, with [`starting`].
use app::api::web::WebContext;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use app::domain::core::db::{self, Readiness};
use axum::extract::State;
use axum::response::IntoResponse;
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
/// The JSON API answers in its own error format, as it does once started.
pub fn starting() -> Router {
    Router::new().route("/healthz", get(healthz)).fallback(|uri: http::Uri| async move {
        let retry = [(http::header::RETRY_AFTER, "5")];
        if crate::api_v1::is_api_path(uri.path()) {
            let message = "The server is starting. Please try again in a few seconds.";
            (retry, crate::api_v1::unavailable(message.into())).into_response()
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, retry, "starting").into_response()
        }
    })
}

/// How long `/readyz` waits for the database.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Set once a stop began with a drain (`SHUTDOWN_DRAIN_SECONDS`): the process
/// still serves, but tells load balancers to send no new connections. One
/// per process, as the stop is.
pub static DRAINING: AtomicBool = AtomicBool::new(false);

async fn readyz(State(web): State<WebContext>) -> (StatusCode, &'static str) {
    if DRAINING.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready");
    }
    // A probe answers within its own timeout (often 1 s to a few), not
    // after the pool's: a database gone away is "not ready" at once.
    let answer =
        tokio::time::timeout(PROBE_TIMEOUT, db::readiness(&web.domain.probe)).await.unwrap_or_else(
            |_| Readiness::NoAnswer(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
        );
    log_change(&answer);
    match answer {
        Readiness::Ready => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
    }
}

/// What the last probe found: 0 none yet, then one of [`kind`]'s.
static LAST_READINESS: AtomicU8 = AtomicU8::new(0);

fn kind(readiness: &Readiness) -> u8 {
    match readiness {
        Readiness::Ready => 1,
        Readiness::MigrationsMissing(_) => 2,
        Readiness::NoAnswer(_) => 3,
    }
}

/// Logs a probe's answer when it differs from the last one's: a load
/// balancer probes every few seconds (anyone may, too), and a database down
/// for an hour wrote a line each time.
fn log_change(readiness: &Readiness) {
    let before = LAST_READINESS.swap(kind(readiness), Ordering::Relaxed);
    if before == kind(readiness) {
        return;
    }
    match readiness {
        Readiness::Ready if before == 0 => {}
        Readiness::Ready => tracing::info!("readiness: ready again"),
        Readiness::MigrationsMissing(missing) => {
            tracing::warn!(?missing, "readiness: migrations not applied yet")
        }
        Readiness::NoAnswer(error) => {
            tracing::warn!(%error, "readiness: the database does not answer")
        }
    }
}
