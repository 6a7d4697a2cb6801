//! Applications and the deployments of one's own phone numbers to them.
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::model::{AppError, ApplicationRow, Applications, UserChoice};

#[server(prefix = "/fn", endpoint = "list_applications")]
pub async fn list_applications() -> Result<Applications, AppError> {
    use super::web::*;
    use crate::domain::applications;
    reply(async { applications::list(&domain()?, &member().await?).await }.await)
}

#[server(prefix = "/fn", endpoint = "create_application")]
pub async fn create_application(name: String) -> Result<ApplicationRow, AppError> {
    use super::web::*;
    use crate::domain::applications;
    reply(async { applications::create(&domain()?, &member().await?, &name).await }.await)
}

#[server(prefix = "/fn", endpoint = "clone_application")]
pub async fn clone_application(id: i32) -> Result<ApplicationRow, AppError> {
    use super::web::*;
    use crate::domain::applications;
    reply(async { applications::clone(&domain()?, &member().await?, id).await }.await)
}

#[server(prefix = "/fn", endpoint = "delete_application")]
pub async fn delete_application(id: i32) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::applications;
    reply(async { applications::delete(&domain()?, &member().await?, id).await }.await)
}

#[server(prefix = "/fn", endpoint = "share_application")]
pub async fn share_application(id: i32, user_id: i32) -> Result<ApplicationRow, AppError> {
    use super::web::*;
    use crate::domain::applications;
    reply(async { applications::share(&domain()?, &member().await?, id, user_id).await }.await)
}

#[server(prefix = "/fn", endpoint = "unshare_application")]
pub async fn unshare_application(id: i32, user_id: i32) -> Result<ApplicationRow, AppError> {
    use super::web::*;
    use crate::domain::applications;
    reply(async { applications::unshare(&domain()?, &member().await?, id, user_id).await }.await)
}

#[server(prefix = "/fn", endpoint = "share_choices")]
pub async fn share_choices(search: String) -> Result<Vec<UserChoice>, AppError> {
    use super::web::*;
    use crate::domain::applications;
    reply(async { applications::share_choices(&domain()?, &member().await?, &search).await }.await)
}

/// JSON: two lists of ids.
#[server(prefix = "/fn", endpoint = "set_application_attachments", input = Json)]
pub async fn set_application_attachments(
    id: i32,
    library_ids: Vec<i32>,
    integration_ids: Vec<i32>,
) -> Result<ApplicationRow, AppError> {
    use super::web::*;
    use crate::domain::applications;
    reply(
        async {
            let me = member().await?;
            applications::set_attachments(&domain()?, &me, id, &library_ids, &integration_ids).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "deploy_number")]
pub async fn deploy_number(number_id: i32, application_id: Option<i32>) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::deployments;
    reply(
        async {
            let (d, me) = (domain()?, member().await?);
            match application_id {
                Some(app) => deployments::deploy(&d, &me, number_id, app).await,
                None => deployments::undeploy(&d, &me, number_id).await,
            }
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "assign_deployment_token")]
pub async fn assign_deployment_token(
    number_id: i32,
    token_id: Option<i32>,
) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::deployments;
    reply(
        async {
            deployments::assign_token(&domain()?, &member().await?, number_id, token_id).await
        }
        .await,
    )
}
