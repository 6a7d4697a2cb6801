//! Log lines: readable text by default, one JSON object per line with
//! `LOG_FORMAT=json` for log collectors. Every request gets one line when it
//! is answered (method, route, path, status, latency) inside a span that
//! carries its request id: the `X-Request-Id` a proxy sent, or a new one,
//! returned in the response either way. Only the path is logged, never the
//! query string: email links and the OAuth callback carry tokens there.
use axum::extract::{MatchedPath, Request};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnResponse, MakeSpan, TraceLayer};
use tower_http::LatencyUnit;
use tracing::{Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// What `RUST_LOG` is when unset: sqlx's and sea-orm's own lines below a
/// warning stay out. (No level logs SQL statements: every pool turns sqlx's
/// statement logging off.)
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT`: unset or `text`, or `json`.
    pub fn from_env_value(value: Option<&str>) -> Result<LogFormat, String> {
        match value.map(str::trim) {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!("LOG_FORMAT must be text or json, not {other:?}")),
        }
    }
}

/// The subscriber the server logs through, writing to `writer` (stdout in
/// the server, a buffer in tests).
pub fn subscriber<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    subscriber_coloured(format, filter, writer, false)
}

fn subscriber_coloured<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
    colours: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(colours);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => {
            Box::new(builder.json().with_current_span(true).with_span_list(false).finish())
        }
    }
}

/// Logs through [`subscriber`], filtered by `RUST_LOG`: a server to stdout,
/// an operator command to stderr, so that its answer on stdout is all a
/// script reads. Colours only for a terminal: in a file or a collector the
/// escape codes would be noise.
pub fn init(format: LogFormat, serving: bool) {
    use std::io::IsTerminal;
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| DEFAULT_FILTER.into());
    let subscriber = if serving {
        subscriber_coloured(format, &filter, std::io::stdout, std::io::stdout().is_terminal())
    } else {
        subscriber_coloured(format, &filter, std::io::stderr, std::io::stderr().is_terminal())
    };
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The longest `X-Request-Id` kept from a request.
const REQUEST_ID_MAX: usize = 64;

/// Drops an `X-Request-Id` that is not a plain id, so a new one is made: a
/// client could otherwise write what it likes, at any length, into every
/// log line of its request.
pub async fn plain_request_id(
    mut request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let plain = |value: &axum::http::HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= REQUEST_ID_MAX
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    if request.headers().get("x-request-id").is_some_and(|value| !plain(value)) {
        request.headers_mut().remove("x-request-id");
    }
    next.run(request).await
}

/// The most of a request's path its line holds: a client chooses the path,
/// and one of many kilobytes on every request would fill the logs at its
/// pace, not the requests'.
pub const PATH_LOGGED: usize = 256;

/// `path`, cut at [`PATH_LOGGED`] bytes with how long it was.
fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    if path.len() <= PATH_LOGGED {
        return path.into();
    }
    // The `http` crate lets UTF-8 through a path: cut at a character's start.
    let start = &path[..path.floor_char_boundary(PATH_LOGGED)];
    format!("{start}… ({} bytes)", path.len()).into()
}

/// The one line per request, in a span with the request's route, path and
/// id. Runs inside [`plain_request_id`] and `SetRequestIdLayer`, so the id
/// is there (the server's router puts the layers in that order).
pub fn trace_layer() -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    impl MakeSpan<axum::body::Body> + Clone,
    (),
    DefaultOnResponse,
> {
    TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("(fallback)");
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!(
                "request",
                method = %request.method(),
                route,
                path = logged_path(request.uri().path()).as_ref(),
                request_id,
            )
        })
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros))
}

#[cfg(test)]
mod tests {
    use super::{logged_path, PATH_LOGGED};

    #[test]
    fn a_long_path_is_cut_at_a_characters_start() {
        // A two-byte "é" across the cut: the line keeps the path before it.
        let path = format!("/{}é{}", "a".repeat(PATH_LOGGED - 2), "b".repeat(40));
        let expected = format!("/{}… ({} bytes)", "a".repeat(PATH_LOGGED - 2), path.len());
        assert_eq!(logged_path(&path), expected);
        assert_eq!(logged_path("/login"), "/login");
    }
}
