//! An index for substring search over users' names and emails that does not
//! scan the account: each user's 1-, 2- and 3-character pieces (4-character
//! ones too since migration 14; `search_grams`,
//! see `entity::user::search_grams`) in an FTS5 table on SQLite (kept in step
//! by triggers) and a GIN index on PostgreSQL, which replaces the trigram one.
//! The three sort indexes also carry `search_text`, so the first rows a
//! search checks in order are read from the index alone: a user row, with its
//! grams, is ten times the size of its index entry.
use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, Statement};
use sea_orm_migration::{prelude::*, schema::*};

use crate::domain::entity::user::search_grams;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    SearchGrams,
}

#[derive(FromQueryResult)]
struct Row {
    id: i32,
    search_text: String,
}

const SQLITE: &[&str] = &[
    "CREATE VIRTUAL TABLE users_search USING fts5(search_grams, content='users', \
     content_rowid='id', detail='none', columnsize=0)",
    "CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN \
       INSERT INTO users_search(rowid, search_grams) VALUES (new.id, new.search_grams); END",
    "CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN \
       INSERT INTO users_search(users_search, rowid, search_grams) \
       VALUES ('delete', old.id, old.search_grams); END",
    "CREATE TRIGGER users_search_update AFTER UPDATE OF search_grams ON users BEGIN \
       INSERT INTO users_search(users_search, rowid, search_grams) \
       VALUES ('delete', old.id, old.search_grams); \
       INSERT INTO users_search(rowid, search_grams) VALUES (new.id, new.search_grams); END",
    "INSERT INTO users_search(users_search) VALUES ('rebuild')",
    "DROP INDEX idx_users_account_name",
    "CREATE INDEX idx_users_account_name ON users (account_id, name_key, id, search_text)",
    "DROP INDEX idx_users_account_email",
    "CREATE INDEX idx_users_account_email ON users (account_id, email, search_text)",
    "DROP INDEX idx_users_account_status",
    "CREATE INDEX idx_users_account_status ON users \
     (account_id, status, name_key, id, search_text)",
];

const POSTGRES: &[&str] = &[
    "DROP INDEX IF EXISTS idx_users_search_trgm",
    "CREATE INDEX idx_users_search_grams ON users USING gin (string_to_array(search_grams, ' '))",
    "DROP INDEX idx_users_account_name",
    "CREATE INDEX idx_users_account_name ON users (account_id, name_key, id) INCLUDE (search_text)",
    "DROP INDEX idx_users_account_email",
    "CREATE INDEX idx_users_account_email ON users (account_id, email) INCLUDE (search_text)",
    "DROP INDEX idx_users_account_status",
    "CREATE INDEX idx_users_account_status ON users \
     (account_id, status, name_key, id) INCLUDE (search_text)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(string(Users::SearchGrams).default(""))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        // The grams are made in Rust (as every later write makes them).
        let rows = Row::find_by_statement(Statement::from_string(
            backend,
            "SELECT id, search_text FROM users",
        ))
        .all(db)
        .await?;
        for row in rows {
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    DatabaseBackend::Postgres => "UPDATE users SET search_grams = $1 WHERE id = $2",
                    _ => "UPDATE users SET search_grams = ? WHERE id = ?",
                },
                [search_grams(&row.search_text).into(), row.id.into()],
            ))
            .await?;
        }
        let statements = match backend {
            DatabaseBackend::Postgres => POSTGRES,
            _ => SQLITE,
        };
        for sql in statements {
            db.execute_raw(Statement::from_string(backend, *sql)).await?;
        }
        Ok(())
    }
}
