//! Log-in (with its second step), log-out and who is signed in.
use leptos::prelude::*;

use crate::model::{AppError, CurrentUser};

#[server(prefix = "/fn", endpoint = "log_in")]
pub async fn log_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::log_in;
    let d = domain()?;
    let outcome = log_in::log_in(&d, &email, &password, &user_agent(), client_address()).await?;
    continue_log_in(outcome, &safe_next(next), false).await
}

/// Sets the session cookie and goes on to `next`, or (2FA on) sets the
/// challenge cookie and goes to the code step first, which says so when a
/// password link's new password waits for it.
#[cfg(feature = "ssr")]
pub async fn continue_log_in(
    outcome: crate::domain::identity::log_in::LogIn,
    next: &str,
    after_password_link: bool,
) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::log_in::LogIn;
    match outcome {
        LogIn::Session(session) => {
            replace_session_cookie(&session.token).await?;
            leptos_axum::redirect(next);
        }
        LogIn::SecondFactor { challenge } => {
            set_challenge_cookie(&challenge)?;
            leptos_axum::redirect(&crate::components::address::two_factor_url(
                next,
                after_password_link,
            ));
        }
    }
    Ok(())
}

/// The second step of a log-in with two-factor authentication.
#[server(prefix = "/fn", endpoint = "log_in_code")]
pub async fn log_in_code(code: String, next: Option<String>) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::log_in;
    let challenge =
        challenge_token().ok_or_else(|| AppError::field("code", log_in::CHALLENGE_EXPIRED))?;
    let (d, client) = (domain()?, client_address());
    let session =
        log_in::complete_second_factor(&d, &challenge, &code, &user_agent(), client).await?;
    clear_challenge_cookie();
    replace_session_cookie(&session.token).await?;
    leptos_axum::redirect(&safe_next(next));
    Ok(())
}

#[server(prefix = "/fn", endpoint = "log_out")]
pub async fn log_out() -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::sessions;
    if let Some(token) = session_token() {
        sessions::log_out(&domain()?, &token).await?;
    }
    clear_session_cookie();
    leptos_axum::redirect(crate::pages::LOGGED_OUT);
    Ok(())
}

#[server(prefix = "/fn", endpoint = "signed_in_user")]
pub async fn signed_in_user() -> Result<CurrentUser, AppError> {
    use super::web::*;
    use crate::domain::identity::profile;
    if let Some(me) = checked_user() {
        return Ok(me);
    }
    profile::current_user(&domain()?, &member().await?).await
}
