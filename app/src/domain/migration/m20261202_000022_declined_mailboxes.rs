//! A decline holds back the mailbox, not only the address: "ada+1@…",
//! "ada+2@…" and "ada@…" (and Gmail's spellings with dots) reach one person,
//! who declined once. Each new row keeps the mailbox its address delivers
//! to (`core::quota::mailbox_of`), and the hold is looked up by it through
//! an index of its own. Rows written before have none (the rule lives in
//! the domain, which a migration must not follow as it changes): they keep
//! holding their exact address until they run out, within
//! `DECLINE_HOLD_DAYS`.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InvitationDeclines {
    Table,
    AccountId,
    Mailbox,
}

const INDEX: &str = "idx_invitation_declines_account_mailbox";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(InvitationDeclines::Table)
                    .add_column(string_null(InvitationDeclines::Mailbox))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(InvitationDeclines::Table)
                    .col(InvitationDeclines::AccountId)
                    .col(InvitationDeclines::Mailbox)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(InvitationDeclines::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(InvitationDeclines::Table)
                    .drop_column(InvitationDeclines::Mailbox)
                    .to_owned(),
            )
            .await
    }
}
