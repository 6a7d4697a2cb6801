use sea_orm::entity::prelude::*;

/// A log-in whose password was right and whose second factor is awaited. One
/// that a password link started holds the link's new password and the link,
/// both applied only when the code is accepted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub user_id: i32,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub new_password_hash: Option<String>,
    /// The hash of the link's token, never the token.
    pub link_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
