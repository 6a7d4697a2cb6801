//! Integrations: every user of the account lists them; admins manage them.
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::model::{AppError, IntegrationRow, UsedBy};

#[server(prefix = "/fn", endpoint = "list_integrations")]
pub async fn list_integrations() -> Result<Vec<IntegrationRow>, AppError> {
    use super::web::*;
    use crate::domain::features::integrations;
    integrations::list(&domain()?, &member().await?).await
}

#[server(prefix = "/fn", endpoint = "add_integration")]
pub async fn add_integration(
    service: String,
    name: String,
    description: Option<String>,
    config: Option<String>,
    key: Option<String>,
    secret: Option<String>,
    region: Option<String>,
) -> Result<IntegrationRow, AppError> {
    use super::web::*;
    use crate::domain::features::integrations::{self, NewIntegration};
    let admin = member().await?.admin()?;
    let input = NewIntegration {
        service,
        name,
        description: description.unwrap_or_default(),
        config: config.unwrap_or_default(),
        key: key.unwrap_or_default(),
        secret: secret.unwrap_or_default(),
        region: region.unwrap_or_default(),
    };
    integrations::add(&domain()?, &admin, input).await
}

#[server(prefix = "/fn", endpoint = "update_integration")]
pub async fn update_integration(
    id: i32,
    name: String,
    description: Option<String>,
) -> Result<IntegrationRow, AppError> {
    use super::web::*;
    use crate::domain::features::integrations;
    let admin = member().await?.admin()?;
    let description = description.unwrap_or_default();
    integrations::update(&domain()?, &admin, id, &name, &description).await
}

/// `detach_from`: the applications the dialog named (JSON, as a list).
#[server(prefix = "/fn", endpoint = "delete_integration", input = Json)]
pub async fn delete_integration(id: i32, detach_from: UsedBy) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::features::integrations;
    let admin = member().await?.admin()?;
    integrations::delete(&domain()?, &admin, id, &detach_from).await
}
