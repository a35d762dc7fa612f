//! What reconciliation found: intents at the provider that do not match our payments
//! (orphans, amounts, states), listed for an admin until resolved.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000006_reconciliation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("reconciliation_findings"))
                    .col(ColumnDef::new(Alias::new("id")).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Alias::new("found_at")).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Alias::new("kind")).text().not_null())
                    .col(ColumnDef::new(Alias::new("intent_id")).text().not_null())
                    .col(ColumnDef::new(Alias::new("order_id")).big_integer().null())
                    .col(ColumnDef::new(Alias::new("detail")).text().not_null())
                    .col(ColumnDef::new(Alias::new("resolved")).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_reconciliation_findings_kind_intent_id")
                    .table(Alias::new("reconciliation_findings"))
                    .col(Alias::new("kind"))
                    .col(Alias::new("intent_id"))
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Alias::new("reconciliation_findings")).to_owned()).await
    }
}
