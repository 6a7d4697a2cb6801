//! The ids of the keys the servers seal with (never the keys): a process
//! whose key file's current key is not the last one recorded does not start
//! (`operator::agree_on_current_key`). Hosts with a key file each on one
//! database each made a key of their own, and what one sealed did not open
//! on the others. Empty on an existing database: its first start records its
//! key.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SecretKeys {
    Table,
    Id,
    Position,
    RecordedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SecretKeys::Table)
                    .col(string(SecretKeys::Id).primary_key())
                    .col(integer(SecretKeys::Position).unique_key())
                    .col(timestamp_with_time_zone(SecretKeys::RecordedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SecretKeys::Table).to_owned()).await
    }
}
