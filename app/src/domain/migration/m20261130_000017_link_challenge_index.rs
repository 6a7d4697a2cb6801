//! A password link's open code steps are counted on every redemption
//! (`log_in::refuse_busy_link`); without an index that count reads every live
//! log-in challenge, which a flood of right-password log-ins with 2FA on
//! could make many.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginChallenges {
    Table,
    LinkHash,
}

const INDEX: &str = "idx_login_challenges_link_hash";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(LoginChallenges::Table)
                    .col(LoginChallenges::LinkHash)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(LoginChallenges::Table).to_owned()).await
    }
}
