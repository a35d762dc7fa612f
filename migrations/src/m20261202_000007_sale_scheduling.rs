//! Scheduling flash sales: how many buyers the waiting room lets in per second, where each
//! sale's allocation was taken from (so what is unsold goes back to the same warehouses), and
//! when it went back (once: a conditional stamp).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000007_sale_scheduling"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum FlashSales {
    Table,
    Id,
    AdmissionRate,
    StockReturnedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SaleAllocations {
    Table,
    Id,
    SaleId,
    WarehouseId,
    Quantity,
}

#[derive(DeriveIden)]
enum Warehouses {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(FlashSales::Table)
                    .add_column(ColumnDef::new(FlashSales::AdmissionRate).big_integer().not_null().default(50))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(FlashSales::Table).add_column(ColumnDef::new(FlashSales::StockReturnedAt).timestamp_with_time_zone().null()).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SaleAllocations::Table)
                    .col(ColumnDef::new(SaleAllocations::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(SaleAllocations::SaleId).big_integer().not_null())
                    .col(ColumnDef::new(SaleAllocations::WarehouseId).big_integer().not_null())
                    .col(ColumnDef::new(SaleAllocations::Quantity).big_integer().not_null())
                    .check(Expr::cust("quantity > 0"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sale_allocations_sale_id")
                            .from(SaleAllocations::Table, SaleAllocations::SaleId)
                            .to(FlashSales::Table, FlashSales::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sale_allocations_warehouse_id")
                            .from(SaleAllocations::Table, SaleAllocations::WarehouseId)
                            .to(Warehouses::Table, Warehouses::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_sale_allocations_sale_id_warehouse_id")
                    .table(SaleAllocations::Table)
                    .col(SaleAllocations::SaleId)
                    .col(SaleAllocations::WarehouseId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SaleAllocations::Table).to_owned()).await?;
        for col in [FlashSales::StockReturnedAt, FlashSales::AdmissionRate] {
            manager.alter_table(Table::alter().table(FlashSales::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}
