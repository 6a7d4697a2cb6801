//! How long browsers keep what the server sends. The build's outputs under
//! `/pkg` carry a content hash in their names (cargo-leptos `hash-files`), so a
//! changed file has a new name and browsers may keep each one for a year
//! without asking. Other public files keep their names: browsers revalidate
//! them. Pages and server-function replies are never stored: they show an
//! account's data, which a shared computer's disk cache would keep.
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::{header, HeaderValue, StatusCode};
use leptos::config::LeptosOptions;
use tower_http::services::fs::ServeFileSystemResponseBody;
use tower_http::set_header::SetResponseHeaderLayer;

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const REVALIDATE: &str = "no-cache";
pub const NEVER_STORE: &str = "no-store";

/// `/pkg/*`: the wasm, JS and CSS the build wrote, served precompressed when
/// the browser accepts brotli or gzip.
pub fn pkg_router<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let hashed = options.hash_files;
    let files = Router::new().route_service(
        &leptos_axum::site_pkg_dir_service_route_path(options),
        tower::ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                move |response: &http::Response<ServeFileSystemResponseBody>| {
                    // Without hashed names a file may change under its name.
                    let policy = if hashed { IMMUTABLE } else { REVALIDATE };
                    Some(HeaderValue::from_static(policy_for(response.status(), policy)))
                },
            ))
            .service(leptos_axum::site_pkg_dir_service(options)),
    );
    files.layer(axum::middleware::from_fn(refuse_overlong_names))
}

/// Public files other than the build's (favicon, vendored scripts) and the
/// not-found page, which the fallback serves.
pub async fn revalidate(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.headers().contains_key(header::CACHE_CONTROL) {
        return response;
    }
    with_cache_control(response, REVALIDATE)
}

/// A path that matched no route only for its trailing slash (`/account/`,
/// `/account/users/`) is sent, for good, to the path without it: the router
/// drew the page under a 404, with no tab marked current. Only a path that
/// stays on this site: `//host/` trimmed would be a link to another.
pub async fn trim_trailing_slash(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let trimmed = path.trim_end_matches('/');
    let on_this_site = trimmed.as_bytes().get(1).is_some_and(u8::is_ascii_alphanumeric);
    let read = matches!(*request.method(), http::Method::GET | http::Method::HEAD);
    if read && trimmed.len() < path.len() && on_this_site {
        let location = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        return axum::response::Redirect::permanent(&location).into_response();
    }
    next.run(request).await
}

/// The longest file name a file system keeps (Linux's `NAME_MAX`, 255), less
/// the `.br` or `.gz` the file service adds when it looks for a
/// precompressed file.
const NAME_MAX: usize = 255 - ".br".len();

/// Longer than the path of any file or page the console has, and well below
/// the longest path the file system takes (Linux's `PATH_MAX`, 4,096).
const PATH_MAX: usize = 1024;

/// A path longer than any file's, or with a longer segment than any file
/// name, is not found without asking the file system, which answers "File
/// name too long" and has the request logged as an error: a client could
/// write error lines at will. No page has such a path, so the plain answer
/// costs nobody the not-found page. The percent-encoded path is measured:
/// decoding never makes a name longer.
pub async fn refuse_overlong_names(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.len() > PATH_MAX || path.split('/').any(|segment| segment.len() > NAME_MAX) {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    next.run(request).await
}

/// Everything else: pages, server functions, the API.
pub async fn never_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(NEVER_STORE));
    response
}

fn with_cache_control(mut response: Response, policy: &'static str) -> Response {
    let policy = policy_for(response.status(), policy);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}

fn policy_for(status: StatusCode, policy: &'static str) -> &'static str {
    // A year-long 404 would outlive the deploy that adds the file.
    if status == StatusCode::OK || status == StatusCode::NOT_MODIFIED {
        policy
    } else {
        NEVER_STORE
    }
}
