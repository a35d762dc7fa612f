//! `GET /api/v1/search`: full-text search with filters and facet counts.

use app::search::{SearchQuery, SearchResults};
use app::state::AppState;
use axum::Json;
use axum::extract::State;

use super::guard::QueryOf;
use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Searches active products. `brand` may repeat (any of them); prices are minor units.
#[utoipa::path(
    tag = "search",
    get,
    path = "/api/v1/search",
    params(
        ("q" = Option<String>, Query, description = "Words to find; typos of one letter are forgiven in words of 5+ letters"),
        ("category" = Option<String>, Query, description = "Category slug (includes subcategories)"),
        ("brand" = Option<Vec<String>>, Query, description = "Brand, repeatable"),
        ("price_min" = Option<i64>, Query, description = "Lowest price, minor units"),
        ("price_max" = Option<i64>, Query, description = "Highest price, minor units"),
        ("rating_min" = Option<u8>, Query, description = "1-5 stars or more"),
        ("in_stock" = Option<bool>, Query),
        ("sort" = Option<String>, Query, description = "relevance (default), price_asc, price_desc, rating, newest"),
        ("page" = Option<u64>, Query), ("limit" = Option<u64>, Query),
    ),
    responses(
        (status = 200, body = SearchResults),
        (status = 400, description = "A parameter is invalid; price_min > price_max names both", body = ErrorBody),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn search(State(state): State<AppState>, QueryOf(query): QueryOf<SearchQuery>) -> Result<Json<SearchResults>, ApiError> {
    Ok(Json(app::search::service::search(&state, &query).await?))
}

/// This module's endpoints (full-text search with facets), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
}
