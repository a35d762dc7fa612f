//! Checkout: the orchestrated saga of DESIGN §5. An order is created `pending` under the
//! client's idempotency key with its stock reserved (conditional updates, fewest warehouse
//! splits) in one transaction; then the payment is authorized under a key derived from the
//! order and attempt; then the order is `paid`, its reservations committed and the cart cleared.
//! Every step is persisted, so a crash leaves a state the sweeper (expired reservations) or a
//! retry can finish. Shared types first; the saga is in `service` (server only).

use serde::{Deserialize, Serialize};

use crate::accounts::AddressInput;
use crate::money::Money;

#[cfg(feature = "ssr")]
pub mod service;

/// How long stock is held for an unpaid order.
pub const RESERVATION_MINUTES: i64 = 10;
/// How long one request may work on an order before another may take over.
pub const LEASE_SECONDS: i64 = 30;
/// Standard shipping is free from this subtotal (minor units) on.
pub const FREE_SHIPPING_FROM: i64 = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShippingMethod {
    Standard,
    Express,
}

impl ShippingMethod {
    pub const ALL: [ShippingMethod; 2] = [ShippingMethod::Standard, ShippingMethod::Express];

    pub fn as_str(self) -> &'static str {
        match self {
            ShippingMethod::Standard => "standard",
            ShippingMethod::Express => "express",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "standard" => Ok(ShippingMethod::Standard),
            "express" => Ok(ShippingMethod::Express),
            "" => Err("Choose standard or express shipping.".to_owned()),
            other => Err(format!("shipping_method must be standard or express (got \"{other}\")")),
        }
    }

    /// Shipping cost in minor units for an order of `subtotal`.
    pub fn price(self, subtotal: i64) -> i64 {
        match self {
            ShippingMethod::Standard if subtotal >= FREE_SHIPPING_FROM => 0,
            ShippingMethod::Standard => 495,
            ShippingMethod::Express => 1495,
        }
    }

    /// Working days until delivery.
    pub fn days(self) -> i64 {
        match self {
            ShippingMethod::Standard => 5,
            ShippingMethod::Express => 2,
        }
    }
}

/// `POST /api/v1/orders/checkout`: an address (new or saved), a shipping method and the
/// payment method id Stripe.js gave the browser (never a card number).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckoutRequest {
    #[serde(default)]
    pub shipping_address: Option<AddressInput>,
    #[serde(default)]
    pub shipping_address_id: Option<i64>,
    #[serde(default)]
    pub shipping_method: String,
    #[serde(default)]
    pub payment_method_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckoutResult {
    pub order_id: i64,
    pub status: String,
    pub total: Money,
    /// ISO date.
    pub estimated_delivery: String,
}

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
    pub status: String,
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
    pub estimated_delivery: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    pub order_id: i64,
    pub status: String,
    pub total: Money,
    pub items: i64,
    pub created_at: String,
}

/// Tax on `subtotal + shipping` at `rate_bps` basis points, rounded half up, in minor units.
pub fn tax_of(taxable: i64, rate_bps: i64) -> i64 {
    (taxable * rate_bps + 5_000) / 10_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipping_and_tax_are_whole_minor_units() {
        assert_eq!(ShippingMethod::Standard.price(4_999), 495);
        assert_eq!(ShippingMethod::Standard.price(5_000), 0);
        assert_eq!(ShippingMethod::Express.price(100_000), 1495);
        assert_eq!(tax_of(10_000, 1_900), 1_900);
        assert_eq!(tax_of(1_999, 1_900), 380, "379.81 rounds to 380");
        assert_eq!(tax_of(1_999, 0), 0);
        assert!(ShippingMethod::parse("overnight").unwrap_err().contains("standard or express"));
    }
}
