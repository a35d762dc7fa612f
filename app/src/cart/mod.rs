//! The cart port (DESIGN §3, §5). A cart is a set of lines keyed by SKU with *set* semantics:
//! writing quantity 3 twice leaves 3. No stock is held for a cart. Each line remembers the
//! price at which it was first added so the cart can say when a price has changed since.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::money::Money;

pub mod pages;
mod server_fns;

#[cfg(feature = "ssr")]
pub mod embedded;
#[cfg(feature = "ssr")]
pub mod port;
#[cfg(feature = "ssr")]
pub mod redis;
#[cfg(feature = "ssr")]
pub mod service;

#[cfg(feature = "ssr")]
pub use embedded::SqlCartStore;
#[cfg(feature = "ssr")]
pub use port::{CartStore, CartTtl};
#[cfg(feature = "ssr")]
pub use redis::RedisCartStore;
pub use server_fns::*;

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


