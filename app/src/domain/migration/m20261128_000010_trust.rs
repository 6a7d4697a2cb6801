use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum QuotaCounters {
    Table,
    Key,
    Count,
    WindowStartedAt,
}

#[derive(DeriveIden)]
enum LocalNumberPool {
    Table,
    ReleasedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // How often an action that sends email or spends a shared resource
        // was taken per subject ("<action>:<per>:<value>") in the current
        // window, in the database so every server process counts the same.
        manager
            .create_table(
                Table::create()
                    .table(QuotaCounters::Table)
                    .col(string(QuotaCounters::Key).primary_key())
                    .col(integer(QuotaCounters::Count))
                    .col(timestamp_with_time_zone(QuotaCounters::WindowStartedAt))
                    .to_owned(),
            )
            .await?;
        // A number given back rests until its cool-down is over before it is
        // handed to anyone else.
        manager
            .alter_table(
                Table::alter()
                    .table(LocalNumberPool::Table)
                    .add_column(timestamp_with_time_zone_null(LocalNumberPool::ReleasedAt))
                    .to_owned(),
            )
            .await
    }
}
