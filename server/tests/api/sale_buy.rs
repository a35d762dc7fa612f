//! Buying in a flash sale: the waiting room (sign in, the pre-start draw anyone can check, the
//! rounds that let shoppers in), the buy through the stock gate (token, per-buyer limit, one
//! hold each, sold out), the hold checked out at the sale price, holds that lapse back exactly
//! once, 2,000 buyers racing for 100 units, and a Redis that goes away and comes back.

use std::sync::Arc;

use app::accounts::{CurrentUser, Role};
use app::db::{flash_sale, order_item, sale_hold, user};
use app::flash::{BuyRequest, service};
use app::ids::{HoldId, SaleId};
use app::error::AppError;
use app::states::{HoldState, OrderStatus};
use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, Visitor, spawn_app, spawn_app_with, test_config, fresh_database_url, unique_name};
use crate::seller::seller;

/// A sale of 7 units' `allocation`, starting in an hour, at most `limit` each.
pub async fn scheduled(app: &TestApp, sku: &str, allocation: i64, limit: i64) -> anyhow::Result<i64> {
    let (ann, _) = seller(app, &format!("{}@example.com", unique_name("ann")), "Ann's Lamps").await?;
    let (status, body) = ann
        .post("/api/v1/seller/products", json!({"title": "Zephyrine Desk Lamp", "brand": "Lumo", "status": "active", "variants": [{"sku": sku, "attributes": {"colour": "navy"}, "price": {"amount": 4999, "currency": "EUR"}, "stock": allocation + 2}]}))
        .await?;
    anyhow::ensure!(status == 201, "creating the product: {status} {body}");
    let at = |h: i64| (Utc::now() + Duration::hours(h)).to_rfc3339();
    let (status, s) = ann
        .post("/api/v1/seller/sales", json!({"sku": sku, "price": {"amount": 2999, "currency": "EUR"}, "starts_at": at(1), "ends_at": at(2), "allocation": allocation, "per_buyer_limit": limit, "admission_rate": 1000}))
        .await?;
    anyhow::ensure!(status == 201, "scheduling: {status} {s}");
    Ok(s["sale_id"].as_i64().unwrap())
}

/// The clock reaches the start: the sale turns active (the test cannot wait an hour).
pub async fn start(app: &TestApp, id: i64) -> anyhow::Result<()> {
    flash_sale::Entity::update_many()
        .col_expr(flash_sale::Column::StartsAt, Expr::value(Utc::now() - Duration::seconds(1)))
        .filter(flash_sale::Column::Id.eq(id))
        .exec(&app.db)
        .await?;
    service::transitions(&app.state).await?;
    // A gate loaded by an early join learns the moved start, as after an edit.
    let sale = flash_sale::Entity::find_by_id(id).one(&app.db).await?.unwrap();
    service::rewarm(&app.state, &sale).await?;
    Ok(())
}

