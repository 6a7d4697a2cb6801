//! The versioned JSON API (`/api/v1/...`), authenticated by a developer key
//! in `Authorization: Bearer`. Cookies are ignored here, so a browser cannot
//! be tricked into calling it (no CSRF). Each request resolves the key to its
//! user as they are now and calls the same domain services as the web UI,
//! so the key has exactly the user's current rights. Each request a key
//! makes is counted, per user, per account and per client address, against
//! the `LIMITS` action `api_request`; past it the answer is 429 with
//! `Retry-After`.
//! Errors are JSON:
//! `{"error": {"code": "...", "message": "...", "fields": [...]}}`.
use std::sync::Arc;

use app::api::web::{client_address_of, WebContext};
use app::domain::admin::{activity, users};
use app::domain::core::actor::Member;
use app::domain::features::phone_numbers;
use app::domain::identity::developer_keys::{self, RequestRefused};
use app::domain::identity::profile;
use app::model::{
    ActivityFilter, ActivityKind, ActivityRow, AppError, CurrentUser, EventId, FieldError,
    PhoneNumberRow, UserRow, UserSort, UserState, SEARCH_MAX,
};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, Type};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Where the API lives; the document names it as its server, so its paths
/// read `/me`, `/users`, ...
pub const BASE: &str = "/api/v1";

/// The document's own address, under [`BASE`].
pub const DOCUMENT: &str = "/openapi.json";

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    WebContext: axum::extract::FromRef<S>,
{
    let (api, document) = described::<S>();
    // Serialised once: the document is generated from the handlers below, so
    // a route cannot be served without being described.
    let document: Arc<str> = document.to_json().expect("the OpenAPI document serialises").into();
    let api = api
        .route(
            DOCUMENT,
            get(move || {
                let document = document.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], document.to_string()) }
            }),
        )
        // A route asked with a method it does not answer gets its 405 (and
        // axum's `Allow`) in the API's format; the API's own address and
        // any other path under it its 404, not the site's HTML one.
        .method_not_allowed_fallback(method_not_allowed)
        .route("/", axum::routing::any(not_found))
        .route("/{*rest}", axum::routing::any(not_found));
    Router::new().nest(BASE, api)
}

/// The API's routes and the document describing them, from one list.
fn described<S>() -> (Router<S>, utoipa::openapi::OpenApi)
where
    S: Clone + Send + Sync + 'static,
    WebContext: axum::extract::FromRef<S>,
{
    let (api, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(me))
        .routes(routes!(list_users))
        .routes(routes!(list_phone_numbers))
        .routes(routes!(list_activity))
        .split_for_parts();
    describe_shared_answers(&mut document);
    (api, document)
}

/// The answers any operation can give, whatever it does: written once here
/// rather than in each operation's list, so a new route cannot forget one.
fn describe_shared_answers(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, ResponseBuilder};
    let error = || ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
    let answer = |description: &str| {
        ResponseBuilder::new().description(description).content("application/json", error())
    };
    let retry_after = |description: &str| {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some(description))
            .build()
    };
    let shared = [
        ("401", answer("No valid developer key").build()),
        ("413", answer("A body declared longer than 1 MB (no request needs one); its code is `invalid`, its field `body`").build()),
        (
            "429",
            answer(
                "The key's user, their account or the client address made too many requests \
                 for now (`LIMITS` action `api_request`), or the client address sent too many \
                 wrong keys (`wrong_api_key`)",
            )
            .header("Retry-After", retry_after("Seconds until a request is counted again"))
            .build(),
        ),
        ("500", answer("Something failed on the server; the details are in its log").build()),
        (
            "503",
            answer(&format!(
                "The server did not answer within its request timeout ({} s); try again later",
                crate::REQUEST_TIMEOUT.as_secs()
            ))
            .build(),
        ),
    ];
    for item in document.paths.paths.values_mut() {
        for operation in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete] {
            let Some(operation) = operation else { continue };
            for (status, response) in &shared {
                operation.responses.responses.insert(status.to_string(), response.clone().into());
            }
        }
    }
}

/// Whether `path` (as the client asked for it) is the API's.
pub fn is_api_path(path: &str) -> bool {
    path.strip_prefix(BASE).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A request that ran past the request timeout, in the API's format (the
/// timeout's own answer is an empty 503).
pub fn timed_out(within: std::time::Duration) -> Response {
    unavailable(format!(
        "The server did not answer within {} seconds. Please try again later.",
        within.as_secs_f64()
    ))
}

/// A 503 with the API's error body, for a script that reads every answer
/// as JSON (a request timed out, a server still starting).
pub fn unavailable(message: String) -> Response {
    let error = ErrorDetail { code: UNAVAILABLE, message, fields: None };
    (StatusCode::SERVICE_UNAVAILABLE, Json(ErrorBody { error })).into_response()
}

/// The OpenAPI document as the server serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    described::<WebContext>().1
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Voice Console API",
        version = "1.0.0",
        description = "Acts as the user who generated the developer key, with exactly that user's \
                       current rights. Generate keys on the Account tab of My Account. Revoking a \
                       key, deleting or disabling its user or removing the user's admin flag takes \
                       effect at once."
    ),
    servers((url = "/api/v1")),
    security(("developerKey" = [])),
    modifiers(&DeveloperKey)
)]
struct ApiDoc;

