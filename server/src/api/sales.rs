//! Flash sales over REST: `GET /api/v1/sales`, `GET /api/v1/sales/{id}`, the waiting room
//! (`POST`/`GET`/`DELETE /api/v1/sales/{id}/queue`), `POST /api/v1/sales/{id}/buy`,
//! `POST`/`DELETE …/{id}/register` (reminders), `GET /api/v1/sales/{id}/draw` and
//! `GET /api/v1/sales/holds/{hold_id}` for shoppers; `POST /api/v1/seller/sales`,
//! `GET`/`PUT /api/v1/seller/sales/{id}`, `POST …/{id}/cancel`, `POST …/{id}/end`,
//! `PUT …/{id}/extras` and `GET …/{id}/report` for sellers (an admin: any).


use app::flash::{BuyRequest, DrawView, ExtrasSwitch, FairnessReport, HoldView, QueueView, RegisterRequest, RegistrationView, SaleInput, SaleView, SellerSale, service};
use app::ids::SaleId;
use app::state::AppState;
use axum::Json;
use app::ratelimit::ClientAddr;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::guard::{Caller, Id, JsonBody, OptionalJsonBody, SellerUser, SignedInUser};
use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Upcoming and live sales, and those that ended in the last day, soonest first.
#[utoipa::path(tag = "sales", get, path = "/api/v1/sales", responses((status = 200, body = [SaleView])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<SaleView>>, ApiError> {
    Ok(Json(service::sales(&state).await?))
}

/// A sale: `state` is upcoming, live, sold_out, ended or cancelled; `server_time` is the
/// server's clock, for a countdown that does not trust the browser's.
#[utoipa::path(tag = "sales", get, path = "/api/v1/sales/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = SaleView), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, Id(id): Id<SaleId>) -> Result<Json<SaleView>, ApiError> {
    Ok(Json(service::sale(&state, id).await?))
}

/// Joins the sale's waiting room (sign in first). Before the start shoppers are put in a
/// random order drawn from the sale's seed; later joins queue in arrival order. Joining again
/// (another tab, another device) answers the same place: calling it again is the way to poll
/// without the websocket. Once admitted the answer carries the `token` the buy needs.
#[utoipa::path(tag = "sales", post, path = "/api/v1/sales/{id}/queue", params(("id" = i64, Path)),
    responses((status = 200, body = QueueView), (status = 401, body = ErrorBody), (status = 403, description = "The sale's rules leave this account out (too new, or its email address not confirmed); the message says which", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The sale is over, or the shopper already has their limit of it (\"You got yours\", with the order)", body = ErrorBody), (status = 429, description = "Rate limited; Retry-After says when", body = ErrorBody), (status = 503, description = "The queue is unreachable; Retry-After says when to try again", body = ErrorBody)))]
pub async fn join(State(state): State<AppState>, client: ClientAddr, SignedInUser(user): SignedInUser, Id(id): Id<SaleId>) -> Result<Json<QueueView>, ApiError> {
    Ok(Json(service::join(&state, &user, &client.bucket(), id).await?))
}

/// Where the caller stands in the waiting room, without joining (404 when not in line).
#[utoipa::path(tag = "sales", get, path = "/api/v1/sales/{id}/queue", params(("id" = i64, Path)),
    responses((status = 200, body = QueueView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn place(State(state): State<AppState>, SignedInUser(user): SignedInUser, Id(id): Id<SaleId>) -> Result<Json<QueueView>, ApiError> {
    Ok(Json(service::place(&state, &user, id).await?))
}

/// Leaves the waiting room (or gives up an admission): the place is freed.
#[utoipa::path(tag = "sales", delete, path = "/api/v1/sales/{id}/queue", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn leave(State(state): State<AppState>, SignedInUser(user): SignedInUser, Id(id): Id<SaleId>) -> Result<StatusCode, ApiError> {
    service::leave(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Remind me": mail when the sale starts (before its start; 409 after). Registering again
/// changes nothing (200 rather than 201). With `shipping_address_id` and `payment_method_id`
/// (both or neither) the shopper saves an express buy: once admitted, `POST …/buy` makes the
/// order and authorizes the saved card off-session in the same call. Given again, the details
/// replace the saved ones. A refused address or card is a 400 naming it; nothing is saved.
#[utoipa::path(tag = "sales", post, path = "/api/v1/sales/{id}/register", params(("id" = i64, Path)), request_body(content = RegisterRequest, description = "Optional"),
    responses((status = 201, body = RegistrationView), (status = 200, description = "Already registered (details replaced when given)", body = RegistrationView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, description = "The payment provider is unreachable; nothing was saved", body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    SignedInUser(user): SignedInUser,
    Id(id): Id<SaleId>,
    OptionalJsonBody(req): OptionalJsonBody<RegisterRequest>,
) -> Result<(StatusCode, Json<RegistrationView>), ApiError> {
    let new = app::checkout::service::register_for_sale(&state, &user, id, &req).await?;
    let view = service::registration(&state, &user, id.0).await?.ok_or(app::error::AppError::Internal)?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(view)))
}

/// No more reminder for this sale (204; 404 when there was none).
#[utoipa::path(tag = "sales", delete, path = "/api/v1/sales/{id}/register", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unregister(State(state): State<AppState>, SignedInUser(user): SignedInUser, Id(id): Id<SaleId>) -> Result<StatusCode, ApiError> {
    if service::unregister(&state, &user, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(app::error::AppError::not_found("You were not registered for this sale.").into())
    }
}

/// Takes units of a live sale for an admitted shopper (the `token` from the queue) and holds
/// them at the sale price for `SELLOUT_SALE_HOLD_SECONDS` (default 300): check out with
/// `"hold_id"` in `POST /api/v1/orders/checkout`. One live hold per shopper: buying again
/// answers the same hold (200). An express buy (details saved at registration) answers with
/// the order too: `order_id`, `order_status` (`paid`, or `pending` with `client_secret` for
/// the bank's 3-D Secure or `message` for a declined card; pay on the order page while the hold
/// lasts).
#[utoipa::path(tag = "sales", post, path = "/api/v1/sales/{id}/buy", params(("id" = i64, Path)), request_body = BuyRequest,
    responses((status = 201, body = HoldView), (status = 200, description = "The hold the shopper already has", body = HoldView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "`not_admitted`: no valid admission token", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`sold_out`, or the sale is not live", body = ErrorBody),
        (status = 422, description = "`limit_exceeded`: over the per-buyer limit", body = ErrorBody),
        (status = 429, description = "Rate limited; Retry-After says when", body = ErrorBody),
        (status = 503, description = "The gate is unreachable; Retry-After says when to try again", body = ErrorBody)))]
