//! Reviews (`/api/v1/products/{id}/reviews`) and the wishlist (`/api/v1/wishlist`).

use app::catalog::ProductSummary;
use app::ids::ProductId;
use app::reviews::{ProductReviews, Review, check_review, service};
use app::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::guard::{Caller, Id, JsonBody, SignedInUser};
use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `POST /api/v1/products/{id}/reviews`: stars (a number, or a number as text) and the text.
#[derive(Deserialize)]
pub struct ReviewBody {
    rating: Option<serde_json::Value>,
    #[serde(default)]
    body: String,
}

/// The product's rating, its newest reviews (the caller's first) and whether it is on the
/// caller's wishlist.
#[utoipa::path(tag = "reviews", get, path = "/api/v1/products/{id}/reviews", params(("id" = i64, Path)),
    responses((status = 200, body = ProductReviews), (status = 404, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, caller: Caller, Id(id): Id<ProductId>) -> Result<Json<ProductReviews>, ApiError> {
    let viewer = caller.user.as_ref().map(|u| u.user_id);
    Ok(Json(service::reviews(&state.db, viewer, id).await?))
}

/// Writes the caller's review (201) or rewrites it (200): one per shopper and product.
#[utoipa::path(tag = "reviews", post, path = "/api/v1/products/{id}/reviews", params(("id" = i64, Path)),
    request_body(content = String, description = r#"{"rating": 1-5, "body": "text"}"#, content_type = "application/json"),
    responses((status = 201, body = Review), (status = 200, body = Review), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn save(State(state): State<AppState>, SignedInUser(user): SignedInUser, Id(id): Id<ProductId>, JsonBody(body): JsonBody<ReviewBody>) -> Result<(StatusCode, Json<Review>), ApiError> {
    let rating = match body.rating {
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) => s,
        _ => String::new(),
    };
    let (rating, text) = check_review(&rating, &body.body)?;
    let (review, created) = service::save_review(&state, user.user_id, id, rating, &text).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(review)))
}

#[utoipa::path(tag = "reviews", get, path = "/api/v1/wishlist", responses((status = 200, body = [ProductSummary]), (status = 401, body = ErrorBody)))]
pub async fn wishlist(State(state): State<AppState>, SignedInUser(user): SignedInUser) -> Result<Json<Vec<ProductSummary>>, ApiError> {
    Ok(Json(app::wishlist::service::wishlist(&state.db, user.user_id).await?))
}

/// Saves a product to the wishlist; saving it again changes nothing.
#[utoipa::path(tag = "reviews", put, path = "/api/v1/wishlist/{product_id}", params(("product_id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add(State(state): State<AppState>, SignedInUser(user): SignedInUser, Id(id): Id<ProductId>) -> Result<StatusCode, ApiError> {
    app::wishlist::service::add_to_wishlist(&state.db, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(tag = "reviews", delete, path = "/api/v1/wishlist/{product_id}", params(("product_id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn remove(State(state): State<AppState>, SignedInUser(user): SignedInUser, Id(id): Id<ProductId>) -> Result<StatusCode, ApiError> {
    app::wishlist::service::remove_from_wishlist(&state.db, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's endpoints (reviews and the wishlist), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, save))
        .routes(routes!(wishlist))
        .routes(routes!(add, remove))
}