/// The security scheme every operation uses.
struct DeveloperKey;

impl Modify for DeveloperKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "developerKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A developer key, `vk_…`"))
                    .build(),
            ),
        );
    }
}

/// Every error the API answers: `{"error": {"code", "message", "fields"}}`.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(schema_with = error_codes)]
    pub code: &'static str,
    pub message: String,
    /// The fields that were refused, for `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

/// The code of a route asked with a method it does not answer.
const METHOD_NOT_ALLOWED: &str = "method_not_allowed";

/// The code of a request the server did not answer in time.
const UNAVAILABLE: &str = "unavailable";

/// The codes [`AppError::code`] gives, the router's [`METHOD_NOT_ALLOWED`]
/// and the timeout's [`UNAVAILABLE`].
fn error_codes() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some([
        "invalid",
        "unauthenticated",
        "forbidden",
        "not_found",
        "too_many_requests",
        "conflict",
        "internal",
        METHOD_NOT_ALLOWED,
        UNAVAILABLE,
    ]))
}

/// An [`AppError`] as the API answers it.
pub struct ApiError {
    error: AppError,
    /// How many seconds to wait, when the pace of requests is refused.
    retry_after_seconds: Option<i64>,
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError { error, retry_after_seconds: None }
    }
}

impl From<RequestRefused> for ApiError {
    fn from(refused: RequestRefused) -> Self {
        let retry_after_seconds = refused.retry_after.map(|wait| wait.num_seconds());
        ApiError { error: refused.error, retry_after_seconds }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match &self.error {
            AppError::Unauthenticated => {
                "Send a developer key as `Authorization: Bearer <key>`; this one is missing, revoked or unknown.".to_string()
            }
            other => other.to_string(),
        };
        let fields = match &self.error {
            AppError::Invalid(fields) => Some(fields.clone()),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: self.error.code(), message, fields } };
        let mut response = (status, Json(body)).into_response();
        if matches!(self.error, AppError::Unauthenticated) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, "Bearer".parse().unwrap());
        }
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// The query, or the API's own JSON error when it does not parse (axum's
/// answer would be plain text, outside the documented contract).
fn parsed<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(query)| query)
        .map_err(|rejection| AppError::field("query", rejection.body_text()).into())
}

/// The member the request's key acts as, its request counted (see
/// [`developer_keys::admit_request`]).
async fn caller(web: &WebContext, request: &Parts) -> Result<Member, ApiError> {
    let key = request
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme's name is case-insensitive (RFC 9110).
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key)
        .ok_or(AppError::Unauthenticated)?;
    let client = client_address_of(request, &web.trusted_proxies);
    Ok(developer_keys::admit_request(&web.domain, key.trim(), client).await?)
}

/// The user the key belongs to.
#[utoipa::path(
    get,
    path = "/me",
    operation_id = "getMe",
    responses(
        (status = OK, description = "The user", body = CurrentUser),
        (status = FORBIDDEN, description = "The key's user is disabled", body = ErrorBody),
    )
)]
async fn me(State(web): State<WebContext>, request: Parts) -> Result<Json<CurrentUser>, ApiError> {
    let member = caller(&web, &request).await?;
    Ok(Json(profile::current_user(&web.domain, &member).await?))
}

// Unknown parameters are refused: a client paging with `page=2` or a
// mistyped `befor=` would otherwise get the first page again, for ever.
#[derive(serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct UserQuery {
    /// Part of a name or email (at most 100 characters).
    #[param(schema_with = search_schema)]
    search: Option<String>,
    /// `name` (the default), `email` or `status`.
    #[param(schema_with = sort_keys)]
    sort: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// `all` (the default), `enabled` or `disabled`.
    #[param(schema_with = state_keys)]
    state: Option<String>,
}

// The query's values are read as strings and checked by the domain, which
// answers a field error an API client can show; the document lists the
// values it accepts, so a generated client offers only those.
fn search_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).max_length(Some(SEARCH_MAX))
}

fn sort_keys() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(UserSort::ALL.map(UserSort::key)))
}

fn state_keys() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(UserState::ALL.map(UserState::key)))
}

fn activity_kinds() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ActivityKind::ALL.iter().map(|kind| kind.as_str())))
}

/// A page of the account's users.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserRow>,
    /// Where the next page starts (pass it as `after`); null on the last page.
    pub next: Option<String>,
}

