//! When `mail retry` last put a failed email back in the queue. The queue's
//! age (`console_mail_oldest_pending_seconds`) counts an email's wait from
//! then, not from when it was first queued: a retried email from last week
//! is not a queue that has been stuck for a week. NULL for an email never
//! retried, which waits from `created_at`; so a process of an earlier build,
//! which leaves it out, writes rows this build reads right.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    RequeuedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .add_column(timestamp_with_time_zone_null(EmailOutbox::RequeuedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .drop_column(EmailOutbox::RequeuedAt)
                    .to_owned(),
            )
            .await
    }
}
