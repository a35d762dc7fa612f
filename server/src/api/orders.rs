//! Checkout and orders over REST: `POST /api/v1/orders/checkout` (header `Idempotency-Key`),
//! `GET /api/v1/orders`, `GET /api/v1/orders/{id}`, `POST /api/v1/orders/{id}/pay`,
//! `POST /api/v1/orders/{id}/confirm` (after 3-D Secure), `POST /api/v1/orders/{id}/cancel`,
//! and `POST /api/v1/payment-methods/setup` (saving a card for a flash sale's express buy).

use app::checkout::service::{self, check_idempotency_key};
use app::checkout::{CheckoutRequest, CheckoutResult};
use app::orders::service as orders;
use app::orders::{CancelRequest, OrderSummary, OrderView, RefundRequest, SellerOrder, SellerOrderDetail, SellerOrderFilter};
use app::ids::OrderId;
use app::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::guard::{FromQuery, Id, JsonBody, QueryOf, SellerUser, SignedInUser};
use app::error::AppError;
use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `POST /api/v1/orders/{id}/pay`: the card (a Stripe payment method) to pay with, or
/// `"saved_card": true` for the card saved for the sale of an express buy's order.
#[derive(Deserialize)]
pub struct PayBody {
    #[serde(default)]
    payment_method_id: String,
    #[serde(default)]
    saved_card: bool,
}

/// `POST /api/v1/seller/orders/{id}/ship`.
#[derive(Deserialize)]
pub struct ShipBody {
    #[serde(default)]
    tracking_number: String,
    /// dhl, dpd, fedex, postnl, royal-mail, ups, usps, or empty for another carrier.
    #[serde(default)]
    carrier: String,
}

/// `GET /api/v1/seller/orders?state=`: to_ship, shipped, delivered, cancelled or refunded.
pub struct SellerOrderQuery(Option<SellerOrderFilter>);

impl FromQuery for SellerOrderQuery {
    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, AppError> {
        match pairs.iter().find(|(k, _)| k == "state").map(|(_, v)| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(SellerOrderQuery(None)),
            Some(v) => SellerOrderFilter::parse(v).map(|f| SellerOrderQuery(Some(f))).ok_or_else(|| {
                AppError::bad("state", format!("state must be one of {} (got \"{v}\")", SellerOrderFilter::ALL.map(|f| f.as_str()).join(", ")))
            }),
        }
    }
}

/// Places the order for the caller's cart: stock reserved, card authorized, order paid. The
/// same `Idempotency-Key` with the same body gives the same order (200); with another body 422;
/// while the first request is still working 409. A declined card is 402; the order stays
/// payable (`POST /api/v1/orders/{id}/pay`) until its reservation expires.
#[utoipa::path(tag = "orders", post, path = "/api/v1/orders/checkout", request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, description = "A unique key per order attempt, e.g. a UUID")),
    responses((status = 201, body = CheckoutResult), (status = 200, description = "A replay of an earlier request", body = CheckoutResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 402, description = "Card declined", body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn checkout(State(state): State<AppState>, client: app::ratelimit::ClientAddr, SignedInUser(user): SignedInUser, headers: HeaderMap, JsonBody(req): JsonBody<CheckoutRequest>) -> Result<(StatusCode, Json<CheckoutResult>), ApiError> {
    let key = check_idempotency_key(headers.get("idempotency-key").and_then(|v| v.to_str().ok()))?;
    service::check_checkout_rate(&state, user.user_id, &client.bucket()).await?;
    let (result, replayed) = service::checkout(&state, &user, &key, &req).await?;
    Ok((if replayed { StatusCode::OK } else { StatusCode::CREATED }, Json(result)))
}

/// Starts saving a card for later (a flash sale's express buy): a SetupIntent of the caller's
/// customer at the provider. The browser confirms it with Stripe.js
/// (`confirmCardSetup(client_secret, {payment_method: {card}})`) and sends the resulting
/// payment method id with `POST /api/v1/sales/{id}/register`. The demo gateway needs none of
/// this: register with a test card id.
#[utoipa::path(tag = "orders", post, path = "/api/v1/payment-methods/setup",
    responses((status = 201, body = app::payments::CardSetup), (status = 401, body = ErrorBody), (status = 503, description = "The payment provider is unreachable", body = ErrorBody)))]
pub async fn setup_card(State(state): State<AppState>, SignedInUser(user): SignedInUser) -> Result<(StatusCode, Json<app::payments::CardSetup>), ApiError> {
    Ok((StatusCode::CREATED, Json(app::payments::saved::start_setup(&state, &user).await?)))
}

