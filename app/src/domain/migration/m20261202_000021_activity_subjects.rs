//! An event done to a user by someone else (an admin disabling or editing
//! them, an operator resetting their 2FA) names that user in
//! `subject_user_id`, so their own security list shows it. NULL for events
//! about nobody in particular, for a user's own events, and for events
//! recorded before: their target is an email address as it was then, which
//! cannot name a user reliably. No foreign key, as for `actor_user_id`.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ActivityEvents {
    Table,
    Id,
    AccountId,
    SubjectUserId,
}

const INDEX: &str = "idx_activity_account_subject";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ActivityEvents::Table)
                    .add_column(integer_null(ActivityEvents::SubjectUserId))
                    .to_owned(),
            )
            .await?;
        // Like the actor's index: a user's list walks it backwards by id.
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(ActivityEvents::Table)
                    .col(ActivityEvents::AccountId)
                    .col(ActivityEvents::SubjectUserId)
                    .col(ActivityEvents::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(ActivityEvents::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ActivityEvents::Table)
                    .drop_column(ActivityEvents::SubjectUserId)
                    .to_owned(),
            )
            .await
    }
}
