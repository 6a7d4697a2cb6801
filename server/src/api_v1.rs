//! The versioned JSON API (`/api/v1/...`), authenticated by a developer key
//! in `Authorization: Bearer`. Cookies are ignored here, so a browser cannot
//! be tricked into calling it (no CSRF). Each request resolves the key to its
//! user as they are now and calls the same domain services as the web UI,
//! so the key has exactly the user's current rights. Errors are JSON:
//! `{"error": {"code": "...", "message": "...", "fields": [...]}}`.
use app::api::web::WebContext;
use app::domain::admin::users;
use app::domain::core::actor::Member;
use app::domain::features::phone_numbers;
use app::domain::identity::{developer_keys, profile};
use app::model::{AppError, UserSort};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    WebContext: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/me", get(me))
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/phone-numbers", get(phone_numbers))
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
}

/// An [`AppError`] as the API answers it.
pub struct ApiError(AppError);

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match &self.0 {
            AppError::Unauthenticated => {
                "Send a developer key as `Authorization: Bearer <key>`; this one is missing, revoked or unknown.".to_string()
            }
            other => other.to_string(),
        };
        let mut body = json!({ "error": { "code": self.0.code(), "message": message } });
        if let AppError::Invalid(fields) = &self.0 {
            body["error"]["fields"] = json!(fields);
        }
        let mut response = (status, Json(body)).into_response();
        if matches!(self.0, AppError::Unauthenticated) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, "Bearer".parse().unwrap());
        }
        response
    }
}

async fn caller(web: &WebContext, headers: &HeaderMap) -> Result<Member, ApiError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthenticated)?;
    Ok(developer_keys::authenticate(&web.domain, key.trim()).await?)
}

async fn me(State(web): State<WebContext>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let member = caller(&web, &headers).await?;
    let user = profile::current_user(&web.domain, &member).await?;
    Ok(Json(json!(user)))
}

#[derive(serde::Deserialize)]
struct UserQuery {
    search: Option<String>,
    sort: Option<String>,
    after: Option<String>,
}

async fn list_users(
    State(web): State<WebContext>,
    headers: HeaderMap,
    Query(query): Query<UserQuery>,
) -> Result<Json<Value>, ApiError> {
    let admin = caller(&web, &headers).await?.admin()?;
    let sort = UserSort::parse(query.sort.as_deref())?;
    let page = users::list_users(
        &web.domain,
        &admin,
        query.search.as_deref().unwrap_or(""),
        sort,
        query.after.as_deref(),
    )
    .await?;
    Ok(Json(json!({ "users": page.rows, "next": page.next })))
}

/// Admins get the account's numbers; other users the numbers they own.
async fn phone_numbers(
    State(web): State<WebContext>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let member = caller(&web, &headers).await?;
    let rows = match member.admin() {
        Ok(admin) => phone_numbers::list(&web.domain, &admin).await?.rows,
        Err(_) => phone_numbers::owned_by_me(&web.domain, &member).await?,
    };
    Ok(Json(json!({ "phone_numbers": rows })))
}

async fn not_found() -> ApiError {
    ApiError(AppError::NotFound)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// The API's description, kept beside the handlers it describes.
pub const OPENAPI: &str = include_str!("openapi.json");
