//! An email waiting in the outbox keeps its body sealed: reset, activation
//! and verification links are live until used, and the outbox (and every
//! backup of it) held them in clear text until delivery, for up to a month
//! when delivery failed. The key that sealed the body is kept beside it, as
//! for every sealed value, so `secrets rotate` re-seals it; NULL means the
//! body is not sealed (delivered, or queued before this migration).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    KeyId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .add_column(string_null(EmailOutbox::KeyId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(EmailOutbox::Table).drop_column(EmailOutbox::KeyId).to_owned(),
            )
            .await
    }
}
