//! "Sort By: Status" groups users as the Status column shows them: active,
//! then invited, then disabled. It sorted by `status` alone, which knows
//! only whether a user has set a password, so a disabled user sat among the
//! active ones. `status_order` is derived with every write of a user (see
//! `entity::user`), and the Status sort's index is rebuilt on it.
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    StatusOrder,
}

/// Only the rows whose order is not the default's (0, active): few, where a
/// rewrite of every row would also rewrite every index of the table.
const FILL: &str = "UPDATE users SET status_order = CASE \
     WHEN disabled_at IS NOT NULL THEN 2 ELSE 1 END \
     WHERE disabled_at IS NOT NULL OR password_hash IS NULL";

const SQLITE: &[&str] = &[
    FILL,
    "DROP INDEX idx_users_account_status",
    "CREATE INDEX idx_users_account_status ON users \
     (account_id, status_order, name_key, id, search_text)",
];

const POSTGRES: &[&str] = &[
    FILL,
    "DROP INDEX idx_users_account_status",
    "CREATE INDEX idx_users_account_status ON users \
     (account_id, status_order, name_key, id) INCLUDE (search_text)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(small_integer(Users::StatusOrder).default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let statements = match backend {
            DatabaseBackend::Postgres => POSTGRES,
            _ => SQLITE,
        };
        for sql in statements {
            db.execute_raw(Statement::from_string(backend, *sql)).await?;
        }
        Ok(())
    }

    /// Back to the index of migration 11 (a test goes back past it).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let index = match backend {
            DatabaseBackend::Postgres => {
                "CREATE INDEX idx_users_account_status ON users \
                 (account_id, status, name_key, id) INCLUDE (search_text)"
            }
            _ => {
                "CREATE INDEX idx_users_account_status ON users \
                 (account_id, status, name_key, id, search_text)"
            }
        };
        for sql in ["DROP INDEX idx_users_account_status", index] {
            db.execute_raw(Statement::from_string(backend, sql)).await?;
        }
        manager
            .alter_table(
                Table::alter().table(Users::Table).drop_column(Users::StatusOrder).to_owned(),
            )
            .await
    }
}
