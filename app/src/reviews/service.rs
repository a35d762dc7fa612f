//! Reviews and the rating aggregate on SeaORM (SQLite and PostgreSQL alike).

use crate::ids::ProductId;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};

use super::*;
use crate::catalog::rating_of;
use crate::catalog::service::active_product;
use crate::db::{product, review, seller, user};
use crate::state::AppState;
use crate::states::OrderStatus;

/// "ann.lee@example.com" → "Ann L.": enough to tell reviewers apart, never the address.
pub fn author_name(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let mut parts = local.split(['.', '_', '-', '+']).filter(|p| p.chars().any(char::is_alphabetic));
    let first: String = parts.next().unwrap_or("Shopper").chars().filter(|c| c.is_alphabetic()).take(20).collect();
    let mut name: String = first.chars().take(1).flat_map(char::to_uppercase).chain(first.chars().skip(1)).collect();
    if name.is_empty() {
        name = "Shopper".to_owned();
    }
    match parts.next().and_then(|p| p.chars().find(|c| c.is_alphabetic())) {
        Some(initial) => format!("{name} {}.", initial.to_uppercase()),
        None => name,
    }
}

/// Did this shopper buy the product (an order that was paid, whatever happened after)?
pub async fn bought(db: &impl ConnectionTrait, user_id: i64, product_id: i64) -> Result<bool, AppError> {
    let backend = db.get_database_backend();
    let (a, b) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let purchases: Vec<String> =
        OrderStatus::ALL.iter().filter(|s| s.is_purchase()).map(|s| format!("'{}'", s.as_str())).collect();
    let sql = format!(
        "SELECT 1 AS found FROM orders o JOIN order_items i ON i.order_id = o.id \
         WHERE o.user_id = {a} AND i.product_id = {b} AND o.status IN ({}) LIMIT 1",
        purchases.join(", ")
    );
    Ok(db.query_one_raw(Statement::from_sql_and_values(backend, sql, [user_id.into(), product_id.into()])).await?.is_some())
}

/// Is `user_id` the seller of the product (their own products are not theirs to review)?
async fn sells(db: &impl ConnectionTrait, user_id: i64, seller_id: i64) -> Result<bool, AppError> {
    Ok(seller::Entity::find_by_id(seller_id).one(db).await?.is_some_and(|s| s.user_id == Some(user_id)))
}

/// What a review adds to the product's rating: a verified purchase's stars, nothing otherwise.
fn counted(rating: i32, verified: bool) -> (i64, i64) {
    if verified { (i64::from(rating), 1) } else { (0, 0) }
}

pub async fn reviews(db: &DatabaseConnection, viewer: Option<i64>, ProductId(product_id): ProductId) -> Result<ProductReviews, AppError> {
    let p = active_product(db, product_id).await?;
    let mut rows = review::Entity::find()
        .filter(review::Column::ProductId.eq(product_id))
        .order_by_desc(review::Column::CreatedAt)
        .order_by_desc(review::Column::Id)
        .limit(REVIEWS_SHOWN)
        .all(db)
        .await?;
    if let Some(me) = viewer {
        if !rows.iter().any(|r| r.user_id == me) {
            if let Some(mine) = review::Entity::find()
                .filter(review::Column::ProductId.eq(product_id))
                .filter(review::Column::UserId.eq(me))
                .one(db)
                .await?
            {
                rows.insert(0, mine);
            }
        }
        rows.sort_by_key(|r| r.user_id != me);
    }
    let authors: std::collections::HashMap<i64, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(rows.iter().map(|r| r.user_id).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, author_name(&u.email)))
        .collect();
    let in_wishlist = match viewer {
        Some(me) => crate::wishlist::service::is_saved(db, me, product_id).await?,
        None => false,
    };
    Ok(ProductReviews {
        rating: rating_of(p.rating_sum, p.rating_count),
        count: p.rating_count,
        reviews: rows
            .into_iter()
            .map(|r| Review {
                review_id: r.id,
                author: authors.get(&r.user_id).cloned().unwrap_or_else(|| "Shopper".to_owned()),
                rating: r.rating,
                body: r.body,
                verified_purchase: r.verified_purchase,
                created_at: crate::db::rfc3339(r.created_at),
                mine: Some(r.user_id) == viewer,
            })
            .collect(),
        signed_in: viewer.is_some(),
        can_review: match viewer {
            Some(me) => !sells(db, me, p.seller_id).await?,
            None => false,
        },
        in_wishlist,
    })
}

