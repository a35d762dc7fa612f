//! The real `sellout` binary killed (abort, as `kill -9` would) between the provider's
//! authorization and our bookkeeping: after a restart the order ends paid, with exactly one
//! authorized PaymentIntent; a card is never charged without an order. And SIGTERM during a
//! checkout: the request finishes, the workers stop, the binary exits 0.

use std::process::Stdio;
use std::time::{Duration, Instant};

use app::db::{inventory, order, payment, variant};
use app::states::{OrderStatus, PaymentState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::helpers::{Backend, cookie_client, env_url, fresh_database_url, scratch_dir};

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn sellout(db_url: &str, data_dir: &std::path::Path, port: u16, crash_after_authorize: bool) -> anyhow::Result<Child> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sellout"));
    cmd.arg("serve")
        .env_remove("REDIS_URL")
        .env("DATABASE_URL", db_url)
        .env("SELLOUT_DATA_DIR", data_dir)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("STRIPE_SECRET_KEY", "sk_test_sellout")
        .env("STRIPE_API_BASE", env_url("TEST_STRIPE_URL")?)
        .env("SELLOUT_CHECKOUT_LEASE_SECONDS", "2")
        .env("SELLOUT_SWEEP_SECONDS", "1")
        .env("SELLOUT_LOG", "warn")
        .env("SELLOUT_FAULT_CRASH_AFTER_AUTHORIZE", if crash_after_authorize { "1" } else { "0" })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    Ok(cmd.spawn()?)
}

