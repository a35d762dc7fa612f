//! What a seller needs to fulfil and unwind an order:
//! - `orders.carrier`: who carries a shipped order (known carriers get a tracking link);
//! - `orders.cancelled_by` and `orders.cancel_reason`: who cancelled an order and why (a seller
//!   or an admin says why; the shopper's mail and order page show it);
//! - `orders.cancelled_at`: when, for the order's timeline.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000014_seller_fulfilment"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Orders {
    Table,
    Carrier,
    CancelledBy,
    CancelReason,
    CancelledAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for col in [Orders::Carrier, Orders::CancelledBy, Orders::CancelReason] {
            manager.alter_table(Table::alter().table(Orders::Table).add_column(ColumnDef::new(col).text().null().to_owned()).to_owned()).await?;
        }
        manager
            .alter_table(Table::alter().table(Orders::Table).add_column(ColumnDef::new(Orders::CancelledAt).timestamp_with_time_zone().null().to_owned()).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Orders::CancelledAt, Orders::CancelReason, Orders::CancelledBy, Orders::Carrier] {
            manager.alter_table(Table::alter().table(Orders::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}