pub async fn buy(
    State(state): State<AppState>,
    client: ClientAddr,
    SignedInUser(user): SignedInUser,
    Id(id): Id<SaleId>,
    JsonBody(req): JsonBody<BuyRequest>,
) -> Result<(StatusCode, Json<HoldView>), ApiError> {
    let (hold, new) = app::checkout::service::buy_in_sale(&state, &user, &client.bucket(), id, &req).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(hold)))
}

/// One of the caller's holds.
#[utoipa::path(tag = "sales", get, path = "/api/v1/sales/holds/{hold_id}", params(("hold_id" = String, Path)),
    responses((status = 200, body = HoldView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn hold(State(state): State<AppState>, SignedInUser(user): SignedInUser, Path(hold_id): Path<String>) -> Result<Json<HoldView>, ApiError> {
    Ok(Json(service::hold(&state, &user, &app::ids::HoldId::parse(&hold_id)?).await?))
}

/// The waiting room's pre-start draw, to check: before the start the SHA-256 of the secret
/// seed; after it the seed and every pre-start ticket in the order drawn, with the caller's own
/// ticket and place when signed in. A ticket is SHA-256 of `"<seed>:<user id>"` (hex); the order
/// sorts the tickets by their first 12 hex digits as a number, then by the ticket.
#[utoipa::path(tag = "sales", get, path = "/api/v1/sales/{id}/draw", params(("id" = i64, Path)),
    responses((status = 200, body = DrawView), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn draw(State(state): State<AppState>, caller: Caller, Id(id): Id<SaleId>) -> Result<Json<DrawView>, ApiError> {
    Ok(Json(service::draw(&state, caller.user.as_ref(), id).await?))
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

/// Switches the shop's extras (recommendations, reviews, wishlist) off while this sale is live,
/// or on again; allowed at any time, during the sale too.
#[utoipa::path(tag = "sales", put, path = "/api/v1/seller/sales/{id}/extras", params(("id" = i64, Path)), request_body = ExtrasSwitch,
    responses((status = 200, body = SellerSale), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn extras(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<SaleId>, JsonBody(switch): JsonBody<ExtrasSwitch>) -> Result<Json<SellerSale>, ApiError> {
    Ok(Json(service::set_extras(&state, &user, id, switch.extras_off).await?))
}

/// How fairly a sale went: distinct buyers, units per buyer, seconds from the start to sold
/// out, holds released and units offered again, requests turned away by rate limits.
#[utoipa::path(tag = "sales", get, path = "/api/v1/seller/sales/{id}/report", params(("id" = i64, Path)),
    responses((status = 200, body = FairnessReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn report(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<SaleId>) -> Result<Json<FairnessReport>, ApiError> {
    Ok(Json(service::report(&state, &user, id).await?))
}

/// This module's endpoints (flash sales for shoppers and sellers), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(join, place, leave))
        .routes(routes!(buy))
        .routes(routes!(register, unregister))
        .routes(routes!(hold))
        .routes(routes!(draw))
        .routes(routes!(schedule))
        .routes(routes!(seller_get, update))
        .routes(routes!(cancel))
        .routes(routes!(end))
        .routes(routes!(extras))
        .routes(routes!(report))
}
