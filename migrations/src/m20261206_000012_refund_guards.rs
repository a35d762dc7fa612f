//! Refunds that stay exact when they arrive at once: the order keeps what was refunded of it
//! (`orders.refunded`) and each line how many of its units (`order_items.refunded_quantity`),
//! so a refund is reserved by one conditional update that fails when it would pass the order's
//! total or a line's quantity. A refund row is written before the provider is called (its
//! `provider_refund_id` empty until the provider answers) and names the lines it covers, so a
//! refund the provider refused can be given back exactly.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000012_refund_guards"
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Refunded,
}

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    RefundedQuantity,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    /// The lines a refund covers as `order_item_id:quantity` pairs, comma-separated; empty for
    /// an order refunded whole.
    Lines,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        fn add(table: impl IntoIden, col: &mut ColumnDef) -> TableAlterStatement {
            Table::alter().table(table).add_column(col.to_owned()).to_owned()
        }
        manager
            .alter_table(add(Orders::Table, ColumnDef::new(Orders::Refunded).big_integer().not_null().default(0).check(Expr::cust("refunded >= 0"))))
            .await?;
        manager
            .alter_table(add(
                OrderItems::Table,
                ColumnDef::new(OrderItems::RefundedQuantity).big_integer().not_null().default(0).check(Expr::cust("refunded_quantity >= 0")),
            ))
            .await?;
        manager.alter_table(add(Refunds::Table, ColumnDef::new(Refunds::Lines).text().not_null().default(""))).await?;
        let db = manager.get_connection();
        // What was refunded before: the sum of each order's refunds (which lines is not known
        // for those; a line refund from now on is counted).
        db.execute_unprepared("UPDATE orders SET refunded = COALESCE((SELECT SUM(amount) FROM refunds WHERE refunds.order_id = orders.id), 0)").await?;
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            // SQLite cannot add a table constraint to an existing table; there the conditional
            // updates alone keep these (and they do on PostgreSQL too).
            db.execute_unprepared("ALTER TABLE orders ADD CONSTRAINT orders_refunded_le_total CHECK (refunded <= total)").await?;
            db.execute_unprepared("ALTER TABLE order_items ADD CONSTRAINT order_items_refunded_le_quantity CHECK (refunded_quantity <= quantity)").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Refunds::Table).drop_column(Refunds::Lines).to_owned()).await?;
        manager.alter_table(Table::alter().table(OrderItems::Table).drop_column(OrderItems::RefundedQuantity).to_owned()).await?;
        manager.alter_table(Table::alter().table(Orders::Table).drop_column(Orders::Refunded).to_owned()).await
    }
}
