use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    /// Trimmed and lower-cased: the unique index makes emails unique system-wide.
    #[sea_orm(unique)]
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// argon2id PHC string; `None` for an invited user who has not set one yet.
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub can_create: bool,
    pub can_share: bool,
    pub created_at: DateTimeUtc,
    /// When the user proved they receive mail at `email`; `None` until then.
    pub email_verified_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::account::Entity",
        from = "Column::AccountId",
        to = "super::account::Column::Id",
        on_delete = "Cascade"
    )]
    Account,
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
