//! "Customers also bought": products bought in the same paid orders as this one, counted by a
//! worker (`service::spawn_worker`) into the `recommendations` table and cached per product, so
//! a page view never runs the count. Shown on the product page and the cart, behind the
//! recommendations breaker: slow, failing or switched off for a live sale, the page goes on
//! without them and says so quietly.

use serde::{Deserialize, Serialize};

use crate::catalog::ProductSummary;

/// Products shown under "Customers also bought".
pub const SHOWN: usize = 4;
/// Products kept per product by the worker.
pub const KEPT: usize = 8;

/// What the page shows: the products, or nothing for now (`resting`: the breaker skipped the
/// lookup or the seller switched the extras off; the page shows a quiet line instead).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlsoBought {
    pub products: Vec<ProductSummary>,
    pub resting: bool,
}

pub mod pages;
pub mod server_fns;
pub use server_fns::*;

#[cfg(feature = "ssr")]
pub mod service;
