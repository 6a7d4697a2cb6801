//! Middleware for the security defaults of DESIGN.md: security headers with a
//! per-request CSP nonce, and refusal of cross-site state-changing requests.
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{header, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt as _;

use app::api::web::{client_address_of, WebContext};
use app::model::AppError;
use leptos::server_fn::error::ServerFnUrlError;

use crate::budget::{Budget, Holder, Share};

/// The nonce of this request's inline scripts; the page render picks it up
/// from the request's extensions so the CSP header and the HTML agree.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// What the security middleware needs to know.
#[derive(Clone, Debug)]
pub struct SecurityPolicy {
    /// The only origin allowed to send state-changing requests.
    /// Shared, not copied: axum clones the policy for every request.
    pub public_origin: std::sync::Arc<str>,
    /// In development, `cargo leptos watch` reloads the page over a websocket.
    pub dev_reload_port: Option<u32>,
    /// The bytes of server functions' bodies held in memory at once.
    pub bodies: Budget,
    /// How long a request may run before it is answered 503 and dropped:
    /// [`crate::REQUEST_TIMEOUT`], which `secrets rotate` waits out.
    pub request_timeout: std::time::Duration,
}

impl SecurityPolicy {
    pub fn new(public_origin: &str, dev_reload_port: Option<u32>) -> Self {
        SecurityPolicy {
            public_origin: public_origin.into(),
            dev_reload_port,
            bodies: Budget::new(BODY_BYTES_PER_CLIENT, BODY_BYTES_TOTAL),
            request_timeout: crate::REQUEST_TIMEOUT,
        }
    }
}

pub async fn security_headers(
    State(policy): State<SecurityPolicy>,
    mut request: Request,
    next: Next,
) -> Response {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("random source");
    let nonce = base64::engine::general_purpose::STANDARD.encode(bytes);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;

    let connect = match policy.dev_reload_port {
        Some(port) => format!("'self' ws://127.0.0.1:{port} ws://localhost:{port}"),
        None => "'self'".into(),
    };
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src {connect}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &csp);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    if policy.public_origin.starts_with("https://") {
        // Served over HTTPS: browsers keep to it for a year, subdomains too.
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains");
    }
    response
}

/// Refuses state-changing requests sent by another site. Browsers say where a
/// request comes from in `Sec-Fetch-Site` and, for most requests, `Origin`
/// (older browsers only in `Origin`); an `Origin` is checked whenever sent. A
/// request that carries cookies but neither header is refused too: every
/// browser we serve sends one of them, so such a request is either a very old
/// browser or something replaying someone's cookies. Programs use the JSON
/// API with a developer key and send no cookies.
pub async fn refuse_cross_site(
    State(policy): State<SecurityPolicy>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && is_cross_site(&request, &policy.public_origin) {
        const REFUSED: &str = "Cross-site request refused.";
        // A script reads every answer of the API as JSON.
        if crate::api_v1::is_api_path(request.uri().path()) {
            return crate::api_v1::ApiError::from(AppError::Forbidden(REFUSED.into()))
                .into_response();
        }
        return (StatusCode::FORBIDDEN, Body::from(REFUSED)).into_response();
    }
    next.run(request).await
}

fn is_cross_site(request: &Request, public_origin: &str) -> bool {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    // An origin named must be ours, whatever `Sec-Fetch-Site` says: a page
    // whose host name an attacker pointed at this server's address (DNS
    // rebinding) is "same-origin" with itself.
    if let Some(origin) = header("origin") {
        if !is_public_origin(origin, public_origin) {
            return true;
        }
    }
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    header("origin").is_none() && request.headers().contains_key(header::COOKIE)
}

/// Whether a browser's `Origin` is the console's, compared as browsers write
/// origins (case aside, a scheme's default port left out). On a loopback
/// address the console is reached as `localhost`, `127.0.0.1` or `[::1]`
/// alike (the run command prints one; people type another), names a
/// rebinding cannot take. A `PUBLIC_URL` left at an unspecified address
/// (`0.0.0.0`, `[::]`: listening everywhere, `PUBLIC_URL` unset) names no
/// origin, and any is taken: set `PUBLIC_URL` to check it.
pub fn is_public_origin(origin: &str, public_origin: &str) -> bool {
    const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];
    const ANYWHERE: [&str; 2] = ["0.0.0.0", "[::]"];
    // (scheme, host, port), lowercase, the default port as none.
    let parts = |url: &str| {
        let url = url.to_ascii_lowercase();
        let (scheme, rest) = url.split_once("://")?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, Some(port)),
            _ => (rest, None),
        };
        let default = match scheme {
            "http" => "80",
            "https" => "443",
            _ => "",
        };
        let port = port.filter(|p| *p != default).map(str::to_owned);
        Some((scheme.to_owned(), host.to_owned(), port))
    };
    let (Some(theirs), Some(ours)) = (parts(origin), parts(public_origin)) else {
        return false;
    };
    let loopback = |host: &str| LOOPBACK.contains(&host);
    theirs == ours
        || ANYWHERE.contains(&ours.1.as_str())
        || (loopback(&theirs.1)
            && loopback(&ours.1)
            && (&theirs.0, &theirs.2) == (&ours.0, &ours.2))
}

