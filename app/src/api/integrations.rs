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

/// `was`, `was_name` and `was_description`: what the form opened with, so
/// that only what this admin changed is saved (without `was`, every field
/// is set as sent).
#[server(prefix = "/fn", endpoint = "update_integration")]
pub async fn update_integration(
    id: i32,
    name: String,
    description: Option<String>,
    was: Option<String>,
    #[server(default)] was_name: String,
    #[server(default)] was_description: String,
) -> Result<IntegrationRow, AppError> {
    use super::web::*;
    use crate::domain::features::integrations::{self, Shown};
    let admin = member().await?.admin()?;
    let description = description.unwrap_or_default();
    let was = was
        .filter(|sent| sent == "yes")
        .map(|_| Shown { name: was_name, description: was_description });
    integrations::update(&domain()?, &admin, id, &name, &description, was).await
}

/// `detach_from`: the applications the dialog named (JSON, as a list).
#[server(prefix = "/fn", endpoint = "delete_integration", input = Json)]
pub async fn delete_integration(id: i32, detach_from: UsedBy) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::features::integrations;
    let admin = member().await?.admin()?;
    integrations::delete(&domain()?, &admin, id, &detach_from).await
}
