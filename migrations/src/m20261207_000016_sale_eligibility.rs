//! Who may join a sale: `flash_sales.existing_accounts_only`, the seller's option "only
//! accounts that existed when the sale was announced" (its `created_at`), so accounts made by
//! the thousand once a sale is known cannot hold places in its waiting room.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000016_sale_eligibility"
    }
}

#[derive(DeriveIden)]
enum FlashSales {
    Table,
    ExistingAccountsOnly,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(FlashSales::Table)
                    .add_column(ColumnDef::new(FlashSales::ExistingAccountsOnly).boolean().not_null().default(false).to_owned())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(FlashSales::Table).drop_column(FlashSales::ExistingAccountsOnly).to_owned()).await
    }
}
