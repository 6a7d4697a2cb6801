//! Columns and indexes that keep the admin's user table fast with many users:
//! sort keys, a search text, the invitation status, and the 2FA flag the table
//! shows. On PostgreSQL a trigram index serves substring search.
use sea_orm::{DatabaseBackend, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    AccountId,
    Email,
    NameKey,
    SearchText,
    Status,
    TwoFactorEnabled,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string(Users::NameKey).default("").to_owned(),
            string(Users::SearchText).default("").to_owned(),
            string(Users::Status).default("active").to_owned(),
            boolean(Users::TwoFactorEnabled).default(false).to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(Table::alter().table(Users::Table).add_column(&mut column).to_owned())
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE users SET \
               name_key = lower(first_name || ' ' || last_name), \
               search_text = lower(first_name || ' ' || last_name || ' ' || email), \
               status = CASE WHEN password_hash IS NULL THEN 'invited' ELSE 'active' END",
        )
        .await?;
        for (name, columns) in [
            ("idx_users_account_name", vec![Users::AccountId, Users::NameKey, Users::Id]),
            ("idx_users_account_email", vec![Users::AccountId, Users::Email]),
            (
                "idx_users_account_status",
                vec![Users::AccountId, Users::Status, Users::NameKey, Users::Id],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Users::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            for sql in [
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX idx_users_search_trgm ON users USING gin (search_text gin_trgm_ops)",
            ] {
                db.execute_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await?;
            }
        }
        Ok(())
    }
}
