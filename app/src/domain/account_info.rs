//! The account itself: its company details (Account Information tab, admins
//! only) and its plan (changed by operators only, never through the web).
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};

use super::actor::Admin;
use super::entity::{account, user};
use super::validation::{self, Errors};
use super::Domain;
use crate::model::{AccountInfo, AppError};

pub const ADDRESS_MAX: usize = 200;
pub const CITY_MAX: usize = 100;
pub const STATE_MAX: usize = 100;
pub const ZIP_MAX: usize = 10;

/// What an account may hold. Sign-ups start on the demo plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    Demo,
    Full,
}

impl Plan {
    pub fn key(self) -> &'static str {
        match self {
            Plan::Demo => "demo",
            Plan::Full => "full",
        }
    }

    pub fn from_key(key: &str) -> Option<Plan> {
        match key {
            "demo" => Some(Plan::Demo),
            "full" => Some(Plan::Full),
            _ => None,
        }
    }

    /// How many phone numbers an account on this plan may hold.
    pub fn number_limit(self) -> Option<usize> {
        match self {
            Plan::Demo => Some(1),
            Plan::Full => None,
        }
    }
}

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
    Ok(info(load(&d.db, admin.account_id()).await?))
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
    let mut active = load(&d.db, admin.account_id()).await?.into_active_model();
    active.company_name = Set(checked.company_name);
    active.address = Set(checked.address);
    active.city = Set(checked.city);
    active.state = Set(checked.state);
    active.zip = Set(checked.zip);
    active.phone = Set(checked.phone);
    Ok(info(active.update(&d.db).await?))
}

pub async fn plan(conn: &impl ConnectionTrait, account_id: i32) -> Result<Plan, AppError> {
    let model = load(conn, account_id).await?;
    Ok(Plan::from_key(&model.plan).unwrap_or(Plan::Demo))
}

/// Operator command: moves the account `member_email` belongs to onto another
/// plan; returns the plan it was on. Numbers already held beyond the new
/// plan's limit stay; only further requests are refused.
pub async fn set_plan(d: &Domain, member_email: &str, plan: Plan) -> Result<Plan, AppError> {
    let member = user::Entity::find()
        .filter(user::Column::Email.eq(validation::normalize_email(member_email)))
        .one(&d.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let account_id = member.account_id;
    let model = load(&d.db, account_id).await?;
    let before = Plan::from_key(&model.plan).unwrap_or(Plan::Demo);
    let mut active = model.into_active_model();
    active.plan = Set(plan.key().into());
    active.update(&d.db).await?;
    tracing::info!(
        account = account_id,
        from = before.key(),
        to = plan.key(),
        "operator changed the account plan"
    );
    Ok(before)
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
