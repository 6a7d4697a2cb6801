//! The Activity tab's CSV download (`/account/activity.csv`): a GET with the
//! tab's filters, for a signed-in admin (by the session cookie), answered as
//! an attachment. Cells are quoted and formula-like ones neutralised
//! (`app::domain::admin::activity::cell`).
use app::api::web::{session_token_in, SignedIn, WebContext};
use app::domain::admin::activity;
use app::domain::identity::sessions;
use app::model::{ActivityFilter, AppError};
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Where the download is served.
pub const PATH: &str = "/account/activity.csv";

/// The tab's filters, as its link carries them (empty means unset).
#[derive(Deserialize)]
pub struct CsvQuery {
    user: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn refused(err: AppError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], err.to_string()).into_response()
}

pub async fn download(
    State(web): State<WebContext>,
    Query(query): Query<CsvQuery>,
    // Last: it takes the whole request.
    parts: Parts,
) -> Response {
    if crate::security::sent_by_another_site(&parts.headers) {
        return refused(AppError::Forbidden(
            "Download the activity from the Activity tab of this console.".into(),
        ));
    }
    // The sign-in middleware has usually found the session already.
    let member = match parts.extensions.get::<SignedIn>() {
        Some(signed_in) => Ok(signed_in.member.clone()),
        None => match session_token_in(&web, &parts.headers) {
            Some(token) => sessions::authenticate(&web.domain, &token).await,
            None => Err(AppError::Unauthenticated),
        },
    };
    let admin = match member.and_then(|m| m.admin()) {
        Ok(admin) => admin,
        Err(err) => return refused(err),
    };
    let filled = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    // A user that is not a number is refused, as the tab and the API refuse
    // it: dropped, it would export everyone's events.
    let user_id = match filled(query.user).map(|u| u.trim().parse::<i32>()) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return refused(AppError::field("user", "Choose a user from the list.")),
    };
    let filter = ActivityFilter {
        user_id,
        kind: filled(query.kind),
        from: filled(query.from),
        to: filled(query.to),
    };
    match activity::csv(&web.domain, &admin, &filter).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"activity.csv\""),
                (header::CACHE_CONTROL, "no-store"),
            ],
            csv,
        )
            .into_response(),
        Err(err) => refused(err),
    }
}
