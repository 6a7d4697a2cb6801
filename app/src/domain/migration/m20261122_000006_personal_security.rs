use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TwoFactor {
    Table,
    UserId,
    KeyId,
    Ciphertext,
    EnabledAt,
    LastStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
}

#[derive(DeriveIden)]
enum LoginChallenges {
    Table,
    TokenHash,
    UserId,
    Attempts,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DeveloperKeys {
    Table,
    Id,
    UserId,
    Name,
    Prefix,
    KeyHash,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Subject,
    Failures,
    WindowStartedAt,
    LastFailureAt,
    LockedUntil,
}

fn user_fk(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A user's TOTP secret, sealed; `enabled_at` is null while the user
        // has not yet confirmed it with a code.
        manager
            .create_table(
                Table::create()
                    .table(TwoFactor::Table)
                    .col(integer(TwoFactor::UserId).primary_key())
                    .col(string(TwoFactor::KeyId))
                    .col(text(TwoFactor::Ciphertext))
                    .col(timestamp_with_time_zone_null(TwoFactor::EnabledAt))
                    .col(big_integer(TwoFactor::LastStep).default(0))
                    .col(timestamp_with_time_zone(TwoFactor::CreatedAt))
                    .foreign_key(&mut user_fk(TwoFactor::Table, TwoFactor::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(pk_auto(RecoveryCodes::Id))
                    .col(integer(RecoveryCodes::UserId))
                    .col(string(RecoveryCodes::CodeHash))
                    .col(timestamp_with_time_zone_null(RecoveryCodes::UsedAt))
                    .foreign_key(&mut user_fk(RecoveryCodes::Table, RecoveryCodes::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_codes_user")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::UserId)
                    .to_owned(),
            )
            .await?;
        // Between a correct password and the second factor: no session yet.
        manager
            .create_table(
                Table::create()
                    .table(LoginChallenges::Table)
                    .col(string(LoginChallenges::TokenHash).primary_key())
                    .col(integer(LoginChallenges::UserId))
                    .col(integer(LoginChallenges::Attempts).default(0))
                    .col(timestamp_with_time_zone(LoginChallenges::CreatedAt))
                    .foreign_key(&mut user_fk(LoginChallenges::Table, LoginChallenges::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeveloperKeys::Table)
                    .col(pk_auto(DeveloperKeys::Id))
                    .col(integer(DeveloperKeys::UserId))
                    .col(string(DeveloperKeys::Name))
                    .col(string(DeveloperKeys::Prefix))
                    .col(string(DeveloperKeys::KeyHash).unique_key())
                    .col(timestamp_with_time_zone(DeveloperKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(DeveloperKeys::LastUsedAt))
                    .foreign_key(&mut user_fk(DeveloperKeys::Table, DeveloperKeys::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_developer_keys_user")
                    .table(DeveloperKeys::Table)
                    .col(DeveloperKeys::UserId)
                    .to_owned(),
            )
            .await?;
        // Failed log-ins per subject ("email:<hash>" or "ip:<address>"), in the
        // database so every server process counts the same attempts.
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(string(LoginFailures::Subject).primary_key())
                    .col(integer(LoginFailures::Failures))
                    .col(timestamp_with_time_zone(LoginFailures::WindowStartedAt))
                    .col(timestamp_with_time_zone(LoginFailures::LastFailureAt))
                    .col(timestamp_with_time_zone_null(LoginFailures::LockedUntil))
                    .to_owned(),
            )
            .await
    }
}
