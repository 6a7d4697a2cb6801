//! Prometheus metrics, on their own listener (`METRICS_ADDR`, off by
//! default), so that what they tell is never served where the console is:
//! requests by route and status with their latency, the mail queue and its
//! deliveries, failed log-ins, locks and refused attempts, limits reached,
//! the database pools, and whether this process runs with the settings and
//! key the database records for the servers. The domain counts its own events through the
//! `metrics` facade, which does nothing until a recorder is installed here.
use std::future::Future;
use std::time::Instant;

use app::domain::core::{db, mail};
use app::domain::{operator, Domain};
use app::model::AppError;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use http::Method;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const LATENCY: &str = "console_http_request_duration_seconds";
/// Seconds: a page takes milliseconds, a log-in tens of them (argon2).
const LATENCY_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Installs the process-wide recorder; its handle renders what it holds.
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(LATENCY.into()), LATENCY_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|err| err.to_string())?;
    app::domain::jobs::count_failures_from_zero();
    Ok(handle)
}

/// Counts each request and records its latency, labelled by route (the
/// pattern, so the labels stay few whatever paths clients send).
pub async fn record_request(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "(fallback)".into());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("console_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(LATENCY, "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics` in Prometheus' text format.
pub fn router(handle: PrometheusHandle, domain: Domain) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let (handle, domain) = (handle.clone(), domain.clone());
            async move { render(&handle, &domain).await }
        }),
    )
}

/// The gauges are read when scraped, so they cost nothing in between. The
/// pools are measured first, or the queue's own query would count as busy;
/// the queue is read within a scrape's time (Prometheus gives up after 10 s
/// by default), so a database gone away costs that gauge, not every metric.
async fn render(handle: &PrometheusHandle, domain: &Domain) -> String {
    let pools =
        [("write", &domain.db), ("read", &domain.read), ("search_index", &domain.search_index)];
    for (pool, conn) in pools {
        let used = db::pool_use(conn);
        let idle = used.idle as f64;
        let busy = f64::from(used.open) - idle;
        metrics::gauge!("console_db_pool_connections", "pool" => pool, "state" => "idle").set(idle);
        metrics::gauge!("console_db_pool_connections", "pool" => pool, "state" => "busy").set(busy);
    }
    let queue = tokio::time::timeout(std::time::Duration::from_secs(2), mail::queue(domain));
    // Unread, the two gauges keep their last values (often 0), which an
    // alert on the oldest email's wait would take for a healthy queue while
    // the database is down: the read's own gauge says whether they are fresh.
    let read = match queue.await {
        Ok(Ok(queue)) => {
            metrics::gauge!("console_mail_queue_depth").set(queue.depth as f64);
            let waited = queue.oldest.map(|queued| domain.clock.now() - queued);
            let seconds = waited.map_or(0.0, |waited| waited.num_milliseconds() as f64 / 1000.0);
            metrics::gauge!("console_mail_oldest_pending_seconds").set(seconds.max(0.0));
            true
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "reading the mail queue for metrics");
            false
        }
        Err(_) => {
            tracing::warn!("reading the mail queue for metrics took over 2 s");
            false
        }
    };
    metrics::gauge!("console_mail_queue_read").set(if read { 1.0 } else { 0.0 });
    // -1 when unread: an alert on "not 0" then fires, where a stale 0
    // would read as agreement while the database is down.
    let settings = read_for_metrics("the servers' settings", async {
        Ok(operator::settings_differing(domain).await?.len() as f64)
    });
    metrics::gauge!("console_settings_differing").set(settings.await);
    let key = read_for_metrics("the servers' key", async {
        let other = operator::seals_with_other_than_the_last_recorded_key(domain).await?;
        Ok(if other { 1.0 } else { 0.0 })
    });
    metrics::gauge!("console_secret_key_differs").set(key.await);
    handle.run_upkeep();
    handle.render()
}

/// A gauge's value read from the database within a scrape's time, or -1
/// (logged) when it could not be read.
async fn read_for_metrics(what: &str, read: impl Future<Output = Result<f64, AppError>>) -> f64 {
    match tokio::time::timeout(std::time::Duration::from_secs(2), read).await {
        Ok(Ok(value)) => value,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "reading {what} for metrics");
            -1.0
        }
        Err(_) => {
            tracing::warn!("reading {what} for metrics took over 2 s");
            -1.0
        }
    }
}
