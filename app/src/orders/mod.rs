//! Orders after checkout: the shopper's history and order page, cancelling within the window,
//! and the seller's fulfilment (ship with tracking, deliver, refund). Shared types here; server
//! functions in `server_fns`, pages in `pages`, the service (ssr) in `service/` by step.

use serde::{Deserialize, Serialize};

use crate::accounts::AddressInput;
use crate::money::Money;

pub mod admin;
pub mod carriers;
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
    /// The variant's options, e.g. "rust / M" (empty for a product without options).
    #[serde(default)]
    pub options: String,
    pub quantity: i64,
    /// Units refunded (or being refunded) so far.
    #[serde(default)]
    pub refunded_quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
}

/// One refund of an order, as the shopper's and the seller's order pages list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RefundView {
    pub refund_id: i64,
    pub amount: Money,
    pub created_at: String,
    /// False while the payment provider has not confirmed it yet.
    pub confirmed: bool,
    /// The units it covers (none: an amount, or the rest of the order).
    pub lines: Vec<RefundedUnits>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RefundedUnits {
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    /// The units went back to stock.
    pub restocked: bool,
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
    pub shipping_method: crate::states::ShippingMethod,
    pub shipping_address: AddressInput,
    pub created_at: String,
    /// An unpaid order can be paid until then.
    pub expires_at: Option<String>,
    /// The shopper may cancel until then (none: not any more).
    pub cancellable_until: Option<String>,
    /// None once the order is cancelled, refunded or expired.
    pub estimated_delivery: Option<String>,
    pub tracking_number: Option<String>,
    /// The carrier's name, when the seller said or the number shows it.
    pub carrier: Option<String>,
    /// The carrier's tracking page, for a known carrier.
    pub tracking_url: Option<String>,
    pub refunded: Money,
    pub refunds: Vec<RefundView>,
    /// Why the seller cancelled it (a shopper's own cancel gives none).
    pub cancel_reason: Option<String>,
    /// One per seller of the order's items: each ships their own lines. The order's
    /// `tracking_number`, `carrier` and `tracking_url` are the first shipment's.
    #[serde(default)]
    pub shipments: Vec<ShipmentView>,
}

/// One seller's share of an order on its way: their lines and, once shipped, their parcel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShipmentView {
    pub seller_id: i64,
    /// The seller's shop name.
    pub seller: String,
    /// SKUs of the order's lines in this shipment.
    pub skus: Vec<String>,
    /// `to_ship`, `shipped`, `delivered` or `cancelled`.
    pub state: ShipmentState,
    pub tracking_number: Option<String>,
    pub carrier: Option<String>,
    pub tracking_url: Option<String>,
    pub shipped_at: Option<String>,
    pub delivered_at: Option<String>,
    /// Why the seller cancelled their share.
    pub cancel_reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShipmentState {
    ToShip,
    Shipped,
    Delivered,
    Cancelled,
}

impl ShipmentState {
    pub fn label(self) -> &'static str {
        match self {
            Self::ToShip => "Being packed",
            Self::Shipped => "Shipped",
            Self::Delivered => "Delivered",
            Self::Cancelled => "Cancelled",
        }
    }
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

/// An order as a seller's queue shows it: their lines, their share's state and shipment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerOrder {
    pub order_id: i64,
    /// For a seller with items in another seller's order, their share's: `paid` until they
    /// ship it, then `shipped`, `delivered` (or `cancelled`); once the whole order is
    /// cancelled or refunded, that. For an admin, the order's.
    pub status: crate::states::OrderStatus,
    pub created_at: String,
    /// The order's total when the caller fulfils all of it (their own order, or an admin);
    /// for a seller with items in another seller's order, only what their lines come to: a
    /// seller never sees what other sellers sold.
    pub total: Money,
    /// The caller's lines (an admin: all).
    pub lines: Vec<OrderLine>,
    /// Other sellers' items are in the order too: each seller ships their own.
    pub shared: bool,
    /// The caller's shipment's number (an admin: the first shipment's).
    pub tracking_number: Option<String>,
    /// The caller's shipments (an admin: every seller's).
    pub shipments: Vec<ShipmentView>,
    /// Refunded of `total` (for a share: of the caller's lines).
    pub refunded: Money,
    /// The name on the shipping address.
    pub buyer_name: String,
    /// City and country of the shipping address.
    pub ship_to: String,
    pub shipping_method: crate::states::ShippingMethod,
}

/// Which of a seller's orders to list (`?state=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SellerOrderFilter {
    /// Paid, not shipped yet.
    ToShip,
    Shipped,
    Delivered,
    /// Paid, then cancelled (by the shopper, the seller or an admin).
    Cancelled,
    /// With at least one refund.
    Refunded,
}

impl SellerOrderFilter {
    pub const ALL: [SellerOrderFilter; 5] = [Self::ToShip, Self::Shipped, Self::Delivered, Self::Cancelled, Self::Refunded];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToShip => "to_ship",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::ToShip => "To ship",
            Self::Shipped => "Shipped",
            Self::Delivered => "Delivered",
            Self::Cancelled => "Cancelled",
            Self::Refunded => "Refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// A seller's whole view of one order: who to send it to, what to pack from where, what
/// happened to it and its money.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerOrderDetail {
    /// Its totals are the caller's share when other sellers' items are in it (see `SellerOrder`),
    /// as are `subtotal`, `shipping` (none) and `tax` (none) then.
    pub order: SellerOrder,
    pub buyer_email: String,
    pub shipping_address: AddressInput,
    pub subtotal: Money,
    pub shipping: Money,
    pub tax: Money,
    /// Where each of the caller's units is picked from.
    pub picks: Vec<Pick>,
    /// The payment's state at the provider (none: never paid).
    pub payment: Option<crate::states::PaymentState>,
    pub carrier: Option<String>,
    pub tracking_url: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    pub refunds: Vec<RefundView>,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
}

/// Units of one order line to take from one warehouse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Pick {
    pub sku: String,
    pub warehouse: String,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub at: String,
    pub what: String,
}

/// A refund: some lines (`sku`, `quantity`, and `restock` to put the units back on the shelf
/// they came from), or an `amount` in minor units; neither means everything not yet refunded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RefundRequest {
    #[serde(default)]
    pub lines: Vec<RefundLine>,
    #[serde(default)]
    pub amount: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RefundLine {
    pub sku: String,
    pub quantity: i64,
    #[serde(default)]
    pub restock: bool,
}

/// `POST /api/v1/seller/orders/{id}/cancel`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CancelRequest {
    #[serde(default)]
    pub reason: String,
}