/// Runs admission rounds until `v` is let in (a round runs once a second); their token.
pub async fn admitted(app: &TestApp, v: &Visitor, id: i64) -> anyhow::Result<String> {
    for _ in 0..30 {
        service::admit_round(&app.state).await?;
        let (status, q) = v.post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
        anyhow::ensure!(status == 200, "queue: {status} {q}");
        if q["admitted"] == true {
            return Ok(q["token"].as_str().unwrap().to_owned());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let last = v.post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
    anyhow::bail!("not let in within 6 s: {last:?}, round: {:?}", service::admit_round(&app.state).await)
}

fn checkout_body(hold_id: &str, pm: &str) -> Value {
    json!({
        "shipping_address": {"name": "Sam Lee", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "shipping_method": "standard",
        "payment_method_id": pm,
        "hold_id": hold_id
    })
}

async fn checkout(v: &Visitor, key: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    let res = v.client.post(format!("{}/api/v1/orders/checkout", v.address)).header("Idempotency-Key", key).json(&body).send().await?;
    Ok((res.status().as_u16(), res.json().await?))
}

pub async fn sold(db: &DatabaseConnection, id: i64) -> anyhow::Result<i64> {
    Ok(flash_sale::Entity::find_by_id(id).one(db).await?.unwrap().sold)
}

pub async fn user_id(db: &DatabaseConnection, email: &str) -> anyhow::Result<i64> {
    Ok(user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await?.unwrap().id)
}

async fn a_shopper_queues_is_let_in_buys_and_checks_out_at_the_sale_price(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let id = scheduled(&app, "FB-1", 3, 1).await?;
    let q = format!("/api/v1/sales/{id}/queue");
    let (status, body) = app.visitor().post(&q, json!({})).await?;
    assert_eq!(status, 401, "a guest must sign in to join: {body}");

    // Before the start: a place in line, a wait, and the seed's hash only.
    let sam = app.visitor();
    sam.register("sam@example.com", "long enough").await?;
    let (status, place) = sam.post(&q, json!({})).await?;
    assert_eq!((status, place["position"].as_i64(), place["admitted"].as_bool()), (200, Some(1), Some(false)), "{place}");
    assert!(place["eta_seconds"].as_i64().unwrap() > 3000, "the wait runs to the start: {place}");
    assert_eq!(place["remaining"], 3, "the honest odds beside the place");
    assert_eq!(sam.post(&q, json!({})).await?.1["ticket"], place["ticket"], "joining again is the same place");
    let (_, sale) = sam.get(&format!("/api/v1/sales/{id}")).await?;
    let (_, draw) = sam.get(&format!("/api/v1/sales/{id}/draw")).await?;
    assert_eq!((draw["seed"].clone(), draw["seed_sha256"].clone()), (Value::Null, sale["draw_seed_sha256"].clone()), "{draw}");
    assert_eq!(sale["draw_seed"], Value::Null, "the seed stays secret before the start");
    let (status, body) = sam.post(&format!("/api/v1/sales/{id}/buy"), json!({"token": "anything"})).await?;
    assert_eq!(status, 409, "nothing is sold before the start: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not live"), "{body}");

    // The start: let in, and the seed revealed so the draw can be checked.
    start(&app, id).await?;
    let token = admitted(&app, &sam, id).await?;
    let (_, draw) = sam.get(&format!("/api/v1/sales/{id}/draw")).await?;
    let seed = draw["seed"].as_str().expect("revealed after the start");
    assert_eq!(service::sha256_hex(seed), draw["seed_sha256"].as_str().unwrap(), "the seed matches the hash published before");
    let uid = user_id(&app.db, "sam@example.com").await?;
    assert_eq!(draw["your_ticket"].as_str(), Some(service::ticket_of(seed, uid).as_str()), "the ticket follows from the seed: {draw}");
    assert_eq!(draw["your_place"], 1);

    // The buy: refusals say why, by code; then a hold at the sale price, one per shopper.
    let buy = format!("/api/v1/sales/{id}/buy");
    let (status, body) = sam.post(&buy, json!({"token": "forged"})).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("not_admitted")), "{body}");
    let (status, body) = sam.post(&buy, json!({"token": token, "quantity": 2})).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("limit_exceeded")), "{body}");
    let (status, body) = sam.post(&buy, json!({"token": token, "quantity": 0})).await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["fields"]["quantity"].is_string(), "{body}");
    let (status, hold) = sam.post(&buy, json!({"token": token})).await?;
    assert_eq!((status, hold["quantity"].as_i64(), hold["price"]["amount"].as_i64(), hold["remaining"].as_i64()), (201, Some(1), Some(2999), Some(2)), "{hold}");
    let hold_id = hold["hold_id"].as_str().unwrap().to_owned();
    let (status, again) = sam.post(&buy, json!({"token": token})).await?;
    assert_eq!((status, again["hold_id"].as_str()), (200, Some(hold_id.as_str())), "buying again answers the same hold");
    assert_eq!(sam.get(&format!("/api/v1/sales/holds/{hold_id}")).await?.0, 200);
    assert_eq!(app.visitor().get(&format!("/api/v1/sales/holds/{hold_id}")).await?.0, 401);

    // Checked out through the saga at the sale price; the cart is not touched.
    let other = crate::cart_api::in_stock_skus(&app, 1, 1).await?.remove(0);
    let (status, cart) = sam.post("/api/v1/cart/items", json!({"sku": other, "quantity": 1})).await?;
    assert!(status == 200 || status == 201, "{cart}");
    let (status, order) = checkout(&sam, "sale-key-1", checkout_body(&hold_id, "pm_card_visa")).await?;
    assert_eq!((status, order["status"].as_str()), (201, Some("paid")), "{order}");
    let order_id = order["order_id"].as_i64().unwrap();
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(order_id)).all(&app.db).await?;
    assert_eq!((items.len(), items[0].unit_price, items[0].quantity, items[0].sku.as_str()), (1, 2999, 1, "FB-1"));
    assert_eq!(sold(&app.db, id).await?, 1);
    let row = sale_hold::Entity::find_by_id(HoldId(hold_id.clone())).one(&app.db).await?.unwrap();
    assert_eq!((row.state, row.order_id, row.extended), (HoldState::Paid, Some(order_id), true));
    assert_eq!(sam.get("/api/v1/cart").await?.1["item_count"], 1, "the cart stays as it was");
    let (status, replay) = checkout(&sam, "sale-key-1", checkout_body(&hold_id, "pm_card_visa")).await?;
    assert_eq!((status, replay["order_id"].as_i64()), (200, Some(order_id)), "the same key is the same order");
    let (status, body) = checkout(&sam, "sale-key-2", checkout_body(&hold_id, "pm_card_visa")).await?;
    assert_eq!(status, 409, "a hold is checked out once: {body}");
    let (status, body) = sam.post(&buy, json!({"token": token})).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("limit_exceeded")), "bought units count for the limit: {body}");
    // Having their limit, they take no place in line from someone else.
    let (status, body) = sam.post(&q, json!({})).await?;
    let says = body["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(status, 409, "{body}");
    assert!(says.starts_with("You got yours") && says.contains(&format!("order #{order_id}")) && says.contains("paid"), "{says}");
    Ok(())
}

