//! Sign-up, log-in, log-out and who is signed in.
use leptos::prelude::*;

use crate::model::{AppError, CurrentUser};

#[server(prefix = "/fn", endpoint = "sign_up")]
pub async fn sign_up(
    company_name: String,
    first_name: String,
    last_name: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::auth;
    reply(
        async {
            let input = auth::SignUp { company_name, first_name, last_name, email, password };
            let session = auth::sign_up(&domain()?, input, &user_agent()).await?;
            set_session_cookie(&session.token)?;
            leptos_axum::redirect("/account");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "log_in")]
pub async fn log_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::auth;
    reply(
        async {
            let d = domain()?;
            match auth::log_in_from(&d, &email, &password, &user_agent(), client_address()).await? {
                auth::LogIn::Session(session) => {
                    set_session_cookie(&session.token)?;
                    leptos_axum::redirect(&safe_next(next));
                }
                auth::LogIn::SecondFactor { challenge } => {
                    set_challenge_cookie(&challenge)?;
                    leptos_axum::redirect(&crate::pages::two_factor_url(&safe_next(next)));
                }
            }
            Ok(())
        }
        .await,
    )
}

/// The second step of a log-in with two-factor authentication.
#[server(prefix = "/fn", endpoint = "log_in_code")]
pub async fn log_in_code(code: String, next: Option<String>) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::auth;
    reply(
        async {
            let challenge = challenge_token()
                .ok_or_else(|| AppError::field("code", auth::CHALLENGE_EXPIRED))?;
            let session =
                auth::complete_second_factor(&domain()?, &challenge, &code, &user_agent()).await?;
            clear_challenge_cookie();
            set_session_cookie(&session.token)?;
            leptos_axum::redirect(&safe_next(next));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "log_out")]
pub async fn log_out() -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::auth;
    reply(
        async {
            if let Some(token) = session_token() {
                auth::log_out(&domain()?, &token).await?;
            }
            clear_session_cookie();
            leptos_axum::redirect("/login");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "signed_in_user")]
pub async fn signed_in_user() -> Result<CurrentUser, AppError> {
    use super::web::*;
    use crate::domain::users;
    reply(async { users::current_user(&domain()?, &member().await?).await }.await)
}
