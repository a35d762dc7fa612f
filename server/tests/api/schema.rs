//! The schema's rules hold on both databases: the database itself refuses bad rows.

use app::db::{flash_sale, order, payment, product, reservation};
use app::states::{OrderStatus, PaymentState, ProductStatus, ReservationState, SaleStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, Statement};

use crate::helpers::{Backend, migrated_database};

async fn base_rows(db: &DatabaseConnection) -> Result<(), DbErr> {
    let now = "'2026-01-01 00:00:00+00:00'";
    for sql in [
        format!("INSERT INTO users (id, email, password_hash, role, created_at) VALUES (1, 'a@example.com', 'x', 'shopper', {now})"),
        format!("INSERT INTO sellers (id, name, slug, created_at) VALUES (1, 'S', 's', {now})"),
        "INSERT INTO categories (id, slug, name, position) VALUES (1, 'c', 'C', 0)".to_owned(),
        format!("INSERT INTO products (id, seller_id, category_id, title, description, brand, status, created_at, updated_at) VALUES (1, 1, 1, 'T', 'D', 'B', 'active', {now}, {now})"),
        "INSERT INTO variants (id, product_id, sku, attributes, price_amount, currency) VALUES (1, 1, 'SKU-1', '{}', 1000, 'EUR')".to_owned(),
        "INSERT INTO warehouses (id, code, name) VALUES (1, 'W1', 'One')".to_owned(),
        "INSERT INTO inventory (id, variant_id, warehouse_id, quantity, reserved, version) VALUES (1, 1, 1, 5, 0, 0)".to_owned(),
    ] {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

async fn refused(db: &DatabaseConnection, sql: &str) -> bool {
    db.execute_unprepared(sql).await.is_err()
}

async fn stock_can_never_go_negative_or_below_reserved(backend: Backend) -> anyhow::Result<()> {
    let db = migrated_database(backend).await?;
    base_rows(&db).await?;
    assert!(refused(&db, "INSERT INTO inventory (variant_id, warehouse_id, quantity, reserved, version) VALUES (1, 1, -1, 0, 0)").await);
    assert!(refused(&db, "UPDATE inventory SET quantity = quantity - 6 WHERE id = 1").await, "5 - 6 < 0");
    assert!(refused(&db, "UPDATE inventory SET reserved = -1 WHERE id = 1").await);
    assert!(refused(&db, "UPDATE inventory SET reserved = 6 WHERE id = 1").await, "reserved above quantity");
    assert!(!refused(&db, "UPDATE inventory SET reserved = 5 WHERE id = 1").await, "reserving all of it is fine");
    // The conditional update a checkout uses: affects no row when stock is short.
    let res = db.execute_unprepared("UPDATE inventory SET reserved = reserved + 1, version = version + 1 WHERE id = 1 AND quantity - reserved >= 1").await?;
    assert_eq!(res.rows_affected(), 0);
    assert!(refused(&db, "INSERT INTO inventory (variant_id, warehouse_id, quantity, reserved, version) VALUES (1, 1, 3, 0, 0)").await, "one row per variant and warehouse");
    Ok(())
}

async fn money_and_enumerations_are_checked(backend: Backend) -> anyhow::Result<()> {
    let db = migrated_database(backend).await?;
    base_rows(&db).await?;
    assert!(refused(&db, "INSERT INTO variants (product_id, sku, attributes, price_amount, currency) VALUES (1, 'SKU-2', '{}', 0, 'EUR')").await, "price must be positive");
    assert!(refused(&db, "INSERT INTO variants (product_id, sku, attributes, price_amount, currency) VALUES (1, 'SKU-3', '{}', 100, 'EURO')").await, "ISO currency");
    assert!(refused(&db, "INSERT INTO variants (product_id, sku, attributes, price_amount, currency) VALUES (1, 'SKU-1', '{}', 100, 'EUR')").await, "sku unique");
    assert!(refused(&db, "INSERT INTO users (email, password_hash, role, created_at) VALUES ('a@example.com', 'x', 'shopper', '2026-01-01 00:00:00+00:00')").await, "email unique");
    assert!(refused(&db, "INSERT INTO users (email, password_hash, role, created_at) VALUES ('b@example.com', 'x', 'superuser', '2026-01-01 00:00:00+00:00')").await, "role");
    assert!(refused(&db, "UPDATE products SET status = 'deleted' WHERE id = 1").await, "product status");
    let now = "'2026-01-01 00:00:00+00:00'";
    let later = "'2026-01-02 00:00:00+00:00'";
    assert!(
        refused(&db, &format!("INSERT INTO flash_sales (product_id, variant_id, price_amount, currency, starts_at, ends_at, allocated, sold, per_buyer_limit, status, created_at) VALUES (1, 1, 500, 'EUR', {now}, {later}, 10, 11, 1, 'active', {now})")).await,
        "a flash sale can never sell more than allocated"
    );
    assert!(!refused(&db, &format!("INSERT INTO flash_sales (id, product_id, variant_id, price_amount, currency, starts_at, ends_at, allocated, sold, per_buyer_limit, status, created_at) VALUES (1, 1, 1, 500, 'EUR', {now}, {later}, 10, 10, 1, 'active', {now})")).await);
    assert!(refused(&db, "UPDATE flash_sales SET sold = sold + 1 WHERE id = 1").await);
    assert!(
        refused(&db, &format!("INSERT INTO reviews (product_id, user_id, rating, body, verified_purchase, created_at) VALUES (1, 1, 6, 'x', false, {now})")).await,
        "rating 1-5"
    );
    db.execute_unprepared(&format!("INSERT INTO reviews (product_id, user_id, rating, body, verified_purchase, created_at) VALUES (1, 1, 5, 'x', false, {now})")).await?;
    assert!(
        refused(&db, &format!("INSERT INTO reviews (product_id, user_id, rating, body, verified_purchase, created_at) VALUES (1, 1, 4, 'y', false, {now})")).await,
        "one review per user and product"
    );
    assert!(
        refused(&db, &format!("INSERT INTO orders (user_id, status, currency, subtotal, shipping, tax, total, shipping_address, shipping_method, idempotency_key, request_hash, created_at, updated_at) VALUES (1, 'pending', 'EUR', 100, 10, 5, 999, '{{}}', 'standard', 'k1', 'h', {now}, {now})")).await,
        "an order's total is the sum of its parts"
    );
    Ok(())
}

/// Rows written as the code before typed states wrote them (plain text, raw SQL) read back as
/// the enums, every value the CHECK constraints allow; and the enums write that same text. So
/// databases made by older versions need no migration.
async fn stored_states_read_back_as_their_types(backend: Backend) -> anyhow::Result<()> {
    let db = migrated_database(backend).await?;
    base_rows(&db).await?;
    let now = "'2026-01-01 00:00:00+00:00'";
    let later = "'2026-01-02 00:00:00+00:00'";
    let orders = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded", "expired"];
    for (i, status) in orders.iter().enumerate() {
        db.execute_unprepared(&format!("INSERT INTO orders (id, user_id, status, currency, subtotal, shipping, tax, total, shipping_address, shipping_method, idempotency_key, request_hash, created_at, updated_at) VALUES ({id}, 1, '{status}', 'EUR', 100, 0, 0, 100, '{{}}', 'standard', 'k{id}', 'h', {now}, {now})", id = i + 1)).await?;
    }
    let read: Vec<OrderStatus> = order::Entity::find().order_by_asc(order::Column::Id).all(&db).await?.into_iter().map(|o| o.status).collect();
    assert_eq!(read, OrderStatus::ALL, "every stored order status reads back, in the old text");
    for (id, status) in [(2, "draft"), (3, "archived")] {
        db.execute_unprepared(&format!("INSERT INTO products (id, seller_id, category_id, title, description, brand, status, created_at, updated_at) VALUES ({id}, 1, 1, 'T', 'D', 'B', '{status}', {now}, {now})")).await?;
    }
    let read: Vec<ProductStatus> = product::Entity::find().order_by_asc(product::Column::Id).all(&db).await?.into_iter().map(|p| p.status).collect();
    assert_eq!(read, [ProductStatus::Active, ProductStatus::Draft, ProductStatus::Archived]);
    let payments = ["created", "authorized", "captured", "settled", "voided", "refunded", "failed"];
    for (i, state) in payments.iter().enumerate() {
        db.execute_unprepared(&format!("INSERT INTO payments (id, order_id, provider, state, amount, currency, idempotency_key, attempt, created_at, updated_at) VALUES ({id}, 1, 'demo', '{state}', 100, 'EUR', 'p{id}', 1, {now}, {now})", id = i + 1)).await?;
    }
    let read: Vec<PaymentState> = payment::Entity::find().order_by_asc(payment::Column::Id).all(&db).await?.into_iter().map(|p| p.state).collect();
    assert_eq!(read, PaymentState::ALL);
    for (i, state) in ["held", "committed", "released"].iter().enumerate() {
        db.execute_unprepared(&format!("INSERT INTO reservations (id, order_id, checkout_ref, variant_id, warehouse_id, quantity, expires_at, state, created_at) VALUES ({id}, 1, 'order-1', 1, 1, 1, {later}, '{state}', {now})", id = i + 1)).await?;
    }
    let read: Vec<ReservationState> = reservation::Entity::find().order_by_asc(reservation::Column::Id).all(&db).await?.into_iter().map(|r| r.state).collect();
    assert_eq!(read, ReservationState::ALL);
    for (i, status) in ["scheduled", "active", "ended", "cancelled"].iter().enumerate() {
        db.execute_unprepared(&format!("INSERT INTO flash_sales (id, product_id, variant_id, price_amount, currency, starts_at, ends_at, allocated, sold, per_buyer_limit, status, created_at) VALUES ({id}, 1, 1, 500, 'EUR', {now}, {later}, 10, 0, 1, '{status}', {now})", id = i + 1)).await?;
    }
    let read: Vec<SaleStatus> = flash_sale::Entity::find().order_by_asc(flash_sale::Column::Id).all(&db).await?.into_iter().map(|s| s.status).collect();
    assert_eq!(read, SaleStatus::ALL);
    // Written through the typed entity, the column holds the same text the old code wrote.
    order::Entity::update_many()
        .col_expr(order::Column::Status, sea_orm::sea_query::Expr::value(OrderStatus::Shipped))
        .filter(order::Column::Id.eq(1))
        .exec(&db)
        .await?;
    let backend_kind = db.get_database_backend();
    let row = db.query_one_raw(Statement::from_string(backend_kind, "SELECT status FROM orders WHERE id = 1".to_owned())).await?.expect("order 1");
    assert_eq!(row.try_get::<String>("", "status")?, "shipped");
    assert!(refused(&db, "UPDATE payments SET state = 'approved' WHERE id = 1").await, "only the enum's values are allowed");
    Ok(())
}

/// Our tables, by name (not the migration bookkeeping).
async fn table_names(db: &DatabaseConnection) -> anyhow::Result<Vec<String>> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations' ORDER BY name",
        _ => "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'seaql_migrations' ORDER BY table_name",
    };
    let rows = db.query_all_raw(Statement::from_string(backend, sql.to_owned())).await?;
    Ok(rows.iter().map(|r| r.try_get::<String>("", "name")).collect::<Result<_, _>>()?)
}

