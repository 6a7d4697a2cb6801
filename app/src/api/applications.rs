//! Applications: created, cloned, shared, renamed, and given libraries and integrations.
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::model::{AppError, ApplicationRow, Applications, UserChoice};

#[server(prefix = "/fn", endpoint = "list_applications")]
pub async fn list_applications() -> Result<Applications, AppError> {
    use super::web::*;
    use crate::domain::features::applications;
    applications::list(&domain()?, &member().await?).await
}

#[server(prefix = "/fn", endpoint = "create_application")]
pub async fn create_application(name: String) -> Result<ApplicationRow, AppError> {
    use super::web::*;
    use crate::domain::features::applications;
    applications::create(&domain()?, &member().await?, &name).await
}

#[server(prefix = "/fn", endpoint = "clone_application")]
pub async fn clone_application(id: i32) -> Result<ApplicationRow, AppError> {
    use super::web::*;
    use crate::domain::features::applications;
    applications::clone(&domain()?, &member().await?, id).await
}

#[server(prefix = "/fn", endpoint = "delete_application")]
pub async fn delete_application(id: i32) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::features::applications;
    applications::delete(&domain()?, &member().await?, id).await
}

#[server(prefix = "/fn", endpoint = "share_application")]
pub async fn share_application(id: i32, user_id: i32) -> Result<ApplicationRow, AppError> {
    use super::web::*;
    use crate::domain::features::applications;
    applications::share(&domain()?, &member().await?, id, user_id).await
}

#[server(prefix = "/fn", endpoint = "unshare_application")]
pub async fn unshare_application(id: i32, user_id: i32) -> Result<ApplicationRow, AppError> {
    use super::web::*;
    use crate::domain::features::applications;
    applications::unshare(&domain()?, &member().await?, id, user_id).await
}

/// The users the application `id` can be shared with, for what was typed.
#[server(prefix = "/fn", endpoint = "share_choices")]
pub async fn share_choices(id: i32, search: String) -> Result<Vec<UserChoice>, AppError> {
    use super::web::*;
    use crate::domain::features::applications;
    applications::share_choices(&domain()?, &member().await?, id, &search).await
}

/// JSON: the name (optional: absent keeps it), two lists of ids, and the
/// version the dialog opened on (`ApplicationRow::version`; absent: saved
/// over whatever changed since).
#[server(prefix = "/fn", endpoint = "save_application_settings", input = Json)]
pub async fn save_application_settings(
    id: i32,
    name: Option<String>,
    library_ids: Vec<i32>,
    integration_ids: Vec<i32>,
    #[server(default)] opened: Option<String>,
) -> Result<ApplicationRow, AppError> {
    use super::web::*;
    use crate::domain::features::applications::{self, SettingsForm};
    let (d, me) = (domain()?, member().await?);
    let form = SettingsForm::new(name.as_deref(), &library_ids, &integration_ids)
        .opened_on(opened.as_deref());
    applications::save_settings(&d, &me, id, form).await
}
