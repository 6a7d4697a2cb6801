//! JS libraries: each user manages their own.
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::model::{AppError, JsLibraryRow, UsedBy};

#[server(prefix = "/fn", endpoint = "list_js_libraries")]
pub async fn list_js_libraries() -> Result<Vec<JsLibraryRow>, AppError> {
    use super::web::*;
    use crate::domain::features::js_libraries;
    js_libraries::list(&domain()?, &member().await?).await
}

/// The code of one of the user's libraries: the list leaves it out, and the
/// Edit dialog loads it as it opens.
#[server(prefix = "/fn", endpoint = "js_library_code")]
pub async fn js_library_code(id: i32) -> Result<String, AppError> {
    use super::web::*;
    use crate::domain::features::js_libraries;
    js_libraries::code(&domain()?, &member().await?, id).await
}

#[server(prefix = "/fn", endpoint = "add_js_library")]
pub async fn add_js_library(
    name: String,
    description: Option<String>,
    code: String,
) -> Result<JsLibraryRow, AppError> {
    use super::web::*;
    use crate::domain::features::js_libraries::{self, LibraryForm};
    let form = LibraryForm { name, description: description.unwrap_or_default(), code };
    js_libraries::add(&domain()?, &member().await?, form).await
}

/// `opened`: the version Edit opened on (`JsLibraryRow::version`).
#[server(prefix = "/fn", endpoint = "update_js_library")]
pub async fn update_js_library(
    id: i32,
    name: String,
    description: Option<String>,
    code: String,
    #[server(default)] opened: Option<String>,
) -> Result<JsLibraryRow, AppError> {
    use super::web::*;
    use crate::domain::features::js_libraries::{self, LibraryEdit, LibraryForm};
    let form = LibraryForm { name, description: description.unwrap_or_default(), code };
    let edit = LibraryEdit { form, opened };
    js_libraries::update(&domain()?, &member().await?, id, edit).await
}

/// `detach_from`: the applications the dialog named (JSON, as a list).
#[server(prefix = "/fn", endpoint = "delete_js_library", input = Json)]
pub async fn delete_js_library(id: i32, detach_from: UsedBy) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::features::js_libraries;
    js_libraries::delete(&domain()?, &member().await?, id, &detach_from).await
}