/// Whether a request that reads nothing but costs something (a download)
/// was started by another site, as browsers say in `Sec-Fetch-Site`: a
/// hostile page can send a signed-in admin to it (a top-level navigation
/// carries SameSite=Lax cookies), spending their count for nothing.
pub fn sent_by_another_site(headers: &http::HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    site.is_some_and(|site| !matches!(site, "same-origin" | "none"))
}

/// The most a request's body may hold. The largest a form sends is a
/// certificate with its key (two PEMs of at most 64 KB, percent-encoded): a
/// megabyte leaves room for that and keeps a client from making the server
/// read and decode as much as it likes.
pub const BODY_MAX: usize = 1024 * 1024;

/// The bytes of bodies one client address may have in memory at once: a
/// body is read whole before its server function runs, and held until it
/// answers, so without a bound a client's 256 connections each sending a
/// megabyte slowly (for up to the request timeout) would hold 256 MB. What
/// is counted is the buffer the bytes are read into, as it grows with them,
/// not the declared length: a client holds only room for what it has sent.
/// Sixteen of the largest certificate uploads at once (each under 400 KB
/// even if every byte is percent-encoded, so a buffer of 512 KB); a form of
/// a few kilobytes is held for the moment its function runs.
pub const BODY_BYTES_PER_CLIENT: usize = 8 * BODY_MAX;

/// Every byte of every body held at once: what bounds the memory bodies
/// take. Eight times a /56's room (`GROUP_FACTOR` times a client's): a
/// crowd of 32 IPv4 addresses, or 8 /56s, each holding its whole room with
/// stalled bodies can fill it, and bodies are then refused as the server
/// being busy until theirs time out. Counted from the first byte: a room
/// that left each body's first kilobytes out bounded nothing, as the
/// connections that carry them are bounded only by the open files allowed.
pub const BODY_BYTES_TOTAL: usize = 256 * BODY_MAX;

/// A server function's body, read whole before it runs, within
/// [`BODY_MAX`] and the room `bodies` has left for `client` (see
/// [`BODY_BYTES_PER_CLIENT`]) and for everyone, with the share it holds
/// until the function answers. A body sent in chunks declares no length, so
/// the limit can stop it only while it is read; read inside the server
/// function, going over would be told as an argument that did not decode.
/// A declared length over the limit is left to `RequestBodyLimitLayer`,
/// which refuses it without reading a byte.
async fn read_whole_body(
    request: Request,
    bodies: &Budget,
    client: Option<std::net::IpAddr>,
) -> Result<(Request, Option<Share>), Response> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > BODY_MAX) {
        return Ok((request, None));
    }
    let mut held = bodies.take(client, 0).map_err(too_many_at_once)?;
    let (parts, mut body) = request.into_parts();
    // Nothing allocated before the bytes come: headers alone hold nothing.
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        // The client stopped sending: nobody is left to read a reason.
        let Ok(frame) = frame else { return Err(StatusCode::BAD_REQUEST.into_response()) };
        // Trailers: no server function reads them.
        let Ok(data) = frame.into_data() else { continue };
        let length = bytes.len() + data.len();
        if length > BODY_MAX {
            return Err(too_large());
        }
        if length > bytes.capacity() {
            // Grown as a Vec grows (doubling, never past the declared
            // length, which hyper holds the client to), but counted before
            // it is allocated: the share covers what the buffer holds, up to
            // twice what has arrived when no length was declared.
            let capacity =
                length.max(2 * bytes.capacity()).min(declared.unwrap_or(BODY_MAX)).max(length);
            held.grow(capacity - held.amount()).map_err(too_many_at_once)?;
            bytes.reserve_exact(capacity - bytes.len());
        }
        bytes.extend_from_slice(&data);
    }
    Ok((Request::from_parts(parts, Body::from(bytes)), Some(held)))
}

/// A body refused for the room the other bodies of its client (or its
/// network, or everyone's) hold: a moment later they are answered and gone.
fn too_many_at_once(full: Holder) -> Response {
    metrics::counter!("console_request_bodies_refused_total", "holder" => full.label())
        .increment(1);
    let why = match full {
        Holder::Everyone => "The server is busy. Please try again in a moment.",
        Holder::Client(_) | Holder::Network(_) => {
            "Too many requests at once from your network. Please try again in a moment."
        }
    };
    let refusal = axum::Json(app::model::AppError::TooManyRequests(why.into()));
    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "5")], refusal).into_response()
}

fn too_large_why() -> String {
    format!("The request is too large: at most {} MB.", BODY_MAX >> 20)
}

/// A body over [`BODY_MAX`], refused as every other refusal is, beside the form.
fn too_large() -> Response {
    let refusal = axum::Json(app::model::AppError::field("form", too_large_why()));
    (StatusCode::PAYLOAD_TOO_LARGE, refusal).into_response()
}

