//! Phone numbers: admins list, request, reassign and release them; every
//! user sees the numbers they own.
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::model::{AppError, OwnerChange, OwnersSaved, PhoneNumberRow, PhoneNumbers, UserChoice};

#[server(prefix = "/fn", endpoint = "list_phone_numbers")]
pub async fn list_phone_numbers() -> Result<PhoneNumbers, AppError> {
    use super::web::*;
    use crate::domain::features::phone_numbers;
    phone_numbers::list(&domain()?, &member().await?.admin()?).await
}

#[server(prefix = "/fn", endpoint = "my_phone_numbers")]
pub async fn my_phone_numbers() -> Result<Vec<PhoneNumberRow>, AppError> {
    use super::web::*;
    use crate::domain::features::phone_numbers;
    phone_numbers::owned_by_me(&domain()?, &member().await?).await
}

#[server(prefix = "/fn", endpoint = "request_phone_number")]
pub async fn request_phone_number() -> Result<PhoneNumberRow, AppError> {
    use super::web::*;
    use crate::domain::features::phone_numbers;
    phone_numbers::request(&domain()?, &member().await?.admin()?).await
}

/// JSON: the changes are a list of pairs.
#[server(prefix = "/fn", endpoint = "save_phone_owners", input = Json)]
pub async fn save_phone_owners(changes: Vec<OwnerChange>) -> Result<OwnersSaved, AppError> {
    use super::web::*;
    use crate::domain::features::phone_numbers;
    phone_numbers::save_owners(&domain()?, &member().await?.admin()?, &changes).await
}

#[server(prefix = "/fn", endpoint = "release_phone_number")]
pub async fn release_phone_number(id: i32) -> Result<(), AppError> {
    use super::web::*;
    use crate::domain::features::phone_numbers;
    phone_numbers::release(&domain()?, &member().await?.admin()?, id).await
}

#[server(prefix = "/fn", endpoint = "phone_owner_choices")]
pub async fn phone_owner_choices(search: String) -> Result<Vec<UserChoice>, AppError> {
    use super::web::*;
    use crate::domain::features::phone_numbers;
    phone_numbers::owner_choices(&domain()?, &member().await?.admin()?, &search).await
}
