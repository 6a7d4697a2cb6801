use sea_orm::entity::prelude::*;

/// A third-party service an account connects to. Its credentials are sealed
/// (see `domain::core::secrets`); only a masked hint is kept in the clear.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    /// `dialogflow`, `dynamodb` or `s3`.
    pub service: String,
    pub name: String,
    /// Lower-cased name: unique within the account.
    pub name_key: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub region: Option<String>,
    /// Dialogflow's project id, or the last 4 characters of the AWS key id.
    pub hint: String,
    /// The id of the key that sealed `ciphertext`.
    pub key_id: String,
    #[sea_orm(column_type = "Text")]
    pub ciphertext: String,
    pub created_at: DateTimeUtc,
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
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