/// The same, in the JSON API's documented error format.
fn api_too_large() -> Response {
    let refusal = app::model::AppError::field("body", too_large_why());
    let mut response = crate::api_v1::ApiError::from(refusal).into_response();
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response
}

/// Why a secret's form sent before the page could show its answer did
/// nothing: said above the form (leptos's `__err`).
pub const SECRET_FORM_TOO_EARLY: &str = "The page had not finished loading, so this was not \
     sent and nothing changed. Try again now (the page needs JavaScript to show what it makes \
     once).";

/// A reply that holds a secret shown once ([`compression::secret_replies`]:
/// a new developer key, 2FA's set-up and recovery codes) must reach the
/// page's code. Posted as a plain form (pressed before the console's code
/// had loaded, or with scripts off), server_fn would run it and answer with
/// a redirect back to the page, dropping the body that held the secret: a
/// key made and never seen, or recovery codes replaced by ones never shown.
/// Such a post (one that asks for a page back) is refused before the
/// function runs, back to the page with the reason beside the form.
///
/// [`compression::secret_replies`]: crate::compression::secret_replies
pub async fn refuse_secrets_to_plain_forms(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let wants_a_page = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if request.method() != Method::POST
        || !wants_a_page
        || !crate::compression::secret_replies().contains(&path)
    {
        return next.run(request).await;
    }
    let refusal = AppError::Conflict(SECRET_FORM_TOO_EARLY.into());
    let referer = request.headers().get(header::REFERER).and_then(|r| r.to_str().ok());
    // Back to the page's own path: the cross-site check has already refused
    // a post from elsewhere, and the origin is not taken from a header.
    let back = referer
        .map(|page| {
            // A second early press: the first refusal's pair goes.
            let mut page = page.to_owned();
            ServerFnUrlError::<AppError>::strip_error_info(&mut page);
            page
        })
        .and_then(|page| ServerFnUrlError::new(path, refusal).to_url(&page).ok())
        .map(|url| format!("{}?{}", url.path(), url.query().unwrap_or_default()))
        .unwrap_or_else(|| "/account".to_owned());
    axum::response::Redirect::to(&back).into_response()
}

/// The one place a server function's error gets its HTTP status (and an
/// oversized body its answer, for server functions and `/api/v1`): server_fn
/// answers every error (from the body, or a missing or malformed argument
/// before it runs) with a fixed 500 and the `AppError` as JSON; this gives it
/// the status `AppError::status` names, the same one `/api/v1` answers with.
/// A server function called while a page renders is not a request of its
/// own, so it never sets the page's status.
pub async fn server_fn_error_status(
    State((bodies, web)): State<(Budget, WebContext)>,
    request: Request,
    next: Next,
) -> Response {
    let is_server_fn = request.uri().path().starts_with(app::api::web::SERVER_FN_PREFIX);
    let (request, _held) = if is_server_fn {
        let (parts, body) = request.into_parts();
        let client = client_address_of(&parts, &web.trusted_proxies);
        match read_whole_body(Request::from_parts(parts, body), &bodies, client).await {
            Ok(read) => read,
            Err(refusal) => return refusal,
        }
    } else {
        (request, None)
    };
    // The path the client asked for, wherever the API is nested.
    let is_api = request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .is_some_and(|uri| crate::api_v1::is_api_path(uri.path()));
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // `RequestBodyLimitLayer` answers in plain text, which the page would
        // read as the network failing and an API client could not parse as
        // the documented error; say it the way every other refusal is.
        if is_server_fn {
            return too_large();
        }
        if is_api {
            return api_too_large();
        }
    }
    if !is_server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    if let Ok(err) = serde_json::from_slice::<app::model::AppError>(&bytes) {
        parts.status = StatusCode::from_u16(err.status()).unwrap_or(parts.status);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::is_public_origin;

    #[test]
    fn the_public_origin_and_its_loopback_aliases_are_the_consoles() {
        let public = "http://127.0.0.1:3000";
        assert!(is_public_origin("http://127.0.0.1:3000", public));
        assert!(is_public_origin("http://localhost:3000", public));
        assert!(is_public_origin("http://[::1]:3000", public));
        // Another port, scheme or name is another origin, rebound or not.
        assert!(!is_public_origin("http://localhost:3001", public));
        assert!(!is_public_origin("https://localhost:3000", public));
        assert!(!is_public_origin("http://evil.example:3000", public));
        // A public name has no aliases, but case and a default port aside.
        let public = "https://console.example.com";
        assert!(is_public_origin("https://console.example.com", public));
        assert!(is_public_origin("https://Console.Example.com:443", public));
        assert!(is_public_origin("https://console.example.com", "https://console.example.com:443"));
        assert!(!is_public_origin("https://console.example.com:8443", public));
        assert!(!is_public_origin("https://localhost", public));
        // Listening everywhere with no PUBLIC_URL names no origin to check.
        assert!(is_public_origin("http://192.0.2.7:3000", "http://0.0.0.0:3000"));
    }
}
