//! The Manage Users tab (admins): the user table, invitations, edits,
//! disabling and enabling, and deletions. What an invitation's link opens is
//! `invitations`.
// A form's server function takes one argument per field, and the `#[server]`
// macro does not carry an allow on the function to the client it generates.
#![allow(clippy::too_many_arguments)]
use leptos::prelude::*;

use crate::model::{AppError, UserPage, UserRow};

/// A page of the account's users; `state` is `all` (the default), `enabled`
/// or `disabled`.
#[server(prefix = "/fn", endpoint = "list_users")]
pub async fn list_users(
    search: Option<String>,
    sort: Option<String>,
    after: Option<String>,
    state: Option<String>,
) -> Result<UserPage, AppError> {
    use super::web::*;
    use crate::domain::admin::users;
    use crate::model::{UserSort, UserState};
    let admin = member().await?.admin()?;
    let sort = UserSort::parse(sort.as_deref())?;
    let state = UserState::parse(state.as_deref())?;
    let search = search.unwrap_or_default();
    users::list_users_in_state(&domain()?, &admin, &search, state, sort, after.as_deref()).await
}

/// The fields of the Add User and Edit User forms. Checkboxes send `on`
/// only when ticked; Account Admin is a `yes`/`no` choice (left out, No).
/// A flag spelled otherwise is refused on its field rather than read as one
/// or the other: `is_admin=true` read as No would demote, `can_share=off`
/// read as ticked would grant.
#[cfg(feature = "ssr")]
fn user_form(
    first_name: String,
    last_name: String,
    email: String,
    is_admin: Option<String>,
    can_create: Option<String>,
    can_share: Option<String>,
) -> Result<crate::domain::admin::users::UserForm, AppError> {
    let mut errors = crate::domain::core::validation::Errors::default();
    let mut flag = |field: &str, value: Option<String>, yes: &str, no: &str, says: &str| match value
        .as_deref()
    {
        None => false,
        Some(value) if value == yes => true,
        Some(value) if value == no => false,
        Some(_) => {
            errors.add(field, says);
            false
        }
    };
    let is_admin = flag("is_admin", is_admin, "yes", "no", "Account Admin must be Yes or No.");
    let can_create =
        flag("can_create", can_create, "on", "", "Can Create is sent as \"on\" when ticked.");
    let can_share =
        flag("can_share", can_share, "on", "", "Can Share is sent as \"on\" when ticked.");
    errors.into_result()?;
    Ok(crate::domain::admin::users::UserForm {
        first_name,
        last_name,
        email,
        is_admin,
        can_create,
        can_share,
        pending_email: String::new(),
    })
}

#[server(prefix = "/fn", endpoint = "add_user")]
pub async fn add_user(
    first_name: String,
    last_name: String,
    email: String,
    is_admin: Option<String>,
    can_create: Option<String>,
    can_share: Option<String>,
) -> Result<UserRow, AppError> {
    use super::web::*;
    use crate::domain::admin::users;
    let admin = member().await?.admin()?;
    let form = user_form(first_name, last_name, email, is_admin, can_create, can_share)?;
    users::invite(&domain()?, &admin, form).await
}

/// Edit User. The `was_` fields are the values the form opened with (hidden
/// inputs; the checkboxes' as `on` or `off`), so that only what the admin
/// changed is saved. `was` says they are sent: an empty field arrives as no
/// value at all, so their presence cannot say it. Without `was` (a page
/// from before it), every field is set as sent. `was_pending_email` is the
/// address change the form showed waiting, which a new address replaces.
#[server(prefix = "/fn", endpoint = "update_user")]
pub async fn update_user(
    id: i32,
    first_name: String,
    last_name: String,
    email: String,
    is_admin: Option<String>,
    can_create: Option<String>,
    can_share: Option<String>,
    was: Option<String>,
    #[server(default)] was_first_name: String,
    #[server(default)] was_last_name: String,
    #[server(default)] was_email: String,
    #[server(default)] was_is_admin: String,
    #[server(default)] was_can_create: String,
    #[server(default)] was_can_share: String,
    #[server(default)] was_pending_email: String,
) -> Result<UserRow, AppError> {
    use super::web::*;
    use crate::domain::admin::users;
    let admin = member().await?.admin()?;
    let form = user_form(first_name, last_name, email, is_admin, can_create, can_share)?;
    // Each flag spelled as the form spells it, or none of the values: a
    // garbled flag must not read as "off" (an untick would then be lost).
    let flag = |value: String, yes: &str, no: &str| match value {
        value if value == yes => Ok(Some(value)),
        value if value == no => Ok(None),
        _ => Err(()),
    };
    let flags = (
        flag(was_is_admin, "yes", "no"),
        flag(was_can_create, "on", "off"),
        flag(was_can_share, "on", "off"),
    );
    let was = match (was.as_deref(), flags) {
        (Some("yes"), (Ok(is_admin), Ok(create), Ok(share))) => {
            user_form(was_first_name, was_last_name, was_email, is_admin, create, share)
                .ok()
                .map(|shown| users::UserForm { pending_email: was_pending_email, ..shown })
        }
        _ => None,
    };
    users::update(&domain()?, &admin, id, users::UserEdit { form, was }).await
}

#[server(prefix = "/fn", endpoint = "delete_user")]
pub async fn delete_user(id: i32) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::admin::users;
    users::delete(&domain()?, &member().await?.admin()?, id).await
}

/// Disables a user of the admin's account: no more sign-in, sessions or keys.
#[server(prefix = "/fn", endpoint = "disable_user")]
pub async fn disable_user(id: i32) -> Result<UserRow, AppError> {
    use super::web::*;
    use crate::domain::admin::users;
    users::disable(&domain()?, &member().await?.admin()?, id).await
}

/// Enables a disabled user of the admin's account again.
#[server(prefix = "/fn", endpoint = "enable_user")]
pub async fn enable_user(id: i32) -> Result<UserRow, AppError> {
    use super::web::*;
    use crate::domain::admin::users;
    users::enable(&domain()?, &member().await?.admin()?, id).await
}

#[server(prefix = "/fn", endpoint = "resend_invitation")]
pub async fn resend_invitation(id: i32) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::admin::users;
    users::resend_invitation(&domain()?, &member().await?.admin()?, id).await
}

#[server(prefix = "/fn", endpoint = "send_password_reset")]
pub async fn send_password_reset(id: i32) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::admin::users;
    users::send_password_reset(&domain()?, &member().await?.admin()?, id).await
}
