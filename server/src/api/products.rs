//! `GET /api/v1/products` and `GET /api/v1/products/{id}`.

use app::catalog::{ListQuery, ProductDetail, ProductList, service};
use app::error::AppError;
use app::state::AppState;
use axum::Json;
use axum::extract::{Path, RawQuery, State};

use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Query string pairs; a malformed query string is a 400, not a 500.
pub fn query_pairs(raw: Option<String>) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| AppError::bad("query", "the query string could not be read"))
}

/// One page of products, optionally in a category (and its subcategories).
#[utoipa::path(
    tag = "products",
    get,
    path = "/api/v1/products",
    params(
        ("category" = Option<String>, Query, description = "Category slug; includes its subcategories"),
        ("sort" = Option<String>, Query, description = "featured (default), price_asc, price_desc, rating, newest"),
        ("page" = Option<u64>, Query, description = "1-based page, default 1"),
        ("limit" = Option<u64>, Query, description = "Products per page, 1-100, default 24"),
    ),
    responses(
        (status = 200, description = "A page of products", body = ProductList),
        (status = 400, description = "A parameter is invalid; the message names it", body = ErrorBody),
        (status = 404, description = "Unknown category", body = ErrorBody),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn list_products(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<ProductList>, ApiError> {
    let pairs = query_pairs(raw)?;
    let query = ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    Ok(Json(service::list_products(&state.db, &query).await.map_err(AppError::from)?))
}

/// A product with its variants, their prices and availability.
#[utoipa::path(
    tag = "products",
    get,
    path = "/api/v1/products/{id}",
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = ProductDetail),
        (status = 404, description = "No such product", body = ErrorBody),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn get_product(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ProductDetail>, ApiError> {
    let id: i64 = id.parse().map_err(|_| AppError::not_found(format!("There is no product with id \"{id}\".")))?;
    Ok(Json(service::cached_product_detail(&state, id).await.map_err(AppError::from)?))
}

/// This module's endpoints (the catalog as shoppers see it), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products))
        .routes(routes!(get_product))
}
