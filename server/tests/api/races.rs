//! One shopper, many requests at once (a double click, a script with threads): sent together
//! through the real router, on both stock gates (embedded and Redis) and both databases.
//! The per-buyer limit and the sale's count stay exact.

use std::time::{Duration, Instant};

use app::db::{order, order_item, refund, sale_hold};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, Visitor, spawn_app, spawn_app_with_redis, unique_name};
use crate::sale_buy::{admitted, scheduled, start};

async fn sixteen_buys_at_once_make_one_hold(app: TestApp) -> anyhow::Result<()> {
    let id = scheduled(&app, "RACE-1", 4, 1).await?;
    start(&app, id).await?;
    let sam = app.visitor();
    sam.register(&format!("{}@example.com", unique_name("sam")), "a long enough password").await?;
    let token = admitted(&app, &sam, id).await?;
    let path = format!("/api/v1/sales/{id}/buy");
    let body = json!({"token": token});

    // Hold new rows of sale_holds back (readers go on) while the buys arrive, so that the
    // first hold is taken at the gate but not yet recorded when the others ask: the window in
    // which parallel buys used to give the hold back and take new ones.
    let blocker = app::db::connect(&app.config.database_url).await?;
    let lock = blocker.begin().await?;
    match blocker.get_database_backend() {
        sea_orm::DbBackend::Postgres => lock.execute_unprepared("LOCK TABLE sale_holds IN SHARE MODE").await?,
        // SQLite: this transaction takes the one write lock (readers are not held back).
        _ => lock.execute_unprepared("UPDATE sale_holds SET quantity = quantity WHERE 1 = 0").await?,
    };
    let buys: Vec<_> = (0..16)
        .map(|_| {
            let (client, url, body) = (sam.client.clone(), app.url(&path), body.clone());
            tokio::spawn(async move {
                let res = client.post(url).json(&body).send().await?;
                Ok::<_, anyhow::Error>((res.status().as_u16(), res.json::<Value>().await?))
            })
        })
        .collect();
    // Until the gate has handed out the first unit, then a moment for the rest to arrive (the
    // buys that come later only find the hold recorded; what passes or fails does not depend
    // on how long this is).
    let started = Instant::now();
    while app.state.stores.stock_gate.remaining(id).await?.unwrap_or(4) == 4 {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(10), "no buy reached the gate within 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    lock.rollback().await?;
    let mut answers = Vec::new();
    for buy in buys {
        answers.push(buy.await?);
    }

    let mut holds = std::collections::BTreeSet::new();
    let mut created = 0;
    for answer in answers {
        let (status, hold) = answer?;
        match status {
            201 | 200 => {
                created += usize::from(status == 201);
                holds.insert(hold["hold_id"].as_str().unwrap_or_default().to_owned());
            }
            409 => {}
            other => panic!("a buy at once with others: {other} {hold}"),
        }
    }
    assert_eq!(created, 1, "one new hold, the others are it again: {holds:?}");
    assert_eq!(holds.len(), 1, "one hold for one shopper with a limit of 1: {holds:?}");
    let rows = sale_hold::Entity::find().filter(sale_hold::Column::SaleId.eq(id)).all(&app.db).await?;
    let live: Vec<_> = rows.iter().filter(|h| h.state.is_live()).collect();
    assert_eq!(live.len(), 1, "one live hold in the database: {rows:?}");
    assert_eq!(Some(live[0].id.as_str()), holds.iter().next().map(String::as_str), "the hold every answer named is the recorded one");

    // The sale's count is allocation − live holds − sold, as a second shopper sees it.
    let (_, sale) = app.get_json(&format!("/api/v1/sales/{id}")).await?;
    assert_eq!(sale["remaining"], 3, "{sale}");
    let dee = app.visitor();
    dee.register(&format!("{}@example.com", unique_name("dee")), "a long enough password").await?;
    let token = admitted(&app, &dee, id).await?;
    let (status, hold) = dee.post(&path, json!({"token": token})).await?;
    assert_eq!(status, 201, "{hold}");
    assert_eq!(hold["remaining"], 2, "{hold}");
    // Sam once more, later: the same hold, never a second.
    let (status, again) = sam.post(&path, body).await?;
    assert_eq!((status, again["hold_id"].as_str()), (200, holds.iter().next().map(String::as_str)), "{again}");
    Ok(())
}

async fn sixteen_buys_at_once_on_the_embedded_gate(backend: Backend) -> anyhow::Result<()> {
    sixteen_buys_at_once_make_one_hold(spawn_app(backend).await?).await
}

async fn sixteen_buys_at_once_on_the_redis_gate(backend: Backend) -> anyhow::Result<()> {
    sixteen_buys_at_once_make_one_hold(spawn_app_with_redis(backend).await?).await
}

/// A seller with two products, and a shipped order of one unit of each paid with the demo
/// gateway: (the seller, the order id, its total).
async fn shipped_order(app: &TestApp) -> anyhow::Result<(Visitor, i64, i64)> {
    let ann = app.visitor();
    let (status, body) = ann
        .post("/api/v1/auth/register", json!({"email": format!("{}@example.com", unique_name("ann")), "password": "long enough", "role": "seller", "seller_name": "Ann's"}))
        .await?;
    anyhow::ensure!(status == 201, "{body}");
    for (sku, amount) in [("REF-A", 2500), ("REF-B", 1200)] {
        let (status, p) = ann
            .post("/api/v1/seller/products", json!({"title": format!("Refund {sku}"), "brand": "Own", "status": "active",
                "variants": [{"sku": sku, "price": {"amount": amount, "currency": "EUR"}, "stock": 5}]}))
            .await?;
        anyhow::ensure!(status == 201, "{p}");
    }
    let cy = app.visitor();
    cy.register(&format!("{}@example.com", unique_name("cy")), "long enough").await?;
    for sku in ["REF-A", "REF-B"] {
        cy.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 1})).await?;
    }
    let res = cy
        .client
        .post(app.url("/api/v1/orders/checkout"))
        .header("Idempotency-Key", "refund-race")
        .json(&json!({
            "shipping_address": {"name": "Cy Lee", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
            "shipping_method": "standard", "payment_method_id": "pm_card_visa"
        }))
        .send()
        .await?;
    anyhow::ensure!(res.status().as_u16() == 201, "checkout: {}", res.status());
    let placed: Value = res.json().await?;
    let id = placed["order_id"].as_i64().unwrap();
    let (status, shipped) = ann.post(&format!("/api/v1/seller/orders/{id}/ship"), json!({"tracking_number": "DHL 1"})).await?;
    anyhow::ensure!(status == 200, "ship: {shipped}");
    Ok((ann, id, placed["total"]["amount"].as_i64().unwrap()))
}

