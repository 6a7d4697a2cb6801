use sea_orm::entity::prelude::*;

/// One setting every process on the database must share, by the name of
/// its environment variable (`LIMITS`, `NUMBER_COOLDOWN_DAYS`, …), and its
/// value as `operator::SharedSettings` writes it: empty for the default.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shared_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub value: String,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
