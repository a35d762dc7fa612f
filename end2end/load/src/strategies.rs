//! `strategies`: one burst of buy attempts on one hot item, through the shop's gate and the two
//! classic PostgreSQL gates, side by side in one run, with two ceilings:
//! - the shop: `POST /api/v1/sales/{id}/buy` over HTTP (session, rate limits, the Redis Lua
//!   gate, the hold's row for winners);
//! - PostgreSQL, a conditional `UPDATE … WHERE remaining >= 1` in a transaction with the hold;
//! - PostgreSQL, `SELECT … FOR UPDATE` then check, update and insert;
//! - ceiling: `redis-benchmark` running EVALSHA of the shop's own gate script (`take`);
//! - ceiling: `GET /healthz` of the same shop over the same connections.
//!
//! Every gate gets the same attempts by the same buyers for the same allocation, and each is
//! checked afterwards: never more than the allocation held, nothing below zero. The shop's holds
//! lapse (`--hold-seconds`) and go back on sale during a long burst, so its units taken are the
//! live holds and the lapsed ones are counted apart: a lapsed hold re-sold is not an oversell.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde::Serialize;
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};

use crate::crowd::{Req, each_shopper, hammer};
use crate::sale::{Sale, until};
use crate::shop::Shop;
use crate::stats::{Counters, Step, StepSummary, progress};

pub struct StrategyOptions {
    pub connections: usize,
    /// Buy attempts per gate.
    pub attempts: u64,
    /// Connections the PostgreSQL gates share (the server's limit caps it).
    pub pg_pool: u32,
}

#[derive(Debug, Serialize)]
pub struct GateRow {
    pub gate: String,
    #[serde(flatten)]
    pub figures: StepSummary,
    /// Units in live holds (held, ordered, paid): never above the allocation.
    pub taken: i64,
    /// Units whose hold lapsed and went back on sale (the shop only).
    pub released: i64,
    /// Units the gate still offers at the end (the shop: lapsed units nobody took again).
    pub left: i64,
}

impl GateRow {
    /// Every unit accounted for, to the unit: taken plus what the gate still offers is the
    /// allocation (a unit taken twice, or lost between the gate and the database, breaks it).
    pub fn exact(&self, allocation: i64) -> bool {
        self.taken + self.left == allocation && self.left >= 0
    }
}

#[derive(Debug, Serialize)]
pub struct StrategiesReport {
    pub connections: usize,
    pub attempts: u64,
    pub buyers: usize,
    pub allocation: i64,
    pub gates: Vec<GateRow>,
    pub evalsha_per_second: Option<f64>,
    pub healthz: StepSummary,
    /// HTTP buys per second over each of the others.
    pub buy_vs_healthz: f64,
    pub buy_vs_pg_update: f64,
    pub buy_vs_pg_for_update: f64,
    pub buy_vs_evalsha: Option<f64>,
}

