//! What reconciliation found: intents at the provider that do not match our payments
//! (orphans, amounts, states), listed for an admin until resolved.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000006_reconciliation"
    }
}

#[derive(DeriveIden)]
enum ReconciliationFindings {
    Table,
    Id,
    FoundAt,
    Kind,
    IntentId,
    OrderId,
    Detail,
    Resolved,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReconciliationFindings::Table)
                    .col(ColumnDef::new(ReconciliationFindings::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(ReconciliationFindings::FoundAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(ReconciliationFindings::Kind).text().not_null())
                    .col(ColumnDef::new(ReconciliationFindings::IntentId).text().not_null())
                    .col(ColumnDef::new(ReconciliationFindings::OrderId).big_integer().null())
                    .col(ColumnDef::new(ReconciliationFindings::Detail).text().not_null())
                    .col(ColumnDef::new(ReconciliationFindings::Resolved).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_reconciliation_findings_kind_intent_id")
                    .table(ReconciliationFindings::Table)
                    .col(ReconciliationFindings::Kind)
                    .col(ReconciliationFindings::IntentId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ReconciliationFindings::Table).to_owned()).await
    }
}
