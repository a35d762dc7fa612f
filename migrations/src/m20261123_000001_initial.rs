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

fn id(t: &mut TableCreateStatement) -> &mut TableCreateStatement {
    t.col(ColumnDef::new(Alias::new("id")).big_integer().not_null().auto_increment().primary_key())
}

fn big(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).big_integer().not_null().to_owned()
}

fn text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().not_null().to_owned()
}

fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}

fn ts(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).timestamp_with_time_zone().not_null().to_owned()
}

fn ts_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).timestamp_with_time_zone().null().to_owned()
}

fn boolean(name: &str, default: bool) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).boolean().not_null().default(default).to_owned()
}

fn fk(from_table: &str, col: &str, to_table: &str, cascade: bool) -> ForeignKeyCreateStatement {
    let mut f = ForeignKey::create()
        .name(format!("fk_{from_table}_{col}"))
        .from(Alias::new(from_table), Alias::new(col))
        .to(Alias::new(to_table), Alias::new("id"))
        .to_owned();
    if cascade {
        f.on_delete(ForeignKeyAction::Cascade);
    }
    f
}

fn check(sql: &str) -> SimpleExpr {
    Expr::cust(sql.to_string())
}

fn in_list(col: &str, values: &[&str]) -> SimpleExpr {
    let list = values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ");
    check(&format!("{col} IN ({list})"))
}

fn currency_check() -> SimpleExpr {
    check("length(currency) = 3")
}

fn unique_index(table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!("uq_{table}_{}", cols.join("_"))).table(Alias::new(table)).unique();
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

fn index(table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!("ix_{table}_{}", cols.join("_"))).table(Alias::new(table));
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

