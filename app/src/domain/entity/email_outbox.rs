use sea_orm::entity::prelude::*;

/// One automated email, written in the same transaction as the change that
/// causes it and delivered later by the mail worker.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub to_address: String,
    pub subject: String,
    /// Sealed while the email waits (see [`crate::domain::core::mail::body`]);
    /// a placeholder once delivered.
    #[sea_orm(column_type = "Text")]
    pub body_text: String,
    /// The key that sealed `body_text`; `None` when the body is not sealed
    /// (delivered, or queued before bodies were sealed).
    pub key_id: Option<String>,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A worker holds the row until then; another may take it over afterwards.
    pub claimed_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    /// When `mail retry` last queued it again (the email waits from then);
    /// `None` if never.
    pub requeued_at: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    /// The SHA-256 of the single-use link the email carries (as
    /// `email_tokens` keeps it), checked at delivery: an email whose link
    /// no longer works is not sent. `None` for an email without one. No
    /// foreign key: the link may be forgotten first.
    pub link_token_hash: Option<String>,
    /// Random, for the Message-ID; `None` on rows queued before it existed.
    pub message_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
