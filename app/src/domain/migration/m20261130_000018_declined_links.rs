//! A declined invitation keeps the hash of the link it was declined with, so
//! that link, used again, says it was declined rather than "not valid"
//! (the link itself goes with the invitee). Looked up by that hash, through
//! an index of its own.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InvitationDeclines {
    Table,
    LinkHash,
}

const INDEX: &str = "idx_invitation_declines_link_hash";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(InvitationDeclines::Table)
                    .add_column(string_null(InvitationDeclines::LinkHash))
                    .to_owned(),
            )
            .await?;
        let index = Index::create()
            .name(INDEX)
            .table(InvitationDeclines::Table)
            .col(InvitationDeclines::LinkHash)
            .to_owned();
        manager.create_index(index).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let index = Index::drop().name(INDEX).table(InvitationDeclines::Table).to_owned();
        manager.drop_index(index).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(InvitationDeclines::Table)
                    .drop_column(InvitationDeclines::LinkHash)
                    .to_owned(),
            )
            .await
    }
}