/// Every migration can be undone: all the way down leaves none of our tables, and up again
/// gives back the same ones (so the `down` steps name the tables and columns the `up` steps made).
async fn migrations_go_down_and_up_again(backend: Backend) -> anyhow::Result<()> {
    use migrations::{Migrator, MigratorTrait};
    let db = migrated_database(backend).await?;
    let made = table_names(&db).await?;
    assert!(made.len() > 20 && made.contains(&"orders".to_owned()) && made.contains(&"reconciliation_findings".to_owned()), "{made:?}");
    Migrator::down(&db, None).await?;
    assert_eq!(table_names(&db).await?, Vec::<String>::new(), "down leaves nothing behind");
    Migrator::up(&db, None).await?;
    assert_eq!(table_names(&db).await?, made);
    base_rows(&db).await?;
    Ok(())
}

/// Orders shipped before shipments existed become one shipment each, with their tracking
/// number, carrier and times; a shipment is shipped (with a number) or cancelled, one per
/// order and seller.
async fn shipped_orders_become_shipments(backend: Backend) -> anyhow::Result<()> {
    use app::db::shipment;
    use migrations::{Migrator, MigratorTrait};
    let db = migrated_database(backend).await?;
    // Back to before the shipments' migration, however many came after it.
    let from_shipments = Migrator::migrations().iter().rev().position(|m| m.name() == "m20261207_000015_shipments").expect("the shipments' migration") + 1;
    Migrator::down(&db, Some(from_shipments as u32)).await?;
    base_rows(&db).await?;
    let (now, later) = ("'2026-01-01 00:00:00+00:00'", "'2026-01-03 00:00:00+00:00'");
    for (id, status, shipped) in [(1, "delivered", true), (2, "paid", false)] {
        let (tracking, at) = if shipped { ("'JJD1'", later) } else { ("NULL", "NULL") };
        db.execute_unprepared(&format!(
            "INSERT INTO orders (id, user_id, status, currency, subtotal, shipping, tax, total, shipping_address, shipping_method, idempotency_key, request_hash, created_at, updated_at, tracking_number, carrier, shipped_at, delivered_at) \
             VALUES ({id}, 1, '{status}', 'EUR', 2000, 0, 0, 2000, '{{}}', 'standard', 'k{id}', 'h', {now}, {now}, {tracking}, 'dhl', {at}, {at})"
        ))
        .await?;
        db.execute_unprepared(&format!("INSERT INTO order_items (order_id, variant_id, product_id, title, sku, unit_price, currency, quantity, line_total) VALUES ({id}, 1, 1, 'T', 'SKU-1', 1000, 'EUR', 2, 2000)")).await?;
    }
    Migrator::up(&db, None).await?;
    let rows = shipment::Entity::find().all(&db).await?;
    assert_eq!(rows.len(), 1, "only the shipped order: {rows:?}");
    let s = &rows[0];
    assert_eq!((s.order_id, s.seller_id, s.tracking_number.as_deref(), s.carrier.as_deref()), (1, 1, Some("JJD1"), Some("dhl")));
    assert!(s.shipped_at.is_some() && s.delivered_at.is_some() && s.cancelled_at.is_none(), "{s:?}");
    assert!(refused(&db, &format!("INSERT INTO shipments (order_id, seller_id, created_at, updated_at) VALUES (2, 1, {now}, {now})")).await, "neither shipped nor cancelled");
    assert!(refused(&db, &format!("INSERT INTO shipments (order_id, seller_id, shipped_at, created_at, updated_at) VALUES (2, 1, {now}, {now}, {now})")).await, "shipped without a number");
    assert!(refused(&db, &format!("INSERT INTO shipments (order_id, seller_id, tracking_number, shipped_at, created_at, updated_at) VALUES (1, 1, 'X', {now}, {now}, {now})")).await, "one per order and seller");
    assert!(!refused(&db, &format!("INSERT INTO shipments (order_id, seller_id, cancelled_at, cancel_reason, created_at, updated_at) VALUES (2, 1, {now}, 'gone', {now}, {now})")).await);
    Ok(())
}

