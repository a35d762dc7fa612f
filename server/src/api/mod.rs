//! The REST API (`/api/v1`), health endpoints and the OpenAPI document. Errors are always
//! `{"error": {"code", "message", "fields"}}` with a message a person can act on.

use std::collections::BTreeMap;

use app::error::AppError;
use app::state::AppState;
use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub mod health;
pub mod products;

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
        let (status, code, fields) = match &self.0 {
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", BTreeMap::new()),
            AppError::BadRequest { field, message } => {
                (StatusCode::BAD_REQUEST, "bad_request", BTreeMap::from([(field.clone(), message.clone())]))
            }
            AppError::Internal | AppError::Transport(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", BTreeMap::new())
            }
        };
        let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: self.0.to_string(), fields } };
        (status, Json(body)).into_response()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Sellout API", version = "1", description = "Storefront REST API. Money is integer minor units plus an ISO 4217 currency."),
    paths(products::list_products, products::get_product, health::healthz, health::readyz),
    components(schemas(ErrorBody, ErrorDetail, app::catalog::ProductList, app::catalog::ProductDetail))
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
        .route("/openapi.json", get(openapi_json))
        .fallback(api_not_found);
    Router::new()
        .nest("/api/v1", v1)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
}
