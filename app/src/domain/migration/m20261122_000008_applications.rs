use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PhoneNumbers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum JsLibraries {
    Table,
    Id,
    AccountId,
    OwnerId,
    Name,
    Description,
    Code,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
    AccountId,
    OwnerId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApplicationShares {
    Table,
    ApplicationId,
    UserId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApplicationLibraries {
    Table,
    ApplicationId,
    LibraryId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApplicationIntegrations {
    Table,
    ApplicationId,
    IntegrationId,
}

#[derive(DeriveIden)]
enum Deployments {
    Table,
    PhoneNumberId,
    ApplicationId,
    DeployedAt,
}

fn cascade(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A join table of two cascading foreign keys, keyed by both.
fn link_table(
    table: impl IntoIden + Copy,
    left: (impl IntoIden + Copy, impl IntoIden, impl IntoIden),
    right: (impl IntoIden + Copy, impl IntoIden, impl IntoIden),
) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(integer(left.0))
        .col(integer(right.0))
        .primary_key(Index::create().col(left.0).col(right.0))
        .foreign_key(&mut cascade((table, left.0), (left.1, left.2)))
        .foreign_key(&mut cascade((table, right.0), (right.1, right.2)))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Owners have no cascade: deleting a user hands their things over first.
        manager
            .create_table(
                Table::create()
                    .table(JsLibraries::Table)
                    .col(pk_auto(JsLibraries::Id))
                    .col(integer(JsLibraries::AccountId))
                    .col(integer(JsLibraries::OwnerId))
                    .col(string(JsLibraries::Name))
                    .col(text(JsLibraries::Description))
                    .col(text(JsLibraries::Code))
                    .col(timestamp_with_time_zone(JsLibraries::CreatedAt))
                    .col(timestamp_with_time_zone(JsLibraries::UpdatedAt))
                    .foreign_key(&mut cascade(
                        (JsLibraries::Table, JsLibraries::AccountId),
                        (Accounts::Table, Accounts::Id),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(JsLibraries::Table, JsLibraries::OwnerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Applications::Table)
                    .col(pk_auto(Applications::Id))
                    .col(integer(Applications::AccountId))
                    .col(integer(Applications::OwnerId))
                    .col(string(Applications::Name))
                    .col(timestamp_with_time_zone(Applications::CreatedAt))
                    .foreign_key(&mut cascade(
                        (Applications::Table, Applications::AccountId),
                        (Accounts::Table, Accounts::Id),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Applications::Table, Applications::OwnerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, table, column) in [
            (
                "idx_js_libraries_owner",
                JsLibraries::Table.into_iden(),
                JsLibraries::OwnerId.into_iden(),
            ),
            (
                "idx_applications_owner",
                Applications::Table.into_iden(),
                Applications::OwnerId.into_iden(),
            ),
        ] {
            manager
                .create_index(Index::create().name(name).table(table).col(column).to_owned())
                .await?;
        }
        manager
            .create_table(link_table(
                ApplicationShares::Table,
                (ApplicationShares::ApplicationId, Applications::Table, Applications::Id),
                (ApplicationShares::UserId, Users::Table, Users::Id),
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_application_shares_user")
                    .table(ApplicationShares::Table)
                    .col(ApplicationShares::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(link_table(
                ApplicationLibraries::Table,
                (ApplicationLibraries::ApplicationId, Applications::Table, Applications::Id),
                (ApplicationLibraries::LibraryId, JsLibraries::Table, JsLibraries::Id),
            ))
            .await?;
        manager
            .create_table(link_table(
                ApplicationIntegrations::Table,
                (ApplicationIntegrations::ApplicationId, Applications::Table, Applications::Id),
                (ApplicationIntegrations::IntegrationId, Integrations::Table, Integrations::Id),
            ))
            .await?;
        // One deployment per number; releasing the number or deleting the
        // application ends it.
        manager
            .create_table(
                Table::create()
                    .table(Deployments::Table)
                    .col(integer(Deployments::PhoneNumberId).primary_key())
                    .col(integer(Deployments::ApplicationId))
                    .col(timestamp_with_time_zone(Deployments::DeployedAt))
                    .foreign_key(&mut cascade(
                        (Deployments::Table, Deployments::PhoneNumberId),
                        (PhoneNumbers::Table, PhoneNumbers::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Deployments::Table, Deployments::ApplicationId),
                        (Applications::Table, Applications::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deployments_application")
                    .table(Deployments::Table)
                    .col(Deployments::ApplicationId)
                    .to_owned(),
            )
            .await
    }
}
