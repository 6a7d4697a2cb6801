//! The activity log: one row per change or sign-in, written in the
//! transaction of the change. `id` is the keyset cursor of every listing
//! (newest first), so the indexes end in it; `at` serves the retention
//! clean-up. `actor_user_id` has no foreign key: events outlive the users
//! they name (`actor` keeps the email as it was).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ActivityEvents {
    Table,
    Id,
    AccountId,
    At,
    ActorUserId,
    Actor,
    Kind,
    Target,
    ClientAddress,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ActivityEvents::Table)
                    .col(pk_auto(ActivityEvents::Id))
                    .col(integer(ActivityEvents::AccountId))
                    .col(timestamp_with_time_zone(ActivityEvents::At))
                    .col(integer_null(ActivityEvents::ActorUserId))
                    .col(string(ActivityEvents::Actor))
                    .col(string(ActivityEvents::Kind))
                    .col(text(ActivityEvents::Target))
                    .col(string_null(ActivityEvents::ClientAddress))
                    .col(text_null(ActivityEvents::Detail))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ActivityEvents::Table, ActivityEvents::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let index = |name: &str| Index::create().name(name).table(ActivityEvents::Table).to_owned();
        let indexes = [
            index("idx_activity_account")
                .col(ActivityEvents::AccountId)
                .col(ActivityEvents::Id)
                .to_owned(),
            index("idx_activity_account_actor")
                .col(ActivityEvents::AccountId)
                .col(ActivityEvents::ActorUserId)
                .col(ActivityEvents::Id)
                .to_owned(),
            index("idx_activity_account_kind")
                .col(ActivityEvents::AccountId)
                .col(ActivityEvents::Kind)
                .col(ActivityEvents::Id)
                .to_owned(),
            index("idx_activity_at").col(ActivityEvents::At).to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}