/// Every connection of the embedded database plans a statement once (`app::db::sqlite_plans_stay`:
/// without it each `LIMIT ?` made SQLite prepare the statement again on every run), and a
/// statement kept prepared still takes each new `LIMIT` it is given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_connections_keep_their_plans_and_honour_each_limit() -> anyhow::Result<()> {
    use sea_orm::sqlx;
    let db = migrated_database(Backend::Sqlite).await?;
    let pool = db.get_sqlite_connection_pool();
    let mut held = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        held.push(pool.acquire().await?);
    }
    assert!(held.len() >= 2, "the pool opens more than one connection");
    for conn in &mut held {
        let mut handle = conn.lock_handle().await?;
        assert_eq!(app::db::sqlite_plans_stay(&mut handle, None), Ok(true), "every connection, not only the first");
    }
    drop(held);
    for limit in [1i64, 3, 2, 0, 3] {
        let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) ORDER BY n LIMIT ?").bind(limit).fetch_all(pool).await?;
        assert_eq!(rows, (1..=limit).collect::<Vec<_>>(), "LIMIT {limit}");
    }
    Ok(())
}

crate::on_both_databases!(
    shipped_orders_become_shipments,
    stock_can_never_go_negative_or_below_reserved,
    money_and_enumerations_are_checked,
    stored_states_read_back_as_their_types,
    migrations_go_down_and_up_again
);
