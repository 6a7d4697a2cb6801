//! Pages and server-function replies are compressed on the fly (zstd,
//! brotli or gzip, as the browser accepts, zstd first: a third of brotli's
//! work for the same size, README "Compressing pages"); static files were
//! compressed at build time and are sent as they are. A reply that carries
//! a secret (a developer key shown once, a new TOTP secret, recovery codes)
//! is never compressed: next to text an attacker chooses, the compressed
//! length would reveal the secret a guess at a time (BREACH). Pages carry
//! no secret: there is no CSRF token, and the CSP nonce changes with every
//! response.
use app::api::developer_keys::{GenerateDeveloperKey, RegenerateDeveloperKey};
use app::api::two_factor::{BeginTwoFactor, ConfirmTwoFactor, RegenerateRecoveryCodes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use leptos::server_fn::ServerFn;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// The server functions whose replies hold a secret.
pub fn secret_replies() -> [&'static str; 5] {
    [
        GenerateDeveloperKey::PATH,
        RegenerateDeveloperKey::PATH,
        BeginTwoFactor::PATH,
        ConfirmTwoFactor::PATH,
        RegenerateRecoveryCodes::PATH,
    ]
}

/// Marks a reply that must go out uncompressed.
#[derive(Clone, Copy)]
struct HoldsSecret;

/// Marks the replies of [`secret_replies`]; runs inside [`layer`].
pub async fn mark_secret_replies(request: Request, next: Next) -> Response {
    let secret = secret_replies().contains(&request.uri().path());
    let mut response = next.run(request).await;
    if secret {
        response.extensions_mut().insert(HoldsSecret);
    }
    response
}

/// The level of every encoding for pages and replies: 1, gzip's fastest,
/// brotli's second fastest (its 0 was not measured) and zstd's fastest
/// regular one (its negative levels trade size away). A page is small (the
/// signed-in /account is 14 KB), and at tower-http's default (brotli 4)
/// compressing it cost the server about as much as rendering it
/// (`scripts/instructions-bench.sh`: 6.4 M instructions a request for a
/// browser, 3.4 M uncompressed; 4.8 M at level 1) for 4.0 KB instead of
/// 4.6 KB on the wire. Static files keep the best level: they are
/// compressed once, at build time.
pub const ON_THE_FLY_LEVEL: i32 = 1;

pub fn layer() -> CompressionLayer<impl Predicate> {
    let not_secret =
        |_: http::StatusCode,
         _: http::Version,
         _: &http::HeaderMap,
         extensions: &http::Extensions| { extensions.get::<HoldsSecret>().is_none() };
    CompressionLayer::new()
        .no_deflate()
        .quality(CompressionLevel::Precise(ON_THE_FLY_LEVEL))
        .compress_when(DefaultPredicate::new().and(not_secret))
}
