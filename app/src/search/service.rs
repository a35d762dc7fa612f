//! Search on the server: documents read from the catalog, the index rebuilt when its stamp is
//! stale and kept current by catalog events, and results dressed with summaries and facets.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};

use super::engine::{SearchDoc, SearchEngine, SearchError};
use super::index::{INDEX_FORMAT, TantivyEngine};
use super::*;
use crate::catalog::service::{available_by_variant, summaries_in_order};
use crate::states::ProductStatus;
use crate::db::{category, product, variant};
use crate::events::ShopEvent;
use crate::state::AppState;

/// Documents for active products with ids in `ids` (or all, in id order, `after`/`limit`).
pub async fn load_docs(db: &DatabaseConnection, ids: Option<&[i64]>, after: i64, limit: u64) -> Result<Vec<SearchDoc>, SearchError> {
    let mut sel = product::Entity::find().filter(product::Column::Status.eq(ProductStatus::Active)).order_by_asc(product::Column::Id);
    sel = match ids {
        Some(ids) => sel.filter(product::Column::Id.is_in(ids.to_vec())),
        None => sel.filter(product::Column::Id.gt(after)).limit(limit),
    };
    let products = sel.all(db).await?;
    let pids: Vec<i64> = products.iter().map(|p| p.id).collect();
    let variants = variant::Entity::find().filter(variant::Column::ProductId.is_in(pids)).all(db).await?;
    let available = available_by_variant(db, variants.iter().map(|v| v.id).collect()).await?;
    let categories: HashMap<i64, category::Model> =
        category::Entity::find().all(db).await?.into_iter().map(|c| (c.id, c)).collect();
    let mut by_product: HashMap<i64, Vec<&variant::Model>> = HashMap::new();
    for v in &variants {
        by_product.entry(v.product_id).or_default().push(v);
    }
    Ok(products
        .into_iter()
        .filter_map(|p| {
            let vs = by_product.get(&p.id)?;
            let price = vs.iter().map(|v| v.price_amount).min()?;
            let mut cats = Vec::new();
            let mut next = Some(p.category_id);
            while let Some(c) = next.and_then(|id| categories.get(&id)) {
                if cats.len() > 8 {
                    break;
                }
                cats.push(c.slug.clone());
                next = c.parent_id;
            }
            let rating10 = if p.rating_count > 0 { ((p.rating_sum as f64 / p.rating_count as f64) * 10.0).round() as u64 } else { 0 };
            Some(SearchDoc {
                product_id: p.id,
                in_stock: vs.iter().any(|v| available.get(&v.id).copied().unwrap_or(0) > 0),
                title: p.title,
                brand: p.brand,
                description: p.description,
                tags: p.tags,
                categories: cats,
                price,
                rating10,
                created: p.created_at.timestamp(),
                skus: vs.iter().map(|v| v.sku.clone()).collect(),
            })
        })
        .collect())
}

/// A fingerprint of what the index is built from; a stored index with another is rebuilt.
pub async fn catalog_stamp(db: &DatabaseConnection) -> Result<String, SearchError> {
    let backend = db.get_database_backend();
    let row = |sql: &str| db.query_one_raw(Statement::from_string(backend, sql.to_owned()));
    let p = row("SELECT COUNT(*) AS n, CAST(MAX(updated_at) AS TEXT) AS t, CAST(COALESCE(SUM(rating_sum), 0) AS BIGINT) AS r FROM products").await?;
    let i = row("SELECT COUNT(*) AS n, CAST(COALESCE(SUM(quantity - reserved), 0) AS BIGINT) AS a, CAST(COALESCE(SUM(version), 0) AS BIGINT) AS v FROM inventory").await?;
    let v = row("SELECT COUNT(*) AS n, CAST(COALESCE(SUM(price_amount), 0) AS BIGINT) AS s FROM variants").await?;
    let get = |r: &Option<sea_orm::QueryResult>, c: &str| -> String {
        r.as_ref()
            .and_then(|r| r.try_get::<i64>("", c).map(|x| x.to_string()).or_else(|_| r.try_get::<Option<String>>("", c).map(|x| x.unwrap_or_default())).ok())
            .unwrap_or_default()
    };
    Ok(format!(
        "v{INDEX_FORMAT}|{}|{}|{}|{}|{}|{}|{}|{}",
        get(&p, "n"), get(&p, "t"), get(&p, "r"), get(&i, "n"), get(&i, "a"), get(&i, "v"), get(&v, "n"), get(&v, "s")
    ))
}

/// Rebuilds the whole index from the database; `progress(done)` after each batch.
pub async fn rebuild(db: &DatabaseConnection, engine: &Arc<TantivyEngine>, progress: impl Fn(u64)) -> Result<u64, SearchError> {
    let stamp = catalog_stamp(db).await?;
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let batch = load_docs(db, None, after, 2000).await?;
        let Some(last) = batch.last() else { break };
        after = last.product_id;
        all.extend(batch);
        progress(all.len() as u64);
    }
    let n = all.len() as u64;
    engine.replace_all(all).await?;
    write_stamp(engine, &stamp);
    Ok(n)
}

fn write_stamp(engine: &TantivyEngine, stamp: &str) {
    if let Some(dir) = engine.dir() {
        if let Err(e) = std::fs::write(dir.join("sellout-stamp"), stamp) {
            tracing::warn!(error = %e, "writing the search index stamp");
        }
    }
}