pub async fn run(shop: &Shop, opts: &StrategyOptions) -> anyhow::Result<StrategiesReport> {
    let shoppers = &shop.shoppers;
    let n = shoppers.len();
    let per_buyer = opts.attempts.div_ceil(n as u64).max(1);
    let attempts = per_buyer * n as u64;
    let allocation = (n as i64 / 2).max(1);
    eprintln!("==> strategies: {attempts} buy attempts by {n} buyers for {allocation} units, {} connections", opts.connections);

    // The shop's gate: every buyer in line and let in at the first round, then the burst.
    let mut sale = Sale::schedule(shop, 1, allocation, 1, (n as i64).clamp(1, 100_000)).await?;
    let queue = format!("/api/v1/sales/{}/queue", sale.id);
    let path = queue.clone();
    each_shopper(shop.addr, shoppers, opts.connections, "join", |s| s == 200, move |_, _| vec![Req::post(path.clone(), None)]).await?;
    let starts = sale.open(shop, 1_500).await?;
    until(starts + 1_500).await;
    let path = queue.clone();
    let (_, answers) = each_shopper(shop.addr, shoppers, opts.connections, "tokens", |s| s == 200, move |_, _| vec![Req::get(path.clone())]).await?;
    let tokens: Arc<Vec<String>> = Arc::new(answers.iter().map(|a| a["token"].as_str().unwrap_or_default().to_owned()).collect());
    let admitted = tokens.iter().filter(|t| !t.is_empty()).count();
    anyhow::ensure!(admitted == n, "only {admitted} of {n} buyers were let in before the burst");
    let buy = format!("/api/v1/sales/{}/buy", sale.id);
    let (step, _) = each_shopper(shop.addr, shoppers, opts.connections, "buy (shop, Redis Lua gate)", |s| matches!(s, 200 | 201 | 409), move |i, _| {
        (0..per_buyer).map(|_| Req::post(buy.clone(), Some(json!({"quantity": 1, "token": tokens[i]})))).collect()
    })
    .await?;
    // Taken during the burst: live holds now, and those that lapsed meanwhile.
    let released_in_burst = hold_units(shop, sale.id, "'released'").await?;
    let taken_in_burst = hold_units(shop, sale.id, "'held', 'ordered', 'paid'").await?;
    let (taken, left) = shop_units(shop, &sale).await?;
    let released = hold_units(shop, sale.id, "'released'").await?;
    eprintln!("    {taken_in_burst} units held and {released_in_burst} lapsed at the end of the burst; settled: {taken} held, {left} offered, {released} lapsed in all");
    let shop_row = GateRow { gate: "shop: HTTP buy, Redis Lua gate".into(), figures: step.summary("buy"), taken, released, left };

    // The two PostgreSQL gates on their own tables of the run's database.
    let pg = PgPoolOptions::new().max_connections(opts.pg_pool).connect_with(shop.db()?.connect_options().as_ref().clone()).await?;
    let buyers: Vec<i64> = shoppers.iter().map(|s| s.user_id).collect();
    let update = pg_gate(&pg, Gate::ConditionalUpdate, &buyers, per_buyer, allocation, opts.connections).await?;
    let for_update = pg_gate(&pg, Gate::SelectForUpdate, &buyers, per_buyer, allocation, opts.connections).await?;
    pg.close().await;

    let evalsha = evalsha_ceiling(shop, opts.connections.min(200), attempts).await;
    let evalsha = match evalsha {
        Ok(rate) => Some(rate),
        Err(e) => {
            eprintln!("    redis-benchmark EVALSHA not measured: {e:#}");
            None
        }
    };
    let healthz = hammer(shop.addr, opts.connections, attempts, "GET /healthz", Arc::new(vec!["/healthz".to_owned()]), None, None).await?.summary("healthz");
    let buy_rate = shop_row.figures.per_second;
    let ratio = |other: f64| if other > 0.0 { buy_rate / other } else { 0.0 };
    Ok(StrategiesReport {
        connections: opts.connections,
        attempts,
        buyers: n,
        allocation,
        buy_vs_healthz: ratio(healthz.per_second),
        buy_vs_pg_update: ratio(update.figures.per_second),
        buy_vs_pg_for_update: ratio(for_update.figures.per_second),
        buy_vs_evalsha: evalsha.map(ratio),
        gates: vec![shop_row, update, for_update],
        evalsha_per_second: evalsha,
        healthz,
    })
}

async fn hold_units(shop: &Shop, sale_id: i64, states: &'static str) -> anyhow::Result<i64> {
    let query = format!("SELECT COALESCE(SUM(quantity), 0)::BIGINT FROM sale_holds WHERE sale_id = $1 AND state IN ({states})");
    Ok(sqlx::query_scalar::<_, i64>(sql(query)).bind(sale_id).fetch_one(shop.db()?).await?)
}

