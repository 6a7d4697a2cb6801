//! What an email in the outbox needs at delivery beyond its text: the hash
//! of the link it carries, if any, so an email whose link stopped working
//! while it waited (used, expired, replaced, or its user removed) is not
//! sent; and a random key for its Message-ID, which was derived from the
//! row's id and so told every recipient how many emails the platform had
//! sent. Rows queued before this have neither, and keep their old
//! Message-ID.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    LinkTokenHash,
    MessageKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column an ALTER: SQLite adds no more.
        for column in [EmailOutbox::LinkTokenHash, EmailOutbox::MessageKey] {
            manager
                .alter_table(
                    Table::alter()
                        .table(EmailOutbox::Table)
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [EmailOutbox::LinkTokenHash, EmailOutbox::MessageKey] {
            manager
                .alter_table(
                    Table::alter().table(EmailOutbox::Table).drop_column(column).to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
