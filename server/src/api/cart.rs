//! The cart over REST: `GET /api/v1/cart`, `POST /api/v1/cart/items`,
//! `PUT|DELETE /api/v1/cart/items/{sku}`. Same rules as the storefront's forms.

use app::cart::service::{self, ItemRef, Mode};
use app::cart::{CartView, MAX_REQUEST_QUANTITY};
use app::error::AppError;
use app::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use super::guard::{Caller, JsonBody};
use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `POST /api/v1/cart/items`: an SKU or a product, how many (default 1), add or set.
#[derive(Deserialize)]
pub struct AddItem {
    sku: Option<String>,
    product_id: Option<i64>,
    quantity: Option<i64>,
    mode: Option<AddMode>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "lowercase")]
enum AddMode {
    #[default]
    Add,
    Set,
}

/// `PUT /api/v1/cart/items/{sku}`: the line's new quantity.
#[derive(Deserialize)]
pub struct SetItem {
    quantity: Option<i64>,
}

fn quantity(q: i64) -> Result<i64, AppError> {
    if !(0..=MAX_REQUEST_QUANTITY).contains(&q) {
        return Err(AppError::bad("quantity", format!("quantity must be a whole number from 0 to {MAX_REQUEST_QUANTITY} (got {q})")));
    }
    Ok(q)
}

#[utoipa::path(tag = "cart", get, path = "/api/v1/cart", responses((status = 200, body = CartView)))]
pub async fn get_cart(State(state): State<AppState>, caller: Caller) -> Result<Json<CartView>, ApiError> {
    let owner = caller.cart_owner(false).await?;
    Ok(Json(service::view(&state, owner.as_ref()).await?))
}

/// Adds `quantity` (default 1) of an SKU, or of a product's first available variant; with
/// `"mode": "set"` sets the line instead. Quantities are capped by stock and 10 per line.
#[utoipa::path(tag = "cart", post, path = "/api/v1/cart/items",
    request_body(content = String, description = "{\"sku\" | \"product_id\", \"quantity\"?, \"mode\"?: \"add\"|\"set\"}"),
    responses((status = 200, body = CartView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Out of stock", body = ErrorBody)))]
pub async fn add_item(State(state): State<AppState>, caller: Caller, JsonBody(body): JsonBody<AddItem>) -> Result<Json<CartView>, ApiError> {
    let item = match (body.sku, body.product_id) {
        (Some(sku), _) => ItemRef::Sku(sku),
        (None, Some(id)) => ItemRef::Product(id),
        (None, None) => return Err(AppError::bad("sku", "Give the sku (or the product_id) of the item to add.").into()),
    };
    let mode = match body.mode.unwrap_or_default() {
        AddMode::Add => Mode::Add,
        AddMode::Set => Mode::Set,
    };
    let quantity = quantity(body.quantity.unwrap_or(1))?;
    let owner = caller.cart_owner(true).await?.ok_or(AppError::Internal)?;
    Ok(Json(service::put_item(&state, &owner, item, quantity, mode).await?))
}

/// Sets a line's quantity; 0 removes it. Idempotent.
#[utoipa::path(tag = "cart", put, path = "/api/v1/cart/items/{sku}", params(("sku" = String, Path)),
    request_body(content = String, description = "{\"quantity\"}"),
    responses((status = 200, body = CartView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_item(State(state): State<AppState>, caller: Caller, Path(sku): Path<String>, JsonBody(body): JsonBody<SetItem>) -> Result<Json<CartView>, ApiError> {
    let quantity = quantity(body.quantity.ok_or_else(|| AppError::bad("quantity", "quantity is required"))?)?;
    let owner = caller.cart_owner(true).await?.ok_or(AppError::Internal)?;
    Ok(Json(service::put_item(&state, &owner, ItemRef::Sku(sku), quantity, Mode::Set).await?))
}

#[utoipa::path(tag = "cart", delete, path = "/api/v1/cart/items/{sku}", params(("sku" = String, Path)),
    responses((status = 200, body = CartView), (status = 404, body = ErrorBody)))]
pub async fn remove_item(State(state): State<AppState>, caller: Caller, Path(sku): Path<String>) -> Result<Json<CartView>, ApiError> {
    let owner = caller.cart_owner(true).await?.ok_or(AppError::Internal)?;
    Ok(Json(service::remove_item(&state, &owner, &sku).await?))
}

/// This module's endpoints (the session's cart), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cart))
        .routes(routes!(add_item))
        .routes(routes!(set_item, remove_item))
}
