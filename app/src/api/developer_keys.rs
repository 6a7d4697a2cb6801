//! The signed-in user's own developer keys (the Account tab).
use leptos::prelude::*;

use crate::model::{AppError, DeveloperKeyRow, NewDeveloperKey};

#[server(prefix = "/fn", endpoint = "list_developer_keys")]
pub async fn list_developer_keys() -> Result<Vec<DeveloperKeyRow>, AppError> {
    use super::web::*;
    use crate::domain::identity::developer_keys;
    developer_keys::list(&domain()?, &member().await?).await
}

#[server(prefix = "/fn", endpoint = "generate_developer_key")]
pub async fn generate_developer_key(
    name: String,
    password: String,
    // Asked for only when 2FA is on: the form shows it then.
    #[server(default)] code: String,
) -> Result<NewDeveloperKey, AppError> {
    use super::web::*;
    use crate::domain::identity::developer_keys;
    developer_keys::generate(&domain()?, &member().await?, &name, &password, &code).await
}

#[server(prefix = "/fn", endpoint = "regenerate_developer_key")]
pub async fn regenerate_developer_key(
    id: i32,
    password: String,
    #[server(default)] code: String,
) -> Result<NewDeveloperKey, AppError> {
    use super::web::*;
    use crate::domain::identity::developer_keys;
    developer_keys::regenerate(&domain()?, &member().await?, id, &password, &code).await
}

#[server(prefix = "/fn", endpoint = "revoke_developer_key")]
pub async fn revoke_developer_key(id: i32) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::developer_keys;
    developer_keys::revoke(&domain()?, &member().await?, id).await
}
