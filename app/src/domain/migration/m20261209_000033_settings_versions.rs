//! When each application's settings (its name, libraries and integrations)
//! were last saved: the version its Settings dialog opens on, so that a
//! save made meanwhile in another window is refused rather than written
//! over. Applications saved before this have none, and their version is
//! when they were created.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    SettingsSavedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Applications::Table)
                    .add_column(timestamp_with_time_zone_null(Applications::SettingsSavedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Applications::Table)
                    .drop_column(Applications::SettingsSavedAt)
                    .to_owned(),
            )
            .await
    }
}
