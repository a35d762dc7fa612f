//! Checkout bookkeeping on orders: `locked_until` is the lease of the request working on a
//! pending order (a second request with the same idempotency key meanwhile gets 409), and
//! `expires_at` is when an unpaid order's reservation runs out.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000004_order_lease"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Orders {
    Table,
    Status,
    LockedUntil,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for col in [Orders::LockedUntil, Orders::ExpiresAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Orders::Table)
                        .add_column(ColumnDef::new(col).timestamp_with_time_zone().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(Index::create().name("ix_orders_status_expires_at").table(Orders::Table).col(Orders::Status).col(Orders::ExpiresAt).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_orders_status_expires_at").table(Orders::Table).to_owned()).await?;
        for col in [Orders::ExpiresAt, Orders::LockedUntil] {
            manager.alter_table(Table::alter().table(Orders::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}