async fn the_last_units_sell_out_and_the_sale_says_so(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let id = scheduled(&app, "FB-2", 1, 1).await?;
    let (ann, bob) = (app.visitor(), app.visitor());
    ann.register("ann@example.com", "long enough").await?;
    bob.register("bob@example.com", "long enough").await?;
    start(&app, id).await?;
    let (ta, tb) = (admitted(&app, &ann, id).await?, admitted(&app, &bob, id).await?);
    assert_eq!(ann.post(&format!("/api/v1/sales/{id}/buy"), json!({"token": ta})).await?.0, 201);
    let (_, sale) = bob.get(&format!("/api/v1/sales/{id}")).await?;
    assert_eq!((sale["state"].as_str(), sale["remaining"].as_i64()), (Some("sold_out"), Some(0)), "a held unit is not on offer: {sale}");
    let (status, body) = bob.post(&format!("/api/v1/sales/{id}/buy"), json!({"token": tb})).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("sold_out")), "{body}");
    let (_, q) = bob.post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
    assert_eq!((q["remaining"].as_i64(), q["state"].as_str()), (Some(0), Some("sold_out")), "the line says so: {q}");
    assert_eq!(bob.delete(&format!("/api/v1/sales/{id}/queue")).await?.0, 204, "leaving frees the place");
    assert_eq!(bob.get(&format!("/api/v1/sales/{id}/queue")).await?.0, 404);
    Ok(())
}

async fn lapsed_holds_go_back_to_the_sale_exactly_once(backend: Backend) -> anyhow::Result<()> {
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.sale_hold_seconds = 1;
    let app = spawn_app_with(cfg).await?;
    let id = scheduled(&app, "FB-3", 2, 1).await?;
    let (ann, bob) = (app.visitor(), app.visitor());
    ann.register("ann@example.com", "long enough").await?;
    bob.register("bob@example.com", "long enough").await?;
    start(&app, id).await?;
    let (ta, tb) = (admitted(&app, &ann, id).await?, admitted(&app, &bob, id).await?);
    let (_, held) = ann.post(&format!("/api/v1/sales/{id}/buy"), json!({"token": ta})).await?;
    let (_, ordered) = bob.post(&format!("/api/v1/sales/{id}/buy"), json!({"token": tb})).await?;
    // Bob checks out, but his card is declined: the order waits for another card while the hold lasts.
    let (status, body) = checkout(&bob, "bob-1", checkout_body(ordered["hold_id"].as_str().unwrap(), "pm_card_visa_chargeDeclined")).await?;
    assert_eq!(status, 402, "{body}");
    assert_eq!(sold(&app.db, id).await?, 1, "an ordered hold counts as sold");
    assert_eq!(app.state.stores.stock_gate.remaining(id).await?, Some(0));

    // Both lapse (the hold's 1 s; Bob's was extended once by the checkout, to 1 s from then).
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let rounds = futures::future::join_all((0..4).map(|_| app::checkout::service::release_expired_holds(&app.state))).await;
    let released: u64 = rounds.into_iter().map(|r| r.unwrap()).sum();
    assert!(released <= 2, "released at most once each by these rounds ({released}); the node's worker may have been first");
    assert_eq!(app::checkout::service::release_expired_holds(&app.state).await?, 0, "nothing is released twice");
    assert_eq!(app.state.stores.stock_gate.remaining(id).await?, Some(2), "both units are back on offer, once");
    assert_eq!(sold(&app.db, id).await?, 0);
    for h in [&held, &ordered] {
        let row = sale_hold::Entity::find_by_id(HoldId(h["hold_id"].as_str().unwrap().to_owned())).one(&app.db).await?.unwrap();
        assert_eq!(row.state, HoldState::Released);
    }
    let o = app::db::order::Entity::find().filter(app::db::order::Column::IdempotencyKey.eq("bob-1")).one(&app.db).await?.unwrap();
    assert_eq!(o.status, OrderStatus::Expired, "the unpaid order expired with its hold");
    let (status, body) = checkout(&ann, "ann-late", checkout_body(held["hold_id"].as_str().unwrap(), "pm_card_visa")).await?;
    assert_eq!(status, 409, "a lapsed hold cannot be checked out: {body}");
    // The units went back to the sale: someone else may buy them.
    let (status, again) = ann.post(&format!("/api/v1/sales/{id}/buy"), json!({"token": ta})).await?;
    assert_eq!((status, again["remaining"].as_i64()), (201, Some(1)), "{again}");
    Ok(())
}