/// After an incremental update the stored stamp no longer describes the index. Proving the
/// index current again would take whole-table aggregates on every event batch, so the stamp
/// is dropped instead and the next start rebuilds.
fn forget_stamp(engine: &TantivyEngine) {
    if let Some(dir) = engine.dir() {
        let _ = std::fs::remove_file(dir.join("sellout-stamp"));
    }
}

/// Opens the index under `dir`, rebuilding it unless it was built from this very catalog.
pub async fn open_current(db: &DatabaseConnection, dir: Option<&Path>) -> Result<Arc<TantivyEngine>, SearchError> {
    let engine = Arc::new(TantivyEngine::open(dir)?);
    let stamp = catalog_stamp(db).await?;
    let stored = dir.and_then(|d| std::fs::read_to_string(d.join("sellout-stamp")).ok());
    if stored.as_deref() == Some(stamp.as_str()) && engine.num_docs() > 0 {
        tracing::info!(docs = engine.num_docs(), "search index is current");
    } else {
        let started = std::time::Instant::now();
        let n = rebuild(db, &engine, |_| {}).await?;
        tracing::info!(docs = n, ms = started.elapsed().as_millis() as u64, "search index built");
    }
    Ok(engine)
}

/// Keeps the index current: product and stock events are gathered for a moment, then the
/// affected products are re-read and re-indexed in one commit. After each update `generation`
/// (the state's `page_generation`) moves on: a page or a search answer made between the event
/// and the commit read the old index, and must not be served after it.
pub fn spawn_sync(db: DatabaseConnection, engine: Arc<TantivyEngine>, events: Arc<dyn crate::events::EventBus>, generation: Arc<std::sync::atomic::AtomicU64>) {
    let moved_on = move || generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut rx = events.subscribe();
    tokio::spawn(async move {
        loop {
            let first = match rx.recv().await {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // Missed events: only a full rebuild is sure to be right.
                    if let Err(e) = rebuild(&db, &engine, |_| {}).await {
                        tracing::error!(error = %e, "rebuilding the search index after lag");
                    }
                    moved_on();
                    continue;
                }
                Err(_) => break,
            };
            let mut ids: HashSet<i64> = HashSet::new();
            let mut take = |e: &ShopEvent| match e {
                ShopEvent::ProductChanged { product_id } | ShopEvent::StockChanged { product_id, .. } => {
                    ids.insert(*product_id);
                }
                _ => {}
            };
            take(&first);
            let deadline = tokio::time::sleep(Duration::from_millis(100));
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    _ = &mut deadline => break,
                    next = rx.recv() => match next { Ok(e) => take(&e), Err(_) => break },
                }
            }
            if ids.is_empty() {
                continue;
            }
            let ids: Vec<i64> = ids.into_iter().collect();
            let result = async {
                let docs = load_docs(&db, Some(&ids), 0, 0).await?;
                let present: HashSet<i64> = docs.iter().map(|d| d.product_id).collect();
                let removed = ids.iter().copied().filter(|id| !present.contains(id)).collect();
                engine.upsert(docs, removed).await?;
                forget_stamp(&engine);
                Ok::<_, SearchError>(())
            }
            .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "updating the search index");
            }
            moved_on();
        }
    });
}

/// Runs a search and dresses the hits: product summaries in rank order, named facets.
///
/// Answers are kept per node for the current `page_generation` (`state.recent.searches`): the
/// same words and filters read the same until a product, its stock or the index changes, so
/// a crowd searching for a sale's product costs one search, signed in or not.
pub async fn search(state: &AppState, q: &SearchQuery) -> Result<SearchResults, AppError> {
    let generation = state.page_generation.load(std::sync::atomic::Ordering::SeqCst);
    let key = (generation, q.as_you_type, serde_json::to_string(q).unwrap_or_default());
    if let Some(kept) = state.recent.searches.get(&key) {
        return Ok(SearchResults::clone(&kept));
    }
    let results = search_now(state, q).await?;
    state.recent.searches.put(key, Arc::new(results.clone()));
    Ok(results)
}

async fn search_now(state: &AppState, q: &SearchQuery) -> Result<SearchResults, AppError> {
    let hits = state.stores.search.query(q).await?;
    let results = summaries_in_order(&state.db, &hits.product_ids).await?;
    let f = hits.facets;
    let mut brands: Vec<FacetValue> = f.brands.into_iter().map(|(value, count)| FacetValue { value, count }).collect();
    brands.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    let tree = crate::catalog::service::category_tree(&state.db).await?;
    let mut categories = Vec::new();
    for node in tree {
        let count = |slug: &str| f.categories.get(slug).copied().unwrap_or(0);
        if count(&node.category.slug) > 0 {
            categories.push(CategoryFacet { count: count(&node.category.slug), value: node.category.slug.clone(), name: node.category.name, parent: None });
            for c in node.children {
                if count(&c.slug) > 0 {
                    categories.push(CategoryFacet { count: count(&c.slug), value: c.slug, name: c.name, parent: Some(node.category.slug.clone()) });
                }
            }
        }
    }
    Ok(SearchResults {
        results,
        total: f.total,
        page: q.page,
        total_pages: f.total.div_ceil(q.limit),
        facets: Facets {
            brands,
            categories,
            price_ranges: PRICE_BUCKETS
                .iter()
                .zip(f.price_buckets)
                .map(|((from, to), count)| PriceRange { from: *from, to: *to, count })
                .collect(),
            rating: (1..=4u8).rev().map(|n| RatingFacet { min: n, count: f.rating_at_least[(n - 1) as usize] }).collect(),
            in_stock: f.in_stock,
        },
    })
}