/// The account's users (admins only), 25 a page.
#[utoipa::path(
    get,
    path = "/users",
    operation_id = "listUsers",
    params(UserQuery),
    responses(
        (status = OK, description = "A page of users", body = UserList),
        (status = FORBIDDEN, description = "The key's user is disabled, or not an admin", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "A refused search, sort, state or page, or a parameter the route does not know", body = ErrorBody),
    )
)]
async fn list_users(
    State(web): State<WebContext>,
    request: Parts,
    query: Result<Query<UserQuery>, QueryRejection>,
) -> Result<Json<UserList>, ApiError> {
    let admin = caller(&web, &request).await?.admin()?;
    let query = parsed(query)?;
    let sort = UserSort::parse(query.sort.as_deref())?;
    let state = UserState::parse(query.state.as_deref())?;
    let page = users::list_users_in_state(
        &web.domain,
        &admin,
        query.search.as_deref().unwrap_or(""),
        state,
        sort,
        query.after.as_deref(),
    )
    .await?;
    Ok(Json(UserList { users: page.rows, next: page.next }))
}

/// Phone numbers.
#[derive(Serialize, ToSchema)]
pub struct PhoneNumberList {
    pub phone_numbers: Vec<PhoneNumberRow>,
}

/// Phone numbers: the account's for admins, the user's own for everyone else.
#[utoipa::path(
    get,
    path = "/phone-numbers",
    operation_id = "listPhoneNumbers",
    responses(
        (status = OK, description = "Phone numbers", body = PhoneNumberList),
        (status = FORBIDDEN, description = "The key's user is disabled", body = ErrorBody),
    )
)]
async fn list_phone_numbers(
    State(web): State<WebContext>,
    request: Parts,
) -> Result<Json<PhoneNumberList>, ApiError> {
    let member = caller(&web, &request).await?;
    let phone_numbers = phone_numbers::visible_to(&web.domain, &member).await?;
    Ok(Json(PhoneNumberList { phone_numbers }))
}

#[derive(serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ActivityQuery {
    /// Only events this user (by id) made. Read as text and parsed here, so
    /// that a bad one is refused by its name (a number that does not parse
    /// has no field name in serde's error).
    #[param(value_type = Option<i32>)]
    user: Option<String>,
    /// Only events of this kind, e.g. `user.invited` or `sign_in.failed`.
    #[param(schema_with = activity_kinds)]
    kind: Option<String>,
    /// Only events on or after this day (`YYYY-MM-DD`, UTC).
    #[param(format = Date)]
    from: Option<String>,
    /// Only events on or before this day (`YYYY-MM-DD`, UTC), not before `from`.
    #[param(format = Date)]
    to: Option<String>,
    /// The `next` of the previous page.
    #[param(value_type = Option<i64>)]
    before: Option<String>,
}

/// A whole number given in the query, refused by its name when it is not.
fn number<T: std::str::FromStr>(name: &str, text: Option<String>) -> Result<Option<T>, AppError> {
    text.map(|text| {
        text.trim()
            .parse()
            .map_err(|_| AppError::field(name, format!("{name} must be a whole number.")))
    })
    .transpose()
}

/// A page of the account's activity, newest first.
#[derive(Serialize, ToSchema)]
pub struct ActivityList {
    pub events: Vec<ActivityRow>,
    /// Where the next (older) page starts (pass it as `before`); null on the last page.
    pub next: Option<EventId>,
}

/// The account's activity log (admins only), newest first, 50 a page.
#[utoipa::path(
    get,
    path = "/activity",
    operation_id = "listActivity",
    params(ActivityQuery),
    responses(
        (status = OK, description = "A page of events", body = ActivityList),
        (status = FORBIDDEN, description = "The key's user is disabled, or not an admin", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "A refused kind, date, user or page, or a parameter the route does not know", body = ErrorBody),
    )
)]
async fn list_activity(
    State(web): State<WebContext>,
    request: Parts,
    query: Result<Query<ActivityQuery>, QueryRejection>,
) -> Result<Json<ActivityList>, ApiError> {
    let admin = caller(&web, &request).await?.admin()?;
    let query = parsed(query)?;
    let user_id = number("user", query.user)?;
    let before: Option<EventId> = number("before", query.before)?;
    let filter = ActivityFilter { user_id, kind: query.kind, from: query.from, to: query.to };
    let page = activity::list(&web.domain, &admin, &filter, before).await?;
    Ok(Json(ActivityList { events: page.rows, next: page.next }))
}

async fn not_found() -> ApiError {
    AppError::NotFound.into()
}

/// Not an [`AppError`]: no domain rule refuses a method, the router does.
async fn method_not_allowed() -> Response {
    let message = "This route does not answer that method; see the Allow header.".into();
    let error = ErrorDetail { code: METHOD_NOT_ALLOWED, message, fields: None };
    (StatusCode::METHOD_NOT_ALLOWED, Json(ErrorBody { error })).into_response()
}
