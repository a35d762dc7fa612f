//! The initial data model (DESIGN §4). Money is integer minor units plus an ISO 4217 currency;
//! timestamps are UTC. Enumerations are text columns guarded by CHECK constraints so SQLite and
//! PostgreSQL refuse the same bad rows.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_initial"
    }
}

/// The `id` column every table but `cart_lines` starts with, and that foreign keys point at.
#[derive(DeriveIden, Clone, Copy)]
struct Id;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Email,
    PasswordHash,
    Role,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sellers {
    Table,
    UserId,
    Name,
    Slug,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Addresses {
    Table,
    UserId,
    Name,
    Line1,
    Line2,
    City,
    Region,
    PostalCode,
    Country,
    IsDefault,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Categories {
    Table,
    ParentId,
    Slug,
    Name,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Products {
    Table,
    SellerId,
    CategoryId,
    Title,
    Description,
    Brand,
    Tags,
    Status,
    RatingSum,
    RatingCount,
    ImageCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Variants {
    Table,
    ProductId,
    Sku,
    Attributes,
    PriceAmount,
    Currency,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Warehouses {
    Table,
    Code,
    Name,
}

#[derive(DeriveIden, Clone, Copy)]
enum Inventory {
    Table,
    VariantId,
    WarehouseId,
    Quantity,
    Reserved,
    Version,
}

#[derive(DeriveIden, Clone, Copy)]
enum Orders {
    Table,
    UserId,
    Status,
    Currency,
    Subtotal,
    Shipping,
    Tax,
    Total,
    ShippingAddress,
    ShippingMethod,
    IdempotencyKey,
    RequestHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderItems {
    Table,
    OrderId,
    VariantId,
    ProductId,
    Title,
    Sku,
    UnitPrice,
    Currency,
    Quantity,
    LineTotal,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reservations {
    Table,
    OrderId,
    CheckoutRef,
    VariantId,
    WarehouseId,
    Quantity,
    ExpiresAt,
    State,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Payments {
    Table,
    OrderId,
    Provider,
    IntentId,
    State,
    Amount,
    Currency,
    IdempotencyKey,
    Attempt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Refunds {
    Table,
    PaymentId,
    OrderId,
    Amount,
    Currency,
    ProviderRefundId,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookEvents {
    Table,
    Provider,
    EventId,
    EventType,
    Payload,
    ReceivedAt,
    ProcessedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum FlashSales {
    Table,
    ProductId,
    VariantId,
    PriceAmount,
    Currency,
    StartsAt,
    EndsAt,
    Allocated,
    Sold,
    PerBuyerLimit,
    Status,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SaleRegistrations {
    Table,
    SaleId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reviews {
    Table,
    ProductId,
    UserId,
    Rating,
    Body,
    VerifiedPurchase,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Wishlists {
    Table,
    UserId,
    ProductId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Outbox {
    Table,
    Topic,
    Payload,
    Attempts,
    CreatedAt,
    ProcessedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum CartLines {
    Table,
    Owner,
    Sku,
    Quantity,
    UnitPrice,
    Currency,
    AddedAt,
    ExpiresAt,
}

fn id(t: &mut TableCreateStatement) -> &mut TableCreateStatement {
    t.col(ColumnDef::new(Id).big_integer().not_null().auto_increment().primary_key())
}

fn big(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}

fn big_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().to_owned()
}

fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().to_owned()
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
}

fn boolean(col: impl IntoIden, default: bool) -> ColumnDef {
    ColumnDef::new(col).boolean().not_null().default(default).to_owned()
}

/// `fk_<table>_<column>`: `table.column` references `to.id`.
fn fk<T: Iden + Copy + 'static, U: Iden + 'static>(table: T, col: T, to: U, cascade: bool) -> ForeignKeyCreateStatement {
    let mut f = ForeignKey::create()
        .name(format!("fk_{}_{}", table.unquoted(), col.unquoted()))
        .from(table, col)
        .to(to, Id)
        .to_owned();
    if cascade {
        f.on_delete(ForeignKeyAction::Cascade);
    }
    f
}

fn check(sql: &str) -> SimpleExpr {
    Expr::cust(sql.to_string())
}

fn in_list(col: impl Iden, values: &[&str]) -> SimpleExpr {
    let list = values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ");
    check(&format!("{} IN ({list})", col.unquoted()))
}

fn currency_check() -> SimpleExpr {
    check("length(currency) = 3")
}

/// `uq_<table>_<columns>` (or `ix_` when not unique) on columns of one table.
fn table_index<T: Iden + Copy + 'static>(prefix: &str, table: T, cols: &[T]) -> IndexCreateStatement {
    let names = cols.iter().map(|c| c.unquoted()).collect::<Vec<_>>().join("_");
    let mut i = Index::create();
    i.name(format!("{prefix}_{}_{names}", table.unquoted())).table(table);
    for c in cols {
        i.col(*c);
    }
    i.to_owned()
}

fn unique_index<T: Iden + Copy + 'static>(table: T, cols: &[T]) -> IndexCreateStatement {
    table_index("uq", table, cols).unique().to_owned()
}

fn index<T: Iden + Copy + 'static>(table: T, cols: &[T]) -> IndexCreateStatement {
    table_index("ix", table, cols)
}

fn tables() -> Vec<TableCreateStatement> {
    let mut v = Vec::new();

    let mut t = Table::create();
    t.table(Users::Table);
    id(&mut t)
        .col(text(Users::Email).unique_key())
        .col(text(Users::PasswordHash))
        .col(text(Users::Role).default("shopper"))
        .col(ts(Users::CreatedAt))
        .check(in_list(Users::Role, &["shopper", "seller", "admin"]));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Sellers::Table);
    id(&mut t)
        .col(big_null(Sellers::UserId).unique_key())
        .col(text(Sellers::Name))
        .col(text(Sellers::Slug).unique_key())
        .col(ts(Sellers::CreatedAt))
        .foreign_key(&mut fk(Sellers::Table, Sellers::UserId, Users::Table, true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Addresses::Table);
    id(&mut t)
        .col(big(Addresses::UserId))
        .col(text(Addresses::Name))
        .col(text(Addresses::Line1))
        .col(text_null(Addresses::Line2))
        .col(text(Addresses::City))
        .col(text_null(Addresses::Region))
        .col(text(Addresses::PostalCode))
        .col(text(Addresses::Country))
        .col(boolean(Addresses::IsDefault, false))
        .col(ts(Addresses::CreatedAt))
        .check(check("length(country) = 2"))
        .foreign_key(&mut fk(Addresses::Table, Addresses::UserId, Users::Table, true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Categories::Table);
    id(&mut t)
        .col(big_null(Categories::ParentId))
        .col(text(Categories::Slug).unique_key())
        .col(text(Categories::Name))
        .col(int(Categories::Position).default(0))
        .foreign_key(&mut fk(Categories::Table, Categories::ParentId, Categories::Table, false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Products::Table);
    id(&mut t)
        .col(big(Products::SellerId))
        .col(big(Products::CategoryId))
        .col(text(Products::Title))
        .col(text(Products::Description))
        .col(text(Products::Brand))
        .col(text(Products::Tags).default(""))
        .col(text(Products::Status).default("draft"))
        .col(big(Products::RatingSum).default(0))
        .col(big(Products::RatingCount).default(0))
        .col(int(Products::ImageCount).default(0))
        .col(ts(Products::CreatedAt))
        .col(ts(Products::UpdatedAt))
        .check(in_list(Products::Status, &["draft", "active", "archived"]))
        .check(check("rating_sum >= 0 AND rating_count >= 0"))
        .check(check("rating_sum <= 5 * rating_count"))
        .check(check("length(title) > 0"))
        .foreign_key(&mut fk(Products::Table, Products::SellerId, Sellers::Table, false))
        .foreign_key(&mut fk(Products::Table, Products::CategoryId, Categories::Table, false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Variants::Table);
    id(&mut t)
        .col(big(Variants::ProductId))
        .col(text(Variants::Sku).unique_key())
        .col(text(Variants::Attributes).default("{}"))
        .col(big(Variants::PriceAmount))
        .col(text(Variants::Currency))
        .col(int(Variants::Position).default(0))
        .check(check("price_amount > 0"))
        .check(currency_check())
        .foreign_key(&mut fk(Variants::Table, Variants::ProductId, Products::Table, true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Warehouses::Table);
    id(&mut t).col(text(Warehouses::Code).unique_key()).col(text(Warehouses::Name));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Inventory::Table);
    id(&mut t)
        .col(big(Inventory::VariantId))
        .col(big(Inventory::WarehouseId))
        .col(big(Inventory::Quantity).default(0))
        .col(big(Inventory::Reserved).default(0))
        .col(big(Inventory::Version).default(0))
        .check(check("quantity >= 0"))
        .check(check("reserved >= 0"))
        .check(check("quantity >= reserved"))
        .foreign_key(&mut fk(Inventory::Table, Inventory::VariantId, Variants::Table, true))
        .foreign_key(&mut fk(Inventory::Table, Inventory::WarehouseId, Warehouses::Table, false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Orders::Table);
    id(&mut t)
        .col(big(Orders::UserId))
        .col(text(Orders::Status).default("pending"))
        .col(text(Orders::Currency))
        .col(big(Orders::Subtotal))
        .col(big(Orders::Shipping))
        .col(big(Orders::Tax))
        .col(big(Orders::Total))
        .col(text(Orders::ShippingAddress))
        .col(text(Orders::ShippingMethod))
        .col(text(Orders::IdempotencyKey).unique_key())
        .col(text(Orders::RequestHash))
        .col(ts(Orders::CreatedAt))
        .col(ts(Orders::UpdatedAt))
        .check(in_list(Orders::Status,
            &["pending", "paid", "shipped", "delivered", "cancelled", "refunded", "expired"],
        ))
        .check(check("subtotal >= 0 AND shipping >= 0 AND tax >= 0 AND total >= 0"))
        .check(check("total = subtotal + shipping + tax"))
        .check(currency_check())
        .foreign_key(&mut fk(Orders::Table, Orders::UserId, Users::Table, false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(OrderItems::Table);
    id(&mut t)
        .col(big(OrderItems::OrderId))
        .col(big(OrderItems::VariantId))
        .col(big(OrderItems::ProductId))
        .col(text(OrderItems::Title))
        .col(text(OrderItems::Sku))
        .col(big(OrderItems::UnitPrice))
        .col(text(OrderItems::Currency))
        .col(big(OrderItems::Quantity))
        .col(big(OrderItems::LineTotal))
        .check(check("quantity > 0"))
        .check(check("unit_price >= 0"))
        .check(check("line_total = unit_price * quantity"))
        .check(currency_check())
        .foreign_key(&mut fk(OrderItems::Table, OrderItems::OrderId, Orders::Table, true))
        .foreign_key(&mut fk(OrderItems::Table, OrderItems::VariantId, Variants::Table, false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Reservations::Table);
    id(&mut t)
        .col(big_null(Reservations::OrderId))
        .col(text(Reservations::CheckoutRef))
        .col(big(Reservations::VariantId))
        .col(big(Reservations::WarehouseId))
        .col(big(Reservations::Quantity))
        .col(ts(Reservations::ExpiresAt))
        .col(text(Reservations::State).default("held"))
        .col(ts(Reservations::CreatedAt))
        .check(check("quantity > 0"))
        .check(in_list(Reservations::State, &["held", "committed", "released"]))
        .foreign_key(&mut fk(Reservations::Table, Reservations::OrderId, Orders::Table, false))
        .foreign_key(&mut fk(Reservations::Table, Reservations::VariantId, Variants::Table, false))
        .foreign_key(&mut fk(Reservations::Table, Reservations::WarehouseId, Warehouses::Table, false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Payments::Table);
    id(&mut t)
        .col(big(Payments::OrderId))
        .col(text(Payments::Provider))
        .col(text_null(Payments::IntentId))
        .col(text(Payments::State).default("created"))
        .col(big(Payments::Amount))
        .col(text(Payments::Currency))
        .col(text(Payments::IdempotencyKey).unique_key())
        .col(int(Payments::Attempt).default(1))
        .col(ts(Payments::CreatedAt))
        .col(ts(Payments::UpdatedAt))
        .check(in_list(Payments::State,
            &["created", "authorized", "captured", "settled", "voided", "refunded", "failed"],
        ))
        .check(check("amount >= 0"))
        .check(currency_check())
        .foreign_key(&mut fk(Payments::Table, Payments::OrderId, Orders::Table, false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Refunds::Table);
    id(&mut t)
        .col(big(Refunds::PaymentId))
        .col(big(Refunds::OrderId))
        .col(big(Refunds::Amount))
        .col(text(Refunds::Currency))
        .col(text_null(Refunds::ProviderRefundId))
        .col(text(Refunds::Reason).default(""))
        .col(ts(Refunds::CreatedAt))
        .check(check("amount > 0"))
        .check(currency_check())
        .foreign_key(&mut fk(Refunds::Table, Refunds::PaymentId, Payments::Table, false))
        .foreign_key(&mut fk(Refunds::Table, Refunds::OrderId, Orders::Table, false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(WebhookEvents::Table);
    id(&mut t)
        .col(text(WebhookEvents::Provider))
        .col(text(WebhookEvents::EventId))
        .col(text(WebhookEvents::EventType))
        .col(text(WebhookEvents::Payload))
        .col(ts(WebhookEvents::ReceivedAt))
        .col(ts_null(WebhookEvents::ProcessedAt));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(FlashSales::Table);
    id(&mut t)
        .col(big(FlashSales::ProductId))
        .col(big(FlashSales::VariantId))
        .col(big(FlashSales::PriceAmount))
        .col(text(FlashSales::Currency))
        .col(ts(FlashSales::StartsAt))
        .col(ts(FlashSales::EndsAt))
        .col(big(FlashSales::Allocated))
        .col(big(FlashSales::Sold).default(0))
        .col(big(FlashSales::PerBuyerLimit).default(1))
        .col(text(FlashSales::Status).default("scheduled"))
        .col(ts(FlashSales::CreatedAt))
        .check(check("allocated >= 0"))
        .check(check("sold >= 0"))
        .check(check("sold <= allocated"))
        .check(check("per_buyer_limit > 0"))
        .check(check("price_amount > 0"))
        .check(check("ends_at > starts_at"))
        .check(currency_check())
        .check(in_list(FlashSales::Status, &["scheduled", "active", "ended", "cancelled"]))
        .foreign_key(&mut fk(FlashSales::Table, FlashSales::ProductId, Products::Table, false))
        .foreign_key(&mut fk(FlashSales::Table, FlashSales::VariantId, Variants::Table, false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(SaleRegistrations::Table);
    id(&mut t)
        .col(big(SaleRegistrations::SaleId))
        .col(big(SaleRegistrations::UserId))
        .col(ts(SaleRegistrations::CreatedAt))
        .foreign_key(&mut fk(SaleRegistrations::Table, SaleRegistrations::SaleId, FlashSales::Table, true))
        .foreign_key(&mut fk(SaleRegistrations::Table, SaleRegistrations::UserId, Users::Table, true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Reviews::Table);
    id(&mut t)
        .col(big(Reviews::ProductId))
        .col(big(Reviews::UserId))
        .col(int(Reviews::Rating))
        .col(text(Reviews::Body))
        .col(boolean(Reviews::VerifiedPurchase, false))
        .col(ts(Reviews::CreatedAt))
        .check(check("rating BETWEEN 1 AND 5"))
        .foreign_key(&mut fk(Reviews::Table, Reviews::ProductId, Products::Table, true))
        .foreign_key(&mut fk(Reviews::Table, Reviews::UserId, Users::Table, true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Wishlists::Table);
    id(&mut t)
        .col(big(Wishlists::UserId))
        .col(big(Wishlists::ProductId))
        .col(ts(Wishlists::CreatedAt))
        .foreign_key(&mut fk(Wishlists::Table, Wishlists::UserId, Users::Table, true))
        .foreign_key(&mut fk(Wishlists::Table, Wishlists::ProductId, Products::Table, true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Outbox::Table);
    id(&mut t)
        .col(text(Outbox::Topic))
        .col(text(Outbox::Payload))
        .col(int(Outbox::Attempts).default(0))
        .col(ts(Outbox::CreatedAt))
        .col(ts_null(Outbox::ProcessedAt));
    v.push(t.to_owned());

    // The embedded cart store (DESIGN §3): a table, so a restart of the default loses no cart.
    let mut t = Table::create();
    t.table(CartLines::Table);
    t.col(text(CartLines::Owner))
        .col(text(CartLines::Sku))
        .col(big(CartLines::Quantity))
        .col(big(CartLines::UnitPrice))
        .col(text(CartLines::Currency))
        .col(ts(CartLines::AddedAt))
        .col(ts(CartLines::ExpiresAt))
        .primary_key(Index::create().col(CartLines::Owner).col(CartLines::Sku))
        .check(check("quantity > 0"));
    v.push(t.to_owned());

    v
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        unique_index(Inventory::Table, &[Inventory::VariantId, Inventory::WarehouseId]),
        unique_index(WebhookEvents::Table, &[WebhookEvents::Provider, WebhookEvents::EventId]),
        unique_index(SaleRegistrations::Table, &[SaleRegistrations::SaleId, SaleRegistrations::UserId]),
        unique_index(Reviews::Table, &[Reviews::ProductId, Reviews::UserId]),
        unique_index(Wishlists::Table, &[Wishlists::UserId, Wishlists::ProductId]),
        unique_index(OrderItems::Table, &[OrderItems::OrderId, OrderItems::VariantId]),
        index(Products::Table, &[Products::CategoryId, Products::Status]),
        index(Products::Table, &[Products::SellerId]),
        index(Variants::Table, &[Variants::ProductId]),
        index(Categories::Table, &[Categories::ParentId]),
        index(Addresses::Table, &[Addresses::UserId]),
        index(Orders::Table, &[Orders::UserId]),
        index(Reservations::Table, &[Reservations::State, Reservations::ExpiresAt]),
        index(Reservations::Table, &[Reservations::OrderId]),
        index(Payments::Table, &[Payments::OrderId]),
        index(Outbox::Table, &[Outbox::ProcessedAt]),
        index(CartLines::Table, &[CartLines::ExpiresAt]),
    ]
}

/// Tables in the order they can be dropped (referencing tables first).
fn drop_order() -> Vec<DynIden> {
    vec![
        CartLines::Table.into_iden(),
        Outbox::Table.into_iden(),
        Wishlists::Table.into_iden(),
        Reviews::Table.into_iden(),
        SaleRegistrations::Table.into_iden(),
        FlashSales::Table.into_iden(),
        WebhookEvents::Table.into_iden(),
        Refunds::Table.into_iden(),
        Payments::Table.into_iden(),
        Reservations::Table.into_iden(),
        OrderItems::Table.into_iden(),
        Orders::Table.into_iden(),
        Inventory::Table.into_iden(),
        Warehouses::Table.into_iden(),
        Variants::Table.into_iden(),
        Products::Table.into_iden(),
        Categories::Table.into_iden(),
        Addresses::Table.into_iden(),
        Sellers::Table.into_iden(),
        Users::Table.into_iden(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in tables() {
            manager.create_table(t).await?;
        }
        for i in indexes() {
            manager.create_index(i).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in drop_order() {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
