//! Tenant scope in one place: every query of account-owned rows starts here,
//! from the actor's account, never from an account id the browser sent. An id
//! from the browser is looked up only inside this scope, so another account's
//! row is simply "not found".
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

use super::actor::Member;
use super::entity::{integration, phone_number, user};

pub struct Scoped {
    account_id: i32,
}

impl Scoped {
    pub fn of(actor: &Member) -> Self {
        Scoped { account_id: actor.account_id() }
    }

    pub fn users(&self) -> Select<user::Entity> {
        user::Entity::find().filter(user::Column::AccountId.eq(self.account_id))
    }

    pub fn integrations(&self) -> Select<integration::Entity> {
        integration::Entity::find().filter(integration::Column::AccountId.eq(self.account_id))
    }

    pub fn phone_numbers(&self) -> Select<phone_number::Entity> {
        phone_number::Entity::find().filter(phone_number::Column::AccountId.eq(self.account_id))
    }
}
