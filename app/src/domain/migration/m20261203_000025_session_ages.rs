//! Sessions past their idle or absolute lifetime are removed by the hourly
//! clean-up (`jobs::forget_expired`): until then a user who never came back
//! kept up to 100 dead sessions, each with the client address and browser it
//! was opened from, for as long as the user existed. One index per age, so
//! the clean-up reads only what it removes.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    LastSeenAt,
    CreatedAt,
}

fn indexes() -> [(&'static str, Sessions); 2] {
    [
        ("idx_sessions_last_seen", Sessions::LastSeenAt),
        ("idx_sessions_created", Sessions::CreatedAt),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in indexes() {
            let index = Index::create().name(name).table(Sessions::Table).col(column).to_owned();
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in indexes() {
            manager.drop_index(Index::drop().name(name).table(Sessions::Table).to_owned()).await?;
        }
        Ok(())
    }
}
