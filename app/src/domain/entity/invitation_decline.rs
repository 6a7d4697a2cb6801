use sea_orm::entity::prelude::*;

/// An address (one per account) that declined an invitation to the account: the account cannot
/// invite it again until `declined_at` plus `admin::invitations::DECLINE_HOLD`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitation_declines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub email: String,
    /// The mailbox `email` delivers to (`core::quota::mailbox_of`), which
    /// the hold covers in all its spellings; None on rows written before it
    /// was kept, which hold `email` alone.
    pub mailbox: Option<String>,
    pub declined_at: DateTimeUtc,
    /// The hash of the link it was declined with, so that link, used again,
    /// can say so.
    pub link_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
