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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for col in ["locked_until", "expires_at"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("orders"))
                        .add_column(ColumnDef::new(Alias::new(col)).timestamp_with_time_zone().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(Index::create().name("ix_orders_status_expires_at").table(Alias::new("orders")).col(Alias::new("status")).col(Alias::new("expires_at")).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_orders_status_expires_at").table(Alias::new("orders")).to_owned()).await?;
        for col in ["expires_at", "locked_until"] {
            manager.alter_table(Table::alter().table(Alias::new("orders")).drop_column(Alias::new(col)).to_owned()).await?;
        }
        Ok(())
    }
}
