//! The activity log: the admin's Activity tab and one's own security events.
use leptos::prelude::*;

use crate::model::{ActivityPage, AppError, EventId, UserChoice};

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

/// The users the Activity tab's User filter offers for `search` (admins
/// only), disabled ones included.
#[server(prefix = "/fn", endpoint = "activity_user_choices")]
pub async fn activity_user_choices(search: String) -> Result<Vec<UserChoice>, AppError> {
    use super::web::*;
    use crate::domain::admin::activity;
    activity::user_choices(&domain()?, &member().await?.admin()?, &search).await
}

/// Who the Activity tab's User filter names, for an id from its address
/// (admins only); `None` for an id nobody of the account acted under.
#[server(prefix = "/fn", endpoint = "activity_user_choice")]
pub async fn activity_user_choice(id: i32) -> Result<Option<UserChoice>, AppError> {
    use super::web::*;
    use crate::domain::admin::activity;
    activity::user_choice(&domain()?, &member().await?.admin()?, id).await
}

/// A page of the signed-in user's own security events, newest first.
#[server(prefix = "/fn", endpoint = "my_security_activity")]
pub async fn my_security_activity(before: Option<EventId>) -> Result<ActivityPage, AppError> {
    use super::web::*;
    use crate::domain::identity::activity;
    activity::mine(&domain()?, &member().await?, before).await
}
