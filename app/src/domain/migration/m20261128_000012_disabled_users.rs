//! Disabled users: an admin can stop a user without deleting them. A
//! disabled user keeps everything they own but cannot sign in, and their
//! sessions and developer keys stop (`disabled_at` is read with every session
//! and key). A small partial index serves the user table's "Disabled" filter
//! without walking the whole account: few users are ever disabled.
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    DisabledAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(Users::DisabledAt))
                    .to_owned(),
            )
            .await?;
        // The same statement on SQLite and PostgreSQL.
        let backend = manager.get_database_backend();
        manager
            .get_connection()
            .execute_raw(Statement::from_string(
                backend,
                "CREATE INDEX idx_users_account_disabled ON users (account_id, name_key, id) \
                 WHERE disabled_at IS NOT NULL",
            ))
            .await?;
        Ok(())
    }
}