/// A client address of its own for each racer (as 2,000 phones would have).
fn ip(user_id: i64) -> String {
    format!("10.0.{}.{}", user_id / 256 % 256, user_id % 256)
}

/// 2,000 shoppers, all let in, buy at once through the service (gate + database) for 100 units.
async fn two_thousand_buyers_race_for_a_hundred_units(app: TestApp) -> anyhow::Result<()> {
    let id = scheduled(&app, "FB-4", 100, 1).await?;
    start(&app, id).await?;
    let mut buyers = Vec::new();
    for chunk in 0..20 {
        let rows: Vec<user::ActiveModel> = (0..100)
            .map(|i| user::ActiveModel {
                email: Set(format!("racer{}@example.com", chunk * 100 + i)),
                password_hash: Set("not-a-real-hash".into()),
                role: Set(Role::Shopper),
                created_at: Set(Utc::now()),
                ..Default::default()
            })
            .collect();
        user::Entity::insert_many(rows).exec(&app.db).await?;
    }
    for u in user::Entity::find().filter(user::Column::Email.starts_with("racer")).all(&app.db).await? {
        let me = CurrentUser { user_id: u.id, email: u.email, role: Role::Shopper, seller: None };
        service::join(&app.state, &me, &ip(me.user_id), SaleId(id)).await?;
        buyers.push(me);
    }
    assert_eq!(buyers.len(), 2000);
    // Rounds let 1,000 in a second.
    let mut tokens = Vec::new();
    for _ in 0..10 {
        service::admit_round(&app.state).await?;
        tokens.clear();
        for b in &buyers {
            if let Some(t) = service::place(&app.state, b, SaleId(id)).await.ok().and_then(|q| q.token) {
                tokens.push((b.clone(), t));
            }
        }
        if tokens.len() == 2000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(tokens.len(), 2000, "everyone was let in");
    let state = Arc::new(app.state.clone());
    let started = std::time::Instant::now();
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|(b, token)| {
            let state = state.clone();
            tokio::spawn(async move { service::buy(&state, &b, &ip(b.user_id), SaleId(id), &BuyRequest { token, quantity: 1 }).await })
        })
        .collect();
    let (mut held, mut sold_out) = (0, 0);
    for t in tasks {
        match t.await? {
            Ok((_, true)) => held += 1,
            Err(AppError::SoldOut(_)) => sold_out += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    eprintln!("2,000 buyers through the service ({}): {:?}", if app.config.redis_url.is_some() { "Redis gate" } else { "embedded gate" }, started.elapsed());
    assert_eq!((held, sold_out), (100, 1900), "exactly the allocation is held");
    let rows = sale_hold::Entity::find().filter(sale_hold::Column::SaleId.eq(id)).count(&app.db).await?;
    assert_eq!(rows, 100, "one recorded hold per unit, no more");
    assert_eq!(app.state.stores.stock_gate.remaining(id).await?, Some(0));
    Ok(())
}

async fn racing_buyers_on_the_embedded_gate(backend: Backend) -> anyhow::Result<()> {
    two_thousand_buyers_race_for_a_hundred_units(spawn_app(backend).await?).await
}

async fn racing_buyers_on_the_redis_gate(backend: Backend) -> anyhow::Result<()> {
    two_thousand_buyers_race_for_a_hundred_units(crate::helpers::spawn_app_with_redis(backend).await?).await
}

/// A Redis of this test's own (so it can be stopped and started again), empty each time.
fn start_redis(port: u16) -> anyhow::Result<std::process::Child> {
    let child = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()?;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(child);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    anyhow::bail!("redis-server did not start on port {port}")
}

async fn a_redis_restart_mid_sale_oversells_nothing(backend: Backend) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut redis = start_redis(port)?;
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    cfg.redis_prefix = format!("{}:", unique_name("t"));
    let app = spawn_app_with(cfg).await?;
    let id = scheduled(&app, "FB-5", 4, 1).await?;
    let mut shoppers = Vec::new();
    for i in 0..6 {
        let v = app.visitor();
        v.register(&format!("s{i}@example.com"), "long enough").await?;
        shoppers.push(v);
    }
    start(&app, id).await?;
    let buy = format!("/api/v1/sales/{id}/buy");
    // Before the restart: one unit bought and paid, one held.
    let t0 = admitted(&app, &shoppers[0], id).await?;
    let (_, paid) = shoppers[0].post(&buy, json!({"token": t0})).await?;
    let (status, order) = checkout(&shoppers[0], "s0", checkout_body(paid["hold_id"].as_str().unwrap(), "pm_card_visa")).await?;
    assert_eq!(status, 201, "{order}");
    let t1 = admitted(&app, &shoppers[1], id).await?;
    let (status, held) = shoppers[1].post(&buy, json!({"token": t1})).await?;
    assert_eq!(status, 201, "{held}");

    // Redis goes away: the sale's queue and buy answer 503 with Retry-After; the sale page's
    // figures (the database's) still answer.
    redis.kill()?;
    redis.wait()?;
    let res = shoppers[2].client.post(app.url(&buy)).json(&json!({"token": "t"})).send().await?;
    assert_eq!(res.status().as_u16(), 503, "{:?}", res.text().await);
    let res = shoppers[2].client.post(app.url(&format!("/api/v1/sales/{id}/queue"))).json(&json!({})).send().await?;
    assert_eq!(res.status().as_u16(), 503);
    assert!(res.headers().get("retry-after").is_some(), "503 says when to try again");
    let body: Value = res.json().await?;
    assert!(body["error"]["message"].as_str().unwrap().contains("try again"), "{body}");
    let (status, sale) = app.visitor().get(&format!("/api/v1/sales/{id}")).await?;
    assert_eq!((status, sale["remaining"].as_i64()), (200, Some(3)), "{sale}");

    // It comes back empty (sessions too: shoppers sign in again). The gate re-warms from the
    // database before it takes anything: 4 allocated − 1 sold − 1 held = 2 left.
    let _redis = KillOnDrop(start_redis(port)?);
    let mut back = false;
    for _ in 0..50 {
        if shoppers[1].login("s1@example.com", "long enough").await?.0 == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(back, "the shop reconnected to Redis by itself");
    // The hold from before the restart is still there: its shopper has their limit and is
    // told so instead of taking a place in line.
    let (status, again) = shoppers[1].post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
    assert!(status == 409 && again["error"]["message"].as_str().is_some_and(|m| m.contains("held for you")), "{status} {again}");
    assert_eq!(shoppers[1].get(&format!("/api/v1/sales/holds/{}", held["hold_id"].as_str().unwrap())).await?.0, 200);
    let (mut won, mut sold_out) = (0, 0);
    for (i, v) in shoppers.iter().enumerate().skip(2) {
        assert_eq!(v.login(&format!("s{i}@example.com"), "long enough").await?.0, 200);
        let (_, q) = v.post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
        if q["state"] == "sold_out" {
            sold_out += 1; // the room lets no one in for stock that is gone
            continue;
        }
        let t = admitted(&app, v, id).await?;
        match v.post(&buy, json!({"token": t})).await? {
            (201, _) => won += 1,
            (409, b) if b["error"]["code"] == "sold_out" => sold_out += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((won, sold_out), (2, 2), "exactly what was left is sold, 0 oversold");
    let live = sale_hold::Entity::find().filter(sale_hold::Column::SaleId.eq(id)).filter(sale_hold::Column::State.ne(HoldState::Released)).count(&app.db).await?;
    assert_eq!(live, 4, "held and sold add up to the allocation");
    assert_eq!(app.state.stores.stock_gate.remaining(id).await?, Some(0));
    Ok(())
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A browser's plain form post (no JavaScript): HTML asked for, from the shop's own origin.
pub async fn form(app: &TestApp, v: &Visitor, path: &str, fields: &[(&str, &str)]) -> anyhow::Result<(u16, String)> {
    let res = v.client.post(app.url(path)).header("accept", "text/html").header("origin", &app.address).form(fields).send().await?;
    let to = res.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned();
    Ok((res.status().as_u16(), to))
}

pub async fn page(app: &TestApp, v: &Visitor, path: &str) -> anyhow::Result<String> {
    Ok(v.client.get(app.url(path)).send().await?.text().await?)
}

async fn the_sale_page_queues_and_buys_without_javascript(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let id = scheduled(&app, "FB-6", 3, 1).await?;
    let path = format!("/sales/{id}");
    let guest = page(&app, &app.visitor(), &path).await?;
    assert!(guest.contains("Sign in to join") && guest.contains(&format!("/signin?next=%2Fsales%2F{id}")), "a guest is asked to sign in and comes back");
    let sam = app.visitor();
    sam.register("sam@example.com", "long enough").await?;
    assert!(page(&app, &sam, &path).await?.contains("data-testid=\"join\""));
    let (status, to) = form(&app, &sam, "/api/fn/sale_join", &[("sale_id", &id.to_string())]).await?;
    assert_eq!((status / 100, to.as_str()), (3, path.as_str()), "back to the sale after joining");
    let html = page(&app, &sam, &path).await?;
    assert!(html.contains("#1 in line, 3 left"), "the place with the units left beside it");
    assert!(html.contains("data-testid=\"seed-hash\""), "the seed's hash is published before the start");

    let product = app.visitor().get(&format!("/api/v1/sales/{id}")).await?.1["product_id"].as_i64().unwrap();
    let product_page = page(&app, &sam, &format!("/p/{product}")).await?;
    assert!(product_page.contains("data-testid=\"sale-banner\" data-live=\"false\"") && product_page.contains(&format!("href=\"/sales/{id}\"")), "the product page announces the sale");
    assert!(product_page.contains("Flash sale of navy:"), "naming the variant by its options, not its SKU");

    start(&app, id).await?;
    let product_page = page(&app, &sam, &format!("/p/{product}")).await?;
    assert!(product_page.contains("data-live=\"true\"") && product_page.contains("live now"), "and says it is live from the start (no stale cache)");
    assert!(product_page.contains(&format!("data-testid=\"sale-buy-link\" href=\"/sales/{id}\"")) && product_page.contains("Buy navy at") && product_page.contains("29.99"), "leading to the sale at its price");
    service::admit_round(&app.state).await?;
    let html = page(&app, &sam, &path).await?;
    assert!(html.contains("It is your turn"), "let in");
    let token = html.split("name=\"token\" value=\"").nth(1).and_then(|r| r.split('"').next()).expect("the buy form carries the token").to_owned();
    let (status, to) = form(&app, &sam, "/api/fn/sale_buy", &[("sale_id", &id.to_string()), ("token", "forged")]).await?;
    assert!(status / 100 == 3 && to.starts_with(&format!("{path}?error=")), "a refused buy comes back with why: {to}");
    let (status, to) = form(&app, &sam, "/api/fn/sale_buy", &[("sale_id", &id.to_string()), ("token", &token)]).await?;
    assert!(status / 100 == 3 && to.starts_with("/checkout?hold="), "{status} {to}");
    let hold_id = to.trim_start_matches("/checkout?hold=").to_owned();
    let html = page(&app, &sam, &path).await?;
    assert!(html.contains("data-testid=\"got-yours\"") && html.contains(&format!("href=\"{to}\"")), "back on the sale page: check out the hold");
    assert!(!html.contains("It is your turn") && !html.contains("data-testid=\"join\""), "no buy or join offered");
    let checkout = page(&app, &sam, &to).await?;
    assert!(checkout.contains("(flash sale)") && checkout.contains("29.99"), "the checkout shows the hold at the sale price");
    assert!(checkout.contains("data-testid=\"hold-timer\"") && checkout.contains("held for you for"), "and how long the hold lasts");
    let key = checkout.split("name=\"idempotency_key\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
    let fields = [
        ("idempotency_key", key.as_str()),
        ("hold_id", hold_id.as_str()),
        ("name", "Sam Lee"),
        ("line1", "Main St 1"),
        ("city", "Berlin"),
        ("postal_code", "10115"),
        ("country", "DE"),
        ("shipping_method", "standard"),
        ("payment_method_id", "pm_card_visa"),
    ];
    let (status, to) = form(&app, &sam, "/api/fn/place_order", &fields).await?;
    assert!(status / 100 == 3 && to.contains("placed=1"), "{status} {to}");
    assert_eq!(sold(&app.db, id).await?, 1);
    let order = to.split('?').next().unwrap_or_default().to_owned();
    let html = page(&app, &sam, &path).await?;
    assert!(html.contains("You got yours.") && html.contains("is paid") && html.contains(&format!("href=\"{order}\"")), "the sale page knows: {order}");
    assert!(!html.contains("It is your turn") && !html.contains("data-testid=\"join\""), "no buy or join offered");
    Ok(())
}

async fn buys_are_rate_limited_per_shopper_unless_limits_are_off(backend: Backend) -> anyhow::Result<()> {
    for enabled in [true, false] {
        let mut cfg = test_config(fresh_database_url(backend).await?);
        cfg.rate_limits.enabled = enabled;
        cfg.rate_limits.sale_buy_per_user = app::ratelimit::Rule { limit: 2, per: std::time::Duration::from_secs(60) };
        let app = spawn_app_with(cfg).await?;
        let id = scheduled(&app, "FB-7", 3, 1).await?;
        let sam = app.visitor();
        sam.register("sam@example.com", "long enough").await?;
        start(&app, id).await?;
        let token = admitted(&app, &sam, id).await?;
        let buy = app.url(&format!("/api/v1/sales/{id}/buy"));
        let mut statuses = Vec::new();
        let mut retry = None;
        for _ in 0..3 {
            let res = sam.client.post(&buy).json(&json!({"token": token})).send().await?;
            statuses.push(res.status().as_u16());
            retry = retry.or(res.headers().get("retry-after").map(|v| v.to_str().unwrap_or_default().to_owned()));
        }
        if enabled {
            assert_eq!(statuses, [201, 200, 429], "the third attempt in a minute is turned away");
            let secs: u64 = retry.expect("429 says when to try again").parse()?;
            assert!((1..=60).contains(&secs), "Retry-After {secs}");
        } else {
            assert_eq!(statuses, [201, 200, 200], "SELLOUT_RATE_LIMITS=off turns the limit off");
        }
    }
    Ok(())
}

async fn a_seller_schedules_in_the_admin_and_watches_the_dashboard(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let (status, body) = ann
        .post("/api/v1/seller/products", json!({"title": "Halcyon Lamp", "brand": "Lumo", "status": "active", "variants": [{"sku": "FB-8", "price": {"amount": 4999, "currency": "EUR"}, "stock": 5}]}))
        .await?;
    assert_eq!(status, 201, "{body}");
    let later = |h: i64| (Utc::now() + Duration::hours(h)).format("%Y-%m-%dT%H:%M").to_string();
    let (starts, ends) = (later(1), later(2));
    // A mistake: the form comes back saying what is wrong, with what was typed.
    let mut fields = vec![("sku", "FB-8"), ("price", "twenty"), ("currency", "EUR"), ("starts_at", starts.as_str()), ("ends_at", ends.as_str()), ("allocation", "3"), ("per_buyer_limit", "1"), ("admission_rate", "50")];
    let (status, to) = form(&app, &ann, "/api/fn/seller_schedule_sale", &fields).await?;
    assert!(status / 100 == 3 && to.starts_with("/seller/sales/new?") && to.contains("err_price=") && to.contains("sku=FB-8"), "{status} {to}");
    let back = page(&app, &ann, &to).await?;
    assert!(back.contains("value=\"twenty\"") && back.contains("field-error"), "the typed price stays, the error is shown in place");
    fields[1] = ("price", "29.99");
    let (status, to) = form(&app, &ann, "/api/fn/seller_schedule_sale", &fields).await?;
    assert!(status / 100 == 3 && to.starts_with("/seller/sales/"), "{status} {to}");
    let id: i64 = to.trim_start_matches("/seller/sales/").parse()?;
    let list = page(&app, &ann, "/seller/sales").await?;
    assert!(list.contains("Halcyon Lamp (FB-8)") && list.contains("0 of 3"), "the sale is listed");
    let dash = page(&app, &ann, &to).await?;
    assert!(dash.contains("data-testid=\"dash-left\">3<") && dash.contains("Cancel the sale"), "the dashboard before the start");

    // Live: a shopper holds one; the dashboard counts it.
    start(&app, id).await?;
    let sam = app.visitor();
    sam.register("sam@example.com", "long enough").await?;
    let token = admitted(&app, &sam, id).await?;
    assert_eq!(sam.post(&format!("/api/v1/sales/{id}/buy"), json!({"token": token})).await?.0, 201);
    let dash = page(&app, &ann, &to).await?;
    assert!(dash.contains("data-testid=\"dash-held\">1<") && dash.contains("data-testid=\"dash-left\">2<") && dash.contains("End now"), "held and left follow the buy");
    // Another seller sees none of it.
    let (bob, _) = seller(&app, "bob@example.com", "Bob's Bulbs").await?;
    assert!(!page(&app, &bob, "/seller/sales").await?.contains("Halcyon"));
    Ok(())
}

async fn registered_shoppers_are_mailed_once_when_the_sale_starts(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let id = scheduled(&app, "FB-9", 2, 1).await?;
    let reg = format!("/api/v1/sales/{id}/register");
    let (sam, kim) = (app.visitor(), app.visitor());
    sam.register("sam@example.com", "long enough").await?;
    kim.register("kim@example.com", "long enough").await?;
    assert_eq!(app.visitor().post(&reg, json!({})).await?.0, 401);
    assert_eq!(sam.post(&reg, json!({})).await?.0, 201);
    assert_eq!(sam.post(&reg, json!({})).await?.0, 200, "registering twice is once");
    assert_eq!(kim.post(&reg, json!({})).await?.0, 201);
    assert_eq!(kim.delete(&reg).await?.0, 204, "and one may unregister");
    assert_eq!(kim.delete(&reg).await?.0, 404);
    let html = page(&app, &sam, &format!("/sales/{id}")).await?;
    assert!(html.contains("data-testid=\"reminded\""), "the page says a reminder is set");

    start(&app, id).await?;
    service::transitions(&app.state).await?; // another round: no second mail
    assert_eq!(sam.post(&reg, json!({})).await?.0, 409, "after the start there is nothing to remind of");
    let log = app.config.data_dir.join("mail.log");
    let mut text = String::new();
    for _ in 0..50 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("is live") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(text.matches("Subject: The flash sale of").count(), 1, "one mail: {text}");
    assert!(text.contains("To: sam@example.com\nSubject: The flash sale of") && !text.contains("To: kim@example.com\nSubject: The flash sale of"), "{text}");
    assert!(text.contains(&format!("/sales/{id}")), "the mail links the sale");
    Ok(())
}

async fn the_fairness_report_tells_how_the_sale_went(backend: Backend) -> anyhow::Result<()> {
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.sale_hold_seconds = 1;
    cfg.rate_limits.sale_buy_per_user = app::ratelimit::Rule { limit: 2, per: std::time::Duration::from_secs(60) };
    let app = spawn_app_with(cfg).await?;
    let (ann_seller, _) = seller(&app, "seller@example.com", "Ann's Lamps").await?;
    let (status, body) = ann_seller
        .post("/api/v1/seller/products", json!({"title": "Fair Lamp", "brand": "Lumo", "status": "active", "variants": [{"sku": "FB-10", "price": {"amount": 4999, "currency": "EUR"}, "stock": 4}]}))
        .await?;
    assert_eq!(status, 201, "{body}");
    let at = |h: i64| (Utc::now() + Duration::hours(h)).to_rfc3339();
    let (_, s) = ann_seller
        .post("/api/v1/seller/sales", json!({"sku": "FB-10", "price": {"amount": 2999, "currency": "EUR"}, "starts_at": at(1), "ends_at": at(2), "allocation": 2, "admission_rate": 100}))
        .await?;
    let id = s["sale_id"].as_i64().unwrap();
    let (ann, bob) = (app.visitor(), app.visitor());
    ann.register("ann@example.com", "long enough").await?;
    bob.register("bob@example.com", "long enough").await?;
    start(&app, id).await?;
    let (ta, tb) = (admitted(&app, &ann, id).await?, admitted(&app, &bob, id).await?);
    let buy = format!("/api/v1/sales/{id}/buy");
    let (_, h) = ann.post(&buy, json!({"token": ta})).await?;
    assert_eq!(checkout(&ann, "ann", checkout_body(h["hold_id"].as_str().unwrap(), "pm_card_visa")).await?.0, 201);
    bob.post(&buy, json!({"token": tb})).await?; // held, then lapses
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    app::checkout::service::release_expired_holds(&app.state).await?;
    let (status, h) = bob.post(&buy, json!({"token": tb})).await?;
    assert_eq!(status, 201, "the unit that came back is offered again: {h}");
    assert_eq!(checkout(&bob, "bob", checkout_body(h["hold_id"].as_str().unwrap(), "pm_card_visa")).await?.0, 201);
    assert_eq!(bob.post(&buy, json!({"token": tb})).await?.0, 429, "a third attempt in the minute is turned away");
    assert_eq!(ann_seller.post(&format!("/api/v1/seller/sales/{id}/end"), json!({})).await?.0, 200);

    let (status, r) = ann_seller.get(&format!("/api/v1/seller/sales/{id}/report")).await?;
    assert_eq!(status, 200, "{r}");
    assert_eq!((r["sold"].as_i64(), r["distinct_buyers"].as_i64(), r["units_per_buyer"].clone()), (Some(2), Some(2), json!([[1, 2]])), "{r}");
    assert_eq!((r["holds_released"].as_i64(), r["units_reoffered"].as_i64(), r["rate_limited"].as_i64()), (Some(1), Some(1), Some(1)), "{r}");
    assert!(r["sold_out_after_seconds"].as_i64().is_some_and(|s| (0..60).contains(&s)), "{r}");
    assert_eq!(app.visitor().get(&format!("/api/v1/seller/sales/{id}/report")).await?.0, 401);
    let dash = page(&app, &ann_seller, &format!("/seller/sales/{id}")).await?;
    assert!(dash.contains("data-testid=\"report-buyers\">2<"), "the dashboard shows the report after the end");
    Ok(())
}

crate::on_both_databases!(
    the_fairness_report_tells_how_the_sale_went,
    registered_shoppers_are_mailed_once_when_the_sale_starts,
    a_seller_schedules_in_the_admin_and_watches_the_dashboard,
    buys_are_rate_limited_per_shopper_unless_limits_are_off,
    the_sale_page_queues_and_buys_without_javascript,
    a_redis_restart_mid_sale_oversells_nothing,
    a_shopper_queues_is_let_in_buys_and_checks_out_at_the_sale_price,
    the_last_units_sell_out_and_the_sale_says_so,
    lapsed_holds_go_back_to_the_sale_exactly_once,
    racing_buyers_on_the_embedded_gate,
    racing_buyers_on_the_redis_gate,
);