/// `n` refunds of one order at once, each with its own Idempotency-Key (a double click, two
/// admins): their statuses.
async fn refunds_at_once(app: &TestApp, seller: &Visitor, id: i64, body: Value, n: usize) -> anyhow::Result<Vec<(u16, Value)>> {
    let url = app.url(&format!("/api/v1/seller/orders/{id}/refund"));
    let sends = (0..n).map(|i| {
        let req = seller.client.post(&url).header("Idempotency-Key", format!("{}-{i}", unique_name("r"))).json(&body);
        async move {
            let res = req.send().await?;
            Ok::<_, anyhow::Error>((res.status().as_u16(), res.json::<Value>().await?))
        }
    });
    futures::future::join_all(sends).await.into_iter().collect()
}

async fn eight_full_refunds_at_once_refund_once(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, id, total) = shipped_order(&app).await?;
    let answers = refunds_at_once(&app, &ann, id, json!({}), 8).await?;
    let done = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(done, 1, "one refund of the whole order: {answers:?}");
    assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 409), "the others are told it was refunded: {answers:?}");
    let rows = refund::Entity::find().filter(refund::Column::OrderId.eq(id)).all(&app.db).await?;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].amount, total);
    assert!(rows[0].provider_refund_id.is_some(), "done at the provider");
    let o = order::Entity::find_by_id(id).one(&app.db).await?.unwrap();
    assert_eq!((o.refunded, o.status.as_str()), (total, "refunded"));
    // And once more afterwards: nothing is left.
    let (status, body) = refunds_at_once(&app, &ann, id, json!({}), 1).await?.remove(0);
    assert_eq!(status, 409, "{body}");
    Ok(())
}

