use sea_orm::entity::prelude::*;

/// A single-use token sent in an email link; only its SHA-256 is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub user_id: i32,
    /// `verify_email`, `reset_password`, `change_email` or `activate` (an
    /// invitation).
    pub purpose: String,
    /// The address a `change_email` token confirms.
    pub new_email: Option<String>,
    /// The admin who asked for another user's `change_email` link: it works
    /// only while they are an active admin of the user's account. `None`
    /// when the user asked themself. No foreign key (a deleted admin's id
    /// stays, to be refused).
    pub requested_by: Option<i32>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
