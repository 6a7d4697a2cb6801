//! The account itself: its company details (Account Information tab, admins
//! only) and its plan (changed by operators only, never through the web).
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Set};

use crate::domain::core::activity::{self, By, Event};
use crate::domain::core::actor::Admin;
use crate::domain::core::edits::{self, Edit};
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

/// The fields as checked, and what is wrong with them.
fn check(input: &AccountInfo) -> (Errors, AccountInfo) {
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
    (errors, checked)
}

/// Saves every field the form changed, or none: all problems are reported
/// together. A field another admin changed since the form opened, and this
/// one did not, keeps their value (see [`edits`]).
pub async fn save(
    d: &Domain,
    admin: &Admin,
    edit: impl Into<Edit<AccountInfo>>,
) -> Result<AccountInfo, AppError> {
    let Edit { form, was } = edit.into();
    let (errors, checked) = check(&form);
    errors.into_result()?;
    let was = was.map(|shown| {
        let (refused, checked) = check(&shown);
        let opened =
            |field, checked, shown: &String| edits::as_opened(&refused, field, checked, shown);
        AccountInfo {
            company_name: opened("company_name", checked.company_name, &shown.company_name),
            address: opened("address", checked.address, &shown.address),
            city: opened("city", checked.city, &shown.city),
            state: opened("state", checked.state, &shown.state),
            zip: opened("zip", checked.zip, &shown.zip),
            phone: opened("phone", checked.phone, &shown.phone),
        }
    });
    // A save of what is there already (Save pressed again, nothing edited
    // since the form opened) is neither counted, written nor logged.
    // Only to an admin still: a demoted one is refused, not answered.
    admin.recheck(&d.db).await?;
    let stored = info(load(&d.db, admin.account_id()).await?);
    if changed(&stored, &checked).is_none()
        || was.as_ref().is_some_and(|w| changed(w, &checked).is_none())
    {
        return Ok(stored);
    }
    let by = By::Member(activity::count_change(d, admin.member()).await?);
    let txn = d.begin().await?;
    lock_account_as(&txn, admin).await?;
    let current = load(&txn, admin.account_id()).await?;
    let now = info(current.clone());
    let mut errors = Errors::default();
    let mut field = |names, get: fn(&AccountInfo) -> &String| {
        let was = was.as_ref().map(get);
        edits::merged(&mut errors, names, get(&checked).clone(), was, get(&now))
    };
    let merged = AccountInfo {
        company_name: field(("company_name", "Company Name"), |i| &i.company_name),
        address: field(("address", "Address"), |i| &i.address),
        city: field(("city", "City"), |i| &i.city),
        state: field(("state", "State"), |i| &i.state),
        zip: field(("zip", "Zip"), |i| &i.zip),
        phone: field(("phone", "Phone Number"), |i| &i.phone),
    };
    errors.into_result()?;
    // Saved as it was (Save pressed again): nothing to write or record.
    let Some(detail) = changed(&now, &merged) else { return Ok(now) };
    let event = Event::new(ActivityKind::AccountInfoUpdated, &merged.company_name).detail(detail);
    let mut active = current.into_active_model();
    active.company_name = Set(merged.company_name);
    active.address = Set(merged.address);
    active.city = Set(merged.city);
    active.state = Set(merged.state);
    active.zip = Set(merged.zip);
    active.phone = Set(merged.phone);
    let saved = active.update(&txn).await?;
    activity::record(d, &txn, by, event).await?;
    txn.commit().await?;
    Ok(info(saved))
}

/// What a save changes, as the activity log says it (each field's new
/// value, as Edit User's event does), or `None` when it changes nothing.
fn changed(before: &AccountInfo, after: &AccountInfo) -> Option<String> {
    type Read = fn(&AccountInfo) -> &String;
    let fields: [(&str, Read); 6] = [
        ("company name", |i| &i.company_name),
        ("address", |i| &i.address),
        ("city", |i| &i.city),
        ("state", |i| &i.state),
        ("zip", |i| &i.zip),
        ("phone", |i| &i.phone),
    ];
    let said: Vec<String> = fields
        .iter()
        .filter(|(_, get)| get(before) != get(after))
        .map(|(label, get)| match get(after).as_str() {
            "" => format!("{label} removed"),
            new => format!("{label}: {new}"),
        })
        .collect();
    (!said.is_empty()).then(|| said.join("; "))
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
