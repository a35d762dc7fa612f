//! The cart store port: a cart's lines with set semantics, and how long an untouched cart lives.

use std::time::Duration;

use super::{CartLine, CartOwner};
use crate::money::Money;
use crate::store::StoreError;

/// How long an untouched cart lives: 7 days for guests, 30 for users (DESIGN §3).
#[derive(Clone, Copy, Debug)]
pub struct CartTtl {
    pub guest: Duration,
    pub user: Duration,
}

impl Default for CartTtl {
    fn default() -> Self {
        Self { guest: Duration::from_secs(7 * 24 * 3600), user: Duration::from_secs(30 * 24 * 3600) }
    }
}

impl CartTtl {
    pub fn for_owner(&self, owner: &CartOwner) -> Duration {
        match owner {
            CartOwner::Guest(_) => self.guest,
            CartOwner::User(_) => self.user,
        }
    }
}

#[async_trait::async_trait]
pub trait CartStore: Send + Sync + 'static {
    /// The live lines, ordered by SKU; an expired cart is empty.
    async fn lines(&self, owner: &CartOwner) -> Result<Vec<CartLine>, StoreError>;
    /// Sets a line's quantity (callers cap it; 0 removes). Keeps the
    /// price of the first add, and renews the whole cart's time to live.
    async fn set_quantity(
        &self,
        owner: &CartOwner,
        sku: &str,
        quantity: i64,
        price_now: &Money,
    ) -> Result<(), StoreError>;
    async fn remove(&self, owner: &CartOwner, sku: &str) -> Result<(), StoreError>;
    async fn clear(&self, owner: &CartOwner) -> Result<(), StoreError>;
}
