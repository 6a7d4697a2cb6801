//! The axum server: configuration, routes, middleware and the operator CLI.
pub mod activity_csv;
pub mod allocator;
pub mod api_v1;
pub mod assets;
pub mod budget;
pub mod cli;
pub mod compression;
pub mod config;
pub mod connections;
pub mod health;
pub mod logs;
pub mod oauth_callback;
pub mod prometheus;
pub mod security;
pub mod signed_out;
pub mod worker;

use app::api::web::WebContext;
use app::{shell, App};
use axum::extract::FromRef;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use security::{CspNonce, SecurityPolicy};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub web: WebContext,
}

impl FromRef<AppState> for WebContext {
    fn from_ref(state: &AppState) -> Self {
        state.web.clone()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Context for every page render and server function call.
fn request_context(web: WebContext) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(web.clone());
        // Re-provide the nonce the security middleware put in the CSP header;
        // leptos_axum otherwise makes up its own and the page never hydrates.
        if let Some(parts) = use_context::<http::request::Parts>() {
            if let Some(CspNonce(nonce)) = parts.extensions.get::<CspNonce>() {
                provide_context(leptos::nonce::Nonce::from_value(nonce.clone()));
            }
        }
    }
}

/// The longest a request runs before it is answered 503 and dropped (its
/// transaction with it). `secrets rotate` waits this long for requests that
/// sealed a secret with the old key to commit or give up.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

// A Stripe callback's exchange runs in its own task, past its request's
// timeout if it could: it must end first, for the browser to hear how it
// ended and for `secrets rotate` to wait out the token it seals.
const _: () = assert!(
    app::domain::core::oauth_provider::EXCHANGE_LIMIT.as_secs() < REQUEST_TIMEOUT.as_secs()
);

/// The app's routes, listed once per process. Listing them renders the app
/// with resource loads suppressed for the whole process (leptos #4773): a
/// page rendering on another thread meanwhile would start a resource that
/// never resolves, and its response would hang until the request timeout.
/// Once per process, before any router exists, no render can overlap it.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The answer to a request past the request timeout: empty, as the page
/// and a server function's caller only need the status, but in the JSON
/// API's documented format for an API client.
fn timed_out(uri: &http::Uri, within: std::time::Duration) -> axum::response::Response {
    use axum::response::IntoResponse;
    if api_v1::is_api_path(uri.path()) {
        return api_v1::timed_out(within);
    }
    http::StatusCode::SERVICE_UNAVAILABLE.into_response()
}

/// The whole application as one router: pages, server functions, static
/// files, and the security middleware around them. Tests drive this directly.
pub fn build_router(
    leptos_options: LeptosOptions,
    web: WebContext,
    policy: SecurityPolicy,
) -> Router {
    let routes = route_list();
    let context = request_context(web.clone());
    let state = AppState { leptos_options: leptos_options.clone(), web: web.clone() };
    // The middleware every request passes through, outermost first, as one
    // stack: axum wraps each route in it once. Added one by one with
    // `Router::layer`, each call boxed the route again, and as a `from_fn`
    // layer clones what is inside it on every request, each clone went
    // through every box below: 78 clones of the page handler a request,
    // about 40 now (README, "Where a signed-in page's instructions go").
    let within = policy.request_timeout;
    let around_requests = tower::ServiceBuilder::new()
        // A request gets its id, then is traced.
        .layer(from_fn(logs::plain_request_id))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(logs::trace_layer())
        .layer(PropagateRequestIdLayer::x_request_id())
        // Outside the rest, so that every answer is counted: the timeout's
        // 503, a cross-site refusal, the redirect to the log-in page.
        .layer(from_fn(prometheus::record_request))
        .layer(compression::layer())
        .layer(from_fn(compression::mark_secret_replies))
        .layer(from_fn_with_state(policy.clone(), security::security_headers))
        // Outside the cross-site refusal, which no cache may keep either.
        .layer(from_fn(assets::never_store))
        .layer(from_fn_with_state(policy.clone(), security::refuse_cross_site))
        // A request that takes this long has stalled (a database that does
        // not answer, or a server render that never resolves): answer
        // instead of holding the connection forever. Inside the headers'
        // layers, so that its 503 has them as every answer does.
        .layer(axum::error_handling::HandleErrorLayer::new(
            move |uri: http::Uri, _elapsed: tower::BoxError| async move { timed_out(&uri, within) },
        ))
        .timeout(within)
        .layer(from_fn(security::refuse_secrets_to_plain_forms))
        // The redirect to the log-in page reads (and may write) the session,
        // so it runs within the timeout too.
        .layer(from_fn_with_state(web.clone(), signed_out::send_to_log_in));
    Router::new()
        .merge(api_v1::router())
        .merge(health::router())
        .route(
            app::domain::core::oauth_provider::CALLBACK_PATH,
            axum::routing::get(oauth_callback::stripe_callback),
        )
        .route(activity_csv::PATH, axum::routing::get(activity_csv::download))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .merge(assets::pkg_router(&leptos_options))
        .fallback_service(
            tower::ServiceBuilder::new()
                .layer(from_fn(assets::trim_trailing_slash))
                .layer(from_fn(assets::refuse_overlong_names))
                .layer(from_fn(assets::revalidate))
                .service(axum::handler::Handler::with_state(
                    leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell),
                    state.clone(),
                )),
        )
        // The routes alone, not the fallback; one stack, as above.
        .route_layer(
            tower::ServiceBuilder::new()
                .layer(from_fn_with_state((policy.bodies, web), security::server_fn_error_status))
                .layer(tower_http::limit::RequestBodyLimitLayer::new(security::BODY_MAX)),
        )
        .layer(around_requests)
        .with_state(state)
}
