//! The settings every process on one database must share (the limits, how
//! long sessions, activity and a released number's rest last), as the first
//! server start or `settings adopt` recorded them: a server started with
//! others does not start (`operator::agree_on_settings`). Each process read
//! them from its own environment, and one with laxer limits admitted what
//! the others refused. Empty on an existing database: its next start
//! records its own.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SharedSettings {
    Table,
    Name,
    Value,
    RecordedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SharedSettings::Table)
                    .col(string(SharedSettings::Name).primary_key())
                    .col(text(SharedSettings::Value))
                    .col(timestamp_with_time_zone(SharedSettings::RecordedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SharedSettings::Table).to_owned()).await
    }
}
