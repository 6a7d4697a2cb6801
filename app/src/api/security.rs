//! The user's own security settings on the Account tab: two-factor
//! authentication, developer keys and signed-in sessions. Each acts on the
//! signed-in user only; there is no admin path to anyone else's.
use leptos::prelude::*;

use crate::model::{
    AppError, DeveloperKeyRow, NewDeveloperKey, SessionRow, TwoFactorSetup, TwoFactorStatus,
};

#[server(prefix = "/fn", endpoint = "load_two_factor_status")]
pub async fn load_two_factor_status() -> Result<TwoFactorStatus, AppError> {
    use super::web::*;
    use crate::domain::two_factor;
    reply(async { two_factor::status(&domain()?, &member().await?).await }.await)
}

#[server(prefix = "/fn", endpoint = "begin_two_factor")]
pub async fn begin_two_factor() -> Result<TwoFactorSetup, AppError> {
    use super::web::*;
    use crate::domain::two_factor;
    reply(async { two_factor::begin_setup(&domain()?, &member().await?).await }.await)
}

/// Returns the recovery codes, shown once.
#[server(prefix = "/fn", endpoint = "confirm_two_factor")]
pub async fn confirm_two_factor(code: String) -> Result<Vec<String>, AppError> {
    use super::web::*;
    use crate::domain::two_factor;
    reply(async { two_factor::confirm_setup(&domain()?, &member().await?, &code).await }.await)
}

#[server(prefix = "/fn", endpoint = "regenerate_recovery_codes")]
pub async fn regenerate_recovery_codes(code: String) -> Result<Vec<String>, AppError> {
    use super::web::*;
    use crate::domain::two_factor;
    reply(
        async { two_factor::regenerate_recovery_codes(&domain()?, &member().await?, &code).await }
            .await,
    )
}

#[server(prefix = "/fn", endpoint = "disable_two_factor")]
pub async fn disable_two_factor(password: String, code: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::two_factor;
    reply(async { two_factor::disable(&domain()?, &member().await?, &password, &code).await }.await)
}

#[server(prefix = "/fn", endpoint = "list_developer_keys")]
pub async fn list_developer_keys() -> Result<Vec<DeveloperKeyRow>, AppError> {
    use super::web::*;
    use crate::domain::developer_keys;
    reply(async { developer_keys::list(&domain()?, &member().await?).await }.await)
}

#[server(prefix = "/fn", endpoint = "generate_developer_key")]
pub async fn generate_developer_key(name: String) -> Result<NewDeveloperKey, AppError> {
    use super::web::*;
    use crate::domain::developer_keys;
    reply(async { developer_keys::generate(&domain()?, &member().await?, &name).await }.await)
}

#[server(prefix = "/fn", endpoint = "regenerate_developer_key")]
pub async fn regenerate_developer_key(id: i32) -> Result<NewDeveloperKey, AppError> {
    use super::web::*;
    use crate::domain::developer_keys;
    reply(async { developer_keys::regenerate(&domain()?, &member().await?, id).await }.await)
}

#[server(prefix = "/fn", endpoint = "revoke_developer_key")]
pub async fn revoke_developer_key(id: i32) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::developer_keys;
    reply(async { developer_keys::revoke(&domain()?, &member().await?, id).await }.await)
}

#[server(prefix = "/fn", endpoint = "list_sessions")]
pub async fn list_sessions() -> Result<Vec<SessionRow>, AppError> {
    use super::web::*;
    use crate::domain::sessions;
    reply(
        async {
            let (me, token) = signed_in().await?;
            sessions::list(&domain()?, &me, &token).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "end_session")]
pub async fn end_session(id: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::sessions;
    reply(async { sessions::end(&domain()?, &member().await?, &id).await }.await)
}

#[server(prefix = "/fn", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::sessions;
    reply(
        async {
            let (me, token) = signed_in().await?;
            sessions::end_others(&domain()?, &me, &token).await
        }
        .await,
    )
}