async fn eight_refunds_of_one_line_at_once_refund_it_once(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, id, total) = shipped_order(&app).await?;
    let answers = refunds_at_once(&app, &ann, id, json!({"lines": [{"sku": "REF-A", "quantity": 1}]}), 8).await?;
    let done = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(done, 1, "the line's one unit, refunded once: {answers:?}");
    assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 409), "{answers:?}");
    let rows = refund::Entity::find().filter(refund::Column::OrderId.eq(id)).all(&app.db).await?;
    assert_eq!(rows.iter().map(|r| r.amount).collect::<Vec<_>>(), vec![2500], "{rows:?}");
    let o = order::Entity::find_by_id(id).one(&app.db).await?.unwrap();
    assert_eq!((o.refunded, o.status.as_str()), (2500, "shipped"), "the other line is still the shopper's");
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(id)).all(&app.db).await?;
    let refunded = |sku: &str| items.iter().find(|i| i.sku == sku).map(|i| i.refunded_quantity);
    assert_eq!((refunded("REF-A"), refunded("REF-B")), (Some(1), Some(0)));
    // What is left refunds whole, once: the other line, shipping and tax.
    let answers = refunds_at_once(&app, &ann, id, json!({}), 4).await?;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 200).count(), 1, "{answers:?}");
    let o = order::Entity::find_by_id(id).one(&app.db).await?.unwrap();
    assert_eq!((o.refunded, o.status.as_str()), (total, "refunded"));
    Ok(())
}

/// A refund recorded but never confirmed by the provider (the process died while it asked)
/// is sent again, with the key made from its row, by the order's next refund: once, not twice.
async fn a_refund_cut_off_before_the_answer_is_sent_again_with_its_key(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, id, _) = shipped_order(&app).await?;
    let (status, body) = refunds_at_once(&app, &ann, id, json!({"lines": [{"sku": "REF-A", "quantity": 1}]}), 1).await?.remove(0);
    assert_eq!(status, 200, "{body}");
    // As if the answer never came: no provider id, and a minute old.
    let first = refund::Entity::find().filter(refund::Column::OrderId.eq(id)).one(&app.db).await?.unwrap();
    refund::Entity::update_many()
        .col_expr(refund::Column::ProviderRefundId, Expr::value(Option::<String>::None))
        .col_expr(refund::Column::CreatedAt, Expr::value(chrono::Utc::now() - chrono::Duration::seconds(60)))
        .filter(refund::Column::Id.eq(first.id))
        .exec(&app.db)
        .await?;
    let (status, body) = refunds_at_once(&app, &ann, id, json!({"lines": [{"sku": "REF-B", "quantity": 1}]}), 1).await?.remove(0);
    assert_eq!(status, 200, "{body}");
    let rows = refund::Entity::find().filter(refund::Column::OrderId.eq(id)).all(&app.db).await?;
    assert_eq!(rows.len(), 2, "no third refund: {rows:?}");
    let again = rows.iter().find(|r| r.id == first.id).unwrap();
    assert_eq!(again.provider_refund_id.as_deref(), Some(format!("demo_re_sellout-refund-{}", first.id).as_str()), "sent with the key of its row");
    let o = order::Entity::find_by_id(id).one(&app.db).await?.unwrap();
    assert_eq!(o.refunded, 2500 + 1200, "each line refunded once");
    Ok(())
}

crate::on_both_databases!(
    a_refund_cut_off_before_the_answer_is_sent_again_with_its_key,
    sixteen_buys_at_once_on_the_embedded_gate,
    sixteen_buys_at_once_on_the_redis_gate,
    eight_full_refunds_at_once_refund_once,
    eight_refunds_of_one_line_at_once_refund_it_once,
);
