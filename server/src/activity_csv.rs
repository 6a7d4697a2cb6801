//! The Activity tab's CSV download (`/account/activity.csv`): a GET with the
//! tab's filters, for a signed-in admin (by the session cookie), answered as
//! an attachment. Cells are quoted and formula-like ones neutralised
//! (`app::domain::admin::activity::cell`).
use app::api::web::{signed_in_from, WebContext};
use app::domain::admin::activity;
use app::model::{ActivityFilter, AppError};
use std::io;

use axum::body::Body;
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
    match export_for(&web, query, &parts).await {
        Ok(export) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"activity.csv\""),
                (header::CACHE_CONTROL, "no-store"),
            ],
            Body::from_stream(chunks(export)),
        )
            .into_response(),
        Err(err) => refused(err),
    }
}

/// The file a page of events at a time, as the client takes it. A read that
/// fails midway ends the download early (the status is sent already), and
/// is logged. Fused: the compression layer polls a body once more after its
/// end, which an unfolded stream answers with a panic.
fn chunks(export: activity::CsvExport) -> impl futures::Stream<Item = Result<String, io::Error>> {
    use futures::StreamExt;
    futures::stream::unfold(Some(export), |export| async move {
        let mut export = export?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(export))),
            Ok(None) => None,
            // The admin's rights gone meanwhile (disabled, demoted): no fault.
            Err(err @ app::model::AppError::Forbidden(_)) => {
                tracing::info!(error = %err, "activity CSV download stopped: no longer an admin");
                Some((Err(io::Error::other(err.to_string())), None))
            }
            Err(err) => {
                tracing::error!(error = %err, "activity CSV download failed midway");
                Some((Err(io::Error::other(err.to_string())), None))
            }
        }
    })
    .fuse()
}

async fn export_for(
    web: &WebContext,
    query: CsvQuery,
    parts: &Parts,
) -> Result<activity::CsvExport, AppError> {
    if crate::security::sent_by_another_site(&parts.headers) {
        return Err(AppError::Forbidden(
            "Download the activity from the Activity tab of this console.".into(),
        ));
    }
    let (member, _) = signed_in_from(web, parts).await?;
    let admin = member.admin()?;
    // A user that is not a number is refused, as the tab and the API refuse
    // it: dropped, it would export everyone's events. The rest are read (an
    // empty one unset) by the domain's `Filter::parse`.
    let user_id = match query.user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(user) => Some(
            user.parse::<i32>()
                .map_err(|_| AppError::field("user", "Choose a user from the list."))?,
        ),
    };
    let filter = ActivityFilter { user_id, kind: query.kind, from: query.from, to: query.to };
    activity::csv_export(&web.domain, &admin, &filter).await
}
