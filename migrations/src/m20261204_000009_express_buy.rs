//! Express buy: a shopper registering for a sale may save a shipping address and a card for
//! it, so that once admitted they buy in one step (hold → order → off-session authorization).
//! The card is the provider's payment method id (never a number), saved on the provider's
//! customer for the shopper, whose id is kept here, one per shopper and provider.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000009_express_buy"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum SaleRegistrations {
    Table,
    ShippingAddressId,
    PaymentMethodId,
    CardLabel,
}

#[derive(DeriveIden)]
enum PaymentCustomers {
    Table,
    UserId,
    Provider,
    CustomerId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE. The address is not a foreign key: deleting
        // it from the address book must stay possible (the express buy then says so).
        manager
            .alter_table(Table::alter().table(SaleRegistrations::Table).add_column(ColumnDef::new(SaleRegistrations::ShippingAddressId).big_integer().null()).to_owned())
            .await?;
        for col in [SaleRegistrations::PaymentMethodId, SaleRegistrations::CardLabel] {
            manager.alter_table(Table::alter().table(SaleRegistrations::Table).add_column(ColumnDef::new(col).text().null()).to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(PaymentCustomers::Table)
                    .col(ColumnDef::new(PaymentCustomers::UserId).big_integer().not_null())
                    .col(ColumnDef::new(PaymentCustomers::Provider).text().not_null())
                    .col(ColumnDef::new(PaymentCustomers::CustomerId).text().not_null())
                    .col(ColumnDef::new(PaymentCustomers::CreatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(PaymentCustomers::UserId).col(PaymentCustomers::Provider))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_customers_user_id")
                            .from(PaymentCustomers::Table, PaymentCustomers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PaymentCustomers::Table).to_owned()).await?;
        for col in [SaleRegistrations::CardLabel, SaleRegistrations::PaymentMethodId, SaleRegistrations::ShippingAddressId] {
            manager.alter_table(Table::alter().table(SaleRegistrations::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}
