//! Email verification, password reset and email change.
use leptos::prelude::*;

use crate::model::{AppError, EmailChangeLink, PendingEmailChange, VerificationLink};

#[server(prefix = "/fn", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::email_links;
    email_links::resend_verification(&domain()?, &member().await?).await
}

/// Whether a verification link would verify (and whose account it is for),
/// or its address is verified already: its page says so before the button
/// is pressed.
#[server(prefix = "/fn", endpoint = "check_verification_link")]
pub async fn check_verification_link(token: String) -> Result<VerificationLink, AppError> {
    use super::web::*;
    crate::domain::identity::email_links::check_verification_link(&domain()?, &token).await
}

#[server(prefix = "/fn", endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::email_links;
    email_links::verify_email(&domain()?, &token, client_address()).await?;
    leptos_axum::redirect(crate::pages::EMAIL_VERIFIED);
    Ok(())
}

#[server(prefix = "/fn", endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::email_links;
    email_links::request_password_reset(&domain()?, &email, client_address()).await?;
    leptos_axum::redirect(crate::pages::PASSWORD_RESET_SENT);
    Ok(())
}

/// Whether a reset link still works: its page says so before anything is typed.
#[server(prefix = "/fn", endpoint = "check_reset_link")]
pub async fn check_reset_link(token: String) -> Result<String, AppError> {
    use super::web::*;
    crate::domain::identity::email_links::check_reset_link(&domain()?, &token).await
}

#[server(prefix = "/fn", endpoint = "reset_password")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::email_links;
    let d = domain()?;
    let outcome =
        email_links::reset_password(&d, &token, &new_password, &user_agent(), client_address())
            .await?;
    super::log_in::continue_log_in(outcome, "/account", true).await
}

/// Returns the address the confirmation link was sent to.
#[server(prefix = "/fn", endpoint = "request_email_change")]
pub async fn request_email_change(
    current_password: String,
    new_email: String,
    // Asked for only when 2FA is on: the form shows it then.
    #[server(default)] code: String,
) -> Result<String, AppError> {
    use super::web::*;
    use crate::domain::identity::email_links;
    let (d, me) = (domain()?, member().await?);
    email_links::request_email_change(&d, &me, &current_password, &new_email, &code).await
}

/// The email change waiting for its link to be opened, if any.
// Named apart from the model type the function returns.
#[server(name = LoadPendingEmailChange, prefix = "/fn", endpoint = "pending_email_change")]
pub async fn pending_email_change() -> Result<Option<PendingEmailChange>, AppError> {
    use super::web::*;
    use crate::domain::identity::email_links;
    email_links::pending_email_change(&domain()?, &member().await?).await
}

#[server(prefix = "/fn", endpoint = "cancel_email_change")]
pub async fn cancel_email_change() -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::email_links;
    email_links::cancel_email_change(&domain()?, &member().await?).await
}

/// Whether an email-change link still works, the address it confirms and
/// whose: its page says so before the button is pressed.
#[server(prefix = "/fn", endpoint = "check_email_change_link")]
pub async fn check_email_change_link(token: String) -> Result<EmailChangeLink, AppError> {
    use super::web::*;
    crate::domain::identity::email_links::check_email_change_link(&domain()?, &token).await
}

#[server(prefix = "/fn", endpoint = "confirm_email_change")]
pub async fn confirm_email_change(token: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::email_links;
    email_links::confirm_email_change(&domain()?, &token, client_address()).await?;
    leptos_axum::redirect(crate::pages::EMAIL_CHANGE_CONFIRMED);
    Ok(())
}
