use sea_orm::entity::prelude::*;

/// A company: every user belongs to exactly one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub company_name: String,
    /// `demo` or `full`; changed only by an operator.
    pub plan: String,
    pub created_at: DateTimeUtc,
    /// Company details from the Account Information tab; empty until saved.
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    /// E.164, or empty.
    pub phone: String,
    /// Whether users may connect Stripe accounts (OAuth Tokens tab); set by an operator.
    pub stripe_enabled: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::user::Entity")]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
