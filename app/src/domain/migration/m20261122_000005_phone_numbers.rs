use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Address,
    City,
    State,
    Zip,
    Phone,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PhoneNumbers {
    Table,
    Id,
    AccountId,
    E164,
    Pci,
    OwnerId,
    ProvisionedAt,
}

#[derive(DeriveIden)]
enum LocalNumberPool {
    Table,
    E164,
    Pci,
    TakenBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in
            [Accounts::Address, Accounts::City, Accounts::State, Accounts::Zip, Accounts::Phone]
        {
            manager
                .alter_table(
                    Table::alter()
                        .table(Accounts::Table)
                        .add_column(string(column).default(""))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(PhoneNumbers::Table)
                    .col(pk_auto(PhoneNumbers::Id))
                    .col(integer(PhoneNumbers::AccountId))
                    .col(string(PhoneNumbers::E164))
                    .col(boolean(PhoneNumbers::Pci))
                    .col(integer(PhoneNumbers::OwnerId))
                    .col(timestamp_with_time_zone(PhoneNumbers::ProvisionedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PhoneNumbers::Table, PhoneNumbers::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    // No cascade: deleting a user hands their numbers over first.
                    .foreign_key(
                        ForeignKey::create()
                            .from(PhoneNumbers::Table, PhoneNumbers::OwnerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A number belongs to at most one account, whatever the provider says.
        manager
            .create_index(
                Index::create()
                    .name("idx_phone_numbers_e164")
                    .table(PhoneNumbers::Table)
                    .col(PhoneNumbers::E164)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_phone_numbers_account")
                    .table(PhoneNumbers::Table)
                    .col(PhoneNumbers::AccountId)
                    .col(PhoneNumbers::E164)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_phone_numbers_owner")
                    .table(PhoneNumbers::Table)
                    .col(PhoneNumbers::OwnerId)
                    .to_owned(),
            )
            .await?;
        // The embedded provider's stock: a number is free while taken_by is null.
        manager
            .create_table(
                Table::create()
                    .table(LocalNumberPool::Table)
                    .col(string(LocalNumberPool::E164).primary_key())
                    .col(boolean(LocalNumberPool::Pci))
                    .col(integer_null(LocalNumberPool::TakenBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_local_number_pool_free")
                    .table(LocalNumberPool::Table)
                    .col(LocalNumberPool::TakenBy)
                    .col(LocalNumberPool::E164)
                    .to_owned(),
            )
            .await
    }
}