/// The shop's units in live holds (the database) and still offered (the gate) once the burst
/// has settled. Nobody in this scenario checks out, so every hold lapses (`--hold-seconds`
/// after it was taken) and the hold sweeper gives it back, to the gate first and then its row:
/// while that goes on, the units in between are counted twice. Settled is when no hold is live
/// and the gate reads the same before and after the database; then every unit must be back, no
/// more and no fewer: taken 0 and left the allocation (a hold given back twice would show as
/// more). At the deadline the last reading stands, and a mismatch fails the run.
async fn shop_units(shop: &Shop, sale: &Sale) -> anyhow::Result<(i64, i64)> {
    let mut client = crate::http::Client::new(shop.addr, crate::http::source_ip(0));
    let deadline = std::time::Instant::now() + Duration::from_secs(shop.hold_seconds + 30);
    eprintln!("    waiting for the shop's holds to lapse and come back (at most {} s)", shop.hold_seconds + 30);
    loop {
        let before = sale.left(&mut client).await;
        let taken = hold_units(shop, sale.id, "'held', 'ordered', 'paid'").await?;
        let after = sale.left(&mut client).await;
        let (Some(before), Some(after)) = (before, after) else { anyhow::bail!("the sale's units left could not be read") };
        if (taken == 0 && before == after) || std::time::Instant::now() >= deadline {
            return Ok((taken, after));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Clone, Copy)]
enum Gate {
    ConditionalUpdate,
    SelectForUpdate,
}

/// The burst against a PostgreSQL gate: `connections` tasks, each with its share of the
/// buyers, each attempt one transaction on the pool.
async fn pg_gate(pg: &PgPool, gate: Gate, buyers: &[i64], per_buyer: u64, allocation: i64, connections: usize) -> anyhow::Result<GateRow> {
    let (name, table) = match gate {
        Gate::ConditionalUpdate => ("PostgreSQL: conditional UPDATE … WHERE remaining >= 1", "load_gate_update"),
        Gate::SelectForUpdate => ("PostgreSQL: SELECT … FOR UPDATE", "load_gate_lock"),
    };
    sqlx::raw_sql(sql(format!("DROP TABLE IF EXISTS {table}_stock, {table}_holds"))).execute(pg).await?;
    sqlx::raw_sql(sql(format!("CREATE TABLE {table}_stock (id BIGINT PRIMARY KEY, remaining BIGINT NOT NULL CHECK (remaining >= 0))"))).execute(pg).await?;
    sqlx::raw_sql(sql(format!("CREATE TABLE {table}_holds (buyer BIGINT PRIMARY KEY, quantity BIGINT NOT NULL)"))).execute(pg).await?;
    sqlx::query(sql(format!("INSERT INTO {table}_stock VALUES (1, $1)"))).bind(allocation).execute(pg).await?;
    let counters = Counters::new();
    let total = per_buyer * buyers.len() as u64;
    let _p = progress(name.to_owned(), Some(total), counters.clone());
    let buyers = Arc::new(buyers.to_vec());
    let tasks = (0..connections.min(buyers.len())).map(|w| {
        let (pg, buyers, counters) = (pg.clone(), buyers.clone(), counters.clone());
        tokio::spawn(async move {
            let mut step = Step::default();
            for i in (w..buyers.len()).step_by(connections) {
                for _ in 0..per_buyer {
                    let started = Instant::now();
                    let outcome = match gate {
                        Gate::ConditionalUpdate => take_conditional(&pg, table, buyers[i]).await,
                        Gate::SelectForUpdate => take_locked(&pg, table, buyers[i]).await,
                    };
                    // 201 taken, 200 already holding, 409 sold out, 0 an error (as HTTP would say).
                    let status = match outcome {
                        Ok(Taken::Yes) => 201,
                        Ok(Taken::AlreadyHolding) => 200,
                        Ok(Taken::SoldOut) => 409,
                        Err(_) => 0,
                    };
                    counters.add(status != 0);
                    step.record(status, started.elapsed());
                }
            }
            step
        })
    });
    let mut step = Step::default();
    for r in join_all(tasks).await {
        step.merge(r?);
    }
    let taken: i64 = sqlx::query_scalar(sql(format!("SELECT COALESCE(SUM(quantity), 0)::BIGINT FROM {table}_holds"))).fetch_one(pg).await?;
    let remaining: i64 = sqlx::query_scalar(sql(format!("SELECT remaining FROM {table}_stock WHERE id = 1"))).fetch_one(pg).await?;
    sqlx::raw_sql(sql(format!("DROP TABLE {table}_stock, {table}_holds"))).execute(pg).await?;
    Ok(GateRow { gate: name.to_owned(), figures: step.summary(name), taken, released: 0, left: remaining })
}

/// The gates' SQL names only the tool's own tables (constants above), never input.
fn sql(text: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(text)
}

enum Taken {
    Yes,
    AlreadyHolding,
    SoldOut,
}

/// Decrements only while stock is left (the row lock is held from the UPDATE to the commit),
/// and records the buyer's hold; a second hold of the same buyer rolls it all back.
async fn take_conditional(pg: &PgPool, table: &str, buyer: i64) -> anyhow::Result<Taken> {
    let mut tx = pg.begin().await?;
    let updated = sqlx::query(sql(format!("UPDATE {table}_stock SET remaining = remaining - 1 WHERE id = 1 AND remaining >= 1"))).execute(&mut *tx).await?;
    if updated.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(Taken::SoldOut);
    }
    let held = sqlx::query(sql(format!("INSERT INTO {table}_holds VALUES ($1, 1) ON CONFLICT DO NOTHING"))).bind(buyer).execute(&mut *tx).await?;
    if held.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(Taken::AlreadyHolding);
    }
    tx.commit().await?;
    Ok(Taken::Yes)
}

