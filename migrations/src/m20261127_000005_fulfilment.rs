//! Fulfilment: when an order was shipped (with which tracking number) and delivered, and the
//! idempotency key of each refund (one provider refund per request, however often it is sent).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000005_fulfilment"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Orders {
    Table,
    TrackingNumber,
    ShippedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    IdempotencyKey,
}

fn add(table: impl IntoIden, col: ColumnDef) -> TableAlterStatement {
    Table::alter().table(table).add_column(col).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(add(Orders::Table, ColumnDef::new(Orders::TrackingNumber).text().null().to_owned())).await?;
        manager.alter_table(add(Orders::Table, ColumnDef::new(Orders::ShippedAt).timestamp_with_time_zone().null().to_owned())).await?;
        manager.alter_table(add(Orders::Table, ColumnDef::new(Orders::DeliveredAt).timestamp_with_time_zone().null().to_owned())).await?;
        manager.alter_table(add(Refunds::Table, ColumnDef::new(Refunds::IdempotencyKey).text().null().to_owned())).await?;
        manager
            .create_index(Index::create().name("uq_refunds_idempotency_key").table(Refunds::Table).col(Refunds::IdempotencyKey).unique().to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("uq_refunds_idempotency_key").table(Refunds::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Refunds::Table).drop_column(Refunds::IdempotencyKey).to_owned()).await?;
        for col in [Orders::DeliveredAt, Orders::ShippedAt, Orders::TrackingNumber] {
            manager.alter_table(Table::alter().table(Orders::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}
