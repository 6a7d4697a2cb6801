//! The Account Information tab (admins): the company's details.
// A form's server function takes one argument per field, and the `#[server]`
// macro does not carry an allow on the function to the client it generates.
#![allow(clippy::too_many_arguments)]
use leptos::prelude::*;

use crate::model::{AccountInfo, AppError};

#[server(prefix = "/fn", endpoint = "load_account_info")]
pub async fn load_account_info() -> Result<AccountInfo, AppError> {
    use super::web::*;
    use crate::domain::admin::account_info;
    account_info::get(&domain()?, &member().await?.admin()?).await
}

/// Saves the form. The `was_` fields are the values it opened with (hidden
/// inputs), so that only what the admin changed is saved. `was` says they
/// are sent: an empty field arrives as no value at all, so their presence
/// cannot say it. Without `was` (a page from before it), every field is
/// set as sent.
#[server(prefix = "/fn", endpoint = "save_account_info")]
pub async fn save_account_info(
    company_name: String,
    address: String,
    city: String,
    state: String,
    zip: String,
    phone: String,
    was: Option<String>,
    #[server(default)] was_company_name: String,
    #[server(default)] was_address: String,
    #[server(default)] was_city: String,
    #[server(default)] was_state: String,
    #[server(default)] was_zip: String,
    #[server(default)] was_phone: String,
) -> Result<AccountInfo, AppError> {
    use super::web::*;
    use crate::domain::admin::account_info;
    use crate::domain::core::edits::Edit;
    let admin = member().await?.admin()?;
    let form = AccountInfo { company_name, address, city, state, zip, phone };
    let was = was.filter(|sent| sent == "yes").map(|_| AccountInfo {
        company_name: was_company_name,
        address: was_address,
        city: was_city,
        state: was_state,
        zip: was_zip,
        phone: was_phone,
    });
    account_info::save(&domain()?, &admin, Edit { form, was }).await
}
