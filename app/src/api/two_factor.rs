//! Two-factor authentication of the signed-in user (the Account tab). There
//! is no admin path to anyone else's.
use leptos::prelude::*;

use crate::model::{AppError, TwoFactorSetup, TwoFactorStatus};

#[server(prefix = "/fn", endpoint = "load_two_factor_status")]
pub async fn load_two_factor_status() -> Result<TwoFactorStatus, AppError> {
    use super::web::*;
    use crate::domain::identity::two_factor;
    two_factor::status(&domain()?, &member().await?).await
}

#[server(prefix = "/fn", endpoint = "begin_two_factor")]
pub async fn begin_two_factor() -> Result<TwoFactorSetup, AppError> {
    use super::web::*;
    use crate::domain::identity::two_factor;
    two_factor::begin_setup(&domain()?, &member().await?).await
}

/// Returns the recovery codes, shown once. `setup_id`: the set-up's (the
/// page sends it; a caller may leave it out).
#[server(prefix = "/fn", endpoint = "confirm_two_factor")]
pub async fn confirm_two_factor(
    password: String,
    code: String,
    #[server(default)] setup_id: Option<String>,
) -> Result<Vec<String>, AppError> {
    use super::web::*;
    use crate::domain::identity::two_factor;
    let (member, token) = signed_in().await?;
    let setup_id = setup_id.as_deref();
    two_factor::confirm_setup(&domain()?, &member, &token, &password, &code, setup_id).await
}

#[server(prefix = "/fn", endpoint = "regenerate_recovery_codes")]
pub async fn regenerate_recovery_codes(
    password: String,
    code: String,
) -> Result<Vec<String>, AppError> {
    use super::web::*;
    use crate::domain::identity::two_factor;
    two_factor::regenerate_recovery_codes(&domain()?, &member().await?, &password, &code).await
}

#[server(prefix = "/fn", endpoint = "disable_two_factor")]
pub async fn disable_two_factor(password: String, code: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::two_factor;
    two_factor::disable(&domain()?, &member().await?, &password, &code).await
}
