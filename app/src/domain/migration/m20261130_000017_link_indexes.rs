//! Two look-ups of links that would otherwise read a whole table:
//! - a password link's open code steps, counted on every redemption
//!   (`log_in::refuse_busy_link`), among every live log-in challenge, which a
//!   flood of right-password log-ins with 2FA on could make many;
//! - links a month past their expiry, which the hourly clean-up removes
//!   (`tokens::forget_expired_before`), among every link the email limits
//!   have let through.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginChallenges {
    Table,
    LinkHash,
}

#[derive(DeriveIden)]
enum EmailTokens {
    Table,
    ExpiresAt,
}

fn indexes() -> [(&'static str, DynIden, DynIden); 2] {
    [
        (
            "idx_login_challenges_link_hash",
            LoginChallenges::Table.into_iden(),
            LoginChallenges::LinkHash.into_iden(),
        ),
        (
            "idx_email_tokens_expires",
            EmailTokens::Table.into_iden(),
            EmailTokens::ExpiresAt.into_iden(),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, column) in indexes() {
            let index = Index::create().name(name).table(table).col(column).to_owned();
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in indexes() {
            manager.drop_index(Index::drop().name(name).table(table).to_owned()).await?;
        }
        Ok(())
    }
}
