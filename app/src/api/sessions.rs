//! The signed-in user's own sessions (the Account tab).
use leptos::prelude::*;

use crate::model::{AppError, SessionRow};

#[server(prefix = "/fn", endpoint = "list_sessions")]
pub async fn list_sessions() -> Result<Vec<SessionRow>, AppError> {
    use super::web::*;
    use crate::domain::identity::sessions;
    let (me, token) = signed_in().await?;
    sessions::list(&domain()?, &me, &token).await
}

#[server(prefix = "/fn", endpoint = "end_session")]
pub async fn end_session(id: String) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::sessions;
    sessions::end(&domain()?, &member().await?, &id).await
}

#[server(prefix = "/fn", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::identity::sessions;
    let (me, token) = signed_in().await?;
    sessions::end_others(&domain()?, &me, &token).await
}
