//! Fulfilment: when an order was shipped (with which tracking number) and delivered, and the
//! idempotency key of each refund (one provider refund per request, however often it is sent).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000005_fulfilment"
    }
}

fn add(table: &str, col: ColumnDef) -> TableAlterStatement {
    Table::alter().table(Alias::new(table)).add_column(col).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(add("orders", ColumnDef::new(Alias::new("tracking_number")).text().null().to_owned())).await?;
        manager.alter_table(add("orders", ColumnDef::new(Alias::new("shipped_at")).timestamp_with_time_zone().null().to_owned())).await?;
        manager.alter_table(add("orders", ColumnDef::new(Alias::new("delivered_at")).timestamp_with_time_zone().null().to_owned())).await?;
        manager.alter_table(add("refunds", ColumnDef::new(Alias::new("idempotency_key")).text().null().to_owned())).await?;
        manager
            .create_index(Index::create().name("uq_refunds_idempotency_key").table(Alias::new("refunds")).col(Alias::new("idempotency_key")).unique().to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("uq_refunds_idempotency_key").table(Alias::new("refunds")).to_owned()).await?;
        manager.alter_table(Table::alter().table(Alias::new("refunds")).drop_column(Alias::new("idempotency_key")).to_owned()).await?;
        for col in ["delivered_at", "shipped_at", "tracking_number"] {
            manager.alter_table(Table::alter().table(Alias::new("orders")).drop_column(Alias::new(col)).to_owned()).await?;
        }
        Ok(())
    }
}
