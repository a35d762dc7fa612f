//! `flash`: the moment a sale opens. Every shopper joins the line before the start (their places
//! are then read back: one each, 1…N, no duplicate, no gap); the start is brought forward; each
//! shopper polls the line once a second like a page without its socket, buys once let in, and
//! the winners check out through the demo gateway. Some winners walk away, so their holds lapse
//! and go back to the line. The run ends when the allocation is sold (or at the time cap), and
//! the database is then checked: sold = ordered units ≤ allocation, nobody over the limit, every
//! lapsed hold back, no stock below zero.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hyper::Method;
use serde::Serialize;
use serde_json::json;

use crate::crowd::{Req, each_shopper};
use crate::http::{Client, source_ip};
use crate::sale::{Sale, until};
use crate::shop::{Shop, Shopper};
use crate::stats::{Counters, Step, StepSummary, progress};

pub struct FlashOptions {
    pub connections: usize,
    pub allocation: i64,
    pub per_buyer_limit: i64,
    /// Winners in a hundred who never check out (their holds lapse back into the sale).
    pub abandon_percent: u64,
    /// The buying phase stops here even if the allocation is not sold.
    pub time_cap: Duration,
}

#[derive(Debug, Default, Serialize)]
pub struct Checks {
    pub allocated: i64,
    /// The sale's `sold` in the database.
    pub sold: i64,
    /// Units of the sale's holds that became orders.
    pub ordered_units: i64,
    /// Units on the order lines of those orders.
    pub order_line_units: i64,
    pub orders: i64,
    pub paid_orders: i64,
    /// Units sold beyond the allocation by any of the three counts: must be 0.
    pub oversold: i64,
    /// Shoppers holding or owning more than the per-buyer limit: must be 0.
    pub over_limit_buyers: i64,
    /// Holds given back (lapsed or cancelled).
    pub released_holds: i64,
    /// Holds past their expiry that were not given back: must be 0.
    pub lapsed_not_back: i64,
    /// Inventory rows below zero: must be 0.
    pub negative_stock_rows: i64,
}

#[derive(Debug, Serialize)]
pub struct FlashReport {
    pub shoppers: usize,
    pub connections: usize,
    pub allocation: i64,
    pub per_buyer_limit: i64,
    pub steps: Vec<StepSummary>,
    /// Every shopper's place read back after the joins: a permutation of 1…N.
    pub positions_exact: bool,
    pub duplicate_positions: u64,
    pub missing_positions: u64,
    /// Joins per second over the whole join phase (first request to last answer).
    pub joins_per_second: f64,
    pub holds: u64,
    pub abandoned_holds: u64,
    pub checkouts: u64,
    /// Seconds from the start until the database's `sold` reached the allocation.
    pub sold_out_after_seconds: Option<f64>,
    pub checks: Checks,
}

/// Each of `connections` tasks takes every `connections`-th shopper, on its own connection from
/// its own loopback address.
fn split(shoppers: &[Shopper], connections: usize) -> Vec<Vec<(usize, Shopper)>> {
    let len = connections.max(1);
    let mut parts = vec![Vec::new(); len];
    for (i, s) in shoppers.iter().enumerate() {
        parts[i % len].push((i, s.clone()));
    }
    parts
}

