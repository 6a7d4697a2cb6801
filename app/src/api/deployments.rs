//! Deployments: one's own phone numbers run an application, optionally with
//! one's own OAuth token.
use leptos::prelude::*;

use crate::model::AppError;

#[server(prefix = "/fn", endpoint = "deploy_number")]
pub async fn deploy_number(number_id: i32, application_id: Option<i32>) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::features::deployments;
    let (d, me) = (domain()?, member().await?);
    match application_id {
        Some(app) => deployments::deploy(&d, &me, number_id, app).await,
        None => deployments::undeploy(&d, &me, number_id).await,
    }
}

#[server(prefix = "/fn", endpoint = "assign_deployment_token")]
pub async fn assign_deployment_token(
    number_id: i32,
    token_id: Option<i32>,
) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::features::deployments;
    deployments::assign_token(&domain()?, &member().await?, number_id, token_id).await
}