/// A signed-in shopper's own part of a product's reviews (`MyReviewState`): three reads.
pub async fn my_state(db: &DatabaseConnection, me: &crate::accounts::CurrentUser, ProductId(product_id): ProductId) -> Result<MyReviewState, AppError> {
    let p = active_product(db, product_id).await?;
    let mine = review::Entity::find()
        .filter(review::Column::ProductId.eq(product_id))
        .filter(review::Column::UserId.eq(me.user_id))
        .one(db)
        .await?;
    let in_wishlist = crate::wishlist::service::is_saved(db, me.user_id, product_id).await?;
    Ok(MyReviewState {
        product_id,
        signed_in: true,
        // `me.seller` is the seller profile whose user is `me` (as `sells` asks).
        can_review: me.seller.as_ref().is_none_or(|s| s.seller_id != p.seller_id),
        in_wishlist,
        mine: mine.map(|r| Review {
            review_id: r.id,
            author: author_name(&me.email),
            rating: r.rating,
            body: r.body,
            verified_purchase: r.verified_purchase,
            created_at: crate::db::rfc3339(r.created_at),
            mine: true,
        }),
        resting: false,
    })
}

/// Writes the shopper's review, or rewrites it: one per shopper and product (the database's
/// unique index is the last word); never the seller's own product. Only a verified purchase
/// counts in the product's `rating_sum`/`rating_count`, which move in the same transaction, by
/// the difference only. Returns the review and whether it is new.
#[tracing::instrument(skip(state, body))]
pub async fn save_review(state: &AppState, user_id: i64, ProductId(product_id): ProductId, rating: i32, body: &str) -> Result<(Review, bool), AppError> {
    let db = &state.db;
    let p = active_product(db, product_id).await?;
    if sells(db, user_id, p.seller_id).await? {
        return Err(AppError::Forbidden("You sell this product, so you cannot review it. Reviews are for the people who buy it.".to_owned()));
    }
    let verified = bought(db, user_id, product_id).await?;
    let txn = state.writer.begin().await?;
    let existing = review::Entity::find()
        .filter(review::Column::ProductId.eq(product_id))
        .filter(review::Column::UserId.eq(user_id))
        .one(&txn)
        .await?;
    let (saved, delta_sum, delta_count, new) = match existing {
        Some(old) => {
            let (was_sum, was_count) = counted(old.rating, old.verified_purchase);
            let (sum, count) = counted(rating, verified);
            let mut m: review::ActiveModel = old.into();
            m.rating = Set(rating);
            m.body = Set(body.to_owned());
            m.verified_purchase = Set(verified);
            (m.update(&txn).await?, sum - was_sum, count - was_count, false)
        }
        None => {
            let m = review::ActiveModel {
                product_id: Set(product_id),
                user_id: Set(user_id),
                rating: Set(rating),
                body: Set(body.to_owned()),
                verified_purchase: Set(verified),
                created_at: Set(Utc::now()),
                ..Default::default()
            };
            let (sum, count) = counted(rating, verified);
            match m.insert(&txn).await {
                Ok(m) => (m, sum, count, true),
                Err(e) if crate::db::is_unique_violation(&e) => {
                    return Err(AppError::Conflict("You have just reviewed this product elsewhere. Reload the page to edit your review.".to_owned()));
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    product::Entity::update_many()
        .col_expr(product::Column::RatingSum, Expr::col(product::Column::RatingSum).add(delta_sum))
        .col_expr(product::Column::RatingCount, Expr::col(product::Column::RatingCount).add(delta_count))
        .filter(product::Column::Id.eq(product_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    crate::catalog::service::announce(state, product_id).await;
    let email = user::Entity::find_by_id(user_id).one(db).await?.map(|u| u.email).unwrap_or_default();
    Ok((
        Review {
            review_id: saved.id,
            author: author_name(&email),
            rating: saved.rating,
            body: saved.body,
            verified_purchase: saved.verified_purchase,
            created_at: crate::db::rfc3339(saved.created_at),
            mine: true,
        },
        new,
    ))
}

#[cfg(test)]
mod tests {
    use super::author_name;

    #[test]
    fn authors_are_named_without_their_address() {
        assert_eq!(author_name("ann.lee@example.com"), "Ann L.");
        assert_eq!(author_name("bob@example.com"), "Bob");
        assert_eq!(author_name("12345@example.com"), "Shopper");
        assert_eq!(author_name("reviewer-7@sellout.test"), "Reviewer");
    }
}
