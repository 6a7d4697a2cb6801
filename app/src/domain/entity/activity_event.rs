use sea_orm::entity::prelude::*;

/// One event of the activity log: who did what to which target, when and
/// from where. Never a secret: targets are names, addresses and numbers.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activity_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i32,
    pub at: DateTimeUtc,
    /// The acting user; `None` for an operator or the system.
    pub actor_user_id: Option<i32>,
    /// Who acted as they were then: an email address, `operator` or
    /// `system`.
    pub actor: String,
    /// The kind's stable dotted name (`ActivityKind::as_str`).
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub target: String,
    pub client_address: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
    /// The user someone else acted on (an admin, an operator), so the event
    /// shows in that user's own security list; `None` otherwise.
    pub subject_user_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
