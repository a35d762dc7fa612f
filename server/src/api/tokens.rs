//! Personal access tokens (`/api/v1/tokens`): made, listed and revoked by their owner, signed
//! in with the cookie or with another token (which can only give what it has itself).

use app::accounts::tokens::{self, NewToken, TokenInput, TokenView};
use app::error::AppError;
use app::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::guard::{Caller, JsonBody};
use super::{ApiError, ErrorBody};
use app::accounts::Need;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The caller's tokens, newest first, revoked ones included (with `revoked_at`).
#[utoipa::path(tag = "tokens", get, path = "/api/v1/tokens", responses((status = 200, body = [TokenView]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<TokenView>>, ApiError> {
    let user = caller.require(Need::SignedIn)?;
    Ok(Json(tokens::list(&state, user.user_id).await?))
}

/// Makes a token: the answer carries its secret, shown this once (only a hash is kept).
#[utoipa::path(tag = "tokens", post, path = "/api/v1/tokens", request_body = TokenInput,
    responses((status = 201, body = NewToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(State(state): State<AppState>, caller: Caller, JsonBody(input): JsonBody<TokenInput>) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    let user = caller.require(Need::SignedIn)?;
    if let Some(by) = &caller.token
        && let Some(s) = input.scopes.iter().find(|s| !by.scopes.contains(s))
    {
        return Err(AppError::Forbidden(format!("A token can only give a new token scopes it has itself; this one lacks {}.", s.as_str())).into());
    }
    Ok((StatusCode::CREATED, Json(tokens::create(&state, user, &input).await?)))
}

/// Revokes one of the caller's tokens: it is refused from the next request on.
#[utoipa::path(tag = "tokens", delete, path = "/api/v1/tokens/{token_id}", params(("token_id" = i64, Path)),
    responses((status = 200, body = TokenView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(State(state): State<AppState>, caller: Caller, Path(token_id): Path<String>) -> Result<Json<TokenView>, ApiError> {
    let user = caller.require(Need::SignedIn)?;
    let id: i64 = token_id.parse().map_err(|_| AppError::not_found(format!("You have no token \"{token_id}\".")))?;
    Ok(Json(tokens::revoke(&state, user.user_id, id).await?))
}

/// This module's endpoints, each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}