#[utoipa::path(tag = "orders", post, path = "/api/v1/orders/{id}/pay", params(("id" = i64, Path)),
    request_body(content = String, description = r#"{"payment_method_id": "pm_…"}, or {"saved_card": true} for an express buy's order"#, content_type = "application/json"),
    responses((status = 200, body = CheckoutResult), (status = 402, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn pay(State(state): State<AppState>, client: app::ratelimit::ClientAddr, SignedInUser(user): SignedInUser, Id(id): Id<OrderId>, JsonBody(body): JsonBody<PayBody>) -> Result<Json<CheckoutResult>, ApiError> {
    service::check_checkout_rate(&state, user.user_id, &client.bucket()).await?;
    Ok(Json(if body.saved_card { service::pay_with_saved(&state, &user, id).await? } else { service::pay_again(&state, &user, id, &body.payment_method_id).await? }))
}

/// After the shopper completed 3-D Secure with Stripe.js (`client_secret` from checkout or pay):
/// the order is paid (200), the check failed (402, the order stays payable) or is not finished
/// yet (409).
#[utoipa::path(tag = "orders", post, path = "/api/v1/orders/{id}/confirm", params(("id" = i64, Path)),
    responses((status = 200, body = CheckoutResult), (status = 402, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn confirm(State(state): State<AppState>, SignedInUser(user): SignedInUser, Id(id): Id<OrderId>) -> Result<Json<CheckoutResult>, ApiError> {
    Ok(Json(service::confirm_payment(&state, &user, id).await?))
}

#[utoipa::path(tag = "orders", get, path = "/api/v1/orders", responses((status = 200, body = [OrderSummary]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, SignedInUser(user): SignedInUser) -> Result<Json<Vec<OrderSummary>>, ApiError> {
    Ok(Json(orders::order_list(&state.db, user.user_id).await?))
}

/// One of the caller's orders; anyone else's is 404.
#[utoipa::path(tag = "orders", get, path = "/api/v1/orders/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = OrderView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, SignedInUser(user): SignedInUser, Id(id): Id<OrderId>) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(orders::order_view(&state.db, user.user_id, id, state.rules.cancel_window_minutes).await?))
}

/// Cancels the caller's order: unpaid, or paid within the cancel window (default 30 minutes).
/// The card authorization is voided and the stock returned, once.
#[utoipa::path(tag = "orders", post, path = "/api/v1/orders/{id}/cancel", params(("id" = i64, Path)),
    responses((status = 200, body = OrderView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(State(state): State<AppState>, SignedInUser(user): SignedInUser, Id(id): Id<OrderId>) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(orders::cancel(&state, &user, id).await?))
}

// ---- the seller's order queue ----

/// Orders with the caller's products that were paid (cancelled ones included), newest first
/// (an admin: all orders); `state` narrows them to one state.
#[utoipa::path(tag = "orders", get, path = "/api/v1/seller/orders",
    params(("state" = Option<String>, Query, description = "to_ship, shipped, delivered, cancelled or refunded")),
    responses((status = 200, body = [SellerOrder]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn seller_list(State(state): State<AppState>, SellerUser(user): SellerUser, QueryOf(SellerOrderQuery(filter)): QueryOf<SellerOrderQuery>) -> Result<Json<Vec<SellerOrder>>, ApiError> {
    Ok(Json(orders::seller_orders(&state.db, &user, filter).await?))
}

/// One order with the caller's products: buyer, address, lines with where to pick them,
/// payment, timeline and refunds. Another seller's order is 404.
#[utoipa::path(tag = "orders", get, path = "/api/v1/seller/orders/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = SellerOrderDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn seller_get(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<OrderId>) -> Result<Json<SellerOrderDetail>, ApiError> {
    Ok(Json(orders::seller_order(&state.db, &user, id).await?))
}

/// Cancels a paid order that has not shipped, with a reason the shopper is sent: the card
/// authorization is voided and the stock returned, once.
#[utoipa::path(tag = "orders", post, path = "/api/v1/seller/orders/{id}/cancel", params(("id" = i64, Path)), request_body = CancelRequest,
    responses((status = 200, body = SellerOrder), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn seller_cancel(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<OrderId>, JsonBody(body): JsonBody<CancelRequest>) -> Result<Json<SellerOrder>, ApiError> {
    Ok(Json(orders::seller_cancel(&state, &user, id, &body.reason).await?))
}

/// Ships a paid order with the carrier's tracking number; the payment is captured.
#[utoipa::path(tag = "orders", post, path = "/api/v1/seller/orders/{id}/ship", params(("id" = i64, Path)),
    request_body(content = String, description = r#"{"tracking_number": "…", "carrier": "dhl"} (carrier optional)"#, content_type = "application/json"),
    responses((status = 200, body = SellerOrder), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn ship(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<OrderId>, JsonBody(body): JsonBody<ShipBody>) -> Result<Json<SellerOrder>, ApiError> {
    Ok(Json(orders::ship(&state, &user, id, &body.tracking_number, &body.carrier).await?))
}

#[utoipa::path(tag = "orders", post, path = "/api/v1/seller/orders/{id}/deliver", params(("id" = i64, Path)),
    responses((status = 200, body = SellerOrder), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn deliver(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<OrderId>) -> Result<Json<SellerOrder>, ApiError> {
    Ok(Json(orders::deliver(&state, &user, id).await?))
}

/// Refunds a shipped order: what is left, `lines` (`sku`, `quantity`, `restock`: the units go
/// back to the warehouse they came from once the refund is done), or an `amount` in minor
/// units. The shopper is mailed. An `Idempotency-Key` makes a retried request return the
/// first refund.
#[utoipa::path(tag = "orders", post, path = "/api/v1/seller/orders/{id}/refund", params(("id" = i64, Path)), request_body = RefundRequest,
    responses((status = 200, body = SellerOrder), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn refund(State(state): State<AppState>, SellerUser(user): SellerUser, headers: HeaderMap, Id(id): Id<OrderId>, JsonBody(req): JsonBody<RefundRequest>) -> Result<Json<SellerOrder>, ApiError> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    Ok(Json(orders::refund_order(&state, &user, id, &req, key).await?))
}

/// This module's endpoints (checkout, the shopper's orders and the seller's queue), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkout))
        .routes(routes!(setup_card))
        .routes(routes!(pay))
        .routes(routes!(confirm))
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(cancel))
        .routes(routes!(seller_list))
        .routes(routes!(seller_get))
        .routes(routes!(seller_cancel))
        .routes(routes!(ship))
        .routes(routes!(deliver))
        .routes(routes!(refund))
}
