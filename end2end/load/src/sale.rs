//! A flash sale for a scenario, scheduled by the run's admin through the REST API like a
//! seller would: a variant of the seeded catalog gets enough stock for the allocation, the sale
//! starts an hour out (so shoppers can join first) and `open` moves the start to a moment away.

use std::time::Duration;

use serde_json::{Value, json};

use crate::http::{Client, source_ip};
use crate::shop::Shop;

pub struct Sale {
    pub id: i64,
    pub allocation: i64,
    pub per_buyer_limit: i64,
    input: Value,
}

fn rfc3339_in(ms_from_now: i64) -> String {
    let ms = crate::now_ms() + ms_from_now;
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rest / 3600, rest % 3600 / 60, rest % 60, ms.rem_euclid(1000))
}

/// Howard Hinnant's days-to-date (proleptic Gregorian), so the tool needs no date crate.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Sale {
    /// Schedules a sale of `allocation` units (`per_buyer_limit` each, `admission_rate` let in
    /// per second) starting in an hour; `open` brings the start forward.
    pub async fn schedule(shop: &Shop, nth: i64, allocation: i64, per_buyer_limit: i64, admission_rate: i64) -> anyhow::Result<Sale> {
        let (variant_id, sku, price, currency): (i64, String, i64, String) =
            sqlx::query_as(
                "SELECT v.id, v.sku, v.price_amount, v.currency FROM variants v JOIN products p ON p.id = v.product_id \
                 WHERE v.price_amount >= 200 AND p.status = 'active' ORDER BY v.id LIMIT 1 OFFSET $1",
            )
            .bind(nth)
            .fetch_one(&shop.catalog)
            .await?;
        sqlx::query("UPDATE inventory SET quantity = quantity + $1 WHERE id = (SELECT id FROM inventory WHERE variant_id = $2 ORDER BY id LIMIT 1)")
            .bind(allocation)
            .bind(variant_id)
            .execute(&shop.catalog)
            .await?;
        let input = json!({
            "sku": sku,
            "price": {"amount": price / 2, "currency": currency},
            "starts_at": rfc3339_in(3_600_000),
            "ends_at": rfc3339_in(7_200_000),
            "allocation": allocation,
            "per_buyer_limit": per_buyer_limit,
            "admission_rate": admission_rate,
        });
        let mut client = Client::new(shop.addr, source_ip(0));
        let reply = client.post("/api/v1/seller/sales", Some(&shop.admin), &input).await;
        anyhow::ensure!(reply.status == 201, "scheduling the sale answered {}: {}", reply.status, String::from_utf8_lossy(&reply.body));
        let id = reply.json()["sale_id"].as_i64().ok_or_else(|| anyhow::anyhow!("no sale id in {}", reply.json()))?;
        Ok(Sale { id, allocation, per_buyer_limit, input })
    }

    /// Moves the start to `in_ms` from now; returns the start as milliseconds since the epoch.
    pub async fn open(&mut self, shop: &Shop, in_ms: i64) -> anyhow::Result<i64> {
        let starts = crate::now_ms() + in_ms;
        self.input["starts_at"] = json!(rfc3339_in(in_ms));
        let mut client = Client::new(shop.addr, source_ip(0));
        let reply = client.send(hyper::Method::PUT, &format!("/api/v1/seller/sales/{}", self.id), Some(&shop.admin), Some(&self.input), &[]).await;
        anyhow::ensure!(reply.status == 200, "moving the sale's start answered {}: {}", reply.status, String::from_utf8_lossy(&reply.body));
        Ok(starts)
    }

    /// Units the gate still offers (the public sale's `remaining`: while the sale runs, the
    /// gate's own count, holds taken off).
    pub async fn left(&self, client: &mut Client) -> Option<i64> {
        client.get(&format!("/api/v1/sales/{}", self.id), None).await.json()["remaining"].as_i64()
    }

    /// Units sold so far (the database's figure, as its seller sees it).
    pub async fn sold(&self, client: &mut Client, shop: &Shop) -> Option<i64> {
        let reply = client.get(&format!("/api/v1/seller/sales/{}", self.id), Some(&shop.admin)).await;
        reply.json()["sold"].as_i64()
    }
}

/// Sleeps until the wall clock reads `ms` since the epoch.
pub async fn until(ms: i64) {
    let wait = ms - crate::now_ms();
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_follow_the_gregorian_calendar() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_790), (2026, 12, 3));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
    }
}
