use sea_orm::entity::prelude::*;
use sea_orm::Set;

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
    /// Derived (see `before_save`): lower-cased "first last", the name sort key.
    pub name_key: String,
    /// Derived: lower-cased name and email, what search matches.
    pub search_text: String,
    /// Derived: `invited` until the user has a password, then `active`.
    pub status: String,
    pub two_factor_enabled: bool,
}

pub const INVITED: &str = "invited";
pub const ACTIVE: &str = "active";

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

/// The sort and search columns are derived here, in one place, from the
/// names, email and password every write already carries.
#[async_trait::async_trait]
impl ActiveModelBehavior for ActiveModel {
    async fn before_save<C>(mut self, _db: &C, _insert: bool) -> Result<Self, DbErr>
    where
        C: ConnectionTrait,
    {
        if let (Some(first), Some(last), Some(email)) =
            (self.first_name.try_as_ref(), self.last_name.try_as_ref(), self.email.try_as_ref())
        {
            let name = format!("{first} {last}").to_lowercase();
            self.search_text = Set(format!("{name} {}", email.to_lowercase()));
            self.name_key = Set(name);
        }
        if let Some(hash) = self.password_hash.try_as_ref() {
            self.status = Set(if hash.is_some() { ACTIVE } else { INVITED }.into());
        }
        Ok(self)
    }
}
