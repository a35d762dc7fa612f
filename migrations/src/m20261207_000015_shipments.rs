//! One shipment per seller of an order: each seller ships (or cancels) their own lines, with
//! their own tracking number; the order is shipped when every share is (cancelled shares left
//! out) and delivered when every shipped share is.
//!
//! A row is written when a seller ships or cancels their share, never before: an order with
//! no row for a seller is waiting for that seller. Orders shipped before this migration become
//! one shipment per seller of their items (nearly always one: a seller could ship only an order
//! of their own products; an admin shipped a mixed one as one parcel, so its sellers share the
//! tracking number).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000015_shipments"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Shipments {
    Table,
    Id,
    OrderId,
    SellerId,
    TrackingNumber,
    Carrier,
    ShippedAt,
    DeliveredAt,
    CancelledAt,
    CancelReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sellers {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Shipments::Table)
                    .col(ColumnDef::new(Shipments::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Shipments::OrderId).big_integer().not_null())
                    .col(ColumnDef::new(Shipments::SellerId).big_integer().not_null())
                    .col(ColumnDef::new(Shipments::TrackingNumber).text().null())
                    .col(ColumnDef::new(Shipments::Carrier).text().null())
                    .col(ColumnDef::new(Shipments::ShippedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Shipments::DeliveredAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Shipments::CancelledAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Shipments::CancelReason).text().null())
                    .col(ColumnDef::new(Shipments::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Shipments::UpdatedAt).timestamp_with_time_zone().not_null())
                    // Shipped (with a number) or cancelled, never both, never neither.
                    .check(Expr::cust("(shipped_at IS NOT NULL AND tracking_number IS NOT NULL AND cancelled_at IS NULL) OR (shipped_at IS NULL AND cancelled_at IS NOT NULL)"))
                    .check(Expr::cust("delivered_at IS NULL OR shipped_at IS NOT NULL"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_shipments_order_id")
                            .from(Shipments::Table, Shipments::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(ForeignKey::create().name("fk_shipments_seller_id").from(Shipments::Table, Shipments::SellerId).to(Sellers::Table, Sellers::Id))
                    .to_owned(),
            )
            .await?;
        // One share per seller and order: two sellers' clicks (or one seller's two tabs) make one row.
        manager
            .create_index(Index::create().name("ux_shipments_order_id_seller_id").table(Shipments::Table).col(Shipments::OrderId).col(Shipments::SellerId).unique().to_owned())
            .await?;
        manager.create_index(Index::create().name("ix_shipments_seller_id").table(Shipments::Table).col(Shipments::SellerId).to_owned()).await?;
        // Today's shipped orders: one shipment per seller of their items, as they were shipped.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO shipments (order_id, seller_id, tracking_number, carrier, shipped_at, delivered_at, created_at, updated_at) \
                 SELECT DISTINCT o.id, p.seller_id, COALESCE(o.tracking_number, ''), o.carrier, o.shipped_at, o.delivered_at, o.shipped_at, o.updated_at \
                 FROM orders o JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id \
                 WHERE o.shipped_at IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Shipments::Table).to_owned()).await
    }
}
