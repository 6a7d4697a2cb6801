//! The account itself: its company details (Account Information tab, admins
//! only) and its plan (changed by operators only, never through the web).
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Set};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Admin;
use crate::domain::core::scope::lock_account_as;
use crate::domain::core::validation::{self, Errors};
use crate::domain::core::Domain;
use crate::domain::entity::account;
use crate::model::{AccountInfo, ActivityKind, AppError};

pub use crate::model::{ADDRESS_MAX, CITY_MAX, STATE_MAX, ZIP_MAX};

fn info(model: account::Model) -> AccountInfo {
    AccountInfo {
        company_name: model.company_name,
        address: model.address,
        city: model.city,
        state: model.state,
        zip: model.zip,
        phone: model.phone,
    }
}

async fn load(conn: &impl ConnectionTrait, account_id: i32) -> Result<account::Model, AppError> {
    account::Entity::find_by_id(account_id).one(conn).await?.ok_or(AppError::NotFound)
}

pub async fn get(d: &Domain, admin: &Admin) -> Result<AccountInfo, AppError> {
    Ok(info(load(&d.read, admin.account_id()).await?))
}

fn zip(value: &str) -> Result<String, String> {
    let value = validation::optional_text(value, "Zip", ZIP_MAX)?;
    if value.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') {
        Ok(value)
    } else {
        Err("Zip may contain only letters, digits, spaces and dashes.".into())
    }
}

/// Saves every field or none: all problems are reported together.
pub async fn save(d: &Domain, admin: &Admin, input: AccountInfo) -> Result<AccountInfo, AppError> {
    let mut errors = Errors::default();
    let checked = AccountInfo {
        company_name: errors.check("company_name", validation::company_name(&input.company_name)),
        address: errors
            .check("address", validation::optional_text(&input.address, "Address", ADDRESS_MAX)),
        city: errors.check("city", validation::optional_text(&input.city, "City", CITY_MAX)),
        state: errors.check("state", validation::optional_text(&input.state, "State", STATE_MAX)),
        zip: errors.check("zip", zip(&input.zip)),
        phone: errors.check("phone", validation::international_phone(&input.phone, "Phone Number")),
    };
    errors.into_result()?;
    let event = Event::new(ActivityKind::AccountInfoUpdated, &checked.company_name);
    let mut active = load(&d.db, admin.account_id()).await?.into_active_model();
    active.company_name = Set(checked.company_name);
    active.address = Set(checked.address);
    active.city = Set(checked.city);
    active.state = Set(checked.state);
    active.zip = Set(checked.zip);
    active.phone = Set(checked.phone);
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let saved = activity::with_event(d, by, event, async |txn| {
        lock_account_as(txn, admin).await?;
        Ok(active.update(txn).await?)
    })
    .await?;
    Ok(info(saved))
}

#[cfg(test)]
mod tests {
    use super::zip;

    #[test]
    fn zips() {
        assert_eq!(zip("94107").unwrap(), "94107");
        assert_eq!(zip("SW1A 1AA").unwrap(), "SW1A 1AA");
        assert_eq!(zip("94107-1234").unwrap(), "94107-1234");
        assert_eq!(zip("").unwrap(), "");
        assert!(zip("94107_1234").unwrap_err().contains("letters, digits, spaces and dashes"));
        assert!(zip("12345678901").unwrap_err().contains("at most 10"));
    }
}
