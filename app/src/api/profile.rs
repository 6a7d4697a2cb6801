//! The signed-in user's own settings (the Account tab).
use leptos::prelude::*;

use crate::model::AppError;

#[server(prefix = "/fn", endpoint = "update_name")]
pub async fn update_name(first_name: String, last_name: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::profile;
    profile::update_name(&domain()?, &member().await?, &first_name, &last_name).await
}

#[server(prefix = "/fn", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::profile;
    let (member, token) = signed_in().await?;
    profile::change_password(&domain()?, &member, &token, &current_password, &new_password).await
}
