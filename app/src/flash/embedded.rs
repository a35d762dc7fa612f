//! The stock gate of the embedded default: in-process, one mutex over every sale.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::port::{Hold, StockGate, TakeOutcome, new_hold_id};
use crate::store::{StoreError, now_ms};

/// In-process gate for the embedded default. One mutex guards all sales: every operation is a
/// few map updates, far cheaper than the database write that follows a successful take.
#[derive(Default)]
pub struct MemoryStockGate {
    sales: Mutex<HashMap<i64, SaleGate>>,
}

#[derive(Default)]
struct SaleGate {
    remaining: i64,
    per_buyer: HashMap<String, i64>,
    holds: HashMap<String, Hold>,
}

impl SaleGate {
    fn give_back(&mut self, hold_id: &str) -> bool {
        let Some(hold) = self.holds.remove(hold_id) else { return false };
        self.remaining += hold.quantity;
        if let Some(n) = self.per_buyer.get_mut(&hold.buyer) {
            *n -= hold.quantity;
            if *n <= 0 {
                self.per_buyer.remove(&hold.buyer);
            }
        }
        true
    }
}

impl MemoryStockGate {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_sale<T>(&self, sale_id: i64, f: impl FnOnce(Option<&mut SaleGate>) -> T) -> T {
        let mut sales = self.sales.lock().expect("stock gate mutex poisoned: a holder panicked");
        f(sales.get_mut(&sale_id))
    }
}

#[async_trait::async_trait]
impl StockGate for MemoryStockGate {
    async fn load(&self, sale_id: i64, remaining: i64) -> Result<(), StoreError> {
        let mut sales = self.sales.lock().expect("stock gate mutex poisoned: a holder panicked");
        sales.entry(sale_id).or_default().remaining = remaining.max(0);
        Ok(())
    }

    async fn remaining(&self, sale_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(self.with_sale(sale_id, |s| s.map(|s| s.remaining)))
    }

    async fn try_take(
        &self,
        sale_id: i64,
        buyer: &str,
        quantity: i64,
        per_buyer_limit: i64,
        hold_for: Duration,
    ) -> Result<TakeOutcome, StoreError> {
        Ok(self.with_sale(sale_id, |sale| {
            let Some(sale) = sale else { return TakeOutcome::NotLoaded };
            let already = sale.per_buyer.get(buyer).copied().unwrap_or(0);
            if already + quantity > per_buyer_limit {
                return TakeOutcome::LimitReached { limit: per_buyer_limit, already };
            }
            if sale.remaining < quantity {
                return TakeOutcome::SoldOut { remaining: sale.remaining };
            }
            sale.remaining -= quantity;
            *sale.per_buyer.entry(buyer.to_owned()).or_default() += quantity;
            let hold = Hold {
                id: new_hold_id(),
                sale_id,
                buyer: buyer.to_owned(),
                quantity,
                expires_at_ms: now_ms() + hold_for.as_millis() as i64,
            };
            sale.holds.insert(hold.id.clone(), hold.clone());
            TakeOutcome::Held { hold, remaining: sale.remaining }
        }))
    }

    async fn release(&self, sale_id: i64, hold_id: &str) -> Result<bool, StoreError> {
        Ok(self.with_sale(sale_id, |s| s.is_some_and(|s| s.give_back(hold_id))))
    }

    async fn commit(&self, sale_id: i64, hold_id: &str) -> Result<bool, StoreError> {
        Ok(self.with_sale(sale_id, |s| s.is_some_and(|s| s.holds.remove(hold_id).is_some())))
    }

    async fn release_expired(&self, sale_id: i64) -> Result<u64, StoreError> {
        let now = now_ms();
        Ok(self.with_sale(sale_id, |s| {
            let Some(s) = s else { return 0 };
            let expired: Vec<String> =
                s.holds.values().filter(|h| h.expires_at_ms <= now).map(|h| h.id.clone()).collect();
            expired.iter().filter(|id| s.give_back(id)).count() as u64
        }))
    }
}


