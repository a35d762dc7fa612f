//! The wishlist on SeaORM: one row per shopper and product, newest first.

use crate::ids::ProductId;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::catalog::ProductSummary;
use crate::catalog::service::active_product;
use crate::db::wishlist;
use crate::error::AppError;

/// Whether the shopper saved the product.
pub async fn is_saved(db: &DatabaseConnection, user_id: i64, product_id: i64) -> Result<bool, AppError> {
    Ok(wishlist::Entity::find()
        .filter(wishlist::Column::UserId.eq(user_id))
        .filter(wishlist::Column::ProductId.eq(product_id))
        .one(db)
        .await?
        .is_some())
}

pub async fn wishlist(db: &DatabaseConnection, user_id: i64) -> Result<Vec<ProductSummary>, AppError> {
    let ids: Vec<i64> = wishlist::Entity::find()
        .filter(wishlist::Column::UserId.eq(user_id))
        .order_by_desc(wishlist::Column::CreatedAt)
        .order_by_desc(wishlist::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|w| w.product_id)
        .collect();
    Ok(crate::catalog::service::summaries_in_order(db, &ids).await?)
}

/// Saving twice is saving once.
pub async fn add_to_wishlist(db: &DatabaseConnection, user_id: i64, ProductId(product_id): ProductId) -> Result<(), AppError> {
    active_product(db, product_id).await?;
    let row = wishlist::ActiveModel { user_id: Set(user_id), product_id: Set(product_id), created_at: Set(Utc::now()), ..Default::default() };
    match row.insert(db).await {
        Ok(_) => Ok(()),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub async fn remove_from_wishlist(db: &DatabaseConnection, user_id: i64, ProductId(product_id): ProductId) -> Result<(), AppError> {
    wishlist::Entity::delete_many()
        .filter(wishlist::Column::UserId.eq(user_id))
        .filter(wishlist::Column::ProductId.eq(product_id))
        .exec(db)
        .await?;
    Ok(())
}
