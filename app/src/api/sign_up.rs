//! Sign-up: a new account whose first user is its admin.
use leptos::prelude::*;

use crate::model::AppError;

#[server(prefix = "/fn", endpoint = "sign_up")]
pub async fn sign_up(
    company_name: String,
    first_name: String,
    last_name: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::sign_up;
    let input = sign_up::SignUp { company_name, first_name, last_name, email, password };
    let session = sign_up::sign_up(&domain()?, input, &user_agent(), client_address()).await?;
    replace_session_cookie(&session.token).await?;
    leptos_axum::redirect("/account");
    Ok(())
}
