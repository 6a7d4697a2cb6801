//! How many locks in a row a subject has earned since its last right
//! secret. A user's second-factor lock doubles with each (15 minutes, then
//! 30, … at most a day), so someone who has the password can no longer try
//! five codes every quarter of an hour for ever. 0 for every existing row,
//! and for the rows a process of an earlier build inserts, which leave it
//! out: such a process locks for the short time, as before.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Locks,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LoginFailures::Table)
                    .add_column(integer(LoginFailures::Locks).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LoginFailures::Table)
                    .drop_column(LoginFailures::Locks)
                    .to_owned(),
            )
            .await
    }
}
