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
pub mod fulfil;
#[cfg(feature = "ssr")]
pub mod notify;
pub mod pages;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;

pub use rules::{FREE_SHIPPING_FROM, LEASE_SECONDS, RESERVATION_MINUTES, ShopRules, tax_of};

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
    /// Only while the card needs 3-D Secure (status `pending`): the browser completes it with
    /// Stripe.js `confirmCardPayment(client_secret)`, then `POST /api/v1/orders/{id}/confirm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
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
    /// The shopper may cancel until then (none: not any more).
    pub cancellable_until: Option<String>,
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

/// How a shopper pays on this shop's pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentEntry {
    /// The demo gateway: Stripe's test ids to pick from (no card entry at all).
    TestCards(Vec<(String, String)>),
    /// Stripe: card entry with Stripe.js.
    Card(crate::payments::CardEntry),
    /// Stripe without a publishable key: no way to enter a card.
    NotSetUp,
}

#[cfg(feature = "ssr")]
fn payment_entry(state: &crate::state::AppState) -> PaymentEntry {
    if state.stores.payments.provider() == "demo" {
        return PaymentEntry::TestCards(crate::payments::DEMO_CARDS.iter().map(|(id, l)| (id.to_string(), l.to_string())).collect());
    }
    match &state.card_entry {
        Some(entry) => PaymentEntry::Card(entry.clone()),
        None => PaymentEntry::NotSetUp,
    }
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
}

/// A placed order: paid, or pending with why (a declined card) so the page can offer another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    pub order_id: i64,
    pub status: String,
    pub message: Option<String>,
    /// The card needs 3-D Secure: the page completes it with Stripe.js, then confirms.
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// An order as a seller's queue shows it: their lines, and whether they may fulfil it alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerOrder {
    pub order_id: i64,
    pub status: String,
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

// ---- server functions ----

#[leptos::server(prefix = "/api/fn", endpoint = "checkout_info")]
pub async fn get_checkout_info() -> Result<CheckoutInfo, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    let cart = crate::cart::service::view(&state, Some(&crate::cart::CartOwner::User(user.user_id))).await?;
    let addresses = crate::accounts::service::list_addresses(&state.db, user.user_id).await?;
    Ok(CheckoutInfo {
        cart,
        addresses,
        tax_rate_bps: state.rules.tax_rate_bps,
        payment: payment_entry(&state),
        idempotency_key: uuid::Uuid::new_v4().to_string(),
    })
}

/// The checkout form. A declined card is not an error here: the order exists and waits for
/// another card, so the shopper lands on it either way.
#[allow(clippy::too_many_arguments)]
#[leptos::server(prefix = "/api/fn", endpoint = "place_order")]
pub async fn place_order(
    idempotency_key: String,
    shipping_address_id: Option<String>,
    name: Option<String>,
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    shipping_method: Option<String>,
    payment_method_id: Option<String>,
) -> Result<Placed, crate::error::AppError> {
    use crate::error::AppError;
    let saved = shipping_address_id.as_deref().filter(|s| !s.is_empty() && *s != "new").map(|s| s.parse::<i64>());
    let req = CheckoutRequest {
        shipping_address_id: match saved {
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => return Err(AppError::bad("shipping_address_id", "Choose one of your addresses.")),
            None => None,
        },
        shipping_address: saved.is_none().then(|| AddressInput {
            name: name.clone().unwrap_or_default(),
            line1: line1.clone().unwrap_or_default(),
            line2: line2.clone(),
            city: city.clone().unwrap_or_default(),
            region: region.clone(),
            postal_code: postal_code.clone().unwrap_or_default(),
            country: country.clone().unwrap_or_default(),
        }),
        shipping_method: shipping_method.clone().unwrap_or_default(),
        payment_method_id: payment_method_id.unwrap_or_default(),
    };
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        let key = service::check_idempotency_key(Some(&idempotency_key))?;
        match service::checkout(&state, &user, &key, &req).await {
            Ok((r, _)) => Ok(Placed { order_id: r.order_id, status: r.status, message: None, client_secret: r.client_secret }),
            Err(AppError::PaymentDeclined(message)) => {
                let order_id = service::order_id_for_key(&state.db, user.user_id, &key).await?.ok_or(AppError::Internal)?;
                Ok(Placed { order_id, status: service::PENDING.to_owned(), message: Some(message), client_secret: None })
            }
            // The form's address fields are named without the API's `shipping_address.`.
            Err(AppError::Invalid(fields)) => Err(AppError::Invalid(
                fields.into_iter().map(|(k, v)| (k.strip_prefix("shipping_address.").map(str::to_owned).unwrap_or(k), v)).collect(),
            )),
            Err(e) => Err(e),
        }
    }
    .await;
    match &result {
        Ok(p) if crate::ui::forms::is_plain_form_post().await => leptos_axum::redirect(&order_page(p)),
        Err(e) => {
            let keep: Vec<(&str, String)> = [("name", name), ("line1", line1), ("line2", line2), ("city", city), ("region", region), ("postal_code", postal_code), ("country", country), ("shipping_method", shipping_method)]
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect();
            let keep: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (*k, v.as_str())).collect();
            crate::ui::forms::bounce_on_error("/checkout", e, &keep).await;
        }
        _ => {}
    }
    result
}

