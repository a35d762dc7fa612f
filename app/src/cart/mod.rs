//! The cart port (DESIGN §3, §5). A cart is a set of lines keyed by SKU with *set* semantics:
//! writing quantity 3 twice leaves 3. No stock is held for a cart. Each line remembers the
//! price at which it was first added so the cart can say when a price has changed since.

use serde::{Deserialize, Serialize};

use crate::money::Money;

#[cfg(feature = "ssr")]
mod embedded;
#[cfg(feature = "ssr")]
mod redis;
#[cfg(feature = "ssr")]
pub use embedded::SqlCartStore;
#[cfg(feature = "ssr")]
pub use redis::RedisCartStore;

/// The most of one SKU a cart may hold.
pub const MAX_LINE_QUANTITY: i64 = 99;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CartOwner {
    /// A visitor who has not signed in, keyed by their session id.
    Guest(String),
    User(i64),
}

impl CartOwner {
    pub fn key(&self) -> String {
        match self {
            CartOwner::Guest(id) => format!("guest:{id}"),
            CartOwner::User(id) => format!("user:{id}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub sku: String,
    pub quantity: i64,
    /// The unit price when the line was first added.
    pub added_price: Money,
}

#[cfg(feature = "ssr")]
pub use ports::*;

#[cfg(feature = "ssr")]
mod ports {
    use std::time::Duration;

    use super::*;
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
        /// Sets a line's quantity (callers validate 1..=MAX_LINE_QUANTITY; 0 removes). Keeps the
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
}
