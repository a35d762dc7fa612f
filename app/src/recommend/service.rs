//! Counting and reading "customers also bought". The worker counts, over all paid orders, how
//! many orders had each pair of products and rewrites the `recommendations` table in one
//! transaction (the top `KEPT` per product); pages read one product's list through a cache
//! (a minute), behind the recommendations breaker.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Statement};

use super::{AlsoBought, KEPT, SHOWN};
use crate::catalog::ProductSummary;
use crate::db::recommendation;
use crate::state::AppState;
use crate::states::OrderStatus;
use crate::workers::Workers;

/// How often the worker counts again (and once at start).
pub const EVERY: Duration = Duration::from_secs(600);

/// Counts the pairs and rewrites the table; returns the rows written.
pub async fn compute(state: &AppState) -> Result<usize, DbErr> {
    let db = &state.db;
    let backend = db.get_database_backend();
    let purchases: Vec<String> = OrderStatus::ALL.iter().filter(|s| s.is_purchase()).map(|s| format!("'{}'", s.as_str())).collect();
    // Each (order, product) once, then every pair within an order.
    let sql = format!(
        "WITH bought AS (SELECT DISTINCT i.order_id, i.product_id FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status IN ({})) \
         SELECT a.product_id AS product_id, b.product_id AS other_id, COUNT(*) AS orders \
         FROM bought a JOIN bought b ON a.order_id = b.order_id AND a.product_id <> b.product_id \
         GROUP BY a.product_id, b.product_id",
        purchases.join(", ")
    );
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await?;
    let mut by_product: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for row in rows {
        let (p, other, orders): (i64, i64, i64) = (row.try_get("", "product_id")?, row.try_get("", "other_id")?, row.try_get("", "orders")?);
        by_product.entry(p).or_default().push((orders, other));
    }
    let now = Utc::now();
    let mut models = Vec::new();
    for (product_id, mut others) in by_product {
        // Most orders first; ties by the older (lower) id, so the list is stable.
        others.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (rank, (orders, other)) in others.into_iter().take(KEPT).enumerate() {
            models.push(recommendation::ActiveModel {
                product_id: sea_orm::Set(product_id),
                recommended_id: sea_orm::Set(other),
                orders: sea_orm::Set(orders),
                rank: sea_orm::Set(rank as i32 + 1),
                computed_at: sea_orm::Set(now),
            });
        }
    }
    let written = models.len();
    let txn = state.writer.begin().await?;
    recommendation::Entity::delete_many().exec(&txn).await?;
    // SQLite takes at most 32,766 bound values a statement: 5 columns, 1,000 rows at a time.
    let mut models = models.into_iter().peekable();
    while models.peek().is_some() {
        let chunk: Vec<_> = models.by_ref().take(1_000).collect();
        recommendation::Entity::insert_many(chunk).exec(&txn).await?;
    }
    txn.commit().await?;
    // This node shows the new lists at once; the others within the cache's minute.
    state.recent.also_bought.forget_all();
    Ok(written)
}

/// Counts at start and every `every`. One node's count is every node's (the table is shared);
/// a second node counting too only writes the same rows again.
pub fn spawn_worker(workers: &Workers, state: AppState, every: Duration) {
    workers.every("recommendations", every, move || {
        let state = state.clone();
        async move {
            match compute(&state).await {
                Ok(rows) => tracing::debug!(rows, "recommendations counted"),
                Err(e) => tracing::warn!(error = %e, "counting recommendations"),
            }
        }
    });
}

/// One product's list, as counted (active products only), through the cache.
async fn of_product(state: &AppState, product_id: i64) -> Result<Arc<Vec<ProductSummary>>, DbErr> {
    if let Some(hit) = state.recent.also_bought.get(&product_id) {
        return Ok(hit);
    }
    let ids: Vec<i64> = recommendation::Entity::find()
        .filter(recommendation::Column::ProductId.eq(product_id))
        .order_by_asc(recommendation::Column::Rank)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| r.recommended_id)
        .collect();
    let list = Arc::new(if ids.is_empty() { Vec::new() } else { crate::catalog::service::summaries_in_order(&state.db, &ids).await? });
    state.recent.also_bought.put(product_id, list.clone());
    Ok(list)
}

/// What was bought with any of `products`, none of them included: each product's list in
/// turn, best first, at most `SHOWN`. Resting when the extras are off or the breaker skips it.
pub async fn also_bought(state: &AppState, products: &[i64]) -> AlsoBought {
    if products.is_empty() {
        return AlsoBought::default();
    }
    if crate::flash::service::extras_paused(state).await {
        return AlsoBought { products: Vec::new(), resting: true };
    }
    let lists = state
        .extras
        .recommendations
        .call(async {
            let mut lists = Vec::with_capacity(products.len());
            for &p in products {
                lists.push(of_product(state, p).await?);
            }
            Ok::<_, DbErr>(lists)
        })
        .await;
    let Some(lists) = lists else {
        return AlsoBought { products: Vec::new(), resting: true };
    };
    AlsoBought { products: merged(&lists, products), resting: false }
}

/// Round-robin over the lists (each one's best first), without repeats or the products asked about.
fn merged(lists: &[Arc<Vec<ProductSummary>>], asked: &[i64]) -> Vec<ProductSummary> {
    let mut out: Vec<ProductSummary> = Vec::new();
    let longest = lists.iter().map(|l| l.len()).max().unwrap_or(0);
    for i in 0..longest {
        for list in lists {
            if let Some(p) = list.get(i) {
                if out.len() < SHOWN && !asked.contains(&p.product_id) && !out.iter().any(|o| o.product_id == p.product_id) {
                    out.push(p.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::SellerRef;
    use crate::money::Money;

    fn p(id: i64) -> ProductSummary {
        ProductSummary {
            product_id: id,
            title: format!("p{id}"),
            brand: String::new(),
            price: Money::new(100, "EUR"),
            price_varies: false,
            rating: None,
            review_count: 0,
            image_url: String::new(),
            in_stock: true,
            seller: SellerRef { seller_id: 1, name: String::new() },
        }
    }

    #[test]
    fn merged_takes_turns_skips_repeats_and_what_was_asked_about() {
        let a = Arc::new(vec![p(2), p(3), p(4)]);
        let b = Arc::new(vec![p(1), p(3), p(5), p(6)]);
        let ids: Vec<i64> = merged(&[a, b], &[1, 9]).iter().map(|s| s.product_id).collect();
        assert_eq!(ids, [2, 3, 4, 5], "a's 2, b's 1 skipped (asked), a's 3, b's 3 skipped (a repeat), a's 4, b's 5; then four is enough");
    }
}
