//! Two real `sellout` processes sharing PostgreSQL and Redis, as two nodes behind a load
//! balancer: shoppers split across them join, are let in, race to buy and check out, and
//! exactly the allocation is sold.

use std::process::Stdio;
use std::time::{Duration, Instant};

use app::db::{flash_sale, inventory, sale_hold};
use app::states::HoldState;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use tokio::process::{Child, Command};

use crate::helpers::{Backend, Visitor, cookie_client, env_url, fresh_database_url, scratch_dir, unique_name};

fn node(db_url: &str, redis_prefix: &str, port: u16) -> anyhow::Result<Child> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sellout"));
    cmd.arg("serve")
        .env("DATABASE_URL", db_url)
        .env("REDIS_URL", env_url("TEST_REDIS_URL")?)
        .env("SELLOUT_REDIS_PREFIX", redis_prefix)
        .env("SELLOUT_DATA_DIR", scratch_dir())
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("SELLOUT_RATE_LIMITS", "off")
        .env("SELLOUT_LOG", "warn")
        .env_remove("STRIPE_SECRET_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    Ok(cmd.spawn()?)
}

async fn healthy(base: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    while !reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(90), "{base} did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_split_across_two_processes_buy_exactly_the_allocation() -> anyhow::Result<()> {
    let db_url = fresh_database_url(Backend::Postgres).await?;
    let prefix = format!("{}:", unique_name("two"));
    let ports = [std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port(), std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()];
    // The first node migrates and seeds; the second starts on the result.
    let _a = node(&db_url, &prefix, ports[0])?;
    let bases: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    healthy(&bases[0]).await?;
    let _b = node(&db_url, &prefix, ports[1])?;
    healthy(&bases[1]).await?;

    let seller = Visitor::with_client(&bases[0], cookie_client());
    let (status, body) = seller.post("/api/v1/auth/register", json!({"email": "ann@example.com", "password": "long enough", "role": "seller", "seller_name": "Ann's Lamps"})).await?;
    anyhow::ensure!(status == 201, "{body}");
    let (status, body) = seller
        .post("/api/v1/seller/products", json!({"title": "Twin Lamp", "brand": "Lumo", "status": "active", "variants": [{"sku": "TWO-1", "price": {"amount": 4999, "currency": "EUR"}, "stock": 30}]}))
        .await?;
    anyhow::ensure!(status == 201, "{body}");
    let at = |secs: i64| (Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339();
    let (status, sale) = seller
        .post("/api/v1/seller/sales", json!({"sku": "TWO-1", "price": {"amount": 2999, "currency": "EUR"}, "starts_at": at(4), "ends_at": at(3600), "allocation": 20, "per_buyer_limit": 1, "admission_rate": 1000}))
        .await?;
    anyhow::ensure!(status == 201, "{sale}");
    let id = sale["sale_id"].as_i64().unwrap();

    // 60 shoppers, half on each node, join before the start.
    let mut shoppers = Vec::new();
    for i in 0..60 {
        let v = Visitor::with_client(&bases[i % 2], cookie_client());
        v.register(&format!("s{i}@example.com"), "long enough").await?;
        let (status, q) = v.post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
        anyhow::ensure!(status == 200, "{q}");
        shoppers.push(v);
    }
    // The clock starts the sale (on whichever node) and the rounds let everyone in.
    let mut tokens = vec![String::new(); shoppers.len()];
    let started = Instant::now();
    while tokens.iter().any(String::is_empty) {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "not everyone was let in");
        for (v, t) in shoppers.iter().zip(tokens.iter_mut()).filter(|(_, t)| t.is_empty()) {
            let (_, q) = v.post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
            if let Some(token) = q["token"].as_str() {
                *t = token.to_owned();
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // One buy on each node first (so that both sell whichever node answers the burst
    // faster), then everyone else at once, each on their own node.
    let buy = format!("/api/v1/sales/{id}/buy");
    let mut buys = Vec::new();
    for (v, t) in shoppers.iter().zip(&tokens).take(2) {
        buys.push(v.post(&buy, json!({"token": t})).await);
    }
    buys.extend(futures::future::join_all(shoppers.iter().zip(&tokens).skip(2).map(|(v, t)| v.post(&buy, json!({"token": t})))).await);
    let mut winners = Vec::new();
    let mut sold_out = 0;
    for (i, b) in buys.into_iter().enumerate() {
        match b? {
            (201, hold) => winners.push((i, hold["hold_id"].as_str().unwrap().to_owned())),
            (409, body) if body["error"]["code"] == "sold_out" => sold_out += 1,
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    assert_eq!((winners.len(), sold_out), (20, 40), "exactly the allocation is held across both nodes");
    assert!(winners.iter().any(|(i, _)| i % 2 == 0) && winners.iter().any(|(i, _)| i % 2 == 1), "both nodes sold");
    // The winners check out, each on their node.
    let address = json!({"name": "Sam Lee", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"});
    let orders = futures::future::join_all(winners.iter().map(|(i, hold)| {
        let v = &shoppers[*i];
        let body = json!({"shipping_address": address, "shipping_method": "standard", "payment_method_id": "pm_card_visa", "hold_id": hold});
        async move {
            let res = v.client.post(format!("{}/api/v1/orders/checkout", v.address)).header("Idempotency-Key", format!("two-{i}")).json(&body).send().await?;
            Ok::<_, anyhow::Error>((res.status().as_u16(), res.json::<serde_json::Value>().await?))
        }
    }))
    .await;
    for o in orders {
        let (status, body) = o?;
        assert_eq!((status, body["status"].as_str()), (201, Some("paid")), "{body}");
    }
    let db = app::db::connect(&db_url).await?;
    let sale = flash_sale::Entity::find_by_id(id).one(&db).await?.unwrap();
    assert_eq!((sale.sold, sale.allocated), (20, 20), "0 oversold");
    let paid = sale_hold::Entity::find().filter(sale_hold::Column::SaleId.eq(id)).filter(sale_hold::Column::State.eq(HoldState::Paid)).count(&db).await?;
    assert_eq!(paid, 20);
    let negative = inventory::Entity::find().filter(inventory::Column::Quantity.lt(0)).count(&db).await?;
    assert_eq!(negative, 0, "no stock below zero");
    Ok(())
}
