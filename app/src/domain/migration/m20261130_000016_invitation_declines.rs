//! An invitation's recipient can decline it from the link's page: the
//! invitation is removed, and the account cannot invite that address again
//! for a while (`admin::invitations::DECLINE_HOLD`). One row per account and
//! address (a unique index); removed with its account.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InvitationDeclines {
    Table,
    Id,
    AccountId,
    Email,
    DeclinedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InvitationDeclines::Table)
                    .col(pk_auto(InvitationDeclines::Id))
                    .col(integer(InvitationDeclines::AccountId))
                    .col(string(InvitationDeclines::Email))
                    .col(timestamp_with_time_zone(InvitationDeclines::DeclinedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(InvitationDeclines::Table, InvitationDeclines::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invitation_declines_account_email")
                    .table(InvitationDeclines::Table)
                    .col(InvitationDeclines::AccountId)
                    .col(InvitationDeclines::Email)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(InvitationDeclines::Table).to_owned()).await
    }
}
