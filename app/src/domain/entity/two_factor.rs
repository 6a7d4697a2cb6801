use sea_orm::entity::prelude::*;

/// A user's TOTP secret, sealed with the keyring. `enabled_at` is `None`
/// while setup waits for the first valid code.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "two_factor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i32,
    pub key_id: String,
    #[sea_orm(column_type = "Text")]
    pub ciphertext: String,
    pub enabled_at: Option<DateTimeUtc>,
    /// The last 30-second step whose code was accepted: a code works once.
    pub last_step: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
