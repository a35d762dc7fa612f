//! The REST API (`/api/v1`), health endpoints and the OpenAPI document. Errors are always
//! `{"error": {"code", "message", "fields"}}` with a message a person can act on.

use std::collections::BTreeMap;

use app::error::AppError;
use app::state::AppState;
use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

pub mod access;
pub mod auth;
pub mod cart;
pub mod guard;
pub mod health;
pub mod orders;
pub mod reviews;
pub mod sales;
pub mod seller;
pub mod webhooks;
pub mod products;
pub mod search;
pub mod tokens;

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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, headers) = self.0.http_parts();
        // A form's "correct the marked fields" says nothing to an API client: list them.
        let message = match &self.0 {
            AppError::Invalid(fields) => fields.values().cloned().collect::<Vec<_>>().join("; "),
            other => other.to_string(),
        };
        let body = ErrorBody { error: ErrorDetail { code: self.0.code().to_owned(), message, fields: self.0.fields() } };
        (status, headers, Json(body)).into_response()
    }
}

/// A JSON error response outside the `AppError` kinds (413, 415, 403 for cross-site writes).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: message.to_owned(), fields: BTreeMap::new() } };
    (status, Json(body)).into_response()
}

/// The document's frame; every path comes from the module routers (`router()` in each file).
#[derive(OpenApi)]
#[openapi(
    info(title = "Sellout API", version = "1", description = "Storefront REST API. Money is integer minor units plus an ISO 4217 currency."),
    components(schemas(ErrorBody, ErrorDetail, app::catalog::ProductList, app::catalog::ProductDetail, app::cart::CartView, app::search::SearchResults, app::seller::SellerProduct, app::seller::SellerProductList, app::seller::ProductInput)),
    modifiers(&Security),
    // Every route takes either way of signing in, or none (public reads; guarded routes then
    // answer 401): a token must also carry the route's scope (403 otherwise).
    security((), ("session" = []), ("bearer" = []))
)]
pub struct ApiDoc;

/// The two ways to be somebody: the browser's session cookie, and an API token sent as
/// `Authorization: Bearer so_…` (made in the admin or with `POST /api/v1/tokens`).
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description("sellout_session", "The browser's session, set by signing in (POST /api/v1/auth/login). Writes from another site are refused."))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("so_ followed by 64 hex digits")
                    .description(Some("A personal access token with scopes (catalog:read, catalog:write, orders, sales, admin); rate limited per token; needs no cross-site guard."))
                    .build(),
            ),
        );
    }
}

async fn api_not_found() -> ApiError {
    ApiError(AppError::not_found("There is no such API endpoint."))
}

/// Every endpoint with its OpenAPI entry, from each module's `router()`.
fn endpoints() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(products::router())
        .merge(search::router())
        .merge(cart::router())
        .merge(auth::router())
        .merge(access::router())
        .merge(orders::router())
        .merge(reviews::router())
        .merge(sales::router())
        .merge(seller::router())
        .merge(tokens::router())
        .merge(health::router())
}

pub fn router() -> Router<AppState> {
    let (api, doc) = endpoints().split_for_parts();
    let doc = std::sync::Arc::new(doc);
    api.route("/api/v1/openapi.json", get(move || async move { Json(doc.as_ref().clone()) }))
        .route("/api/v1", axum::routing::any(api_not_found))
        .route("/api/v1/{*rest}", axum::routing::any(api_not_found))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .route("/webhooks/stripe", post(webhooks::stripe).layer(axum::extract::DefaultBodyLimit::max(256 * 1024)))
}
