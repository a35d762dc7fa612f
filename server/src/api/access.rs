//! Account, seller and admin routes, each guarded by `Caller::require`.

use app::accounts::{Address, CurrentUser, Need, SellerProfile, service};
use app::db::{product, seller, user};
use app::error::AppError;
use app::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use super::guard::{AdminUser, Caller, SignedInUser};
use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Serialize, ToSchema)]
pub struct Account {
    pub user: CurrentUser,
    pub addresses: Vec<Address>,
}

#[utoipa::path(tag = "access", get, path = "/api/v1/account", responses((status = 200, body = Account), (status = 401, body = ErrorBody)))]
pub async fn account(State(state): State<AppState>, SignedInUser(user): SignedInUser) -> Result<Json<Account>, ApiError> {
    let addresses = service::list_addresses(&state.db, user.user_id).await?;
    Ok(Json(Account { user, addresses }))
}

#[derive(Serialize, ToSchema)]
pub struct SellerSummary {
    pub seller: SellerProfile,
    pub products: u64,
    pub active_products: u64,
}

/// A seller's own summary; admins may read any seller's.
#[utoipa::path(tag = "access", get, path = "/api/v1/sellers/{seller_id}", params(("seller_id" = i64, Path)),
    responses((status = 200, body = SellerSummary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn seller_summary(State(state): State<AppState>, caller: Caller, Path(seller_id): Path<i64>) -> Result<Json<SellerSummary>, ApiError> {
    caller.require(Need::SellerAccount(seller_id))?;
    let s = seller::Entity::find_by_id(seller_id)
        .one(&state.db)
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| AppError::not_found(format!("There is no seller {seller_id}.")))?;
    let mine = product::Entity::find().filter(product::Column::SellerId.eq(seller_id));
    let products = mine.clone().count(&state.db).await.map_err(AppError::from)?;
    let active_products = mine.filter(product::Column::Status.eq(app::states::ProductStatus::Active)).count(&state.db).await.map_err(AppError::from)?;
    Ok(Json(SellerSummary { seller: SellerProfile { seller_id: s.id, name: s.name, slug: s.slug }, products, active_products }))
}

#[derive(Serialize, ToSchema)]
pub struct UserRow {
    pub user_id: i64,
    pub email: String,
    pub role: app::states::Role,
}

/// The newest 100 accounts (admins only).
#[utoipa::path(tag = "access", get, path = "/api/v1/admin/users", responses((status = 200, body = [UserRow]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn admin_users(State(state): State<AppState>, _: AdminUser) -> Result<Json<Vec<UserRow>>, ApiError> {
    let rows = user::Entity::find().order_by_desc(user::Column::Id).limit(100).all(&state.db).await.map_err(AppError::from)?;
    Ok(Json(rows.into_iter().map(|u| UserRow { user_id: u.id, email: u.email, role: u.role }).collect()))
}

/// Open reconciliation findings: orphan intents, amount and state mismatches (admins only).
#[utoipa::path(tag = "access", get, path = "/api/v1/admin/reconciliation", responses((status = 200, body = [app::payments::Finding]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reconciliation(State(state): State<AppState>, _: AdminUser) -> Result<Json<Vec<app::payments::Finding>>, ApiError> {
    Ok(Json(app::payments::reconcile::findings(&state.db).await?))
}

/// Marks a finding as dealt with; it leaves the open list (admins only).
#[utoipa::path(tag = "access", post, path = "/api/v1/admin/reconciliation/{id}/resolve", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn resolve_finding(State(state): State<AppState>, _: AdminUser, Path(id): Path<String>) -> Result<axum::http::StatusCode, ApiError> {
    let id: i64 = id.parse().map_err(|_| AppError::not_found(format!("There is no finding \"{id}\".")))?;
    app::payments::reconcile::resolve(&state.db, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// This module's endpoints (signed-in, seller and admin routes), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(account))
        .routes(routes!(seller_summary))
        .routes(routes!(admin_users))
        .routes(routes!(reconciliation))
        .routes(routes!(resolve_finding))
}
