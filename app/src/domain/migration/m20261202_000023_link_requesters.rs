//! A `change_email` link an admin asked for names that admin in
//! `requested_by`, so the link stops working once they are no longer an
//! active admin of the user's account (demoted, disabled or deleted): a
//! removed admin must not move a colleague's address to one they read.
//! NULL for a link the user asked for themself, and for links sent before.
//! No foreign key: a deleted admin's id must stay to be refused, not turn
//! into NULL ("asked by the user").
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailTokens {
    Table,
    RequestedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EmailTokens::Table)
                    .add_column(integer_null(EmailTokens::RequestedBy))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EmailTokens::Table)
                    .drop_column(EmailTokens::RequestedBy)
                    .to_owned(),
            )
            .await
    }
}
