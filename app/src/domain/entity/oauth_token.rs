use sea_orm::entity::prelude::*;

/// A connected provider account (Stripe): its tokens are sealed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub owner_id: i32,
    pub provider: String,
    pub livemode: bool,
    pub provider_account_id: String,
    pub key_id: String,
    #[sea_orm(column_type = "Text")]
    pub ciphertext: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
