//! `activity_events.id` in 64 bits. Every change and sign-in of every
//! account draws an id, and an `integer` identity column (what migration 13
//! made on PostgreSQL, its sequence `activity_events_id_seq`) stops at
//! 2^31 - 1: at ten million events a day, within a year, after which
//! nothing that records an event could be saved. SQLite's row ids are 64
//! bits already. Processes of earlier builds cannot read the wider column:
//! the README's "Health" section says how to upgrade.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE activity_events ALTER COLUMN id TYPE bigint").await?;
        db.execute_unprepared("ALTER SEQUENCE activity_events_id_seq AS bigint").await?;
        Ok(())
    }

    /// Fails, changing nothing, once an id is past 2^31 - 1.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("ALTER SEQUENCE activity_events_id_seq AS integer").await?;
        db.execute_unprepared("ALTER TABLE activity_events ALTER COLUMN id TYPE integer").await?;
        Ok(())
    }
}
