//! "Sort By: Status" groups users as the Status column shows them: active,
//! then invited, then disabled. It sorted by `status` alone, which knows
//! only whether a user has set a password, so a disabled user sat among the
//! active ones. `status_order` is derived by the database itself, with
//! triggers, from `password_hash` and `disabled_at`: so every write keeps
//! it, including an earlier build's still running during a rolling deploy,
//! which knows nothing of it. The Status sort's index is rebuilt on it.
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

// SQLite's triggers cannot change the row being written, so they write it
// again, and only when its order is not already right (an active user's
// insert, or a password change, writes nothing more). `UPDATE OF` leaves
// writes of other columns alone.
const SQLITE: &[&str] = &[
    FILL,
    "CREATE TRIGGER users_status_order_insert AFTER INSERT ON users \
     WHEN new.status_order IS NOT (CASE WHEN new.disabled_at IS NOT NULL THEN 2 \
       WHEN new.password_hash IS NULL THEN 1 ELSE 0 END) BEGIN \
       UPDATE users SET status_order = CASE WHEN disabled_at IS NOT NULL THEN 2 \
         WHEN password_hash IS NULL THEN 1 ELSE 0 END WHERE id = new.id; END",
    "CREATE TRIGGER users_status_order_update AFTER UPDATE OF password_hash, disabled_at \
     ON users WHEN new.status_order IS NOT (CASE WHEN new.disabled_at IS NOT NULL THEN 2 \
       WHEN new.password_hash IS NULL THEN 1 ELSE 0 END) BEGIN \
       UPDATE users SET status_order = CASE WHEN disabled_at IS NOT NULL THEN 2 \
         WHEN password_hash IS NULL THEN 1 ELSE 0 END WHERE id = new.id; END",
    "DROP INDEX idx_users_account_status",
    "CREATE INDEX idx_users_account_status ON users \
     (account_id, status_order, name_key, id, search_text)",
];

const POSTGRES: &[&str] = &[
    FILL,
    "CREATE FUNCTION users_status_order() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
       NEW.status_order := CASE WHEN NEW.disabled_at IS NOT NULL THEN 2 \
         WHEN NEW.password_hash IS NULL THEN 1 ELSE 0 END; \
       RETURN NEW; END $$",
    "CREATE TRIGGER users_status_order BEFORE INSERT OR UPDATE OF password_hash, disabled_at \
     ON users FOR EACH ROW EXECUTE FUNCTION users_status_order()",
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
        let statements: &[&str] = match backend {
            DatabaseBackend::Postgres => &[
                "DROP TRIGGER users_status_order ON users",
                "DROP FUNCTION users_status_order()",
                "DROP INDEX idx_users_account_status",
                "CREATE INDEX idx_users_account_status ON users \
                 (account_id, status, name_key, id) INCLUDE (search_text)",
            ],
            _ => &[
                "DROP TRIGGER users_status_order_insert",
                "DROP TRIGGER users_status_order_update",
                "DROP INDEX idx_users_account_status",
                "CREATE INDEX idx_users_account_status ON users \
                 (account_id, status, name_key, id, search_text)",
            ],
        };
        for sql in statements {
            db.execute_raw(Statement::from_string(backend, *sql)).await?;
        }
        manager
            .alter_table(
                Table::alter().table(Users::Table).drop_column(Users::StatusOrder).to_owned(),
            )
            .await
    }
}
