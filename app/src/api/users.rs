//! The admin's view of the account's users (the Manage Users tab).
use leptos::prelude::*;

use crate::model::{AppError, UserRow};

#[server(prefix = "/fn", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    use super::web::*;
    use crate::domain::users;
    reply(async { users::list_users(&domain()?, &member().await?.admin()?).await }.await)
}