fn tables() -> Vec<TableCreateStatement> {
    let mut v = Vec::new();

    let mut t = Table::create();
    t.table(Alias::new("users"));
    id(&mut t)
        .col(text("email").unique_key())
        .col(text("password_hash"))
        .col(text("role").default("shopper"))
        .col(ts("created_at"))
        .check(in_list("role", &["shopper", "seller", "admin"]));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("sellers"));
    id(&mut t)
        .col(ColumnDef::new(Alias::new("user_id")).big_integer().null().unique_key())
        .col(text("name"))
        .col(text("slug").unique_key())
        .col(ts("created_at"))
        .foreign_key(&mut fk("sellers", "user_id", "users", true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("addresses"));
    id(&mut t)
        .col(big("user_id"))
        .col(text("name"))
        .col(text("line1"))
        .col(text_null("line2"))
        .col(text("city"))
        .col(text_null("region"))
        .col(text("postal_code"))
        .col(text("country"))
        .col(boolean("is_default", false))
        .col(ts("created_at"))
        .check(check("length(country) = 2"))
        .foreign_key(&mut fk("addresses", "user_id", "users", true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("categories"));
    id(&mut t)
        .col(ColumnDef::new(Alias::new("parent_id")).big_integer().null())
        .col(text("slug").unique_key())
        .col(text("name"))
        .col(ColumnDef::new(Alias::new("position")).integer().not_null().default(0))
        .foreign_key(&mut fk("categories", "parent_id", "categories", false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("products"));
    id(&mut t)
        .col(big("seller_id"))
        .col(big("category_id"))
        .col(text("title"))
        .col(text("description"))
        .col(text("brand"))
        .col(text("tags").default(""))
        .col(text("status").default("draft"))
        .col(big("rating_sum").default(0))
        .col(big("rating_count").default(0))
        .col(ColumnDef::new(Alias::new("image_count")).integer().not_null().default(0))
        .col(ts("created_at"))
        .col(ts("updated_at"))
        .check(in_list("status", &["draft", "active", "archived"]))
        .check(check("rating_sum >= 0 AND rating_count >= 0"))
        .check(check("rating_sum <= 5 * rating_count"))
        .check(check("length(title) > 0"))
        .foreign_key(&mut fk("products", "seller_id", "sellers", false))
        .foreign_key(&mut fk("products", "category_id", "categories", false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("variants"));
    id(&mut t)
        .col(big("product_id"))
        .col(text("sku").unique_key())
        .col(text("attributes").default("{}"))
        .col(big("price_amount"))
        .col(text("currency"))
        .col(ColumnDef::new(Alias::new("position")).integer().not_null().default(0))
        .check(check("price_amount > 0"))
        .check(currency_check())
        .foreign_key(&mut fk("variants", "product_id", "products", true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("warehouses"));
    id(&mut t).col(text("code").unique_key()).col(text("name"));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("inventory"));
    id(&mut t)
        .col(big("variant_id"))
        .col(big("warehouse_id"))
        .col(big("quantity").default(0))
        .col(big("reserved").default(0))
        .col(big("version").default(0))
        .check(check("quantity >= 0"))
        .check(check("reserved >= 0"))
        .check(check("quantity >= reserved"))
        .foreign_key(&mut fk("inventory", "variant_id", "variants", true))
        .foreign_key(&mut fk("inventory", "warehouse_id", "warehouses", false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("orders"));
    id(&mut t)
        .col(big("user_id"))
        .col(text("status").default("pending"))
        .col(text("currency"))
        .col(big("subtotal"))
        .col(big("shipping"))
        .col(big("tax"))
        .col(big("total"))
        .col(text("shipping_address"))
        .col(text("shipping_method"))
        .col(text("idempotency_key").unique_key())
        .col(text("request_hash"))
        .col(ts("created_at"))
        .col(ts("updated_at"))
        .check(in_list(
            "status",
            &["pending", "paid", "shipped", "delivered", "cancelled", "refunded", "expired"],
        ))
        .check(check("subtotal >= 0 AND shipping >= 0 AND tax >= 0 AND total >= 0"))
        .check(check("total = subtotal + shipping + tax"))
        .check(currency_check())
        .foreign_key(&mut fk("orders", "user_id", "users", false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("order_items"));
    id(&mut t)
        .col(big("order_id"))
        .col(big("variant_id"))
        .col(big("product_id"))
        .col(text("title"))
        .col(text("sku"))
        .col(big("unit_price"))
        .col(text("currency"))
        .col(big("quantity"))
        .col(big("line_total"))
        .check(check("quantity > 0"))
        .check(check("unit_price >= 0"))
        .check(check("line_total = unit_price * quantity"))
        .check(currency_check())
        .foreign_key(&mut fk("order_items", "order_id", "orders", true))
        .foreign_key(&mut fk("order_items", "variant_id", "variants", false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("reservations"));
    id(&mut t)
        .col(ColumnDef::new(Alias::new("order_id")).big_integer().null())
        .col(text("checkout_ref"))
        .col(big("variant_id"))
        .col(big("warehouse_id"))
        .col(big("quantity"))
        .col(ts("expires_at"))
        .col(text("state").default("held"))
        .col(ts("created_at"))
        .check(check("quantity > 0"))
        .check(in_list("state", &["held", "committed", "released"]))
        .foreign_key(&mut fk("reservations", "order_id", "orders", false))
        .foreign_key(&mut fk("reservations", "variant_id", "variants", false))
        .foreign_key(&mut fk("reservations", "warehouse_id", "warehouses", false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("payments"));
    id(&mut t)
        .col(big("order_id"))
        .col(text("provider"))
        .col(text_null("intent_id"))
        .col(text("state").default("created"))
        .col(big("amount"))
        .col(text("currency"))
        .col(text("idempotency_key").unique_key())
        .col(ColumnDef::new(Alias::new("attempt")).integer().not_null().default(1))
        .col(ts("created_at"))
        .col(ts("updated_at"))
        .check(in_list(
            "state",
            &["created", "authorized", "captured", "settled", "voided", "refunded", "failed"],
        ))
        .check(check("amount >= 0"))
        .check(currency_check())
        .foreign_key(&mut fk("payments", "order_id", "orders", false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("refunds"));
    id(&mut t)
        .col(big("payment_id"))
        .col(big("order_id"))
        .col(big("amount"))
        .col(text("currency"))
        .col(text_null("provider_refund_id"))
        .col(text("reason").default(""))
        .col(ts("created_at"))
        .check(check("amount > 0"))
        .check(currency_check())
        .foreign_key(&mut fk("refunds", "payment_id", "payments", false))
        .foreign_key(&mut fk("refunds", "order_id", "orders", false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("webhook_events"));
    id(&mut t)
        .col(text("provider"))
        .col(text("event_id"))
        .col(text("event_type"))
        .col(text("payload"))
        .col(ts("received_at"))
        .col(ts_null("processed_at"));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("flash_sales"));
    id(&mut t)
        .col(big("product_id"))
        .col(big("variant_id"))
        .col(big("price_amount"))
        .col(text("currency"))
        .col(ts("starts_at"))
        .col(ts("ends_at"))
        .col(big("allocated"))
        .col(big("sold").default(0))
        .col(big("per_buyer_limit").default(1))
        .col(text("status").default("scheduled"))
        .col(ts("created_at"))
        .check(check("allocated >= 0"))
        .check(check("sold >= 0"))
        .check(check("sold <= allocated"))
        .check(check("per_buyer_limit > 0"))
        .check(check("price_amount > 0"))
        .check(check("ends_at > starts_at"))
        .check(currency_check())
        .check(in_list("status", &["scheduled", "active", "ended", "cancelled"]))
        .foreign_key(&mut fk("flash_sales", "product_id", "products", false))
        .foreign_key(&mut fk("flash_sales", "variant_id", "variants", false));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("sale_registrations"));
    id(&mut t)
        .col(big("sale_id"))
        .col(big("user_id"))
        .col(ts("created_at"))
        .foreign_key(&mut fk("sale_registrations", "sale_id", "flash_sales", true))
        .foreign_key(&mut fk("sale_registrations", "user_id", "users", true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("reviews"));
    id(&mut t)
        .col(big("product_id"))
        .col(big("user_id"))
        .col(ColumnDef::new(Alias::new("rating")).integer().not_null())
        .col(text("body"))
        .col(boolean("verified_purchase", false))
        .col(ts("created_at"))
        .check(check("rating BETWEEN 1 AND 5"))
        .foreign_key(&mut fk("reviews", "product_id", "products", true))
        .foreign_key(&mut fk("reviews", "user_id", "users", true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("wishlists"));
    id(&mut t)
        .col(big("user_id"))
        .col(big("product_id"))
        .col(ts("created_at"))
        .foreign_key(&mut fk("wishlists", "user_id", "users", true))
        .foreign_key(&mut fk("wishlists", "product_id", "products", true));
    v.push(t.to_owned());

    let mut t = Table::create();
    t.table(Alias::new("outbox"));
    id(&mut t)
        .col(text("topic"))
        .col(text("payload"))
        .col(ColumnDef::new(Alias::new("attempts")).integer().not_null().default(0))
        .col(ts("created_at"))
        .col(ts_null("processed_at"));
    v.push(t.to_owned());

    // The embedded cart store (DESIGN §3): a table, so a restart of the default loses no cart.
    let mut t = Table::create();
    t.table(Alias::new("cart_lines"));
    t.col(text("owner"))
        .col(text("sku"))
        .col(big("quantity"))
        .col(big("unit_price"))
        .col(text("currency"))
        .col(ts("added_at"))
        .col(ts("expires_at"))
        .primary_key(Index::create().col(Alias::new("owner")).col(Alias::new("sku")))
        .check(check("quantity > 0"));
    v.push(t.to_owned());

    v
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        unique_index("inventory", &["variant_id", "warehouse_id"]),
        unique_index("webhook_events", &["provider", "event_id"]),
        unique_index("sale_registrations", &["sale_id", "user_id"]),
        unique_index("reviews", &["product_id", "user_id"]),
        unique_index("wishlists", &["user_id", "product_id"]),
        unique_index("order_items", &["order_id", "variant_id"]),
        index("products", &["category_id", "status"]),
        index("products", &["seller_id"]),
        index("variants", &["product_id"]),
        index("categories", &["parent_id"]),
        index("addresses", &["user_id"]),
        index("orders", &["user_id"]),
        index("reservations", &["state", "expires_at"]),
        index("reservations", &["order_id"]),
        index("payments", &["order_id"]),
        index("outbox", &["processed_at"]),
        index("cart_lines", &["expires_at"]),
    ]
}

const DROP_ORDER: &[&str] = &[
    "cart_lines",
    "outbox",
    "wishlists",
    "reviews",
    "sale_registrations",
    "flash_sales",
    "webhook_events",
    "refunds",
    "payments",
    "reservations",
    "order_items",
    "orders",
    "inventory",
    "warehouses",
    "variants",
    "products",
    "categories",
    "addresses",
    "sellers",
    "users",
];

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
        for name in DROP_ORDER {
            manager.drop_table(Table::drop().table(Alias::new(*name)).to_owned()).await?;
        }
        Ok(())
    }
}
