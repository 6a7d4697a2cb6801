use sea_orm::entity::prelude::*;

/// The embedded provisioning provider's stock of toll-free numbers.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "local_number_pool")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub e164: String,
    pub pci: bool,
    /// The account holding the number; `None` while it is free.
    pub taken_by: Option<i32>,
    /// When the number was last given back: it is not handed out again until
    /// the provider's cool-down has passed.
    pub released_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
