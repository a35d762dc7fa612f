//! Flash sales over REST: `GET /api/v1/sales`, `GET /api/v1/sales/{id}` for shoppers;
//! `POST /api/v1/seller/sales`, `GET`/`PUT /api/v1/seller/sales/{id}`, `POST …/{id}/cancel` and
//! `POST …/{id}/end` for sellers (an admin: any).

use app::flash::{SaleInput, SaleView, SellerSale, service};
use app::ids::SaleId;
use app::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::guard::{Id, JsonBody, SellerUser};
use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Upcoming and live sales, and those that ended in the last day, soonest first.
#[utoipa::path(tag = "sales", get, path = "/api/v1/sales", responses((status = 200, body = [SaleView])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<SaleView>>, ApiError> {
    Ok(Json(service::sales(&state.db).await?))
}

/// A sale: `state` is upcoming, live, sold_out, ended or cancelled; `server_time` is the
/// server's clock, for a countdown that does not trust the browser's.
#[utoipa::path(tag = "sales", get, path = "/api/v1/sales/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = SaleView), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, Id(id): Id<SaleId>) -> Result<Json<SaleView>, ApiError> {
    Ok(Json(service::sale(&state.db, id).await?))
}

/// Schedules a sale of one of the caller's variants. The allocation moves out of ordinary
/// stock at once (never more than is free); a start in the past, an end before the start, a
/// price of zero or not below the regular price are 400s naming the field; another seller's
/// SKU is 404. Nothing is written when anything is refused.
#[utoipa::path(tag = "sales", post, path = "/api/v1/seller/sales", request_body = SaleInput,
    responses((status = 201, body = SellerSale), (status = 400, description = "Bad fields, each named", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn schedule(State(state): State<AppState>, SellerUser(user): SellerUser, JsonBody(input): JsonBody<SaleInput>) -> Result<(StatusCode, Json<SellerSale>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::schedule(&state, &user, input).await?)))
}

/// One of the caller's sales with what only its seller sees (sold, admission rate).
#[utoipa::path(tag = "sales", get, path = "/api/v1/seller/sales/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = SellerSale), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn seller_get(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<SaleId>) -> Result<Json<SellerSale>, ApiError> {
    Ok(Json(service::seller_sale(&state.db, &user, id).await?))
}

/// Changes a sale that has not started (409 once it has): the same body as scheduling, with
/// the same SKU. A larger allocation takes more of the ordinary stock, a smaller one gives back.
#[utoipa::path(tag = "sales", put, path = "/api/v1/seller/sales/{id}", params(("id" = i64, Path)), request_body = SaleInput,
    responses((status = 200, body = SellerSale), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<SaleId>, JsonBody(input): JsonBody<SaleInput>) -> Result<Json<SellerSale>, ApiError> {
    Ok(Json(service::update(&state, &user, id, input).await?))
}

/// Cancels a sale that has not started (409 once it has): its whole allocation goes back to
/// ordinary stock.
#[utoipa::path(tag = "sales", post, path = "/api/v1/seller/sales/{id}/cancel", params(("id" = i64, Path)),
    responses((status = 200, body = SellerSale), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<SaleId>) -> Result<Json<SellerSale>, ApiError> {
    Ok(Json(service::cancel(&state, &user, id).await?))
}

/// Ends a sale that has started, before its end time (409 before the start: cancel it, or
/// after the end); what is unsold goes back to ordinary stock, once.
#[utoipa::path(tag = "sales", post, path = "/api/v1/seller/sales/{id}/end", params(("id" = i64, Path)),
    responses((status = 200, body = SellerSale), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn end(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<SaleId>) -> Result<Json<SellerSale>, ApiError> {
    Ok(Json(service::end_now(&state, &user, id).await?))
}

/// This module's endpoints (flash sales for shoppers and sellers), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(schedule))
        .routes(routes!(seller_get, update))
        .routes(routes!(cancel))
        .routes(routes!(end))
}
