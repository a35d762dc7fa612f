//! The cart port (DESIGN §3, §5). A cart is a set of lines keyed by SKU with *set* semantics:
//! writing quantity 3 twice leaves 3. No stock is held for a cart. Each line remembers the
//! price at which it was first added so the cart can say when a price has changed since.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::money::Money;

pub mod pages;
mod server_fns;
pub use server_fns::*;

#[cfg(feature = "ssr")]
mod embedded;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
mod redis;
#[cfg(feature = "ssr")]
pub use embedded::SqlCartStore;
#[cfg(feature = "ssr")]
pub use redis::RedisCartStore;

/// The most anyone may ask for in one request; more is a 400.
pub const MAX_REQUEST_QUANTITY: i64 = 99;
/// The most of one SKU a cart holds; asking for more caps the line with a notice.
pub const MAX_PER_LINE: i64 = 10;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CartItem {
    pub sku: String,
    pub product_id: i64,
    pub title: String,
    /// The variant's attributes, e.g. "Navy / M".
    pub variant: String,
    pub image_url: String,
    pub quantity: i64,
    /// The current price.
    pub unit_price: Money,
    pub line_total: Money,
    /// The price when the line was added, if it has changed since.
    pub price_was: Option<Money>,
    /// Units that can be bought now.
    pub available: i64,
    /// False when the line cannot be bought as it is (out of stock, too few left, not sold).
    pub purchasable: bool,
    pub problem: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CartView {
    pub items: Vec<CartItem>,
    /// Sum of the lines that can be bought.
    pub subtotal: Money,
    /// Units over all lines.
    pub item_count: i64,
    /// What the last change had to adjust (caps), for the shopper to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

/// A requested quantity: a whole number from 0 (remove) to 99.
pub fn parse_quantity(raw: &str) -> Result<i64, AppError> {
    let msg = || format!("quantity must be a whole number from 0 to {MAX_REQUEST_QUANTITY} (got \"{raw}\")");
    let n: i64 = raw.trim().parse().map_err(|_| AppError::bad("quantity", msg()))?;
    if !(0..=MAX_REQUEST_QUANTITY).contains(&n) {
        return Err(AppError::bad("quantity", msg()));
    }
    Ok(n)
}

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
}
