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
pub mod notify;
pub mod pages;
pub mod rules;
mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

pub use rules::{FREE_SHIPPING_FROM, LEASE_SECONDS, RESERVATION_MINUTES, ShopRules, tax_of};
pub use server_fns::*;
pub use crate::payments::PaymentEntry;

pub use crate::states::ShippingMethod;

/// Why a shipping method was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShippingMethodError {
    #[error("Choose standard or express shipping.")]
    Missing,
    #[error("shipping_method must be standard or express (got \"{0}\")")]
    Unknown(String),
}

impl ShippingMethod {
    pub fn parse(s: &str) -> Result<Self, ShippingMethodError> {
        match s.trim() {
            "standard" => Ok(ShippingMethod::Standard),
            "express" => Ok(ShippingMethod::Express),
            "" => Err(ShippingMethodError::Missing),
            other => Err(ShippingMethodError::Unknown(other.to_owned())),
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
    /// Check out a flash-sale hold (`POST /api/v1/sales/{id}/buy`) at the sale price instead
    /// of the cart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<crate::ids::HoldId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckoutResult {
    pub order_id: i64,
    pub status: crate::states::OrderStatus,
    pub total: Money,
    /// ISO date.
    pub estimated_delivery: String,
    /// Only while the card needs 3-D Secure (status `pending`): the browser completes it with
    /// Stripe.js `confirmCardPayment(client_secret)`, then `POST /api/v1/orders/{id}/confirm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// What the checkout page needs: the cart, saved addresses, the tax rate, how to pay and a
/// fresh idempotency key for this page's order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckoutInfo {
    pub cart: crate::cart::CartView,
    pub addresses: Vec<crate::accounts::Address>,
    pub tax_rate_bps: i64,
    pub payment: PaymentEntry,
    pub idempotency_key: String,
    /// Checking out a flash-sale hold (its one line, at the sale price) instead of the cart.
    #[serde(default)]
    pub hold_id: Option<crate::ids::HoldId>,
    /// When the hold lapses unless its payment begins (RFC 3339), and the seconds left then.
    #[serde(default)]
    pub hold_expires_at: Option<String>,
    #[serde(default)]
    pub hold_seconds_left: Option<i64>,
}

/// A placed order: paid, or pending with why (a declined card) so the page can offer another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    pub order_id: i64,
    pub status: crate::states::OrderStatus,
    pub message: Option<String>,
    /// The card needs 3-D Secure: the page completes it with Stripe.js, then confirms.
    #[serde(default)]
    pub client_secret: Option<String>,
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
        assert_eq!(ShippingMethod::parse("overnight"), Err(ShippingMethodError::Unknown("overnight".into())));
        assert!(ShippingMethod::parse("overnight").unwrap_err().to_string().contains("standard or express"));
        assert_eq!(ShippingMethod::parse(" "), Err(ShippingMethodError::Missing));
    }
}