/// Where a placed order is shown, with the decline message when there is one.
pub fn order_page(p: &Placed) -> String {
    match &p.message {
        Some(m) => format!("/orders/{}?declined={}", p.order_id, crate::ui::forms::url_encode(m)),
        None => format!("/orders/{}?placed=1", p.order_id),
    }
}

#[leptos::server(prefix = "/api/fn", endpoint = "pay_order")]
pub async fn pay_order(order_id: i64, payment_method_id: Option<String>) -> Result<Placed, crate::error::AppError> {
    use crate::error::AppError;
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        match service::pay_again(&state, &user, order_id, payment_method_id.as_deref().unwrap_or_default()).await {
            Ok(r) => Ok(Placed { order_id, status: r.status, message: None, client_secret: r.client_secret }),
            Err(AppError::PaymentDeclined(message)) => Ok(Placed { order_id, status: service::PENDING.to_owned(), message: Some(message), client_secret: None }),
            Err(e) => Err(e),
        }
    }
    .await;
    match &result {
        Ok(p) if crate::ui::forms::is_plain_form_post().await => leptos_axum::redirect(&order_page(p)),
        Err(e) => crate::ui::forms::bounce_on_error(&format!("/orders/{order_id}"), e, &[]).await,
        _ => {}
    }
    result
}

/// After 3-D Secure in the browser: the order is paid, or the check failed (the message comes
/// back and the order stays payable).
#[leptos::server(prefix = "/api/fn", endpoint = "confirm_payment")]
pub async fn confirm_payment(order_id: i64) -> Result<Placed, crate::error::AppError> {
    use crate::error::AppError;
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    match service::confirm_payment(&state, &user, order_id).await {
        Ok(r) => Ok(Placed { order_id, status: r.status, message: None, client_secret: None }),
        Err(AppError::PaymentDeclined(message)) => Ok(Placed { order_id, status: service::PENDING.to_owned(), message: Some(message), client_secret: None }),
        Err(e) => Err(e),
    }
}

#[leptos::server(prefix = "/api/fn", endpoint = "cancel_order")]
pub async fn cancel_order(order_id: i64) -> Result<OrderView, crate::error::AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        service::cancel(&state, &user, order_id).await
    }
    .await;
    let page = format!("/orders/{order_id}");
    match &result {
        Ok(_) if crate::ui::forms::is_plain_form_post().await => leptos_axum::redirect(&page),
        Err(e) => crate::ui::forms::bounce_on_error(&page, e, &[]).await,
        _ => {}
    }
    result
}

#[leptos::server(prefix = "/api/fn", endpoint = "seller_orders")]
pub async fn get_seller_orders() -> Result<Vec<SellerOrder>, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    fulfil::seller_orders(&state.db, &user).await
}

#[leptos::server(prefix = "/api/fn", endpoint = "seller_ship")]
pub async fn ship_order(order_id: i64, tracking_number: String) -> Result<SellerOrder, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    fulfil::ship(&state, &user, order_id, &tracking_number).await
}

#[leptos::server(prefix = "/api/fn", endpoint = "seller_deliver")]
pub async fn deliver_order(order_id: i64) -> Result<SellerOrder, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    fulfil::deliver(&state, &user, order_id).await
}

/// A full refund from the admin page; `key` comes with the page, so a double click refunds once.
#[leptos::server(prefix = "/api/fn", endpoint = "seller_refund")]
pub async fn refund_in_full(order_id: i64, key: String) -> Result<SellerOrder, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    fulfil::refund_order(&state, &user, order_id, &RefundRequest::default(), Some(&key)).await
}

#[leptos::server(prefix = "/api/fn", endpoint = "orders")]
pub async fn get_orders() -> Result<Vec<OrderSummary>, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    service::order_list(&state.db, user.user_id).await
}

#[leptos::server(prefix = "/api/fn", endpoint = "order")]
pub async fn get_order(order_id: i64) -> Result<(OrderView, PaymentEntry), crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    let view = service::order_view(&state.db, user.user_id, order_id, state.rules.cancel_window_minutes).await?;
    Ok((view, payment_entry(&state)))
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
