//! The waiting room's draw and the stock gate's holds: each sale gets a secret seed whose
//! SHA-256 is published before the start (the pre-start order is derived from it, and it is
//! revealed after the start), and every unit the gate hands out is recorded as a hold, so the
//! database can re-warm the gate (allocated − sold − live holds) and return each hold once.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000008_sale_holds"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum FlashSales {
    Table,
    Id,
    DrawSeed,
    GateSecret,
}

#[derive(DeriveIden, Clone, Copy)]
enum SaleHolds {
    Table,
    Id,
    SaleId,
    UserId,
    Quantity,
    State,
    ExpiresAt,
    Extended,
    OrderId,
    CreatedAt,
    ReleasedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for col in [FlashSales::DrawSeed, FlashSales::GateSecret] {
            manager.alter_table(Table::alter().table(FlashSales::Table).add_column(ColumnDef::new(col).text().null()).to_owned()).await?;
        }
        // Sales scheduled before this migration get their secrets here, one random value each.
        let random = match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DatabaseBackend::Postgres => "md5(random()::text || clock_timestamp()::text || id::text)",
            _ => "lower(hex(randomblob(32)))",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!("UPDATE flash_sales SET draw_seed = {random}, gate_secret = {random} WHERE draw_seed IS NULL"))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SaleHolds::Table)
                    .col(ColumnDef::new(SaleHolds::Id).text().not_null().primary_key())
                    .col(ColumnDef::new(SaleHolds::SaleId).big_integer().not_null())
                    .col(ColumnDef::new(SaleHolds::UserId).big_integer().not_null())
                    .col(ColumnDef::new(SaleHolds::Quantity).big_integer().not_null())
                    .col(ColumnDef::new(SaleHolds::State).text().not_null())
                    .col(ColumnDef::new(SaleHolds::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(SaleHolds::Extended).boolean().not_null().default(false))
                    .col(ColumnDef::new(SaleHolds::OrderId).big_integer().null())
                    .col(ColumnDef::new(SaleHolds::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(SaleHolds::ReleasedAt).timestamp_with_time_zone().null())
                    .check(Expr::cust("quantity > 0"))
                    .check(Expr::cust("state IN ('held', 'ordered', 'paid', 'released')"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sale_holds_sale_id")
                            .from(SaleHolds::Table, SaleHolds::SaleId)
                            .to(FlashSales::Table, FlashSales::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(ForeignKey::create().name("fk_sale_holds_user_id").from(SaleHolds::Table, SaleHolds::UserId).to(Users::Table, Users::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_sale_holds_sale_id_user_id").table(SaleHolds::Table).col(SaleHolds::SaleId).col(SaleHolds::UserId).to_owned())
            .await?;
        manager
            .create_index(Index::create().name("ix_sale_holds_state_expires_at").table(SaleHolds::Table).col(SaleHolds::State).col(SaleHolds::ExpiresAt).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SaleHolds::Table).to_owned()).await?;
        for col in [FlashSales::GateSecret, FlashSales::DrawSeed] {
            manager.alter_table(Table::alter().table(FlashSales::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}
