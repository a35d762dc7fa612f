//! The stock gate port (DESIGN §3, §5): the one place a buyer's claim on sale stock is checked
//! and taken atomically, with a per-buyer limit and a hold that expires back into stock.

use std::time::Duration;

use crate::store::{StoreError, now_ms};

/// A buyer's claim on `quantity` units of a sale, valid until `expires_at_ms`. It ends as an
/// order (`commit`) or goes back into stock (`release`, or expiry) exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub id: String,
    pub sale_id: i64,
    pub buyer: String,
    pub quantity: i64,
    pub expires_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TakeOutcome {
    Held { hold: Hold, remaining: i64 },
    SoldOut { remaining: i64 },
    /// The buyer already holds or bought `already` of at most `limit`.
    LimitReached { limit: i64, already: i64 },
    /// The gate has no stock figure for the sale (not loaded yet).
    NotLoaded,
}

#[async_trait::async_trait]
pub trait StockGate: Send + Sync + 'static {
    /// Sets the units the gate may hand out (at sale start, or re-warmed after a restart).
    async fn load(&self, sale_id: i64, remaining: i64) -> Result<(), StoreError>;
    async fn remaining(&self, sale_id: i64) -> Result<Option<i64>, StoreError>;
    /// Checks stock and the buyer's limit and takes `quantity` units in one atomic step.
    async fn try_take(
        &self,
        sale_id: i64,
        buyer: &str,
        quantity: i64,
        per_buyer_limit: i64,
        hold_for: Duration,
    ) -> Result<TakeOutcome, StoreError>;
    /// Gives a hold's units back to stock. True only for the call that actually released it.
    async fn release(&self, sale_id: i64, hold_id: &str) -> Result<bool, StoreError>;
    /// The hold became an order: its units stay sold. True only for the first call.
    async fn commit(&self, sale_id: i64, hold_id: &str) -> Result<bool, StoreError>;
    /// Releases every hold past its expiry; returns how many.
    async fn release_expired(&self, sale_id: i64) -> Result<u64, StoreError>;
}

pub(super) fn new_hold_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    format!("{:x}-{:x}-{:x}", now_ms(), std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed))
}