async fn wait_healthy(base: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(90), "the server did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn card() -> anyhow::Result<String> {
    let res = reqwest::Client::new()
        .post(format!("{}v1/payment_methods", env_url("TEST_STRIPE_URL")?))
        .basic_auth("sk_test_sellout", Some(""))
        .form(&[("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"), ("card[exp_year]", "2034"), ("card[cvc]", "123")])
        .send()
        .await?;
    Ok(res.json::<Value>().await?["id"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_authorization_ends_paid_and_charged_once() -> anyhow::Result<()> {
    let db_url = fresh_database_url(Backend::Postgres).await?;
    let data_dir = scratch_dir();
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");

    let mut first = sellout(&db_url, &data_dir, port, true)?;
    wait_healthy(&base).await?;
    let db = app::db::connect(&db_url).await?;
    let row = inventory::Entity::find().filter(inventory::Column::Quantity.gte(3)).one(&db).await?.expect("the demo catalog has stock");
    let v = variant::Entity::find_by_id(row.variant_id).one(&db).await?.unwrap();
    let sku = v.sku.clone();
    let on_hand: i64 = inventory::Entity::find().filter(inventory::Column::VariantId.eq(v.id)).all(&db).await?.iter().map(|r| r.quantity).sum();

    let client = cookie_client();
    let res = client.post(format!("{base}/api/v1/auth/register")).json(&json!({"email": "crash@example.com", "password": "long enough"})).send().await?;
    assert_eq!(res.status().as_u16(), 201);
    client.post(format!("{base}/api/v1/cart/items")).json(&json!({"sku": sku, "quantity": 1})).send().await?;
    let body = json!({
        "shipping_address": {"name": "Ann Lee", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "shipping_method": "standard",
        "payment_method_id": card().await?
    });
    let cut_off = client.post(format!("{base}/api/v1/orders/checkout")).header("Idempotency-Key", "crash-1").json(&body).send().await;
    assert!(cut_off.is_err(), "the server died mid-request: {cut_off:?}");
    let status = first.wait().await?;
    assert!(!status.success(), "the first server was killed");

    // At this moment: an authorized intent at the provider, an order still pending.
    let o = order::Entity::find().filter(order::Column::IdempotencyKey.eq("crash-1")).one(&db).await?.expect("the order was written before the payment");
    assert_eq!(o.status, OrderStatus::Pending);

    let _second = sellout(&db_url, &data_dir, port, false)?;
    wait_healthy(&base).await?;
    let started = Instant::now();
    let o = loop {
        let o = order::Entity::find_by_id(o.id).one(&db).await?.unwrap();
        if o.status != OrderStatus::Pending || started.elapsed() > Duration::from_secs(30) {
            break o;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(o.status, OrderStatus::Paid, "recovered into a paid order");
    let p = payment::Entity::find().filter(payment::Column::OrderId.eq(o.id)).all(&db).await?;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].state, PaymentState::Authorized);
    let stock: Vec<inventory::Model> = inventory::Entity::find().filter(inventory::Column::VariantId.eq(v.id)).all(&db).await?;
    assert_eq!((stock.iter().map(|r| r.quantity).sum::<i64>(), stock.iter().map(|r| r.reserved).sum::<i64>()), (on_hand - 1, 0), "sold once");

    // Exactly one intent for this order at the provider, and it is the recorded one.
    let list = crate::stripe::all_intents().await?;
    let prefix = app::checkout::service::attempt_key(&o, 1).trim_end_matches("attempt-1").to_owned();
    let mine: Vec<&Value> = list.iter().filter(|i| i["metadata"]["attempt_key"].as_str().is_some_and(|k| k.starts_with(&prefix))).collect();
    assert_eq!(mine.len(), 1, "one PaymentIntent");
    assert_eq!(mine[0]["id"].as_str(), p[0].intent_id.as_deref());
    assert_eq!(mine[0]["status"], "requires_capture");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_checkout_in_flight_and_exits_0() -> anyhow::Result<()> {
    let db_url = fresh_database_url(Backend::Sqlite).await?;
    let data_dir = scratch_dir();
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    // The embedded default (SQLite, demo gateway); authorizing takes 1.5 s.
    let mut server = Command::new(env!("CARGO_BIN_EXE_sellout"))
        .arg("serve")
        .env_remove("REDIS_URL")
        .env_remove("STRIPE_SECRET_KEY")
        .env("DATABASE_URL", &db_url)
        .env("SELLOUT_DATA_DIR", &data_dir)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("SELLOUT_SWEEP_SECONDS", "1")
        .env("SELLOUT_LOG", "warn")
        .env("SELLOUT_FAULT_AUTHORIZE_DELAY_MS", "1500")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    wait_healthy(&base).await?;
    let db = app::db::connect(&db_url).await?;
    let row = inventory::Entity::find().filter(inventory::Column::Quantity.gte(3)).one(&db).await?.expect("the demo catalog has stock");
    let v = variant::Entity::find_by_id(row.variant_id).one(&db).await?.unwrap();

    let client = cookie_client();
    let res = client.post(format!("{base}/api/v1/auth/register")).json(&json!({"email": "term@example.com", "password": "long enough"})).send().await?;
    assert_eq!(res.status().as_u16(), 201);
    client.post(format!("{base}/api/v1/cart/items")).json(&json!({"sku": v.sku, "quantity": 1})).send().await?;
    let body = json!({
        "shipping_address": {"name": "Ann Lee", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "shipping_method": "standard",
        "payment_method_id": "pm_card_visa"
    });
    let checkout = tokio::spawn({
        let (client, base) = (client.clone(), base.clone());
        async move { client.post(format!("{base}/api/v1/orders/checkout")).header("Idempotency-Key", "term-1").json(&body).send().await }
    });
    // Wait until the order exists (the request is inside the payment step), then SIGTERM.
    let started = Instant::now();
    while order::Entity::find().filter(order::Column::IdempotencyKey.eq("term-1")).one(&db).await?.is_none() {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(10), "the checkout never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = server.id().expect("the server is running");
    let sent = Instant::now();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status()?.success());

    let res = checkout.await??;
    assert_eq!(res.status().as_u16(), 201, "the checkout in flight was answered");
    let answer: Value = res.json().await?;
    assert_eq!(answer["status"], "paid");
    let status = tokio::time::timeout(Duration::from_secs(15), server.wait()).await??;
    assert!(status.success(), "exit 0 after SIGTERM, got {status:?}");
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(15), "exited {took:?} after SIGTERM");

    // Nothing half-written: the order is paid with its stock sold, none left reserved.
    let o = order::Entity::find().filter(order::Column::IdempotencyKey.eq("term-1")).one(&db).await?.unwrap();
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!(o.locked_until, None, "no lease left behind");
    let p = payment::Entity::find().filter(payment::Column::OrderId.eq(o.id)).all(&db).await?;
    assert_eq!(p.iter().map(|p| p.state).collect::<Vec<_>>(), [PaymentState::Authorized]);
    let stock = inventory::Entity::find().filter(inventory::Column::VariantId.eq(v.id)).all(&db).await?;
    assert_eq!(stock.iter().map(|r| r.reserved).sum::<i64>(), 0, "the reservation was committed");
    Ok(())
}
