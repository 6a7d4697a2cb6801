//! The search index holds 4-character pieces too (`entity::user::GRAM_MAX`):
//! every user's `search_grams` is written again by the function every later
//! write uses. The FTS5 table follows by its triggers, the GIN index by
//! itself. Nothing else changes: until this runs, searches still find every
//! user, only more slowly.
use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, Statement};
use sea_orm_migration::prelude::*;

use crate::domain::entity::user::search_grams;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(FromQueryResult)]
struct Row {
    id: i32,
    search_text: String,
}

/// Users are read this many at a time, so a large table is not held in memory.
const BATCH: i64 = 1_000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let (select, update) = match backend {
            DatabaseBackend::Postgres => (
                "SELECT id, search_text FROM users WHERE id > $1 ORDER BY id LIMIT $2",
                "UPDATE users SET search_grams = $1 WHERE id = $2",
            ),
            _ => (
                "SELECT id, search_text FROM users WHERE id > ? ORDER BY id LIMIT ?",
                "UPDATE users SET search_grams = ? WHERE id = ?",
            ),
        };
        let mut after = 0;
        loop {
            let rows = Row::find_by_statement(Statement::from_sql_and_values(
                backend,
                select,
                [after.into(), BATCH.into()],
            ))
            .all(db)
            .await?;
            let Some(last) = rows.last() else { return Ok(()) };
            after = last.id;
            for row in rows {
                db.execute_raw(Statement::from_sql_and_values(
                    backend,
                    update,
                    [search_grams(&row.search_text).into(), row.id.into()],
                ))
                .await?;
            }
        }
    }

    /// The longer pieces can stay: every search still finds what it did.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
