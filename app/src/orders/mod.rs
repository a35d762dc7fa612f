//! Orders after checkout: the shopper's history and order page, cancelling within the window,
//! and the seller's fulfilment (ship with tracking, deliver, refund). Shared types here; server
//! functions in `server_fns`, pages in `pages`, the service (ssr) in `service/` by step.

use serde::{Deserialize, Serialize};

use crate::accounts::AddressInput;
use crate::money::Money;

pub mod pages;
mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

pub use server_fns::*;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderLine {
    pub product_id: i64,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub order_id: i64,
    pub status: crate::states::OrderStatus,
    pub lines: Vec<OrderLine>,
    pub subtotal: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    pub shipping_method: String,
    pub shipping_address: AddressInput,
    pub created_at: String,
    /// An unpaid order can be paid until then.
    pub expires_at: Option<String>,
    /// The shopper may cancel until then (none: not any more).
    pub cancellable_until: Option<String>,
    pub estimated_delivery: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    pub order_id: i64,
    pub status: crate::states::OrderStatus,
    pub total: Money,
    pub items: i64,
    pub created_at: String,
}

/// An order as a seller's queue shows it: their lines, and whether they may fulfil it alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerOrder {
    pub order_id: i64,
    pub status: crate::states::OrderStatus,
    pub created_at: String,
    pub total: Money,
    /// The caller's lines (an admin: all).
    pub lines: Vec<OrderLine>,
    /// False when other sellers' items are in the order: an admin ships it.
    pub fulfillable: bool,
    pub tracking_number: Option<String>,
    pub refunded: Money,
}

/// A refund of some lines (`sku`, `quantity`); none means everything not yet refunded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RefundRequest {
    #[serde(default)]
    pub lines: Vec<RefundLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RefundLine {
    pub sku: String,
    pub quantity: i64,
}
