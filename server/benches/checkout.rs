//! Checkout benchmark (not a test): `POST /api/v1/orders/checkout` end to end (HTTP, the saga,
//! PostgreSQL, the Stripe adapter against localstripe) at 1, 8 and 32 concurrent buyers of
//! different products, and 32 buyers of one product (row contention). Prints p50/p95/max.
//!
//!   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   BENCH_STRIPE_URL=http://127.0.0.1:12111/ cargo bench -p server --bench checkout
//!
//! `BENCH_DATABASE_URL` must allow `CREATE DATABASE`; a fresh database is made for the run.

use std::time::{Duration, Instant};

use app::db::{inventory, user, variant};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use server::config::{Config, StripeSettings};
use server::startup::Application;

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("set {name} (see the comment at the top of benches/checkout.rs)"))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

struct Buyer {
    client: reqwest::Client,
    sku: String,
}

async fn payment_method(stripe: &str) -> anyhow::Result<String> {
    let res = reqwest::Client::new()
        .post(format!("{stripe}v1/payment_methods"))
        .basic_auth("sk_test_bench", Some(""))
        .form(&[("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"), ("card[exp_year]", "2034"), ("card[cvc]", "123")])
        .send()
        .await?;
    Ok(res.json::<Value>().await?["id"].as_str().unwrap_or_default().to_owned())
}

/// One checkout: fill the cart (untimed), then time the checkout request.
async fn buy(base: &str, stripe: &str, b: &Buyer, key: String) -> anyhow::Result<Duration> {
    b.client.post(format!("{base}/api/v1/cart/items")).json(&json!({"sku": b.sku, "quantity": 1})).send().await?;
    let pm = payment_method(stripe).await?;
    let body = json!({
        "shipping_address": {"name": "Bench Buyer", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "shipping_method": "standard",
        "payment_method_id": pm
    });
    let started = Instant::now();
    let res = b.client.post(format!("{base}/api/v1/orders/checkout")).header("Idempotency-Key", key).json(&body).send().await?;
    let took = started.elapsed();
    anyhow::ensure!(res.status().as_u16() == 201, "checkout answered {}: {}", res.status(), res.text().await?);
    Ok(took)
}

async fn scenario(name: &str, base: &str, stripe: &str, buyers: &[Buyer], rounds: usize) -> anyhow::Result<()> {
    let mut all = Vec::new();
    for round in 0..rounds {
        let runs = buyers.iter().enumerate().map(|(i, b)| buy(base, stripe, b, format!("bench-{}-{round}-{i}", name.replace([' ', ','], "-"))));
        for t in futures::future::join_all(runs).await {
            all.push(t?);
        }
    }
    all.sort();
    println!(
        "{name:<32} {:>4} checkouts   p50 {:>7.1} ms   p95 {:>7.1} ms   max {:>7.1} ms",
        all.len(),
        percentile(&all, 0.50),
        percentile(&all, 0.95),
        all.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let base_url = env("BENCH_DATABASE_URL")?;
        let stripe = env("BENCH_STRIPE_URL")?;
        let name = format!("sellout_bench_{}", std::process::id());
        let admin = sea_orm::Database::connect(&base_url).await?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
        let (prefix, _) = base_url.rsplit_once('/').ok_or_else(|| anyhow::anyhow!("BENCH_DATABASE_URL has no database name"))?;
        let dir = std::env::temp_dir().join(&name);
        let mut cfg = Config::from_lookup(|_| None).map_err(|e| anyhow::anyhow!("{e}"))?;
        cfg.database_url = format!("{prefix}/{name}");
        cfg.data_dir = dir;
        cfg.site_addr = "127.0.0.1:0".parse()?;
        cfg.rate_limits.enabled = false;
        cfg.stripe = Some(StripeSettings {
            secret_key: "sk_test_bench".into(),
            api_base: stripe.clone(),
            publishable_key: None,
            js_url: format!("{stripe}js.stripe.com/v3/"),
            webhook_secret: None,
        });
        let app = Application::build(&cfg).await?;
        let base = format!("http://127.0.0.1:{}", app.port());
        let db = app.state().db.clone();
        tokio::spawn(app.run());

        // 64 distinct variants with plenty of stock, and 32 buyers signed in.
        let variants = variant::Entity::find().order_by_asc(variant::Column::Id).all(&db).await?;
        inventory::Entity::update_many().col_expr(inventory::Column::Quantity, Expr::value(100_000)).exec(&db).await?;
        let hash = app::accounts::service::hash_password("bench password").await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut clients = Vec::new();
        for i in 0..32 {
            let email = format!("bench{i}@example.com");
            user::ActiveModel { email: Set(email.clone()), password_hash: Set(hash.clone()), role: Set("shopper".into()), created_at: Set(chrono::Utc::now()), ..Default::default() }
                .insert(&db)
                .await?;
            let client = reqwest::Client::builder().cookie_store(true).build()?;
            let res = client.post(format!("{base}/api/v1/auth/login")).json(&json!({"email": email, "password": "bench password"})).send().await?;
            anyhow::ensure!(res.status().is_success(), "login: {}", res.status());
            clients.push(client);
        }
        let buyers = |n: usize, same: bool| -> Vec<Buyer> {
            clients.iter().take(n).enumerate().map(|(i, c)| Buyer { client: c.clone(), sku: variants[if same { 0 } else { i + 1 }].sku.clone() }).collect()
        };
        println!("checkout against {stripe} (localstripe), PostgreSQL, {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        scenario("1 buyer", &base, &stripe, &buyers(1, false), 40).await?;
        scenario("8 buyers, different products", &base, &stripe, &buyers(8, false), 8).await?;
        scenario("32 buyers, different products", &base, &stripe, &buyers(32, false), 4).await?;
        scenario("32 buyers, one product", &base, &stripe, &buyers(32, true), 4).await?;
        let stock: i64 = inventory::Entity::find().filter(inventory::Column::VariantId.eq(variants[0].id)).all(&db).await?.iter().map(|r| r.reserved).sum();
        println!("reserved left on the contended product: {stock} (expected 0)");
        Ok(())
    })
}
