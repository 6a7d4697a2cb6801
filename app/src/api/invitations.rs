//! What an invitation's link opens (the activation page): who invited the
//! address to which account, Activate, and Decline on a step of its own.
use leptos::prelude::*;

use crate::model::{AppError, Invitation};

/// The second button on the page an invitation link opens.
#[server(prefix = "/fn", endpoint = "decline_invitation")]
pub async fn decline_invitation(token: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::admin::invitations;
    invitations::decline_invitation(&domain()?, &token).await?;
    leptos_axum::redirect(crate::pages::INVITATION_DECLINED);
    Ok(())
}

/// What the page an invitation link opens names: the account and the
/// address (`declining`: for its decline page).
#[server(prefix = "/fn", endpoint = "read_invitation")]
pub async fn read_invitation(
    token: String,
    #[server(default)] declining: bool,
) -> Result<Invitation, AppError> {
    use super::web::*;
    crate::domain::admin::invitations::read_invitation(&domain()?, &token, declining).await
}

/// The button on the page an invitation link opens.
#[server(prefix = "/fn", endpoint = "activate")]
pub async fn activate(token: String, new_password: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::admin::invitations;
    let (d, client) = (domain()?, client_address());
    let outcome = invitations::activate(&d, &token, &new_password, &user_agent(), client).await?;
    super::log_in::continue_log_in(outcome, "/account", true).await
}
