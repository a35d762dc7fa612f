//! "Customers also bought": pairs of products bought in the same paid order, counted by a
//! worker from the orders (never by a page view), and a seller's switch that turns the extras
//! (recommendations, reviews, wishlist) off while one of their sales is live.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000010_recommendations"
    }
}

#[derive(DeriveIden)]
enum Recommendations {
    Table,
    ProductId,
    RecommendedId,
    /// Paid orders that had both products.
    Orders,
    /// 1 for the most bought with, and on.
    Rank,
    ComputedAt,
}

#[derive(DeriveIden)]
enum FlashSales {
    Table,
    ExtrasOff,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys: the worker rewrites the whole table, and a product gone from the
        // shop simply drops out of the page's list (only active products are shown).
        manager
            .create_table(
                Table::create()
                    .table(Recommendations::Table)
                    .col(ColumnDef::new(Recommendations::ProductId).big_integer().not_null())
                    .col(ColumnDef::new(Recommendations::RecommendedId).big_integer().not_null())
                    .col(ColumnDef::new(Recommendations::Orders).big_integer().not_null())
                    .col(ColumnDef::new(Recommendations::Rank).integer().not_null())
                    .col(ColumnDef::new(Recommendations::ComputedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(Recommendations::ProductId).col(Recommendations::RecommendedId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(FlashSales::Table).add_column(ColumnDef::new(FlashSales::ExtrasOff).boolean().not_null().default(false)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(FlashSales::Table).drop_column(FlashSales::ExtrasOff).to_owned()).await?;
        manager.drop_table(Table::drop().table(Recommendations::Table).to_owned()).await
    }
}
