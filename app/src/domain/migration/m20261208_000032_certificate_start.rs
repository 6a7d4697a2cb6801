//! When each certificate's validity starts, stored beside its expiry. The
//! list read it from every row's PEM (a parse of each certificate, about
//! 20 µs, and the whole chain read for it); the start is now read from the
//! certificate once, when it is added, and here for those already stored.
use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, Statement};
use sea_orm_migration::{prelude::*, schema::*};

use crate::domain::entity::certificate;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Certificates {
    Table,
    NotBefore,
}

#[derive(FromQueryResult)]
struct Row {
    id: i32,
    cert_pem: String,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Certificates::Table)
                    .add_column(timestamp_with_time_zone_null(Certificates::NotBefore))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rows = Row::find_by_statement(Statement::from_string(
            backend,
            "SELECT id, cert_pem FROM certificates",
        ))
        .all(db)
        .await?;
        for row in rows {
            // Every stored PEM was read when it was added; one that could
            // not be now keeps no start, and the list shows when it was added.
            let Some(not_before) = certificate::not_before_of(&row.cert_pem) else { continue };
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    DatabaseBackend::Postgres => {
                        "UPDATE certificates SET not_before = $1 WHERE id = $2"
                    }
                    _ => "UPDATE certificates SET not_before = ? WHERE id = ?",
                },
                [not_before.into(), row.id.into()],
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Certificates::Table)
                    .drop_column(Certificates::NotBefore)
                    .to_owned(),
            )
            .await
    }
}
