use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    StripeEnabled,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Deployments {
    Table,
    PhoneNumberId,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Id,
    AccountId,
    AddedBy,
    Domain,
    Subject,
    Issuer,
    NotAfter,
    CertPem,
    KeyId,
    KeyCiphertext,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OauthTokens {
    Table,
    Id,
    AccountId,
    OwnerId,
    Provider,
    Livemode,
    ProviderAccountId,
    KeyId,
    Ciphertext,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    StateHash,
    SessionHash,
    UserId,
    Livemode,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DeploymentTokens {
    Table,
    PhoneNumberId,
    OauthTokenId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(boolean(Accounts::StripeEnabled).default(false))
                    .to_owned(),
            )
            .await?;
        // One certificate per domain and account; `added_by` may delete it
        // (as may an admin) and is handed over when that user is deleted.
        manager
            .create_table(
                Table::create()
                    .table(Certificates::Table)
                    .col(pk_auto(Certificates::Id))
                    .col(integer(Certificates::AccountId))
                    .col(integer(Certificates::AddedBy))
                    .col(string(Certificates::Domain))
                    .col(text(Certificates::Subject))
                    .col(text(Certificates::Issuer))
                    .col(timestamp_with_time_zone(Certificates::NotAfter))
                    .col(text(Certificates::CertPem))
                    .col(string(Certificates::KeyId))
                    .col(text(Certificates::KeyCiphertext))
                    .col(timestamp_with_time_zone(Certificates::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Certificates::Table, Certificates::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Certificates::Table, Certificates::AddedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_certificates_account_domain")
                    .table(Certificates::Table)
                    .col(Certificates::AccountId)
                    .col(Certificates::Domain)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthTokens::Table)
                    .col(pk_auto(OauthTokens::Id))
                    .col(integer(OauthTokens::AccountId))
                    .col(integer(OauthTokens::OwnerId))
                    .col(string(OauthTokens::Provider))
                    .col(boolean(OauthTokens::Livemode))
                    .col(string(OauthTokens::ProviderAccountId))
                    .col(string(OauthTokens::KeyId))
                    .col(text(OauthTokens::Ciphertext))
                    .col(timestamp_with_time_zone(OauthTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthTokens::Table, OauthTokens::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthTokens::Table, OauthTokens::OwnerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_oauth_tokens_owner")
                    .table(OauthTokens::Table)
                    .col(OauthTokens::OwnerId)
                    .to_owned(),
            )
            .await?;
        // An authorization in progress: its `state`, bound to the session
        // that started it, used once.
        manager
            .create_table(
                Table::create()
                    .table(OauthStates::Table)
                    .col(string(OauthStates::StateHash).primary_key())
                    .col(string(OauthStates::SessionHash))
                    .col(integer(OauthStates::UserId))
                    .col(boolean(OauthStates::Livemode))
                    .col(timestamp_with_time_zone(OauthStates::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthStates::Table, OauthStates::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The OAuth token a deployment uses, if any.
        manager
            .create_table(
                Table::create()
                    .table(DeploymentTokens::Table)
                    .col(integer(DeploymentTokens::PhoneNumberId).primary_key())
                    .col(integer(DeploymentTokens::OauthTokenId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DeploymentTokens::Table, DeploymentTokens::PhoneNumberId)
                            .to(Deployments::Table, Deployments::PhoneNumberId)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DeploymentTokens::Table, DeploymentTokens::OauthTokenId)
                            .to(OauthTokens::Table, OauthTokens::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }
}
