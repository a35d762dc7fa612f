//! The REST API (`/api/v1`), health endpoints and the OpenAPI document. Errors are always
//! `{"error": {"code", "message", "fields"}}` with a message a person can act on.

use std::collections::BTreeMap;

use app::error::AppError;
use app::state::AppState;
use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub mod access;
pub mod auth;
pub mod cart;
pub mod guard;
pub mod health;
pub mod orders;
pub mod reviews;
pub mod seller;
pub mod webhooks;
pub mod products;
pub mod search;

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `bad_request`, `not_found`, `internal`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// Per-field messages when the request had bad fields.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    fn code(&self) -> &'static str {
        match &self.0 {
            AppError::NotFound(_) => "not_found",
            AppError::BadRequest { .. } | AppError::Invalid(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::Conflict(_) => "conflict",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::PaymentDeclined(_) => "card_declined",
            AppError::TooManyRequests { .. } => "rate_limited",
            AppError::Internal | AppError::Transport(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // A form's "correct the marked fields" says nothing to an API client: list them.
        let message = match &self.0 {
            AppError::Invalid(fields) => fields.values().cloned().collect::<Vec<_>>().join("; "),
            other => other.to_string(),
        };
        let body = ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message, fields: self.0.fields() } };
        let mut res = (status, Json(body)).into_response();
        if let AppError::TooManyRequests { retry_after_secs } = self.0 {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
        }
        res
    }
}

/// A JSON error response outside the `AppError` kinds (413, 415, 403 for cross-site writes).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: message.to_owned(), fields: BTreeMap::new() } };
    (status, Json(body)).into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Sellout API", version = "1", description = "Storefront REST API. Money is integer minor units plus an ISO 4217 currency."),
    paths(
        products::list_products, products::get_product, search::search,
        cart::get_cart, cart::add_item, cart::set_item, cart::remove_item,
        auth::register, auth::login, auth::logout, auth::me,
        access::account, access::seller_summary, access::admin_users, access::reconciliation, access::resolve_finding,
        orders::checkout, orders::pay, orders::confirm, orders::list, orders::get, orders::cancel,
        orders::seller_list, orders::ship, orders::deliver, orders::refund,
        reviews::list, reviews::save, reviews::wishlist, reviews::add, reviews::remove,
        seller::list, seller::create, seller::get, seller::update, seller::archive, seller::add_image, seller::remove_image,
        health::healthz, health::readyz,
    ),
    components(schemas(ErrorBody, ErrorDetail, app::catalog::ProductList, app::catalog::ProductDetail, app::cart::CartView, app::search::SearchResults, app::seller::SellerProduct, app::seller::SellerProductList, app::seller::ProductInput))
)]
pub struct ApiDoc;

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn api_not_found() -> ApiError {
    ApiError(AppError::not_found("There is no such API endpoint."))
}

pub fn router() -> Router<AppState> {
    let v1 = Router::new()
        .route("/products", get(products::list_products))
        .route("/products/{id}", get(products::get_product))
        .route("/products/{id}/reviews", get(reviews::list).post(reviews::save))
        .route("/orders", get(orders::list))
        .route("/orders/checkout", post(orders::checkout))
        .route("/orders/{id}", get(orders::get))
        .route("/orders/{id}/pay", post(orders::pay))
        .route("/orders/{id}/confirm", post(orders::confirm))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/seller/orders", get(orders::seller_list))
        .route("/seller/orders/{id}/ship", post(orders::ship))
        .route("/seller/orders/{id}/deliver", post(orders::deliver))
        .route("/seller/orders/{id}/refund", post(orders::refund))
        .route("/wishlist", get(reviews::wishlist))
        .route("/wishlist/{product_id}", put(reviews::add).delete(reviews::remove))
        .route("/search", get(search::search))
        .route("/cart", get(cart::get_cart))
        .route("/cart/items", post(cart::add_item))
        .route("/cart/items/{sku}", put(cart::set_item).delete(cart::remove_item))
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/account", get(access::account))
        .route("/sellers/{seller_id}", get(access::seller_summary))
        .route("/admin/users", get(access::admin_users))
        .route("/admin/reconciliation", get(access::reconciliation))
        .route("/admin/reconciliation/{id}/resolve", post(access::resolve_finding))
        .route("/seller/products", get(seller::list).post(seller::create))
        .route("/seller/products/{id}", get(seller::get).put(seller::update).delete(seller::archive))
        .route(
            "/seller/products/{id}/images",
            // The handler caps the upload itself (5 MB and the multipart envelope).
            post(seller::add_image).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/seller/products/{id}/images/{image_id}", axum::routing::delete(seller::remove_image))
        .route("/openapi.json", get(openapi_json))
        .fallback(api_not_found)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024));
    Router::new()
        .nest("/api/v1", v1)
        .route("/webhooks/stripe", post(webhooks::stripe).layer(axum::extract::DefaultBodyLimit::max(256 * 1024)))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
}