pub async fn run(shop: &Shop, opts: &FlashOptions) -> anyhow::Result<FlashReport> {
    let n = shop.shoppers.len();
    let conns = opts.connections.min(n).max(1);
    // Everyone who waits is let in within about three rounds while units last.
    let rate = ((n as i64 + 2) / 3).clamp(1, 100_000);
    let mut sale = Sale::schedule(shop, 0, opts.allocation, opts.per_buyer_limit, rate).await?;
    eprintln!("==> flash: {n} shoppers, {conns} connections, sale {} of {} units (limit {} each)", sale.id, opts.allocation, opts.per_buyer_limit);

    // 1. Everyone joins before the start.
    let queue = format!("/api/v1/sales/{}/queue", sale.id);
    let path = queue.clone();
    let (joins, _) = each_shopper(shop.addr, &shop.shoppers, conns, "join", |s| s == 200, move |_, _| vec![Req::post(path.clone(), None)]).await?;

    // 2. Read every place back: one each, 1…N.
    let path = queue.clone();
    let (places, answers) = each_shopper(shop.addr, &shop.shoppers, conns, "places", |s| s == 200, move |_, _| vec![Req::get(path.clone())]).await?;
    let positions: Vec<i64> = answers.iter().map(|a| a["position"].as_i64().unwrap_or(0)).collect();
    let (duplicates, missing) = permutation_gaps(&positions);

    // 3. The sale opens; shoppers poll, buy once let in and check out.
    let starts = sale.open(shop, 2_000).await?;
    until(starts).await;
    eprintln!("==> flash: the sale is open");
    let done = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + opts.time_cap;
    let counters = Counters::new();
    let _p = progress("buying (requests)".into(), None, counters.clone());
    let tasks = split(&shop.shoppers, conns).into_iter().enumerate().map(|(w, part)| {
        let ctx = BuyCtx { addr: shop.addr, sale_id: sale.id, counters: counters.clone(), done: done.clone(), deadline, abandon_percent: opts.abandon_percent };
        tokio::spawn(buy_loop(ctx, w, part))
    });
    let buyers = tokio::spawn(join_all(tasks));
    let mut client = Client::new(shop.addr, source_ip(0));
    let mut sold_out_after = None;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if sale.sold(&mut client, shop).await.is_some_and(|s| s >= sale.allocation) {
            sold_out_after = Some((crate::now_ms() - starts) as f64 / 1000.0);
            break;
        }
        if buyers.is_finished() {
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    let mut outcome = BuyOutcome::default();
    for r in buyers.await? {
        outcome.merge(r?);
    }
    drop(_p);
    // The sweeper gives lapsed holds back each second: let the last ones go before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let checks = check(shop, &sale).await?;
    let joins_per_second = joins.clone().summary("join").per_second;
    Ok(FlashReport {
        shoppers: n,
        connections: conns,
        allocation: sale.allocation,
        per_buyer_limit: sale.per_buyer_limit,
        steps: vec![joins.summary("join"), places.summary("place (read back)"), outcome.polls.summary("place (poll)"), outcome.buys.summary("buy"), outcome.checkouts.summary("checkout")],
        positions_exact: duplicates == 0 && missing == 0,
        duplicate_positions: duplicates,
        missing_positions: missing,
        joins_per_second,
        holds: outcome.holds,
        abandoned_holds: outcome.abandoned,
        checkouts: outcome.paid,
        sold_out_after_seconds: sold_out_after,
        checks,
    })
}

/// How far `positions` is from 1…len: (places given twice, places nobody has).
pub fn permutation_gaps(positions: &[i64]) -> (u64, u64) {
    let n = positions.len();
    let mut seen = vec![0u32; n + 1];
    let mut duplicates = 0;
    for &p in positions {
        if p >= 1 && (p as usize) <= n {
            seen[p as usize] += 1;
            if seen[p as usize] > 1 {
                duplicates += 1;
            }
        }
    }
    let missing = seen.iter().skip(1).filter(|&&c| c == 0).count() as u64;
    (duplicates, missing)
}

struct BuyCtx {
    addr: std::net::SocketAddr,
    sale_id: i64,
    counters: Arc<Counters>,
    done: Arc<AtomicBool>,
    deadline: Instant,
    abandon_percent: u64,
}

#[derive(Default)]
struct BuyOutcome {
    polls: Step,
    buys: Step,
    checkouts: Step,
    holds: u64,
    abandoned: u64,
    paid: u64,
}

impl BuyOutcome {
    fn merge(&mut self, o: BuyOutcome) {
        self.polls.merge(o.polls);
        self.buys.merge(o.buys);
        self.checkouts.merge(o.checkouts);
        self.holds += o.holds;
        self.abandoned += o.abandoned;
        self.paid += o.paid;
    }
}

/// One connection's shoppers: each round (once a second) every shopper still in the game polls
/// the line or, once let in, buys; a new hold is checked out (or walked away from).
async fn buy_loop(ctx: BuyCtx, w: usize, part: Vec<(usize, Shopper)>) -> BuyOutcome {
    let mut client = Client::new(ctx.addr, source_ip(w));
    let mut out = BuyOutcome::default();
    let queue = format!("/api/v1/sales/{}/queue", ctx.sale_id);
    let buy = format!("/api/v1/sales/{}/buy", ctx.sale_id);
    let mut pending: Vec<(usize, Shopper, Option<String>)> = part.into_iter().map(|(i, s)| (i, s, None)).collect();
    while !pending.is_empty() && !ctx.done.load(Ordering::Relaxed) && Instant::now() < ctx.deadline {
        let round = Instant::now();
        let mut still = Vec::with_capacity(pending.len());
        for (i, s, mut token) in pending {
            if ctx.done.load(Ordering::Relaxed) {
                break;
            }
            if token.is_none() {
                let r = client.get(&queue, Some(&s.session)).await;
                ctx.counters.add(r.status == 200);
                out.polls.record(r.status, r.took);
                let v = r.json();
                if v["admitted"] == true {
                    token = v["token"].as_str().map(str::to_owned);
                } else if r.status == 404 {
                    // The turn lapsed: back in line.
                    let _ = client.send(Method::POST, &queue, Some(&s.session), None, &[]).await;
                }
            }
            let Some(t) = token.clone() else {
                still.push((i, s, token));
                continue;
            };
            let r = client.post(&buy, Some(&s.session), &json!({"quantity": 1, "token": t})).await;
            ctx.counters.add(r.status == 201 || r.status == 200);
            out.buys.record(r.status, r.took);
            match r.status {
                201 | 200 => {
                    out.holds += u64::from(r.status == 201);
                    let hold = r.json()["hold_id"].as_str().unwrap_or_default().to_owned();
                    // A stable few walk away: their hold lapses back into the sale.
                    if (i as u64 * 37 + 11) % 100 < ctx.abandon_percent {
                        out.abandoned += 1;
                        continue;
                    }
                    let body = json!({
                        "hold_id": hold,
                        "shipping_address": {"name": "Load Shopper", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
                        "shipping_method": "standard",
                        "payment_method_id": "pm_card_visa",
                    });
                    let key = format!("load-{hold}");
                    let r = client.send(Method::POST, "/api/v1/orders/checkout", Some(&s.session), Some(&body), &[("idempotency-key", &key)]).await;
                    ctx.counters.add(r.status == 201 || r.status == 200);
                    out.checkouts.record(r.status, r.took);
                    if r.json()["status"] == "paid" {
                        out.paid += 1;
                    }
                }
                // Not let in (any more): poll the line again.
                403 => still.push((i, s, None)),
                // Over the limit: this shopper is done.
                422 => {}
                // Sold out for now (units may come back), rate limited, or a fault: again next round.
                _ => still.push((i, s, token)),
            }
        }
        pending = still;
        let rest = Duration::from_secs(1).saturating_sub(round.elapsed());
        tokio::time::sleep(rest).await;
    }
    out
}

async fn check(shop: &Shop, sale: &Sale) -> anyhow::Result<Checks> {
    let one = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(sale.id);
    let (allocated, sold): (i64, i64) = sqlx::query_as("SELECT allocated, sold FROM flash_sales WHERE id = $1").bind(sale.id).fetch_one(shop.db()?).await?;
    let ordered_units = one("SELECT COALESCE(SUM(quantity), 0)::BIGINT FROM sale_holds WHERE sale_id = $1 AND state IN ('ordered', 'paid')").fetch_one(shop.db()?).await?;
    let order_line_units = one(
        "SELECT COALESCE(SUM(oi.quantity), 0)::BIGINT FROM order_items oi WHERE oi.order_id IN \
         (SELECT order_id FROM sale_holds WHERE sale_id = $1 AND order_id IS NOT NULL)",
    )
    .fetch_one(shop.db()?)
    .await?;
    let orders = one("SELECT COUNT(DISTINCT order_id) FROM sale_holds WHERE sale_id = $1 AND order_id IS NOT NULL").fetch_one(shop.db()?).await?;
    let paid_orders = one("SELECT COUNT(*) FROM orders WHERE status = 'paid' AND id IN (SELECT order_id FROM sale_holds WHERE sale_id = $1)").fetch_one(shop.db()?).await?;
    let over_limit_buyers = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM (SELECT user_id FROM sale_holds WHERE sale_id = $1 AND state IN ('held', 'ordered', 'paid') \
         GROUP BY user_id HAVING SUM(quantity) > $2) over",
    )
    .bind(sale.id)
    .bind(sale.per_buyer_limit)
    .fetch_one(shop.db()?)
    .await?;
    let released_holds = one("SELECT COUNT(*) FROM sale_holds WHERE sale_id = $1 AND state = 'released'").fetch_one(shop.db()?).await?;
    let lapsed_not_back = one("SELECT COUNT(*) FROM sale_holds WHERE sale_id = $1 AND state = 'held' AND expires_at < now() - interval '2 seconds'").fetch_one(shop.db()?).await?;
    let negative_stock_rows = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM inventory WHERE quantity < 0 OR reserved < 0").fetch_one(shop.db()?).await?;
    let most = sold.max(ordered_units).max(order_line_units);
    Ok(Checks {
        allocated,
        sold,
        ordered_units,
        order_line_units,
        orders,
        paid_orders,
        oversold: (most - allocated).max(0),
        over_limit_buyers,
        released_holds,
        lapsed_not_back,
        negative_stock_rows,
    })
}

#[cfg(test)]
mod tests {
    use super::permutation_gaps;

    #[test]
    fn a_permutation_has_no_gaps() {
        assert_eq!(permutation_gaps(&[3, 1, 2]), (0, 0));
        assert_eq!(permutation_gaps(&[1, 1, 3]), (1, 1));
        assert_eq!(permutation_gaps(&[0, 2, 3]), (0, 1));
    }
}
