//! A password link (a reset or an invitation's activation) redeemed by a user
//! with two-factor authentication on changes nothing until the code is
//! accepted: its log-in challenge holds the new password's hash and the
//! link's hash, and the transaction that accepts the code applies both.
//! Challenges of ordinary log-ins leave both empty.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginChallenges {
    Table,
    NewPasswordHash,
    LinkHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [LoginChallenges::NewPasswordHash, LoginChallenges::LinkHash] {
            manager
                .alter_table(
                    Table::alter()
                        .table(LoginChallenges::Table)
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [LoginChallenges::NewPasswordHash, LoginChallenges::LinkHash] {
            manager
                .alter_table(
                    Table::alter().table(LoginChallenges::Table).drop_column(column).to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
