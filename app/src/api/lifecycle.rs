//! Email verification, password reset and email change.
use leptos::prelude::*;

use crate::model::AppError;

#[server(prefix = "/fn", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::lifecycle;
    reply(async { lifecycle::resend_verification(&domain()?, &member().await?).await }.await)
}

#[server(prefix = "/fn", endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::lifecycle;
    reply(async { lifecycle::verify_email(&domain()?, &token).await }.await)
}

#[server(prefix = "/fn", endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::lifecycle;
    reply(async { lifecycle::request_password_reset(&domain()?, &email).await }.await)
}

#[server(prefix = "/fn", endpoint = "reset_password")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::lifecycle;
    reply(
        async {
            let session =
                lifecycle::reset_password(&domain()?, &token, &new_password, &user_agent()).await?;
            set_session_cookie(&session.token)?;
            leptos_axum::redirect("/account");
            Ok(())
        }
        .await,
    )
}

/// Returns the address the confirmation link was sent to.
#[server(prefix = "/fn", endpoint = "request_email_change")]
pub async fn request_email_change(
    current_password: String,
    new_email: String,
) -> Result<String, AppError> {
    use super::web::*;
    use crate::domain::lifecycle;
    reply(
        async {
            lifecycle::request_email_change(
                &domain()?,
                &member().await?,
                &current_password,
                &new_email,
            )
            .await
        }
        .await,
    )
}

/// Returns the address now in use.
#[server(prefix = "/fn", endpoint = "confirm_email_change")]
pub async fn confirm_email_change(token: String) -> Result<String, AppError> {
    use super::web::*;
    use crate::domain::lifecycle;
    reply(async { lifecycle::confirm_email_change(&domain()?, &token).await }.await)
}
