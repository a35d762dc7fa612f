//! `GET /api/v1/products` and `GET /api/v1/products/{id}`.

use app::catalog::{ListQuery, ProductDetail, ProductList, service};
use app::error::AppError;
use app::ids::ProductId;
use app::state::AppState;
use axum::Json;
use axum::extract::State;

use super::guard::{Id, QueryOf};
use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
pub async fn list_products(State(state): State<AppState>, QueryOf(query): QueryOf<ListQuery>) -> Result<Json<ProductList>, ApiError> {
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
pub async fn get_product(State(state): State<AppState>, Id(id): Id<ProductId>) -> Result<Json<ProductDetail>, ApiError> {
    Ok(Json(service::cached_product_detail(&state, id).await.map_err(AppError::from)?))
}

/// This module's endpoints (the catalog as shoppers see it), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products))
        .routes(routes!(get_product))
}
