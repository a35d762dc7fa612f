//! Sessions for the embedded default (production keeps them in Redis). A table rather than
//! memory so a restart signs nobody out and loses no guest cart.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000002_sessions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("sessions"))
                    .col(ColumnDef::new(Alias::new("id")).text().not_null().primary_key())
                    .col(ColumnDef::new(Alias::new("data")).text().not_null())
                    .col(ColumnDef::new(Alias::new("expires_at")).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_sessions_expires_at").table(Alias::new("sessions")).col(Alias::new("expires_at")).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Alias::new("sessions")).to_owned()).await
    }
}
