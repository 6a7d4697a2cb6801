//! The Account Information tab (admins): the company's details.
use leptos::prelude::*;

use crate::model::{AccountInfo, AppError};

#[server(prefix = "/fn", endpoint = "load_account_info")]
pub async fn load_account_info() -> Result<AccountInfo, AppError> {
    use super::web::*;
    use crate::domain::admin::account_info;
    account_info::get(&domain()?, &member().await?.admin()?).await
}

#[server(prefix = "/fn", endpoint = "save_account_info")]
pub async fn save_account_info(
    company_name: String,
    address: String,
    city: String,
    state: String,
    zip: String,
    phone: String,
) -> Result<AccountInfo, AppError> {
    use super::web::*;
    use crate::domain::admin::account_info;
    let admin = member().await?.admin()?;
    let input = AccountInfo { company_name, address, city, state, zip, phone };
    account_info::save(&domain()?, &admin, input).await
}
