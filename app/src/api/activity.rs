//! The activity log: the admin's Activity tab and one's own security events.
use leptos::prelude::*;

use crate::model::{ActivityPage, AppError, EventId};

/// A page of the account's events (admins only), newest first.
#[server(prefix = "/fn", endpoint = "list_activity")]
pub async fn list_activity(
    user: Option<i32>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<EventId>,
) -> Result<ActivityPage, AppError> {
    use super::web::*;
    use crate::domain::admin::activity;
    use crate::model::ActivityFilter;
    let filter = ActivityFilter { user_id: user, kind, from, to };
    activity::list(&domain()?, &member().await?.admin()?, &filter, before).await
}

/// A page of the signed-in user's own security events, newest first.
#[server(prefix = "/fn", endpoint = "my_security_activity")]
pub async fn my_security_activity(before: Option<EventId>) -> Result<ActivityPage, AppError> {
    use super::web::*;
    use crate::domain::identity::activity;
    activity::mine(&domain()?, &member().await?, before).await
}
