use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
    AccountId,
    Service,
    Name,
    NameKey,
    Description,
    Region,
    Hint,
    KeyId,
    Ciphertext,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Integrations::Table)
                    .col(pk_auto(Integrations::Id))
                    .col(integer(Integrations::AccountId))
                    .col(string(Integrations::Service))
                    .col(string(Integrations::Name))
                    .col(string(Integrations::NameKey))
                    .col(text(Integrations::Description))
                    .col(string_null(Integrations::Region))
                    .col(string(Integrations::Hint))
                    .col(string(Integrations::KeyId))
                    .col(text(Integrations::Ciphertext))
                    .col(timestamp_with_time_zone(Integrations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Integrations::Table, Integrations::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Names are unique within an account, compared case-insensitively.
        manager
            .create_index(
                Index::create()
                    .name("idx_integrations_account_name")
                    .table(Integrations::Table)
                    .col(Integrations::AccountId)
                    .col(Integrations::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}