/// Locks the stock row, reads it and the buyer's hold, then updates and inserts.
async fn take_locked(pg: &PgPool, table: &str, buyer: i64) -> anyhow::Result<Taken> {
    let mut tx = pg.begin().await?;
    let remaining: i64 = sqlx::query_scalar(sql(format!("SELECT remaining FROM {table}_stock WHERE id = 1 FOR UPDATE"))).fetch_one(&mut *tx).await?;
    let holding: Option<i64> = sqlx::query_scalar(sql(format!("SELECT quantity FROM {table}_holds WHERE buyer = $1"))).bind(buyer).fetch_optional(&mut *tx).await?;
    if holding.is_some() {
        tx.rollback().await?;
        return Ok(Taken::AlreadyHolding);
    }
    if remaining < 1 {
        tx.rollback().await?;
        return Ok(Taken::SoldOut);
    }
    sqlx::query(sql(format!("UPDATE {table}_stock SET remaining = remaining - 1 WHERE id = 1"))).execute(&mut *tx).await?;
    sqlx::query(sql(format!("INSERT INTO {table}_holds VALUES ($1, 1)"))).bind(buyer).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Taken::Yes)
}

/// `redis-benchmark` running the shop's gate script (`take`) on a sale of its own under the
/// run's prefix: every buyer let in, stock that never runs out, so each call walks the whole
/// path (window, token, hold, limit, stock) and most take units.
async fn evalsha_ceiling(shop: &Shop, clients: usize, calls: u64) -> anyhow::Result<f64> {
    use fred::prelude::*;
    const BUYERS: u64 = 100_000;
    let sha: String = shop.redis()?.script_load(GATE_LUA).await?;
    let base = format!("{}{{sale:0}}", shop.prefix());
    let key = |k: &str| format!("{base}:{k}");
    let _: () = shop
        .redis()?
        .hset(key("meta"), vec![("starts", "0".to_owned()), ("ends", i64::MAX.to_string()), ("limit", "1000000000".into()), ("secret", "s".into()), ("closed", "0".into()), ("round", "0".into())])
        .await?;
    let _: () = shop.redis()?.set(key("remaining"), 1_000_000_000i64, None, None, false).await?;
    // redis-benchmark writes __rand_int__ as 12 digits.
    for chunk in (0..BUYERS).collect::<Vec<_>>().chunks(10_000) {
        let pairs: Vec<(String, String)> = chunk.iter().map(|b| (format!("buyer:{b:012}"), "t".to_owned())).collect();
        let _: () = shop.redis()?.hset(key("admitted"), pairs).await?;
    }
    let (host, port) = redis_host_port(shop.redis()?)?;
    let keys = ["remaining", "buyers", "holds", "holdof", "meta", "line", "admitted", "admitted_until", "draw", "arrivals"].map(key);
    let now = crate::now_ms().to_string();
    let mut args: Vec<String> = vec!["-h".into(), host, "-p".into(), port.to_string(), "-c".into(), clients.to_string(), "-n".into(), calls.to_string(), "-r".into(), BUYERS.to_string(), "-P".into(), "1".into(), "--csv".into(), "EVALSHA".into(), sha, "10".into()];
    args.extend(keys);
    args.extend(["take".into(), now, "buyer:__rand_int__".into(), "t".into(), "1".into(), "h__rand_int__".into(), i64::MAX.to_string()]);
    eprintln!("  redis-benchmark EVALSHA: {calls} calls, {clients} clients");
    let out = tokio::time::timeout(Duration::from_secs(300), tokio::process::Command::new("redis-benchmark").args(&args).output()).await??;
    anyhow::ensure!(out.status.success(), "redis-benchmark failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    // CSV: "test","rps",…; the second line holds the figures.
    let rate = text
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim_matches('"').parse::<f64>().ok())
        .ok_or_else(|| anyhow::anyhow!("no rate in redis-benchmark's output: {text}"))?;
    let mut cursor = "0".to_owned();
    loop {
        let (next, found): (String, Vec<String>) = shop.redis()?.custom(fred::cmd!("SCAN"), vec![cursor, "MATCH".into(), format!("{base}:*"), "COUNT".into(), "1000".into()]).await?;
        if !found.is_empty() {
            let _: i64 = shop.redis()?.del(found).await?;
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    Ok(rate)
}

const GATE_LUA: &str = include_str!("../../../app/src/flash/gate.lua");

fn redis_host_port(client: &fred::clients::Client) -> anyhow::Result<(String, u16)> {
    use fred::prelude::*;
    match &client.client_config().server {
        fred::types::config::ServerConfig::Centralized { server } => Ok((server.host.to_string(), server.port)),
        _ => anyhow::bail!("redis-benchmark needs a single Redis server"),
    }
}
