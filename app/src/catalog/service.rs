//! Catalog queries on SeaORM. Everything here works the same on SQLite and PostgreSQL: sorting
//! by price or rating uses correlated subqueries both understand.

use crate::ids::ProductId;
use crate::states::ProductStatus;
use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use super::*;
use crate::db::{category, flash_sale, inventory, product, product_image, seller, variant};
use crate::events::ShopEvent;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<CatalogError> for AppError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(what) => AppError::NotFound(what),
            CatalogError::Db(e) => {
                tracing::error!(error = %e, "catalog query failed");
                AppError::Internal
            }
        }
    }
}

const MIN_PRICE: &str = "(SELECT MIN(v.price_amount) FROM variants v WHERE v.product_id = products.id)";
const RATING: &str =
    "(CASE WHEN rating_count = 0 THEN 0.0 ELSE (rating_sum * 1.0) / rating_count END)";

pub fn image_url(product_id: i64, n: i32) -> String {
    format!("/img/products/{product_id}/{n}.svg")
}

/// An active product by id, or a 404 naming it.
pub async fn active_product(db: &impl ConnectionTrait, id: i64) -> Result<product::Model, AppError> {
    product::Entity::find_by_id(id)
        .filter(product::Column::Status.eq(ProductStatus::Active))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no product with id {id}.")))
}

/// Where an uploaded picture is served.
pub fn media_url(file_name: &str) -> String {
    format!("/media/products/{file_name}")
}

/// The uploaded pictures of some products, in order.
pub async fn images_of(db: &impl ConnectionTrait, product_ids: Vec<i64>) -> Result<HashMap<i64, Vec<product_image::Model>>, DbErr> {
    let mut map: HashMap<i64, Vec<product_image::Model>> = HashMap::new();
    for img in product_image::Entity::find()
        .filter(product_image::Column::ProductId.is_in(product_ids))
        .order_by_asc(product_image::Column::Position)
        .order_by_asc(product_image::Column::Id)
        .all(db)
        .await?
    {
        map.entry(img.product_id).or_default().push(img);
    }
    Ok(map)
}

fn category_ref(c: &category::Model) -> CategoryRef {
    CategoryRef { category_id: c.id, slug: c.slug.clone(), name: c.name.clone() }
}

pub async fn category_tree(db: &DatabaseConnection) -> Result<Vec<CategoryNode>, CatalogError> {
    let all = category::Entity::find()
        .order_by_asc(category::Column::Position)
        .order_by_asc(category::Column::Name)
        .all(db)
        .await?;
    Ok(all
        .iter()
        .filter(|c| c.parent_id.is_none())
        .map(|top| CategoryNode {
            category: category_ref(top),
            children: all.iter().filter(|c| c.parent_id == Some(top.id)).map(category_ref).collect(),
        })
        .collect())
}

pub async fn category_view(db: &DatabaseConnection, slug: &str) -> Result<CategoryView, CatalogError> {
    let all = category::Entity::find().order_by_asc(category::Column::Position).all(db).await?;
    let cat = all
        .iter()
        .find(|c| c.slug == slug)
        .ok_or_else(|| CatalogError::NotFound(format!("There is no category \"{slug}\".")))?;
    Ok(CategoryView {
        category: category_ref(cat),
        parent: cat.parent_id.and_then(|p| all.iter().find(|c| c.id == p)).map(category_ref),
        children: all.iter().filter(|c| c.parent_id == Some(cat.id)).map(category_ref).collect(),
    })
}

/// The ids of a category and all categories below it.
async fn category_and_descendants(db: &DatabaseConnection, slug: &str) -> Result<Vec<i64>, CatalogError> {
    let all = category::Entity::find().all(db).await?;
    let root = all
        .iter()
        .find(|c| c.slug == slug)
        .ok_or_else(|| CatalogError::NotFound(format!("There is no category \"{slug}\".")))?;
    let mut ids = vec![root.id];
    let mut i = 0;
    while i < ids.len() {
        let parent = ids[i];
        ids.extend(all.iter().filter(|c| c.parent_id == Some(parent)).map(|c| c.id));
        i += 1;
    }
    Ok(ids)
}

/// One page of active products. An unknown category is `NotFound`; a page past the end is an
/// empty page (with the true totals) rather than an error.
#[tracing::instrument(skip(db))]
pub async fn list_products(db: &DatabaseConnection, q: &ListQuery) -> Result<ProductList, CatalogError> {
    let mut sel = product::Entity::find().filter(product::Column::Status.eq(ProductStatus::Active));
    if let Some(slug) = &q.category {
        sel = sel.filter(product::Column::CategoryId.is_in(category_and_descendants(db, slug).await?));
    }
    sel = match q.sort {
        // Featured: most stars given in total, a blend of how liked and how bought.
        Sort::Featured => sel
            .order_by(product::Column::RatingSum, Order::Desc)
            .order_by(product::Column::Id, Order::Asc),
        Sort::PriceAsc => sel.order_by(Expr::cust(MIN_PRICE), Order::Asc).order_by(product::Column::Id, Order::Asc),
        Sort::PriceDesc => sel.order_by(Expr::cust(MIN_PRICE), Order::Desc).order_by(product::Column::Id, Order::Asc),
        Sort::Rating => sel
            .order_by(Expr::cust(RATING), Order::Desc)
            .order_by(product::Column::RatingCount, Order::Desc)
            .order_by(product::Column::Id, Order::Asc),
        Sort::Newest => sel
            .order_by(product::Column::CreatedAt, Order::Desc)
            .order_by(product::Column::Id, Order::Desc),
    };
    let paginator = sel.paginate(db, q.limit);
    let counts = paginator.num_items_and_pages().await?;
    let products = paginator.fetch_page(q.page - 1).await?;
    Ok(ProductList {
        products: summaries(db, products).await?,
        total: counts.number_of_items,
        page: q.page,
        total_pages: counts.number_of_pages,
    })
}

/// A product's variants in the order its page lists them.
pub async fn variants_of(db: &impl ConnectionTrait, product_id: i64) -> Result<Vec<variant::Model>, DbErr> {
    variant::Entity::find()
        .filter(variant::Column::ProductId.eq(product_id))
        .order_by_asc(variant::Column::Position)
        .order_by_asc(variant::Column::Id)
        .all(db)
        .await
}

/// Available units per variant: on hand minus reserved, summed over warehouses.
pub async fn available_by_variant(
    db: &DatabaseConnection,
    variant_ids: Vec<i64>,
) -> Result<HashMap<i64, i64>, DbErr> {
    let rows = inventory::Entity::find().filter(inventory::Column::VariantId.is_in(variant_ids)).all(db).await?;
    let mut map = HashMap::new();
    for r in rows {
        *map.entry(r.variant_id).or_insert(0) += r.quantity - r.reserved;
    }
    Ok(map)
}

/// Summaries of active products in the given order (search ranks them); unknown ids are skipped.
pub async fn summaries_in_order(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<ProductSummary>, DbErr> {
    let products = product::Entity::find()
        .filter(product::Column::Id.is_in(ids.to_vec()))
        .filter(product::Column::Status.eq(ProductStatus::Active))
        .all(db)
        .await?;
    let mut by_id: HashMap<i64, ProductSummary> =
        summaries(db, products).await?.into_iter().map(|s| (s.product_id, s)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

async fn summaries(db: &DatabaseConnection, products: Vec<product::Model>) -> Result<Vec<ProductSummary>, DbErr> {
    let ids: Vec<i64> = products.iter().map(|p| p.id).collect();
    let variants = variant::Entity::find().filter(variant::Column::ProductId.is_in(ids)).all(db).await?;
    let available = available_by_variant(db, variants.iter().map(|v| v.id).collect()).await?;
    let mut pictures = images_of(db, products.iter().map(|p| p.id).collect()).await?;
    let seller_ids: Vec<i64> = products.iter().map(|p| p.seller_id).collect();
    let sellers: HashMap<i64, String> = seller::Entity::find()
        .filter(seller::Column::Id.is_in(seller_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    Ok(products
        .into_iter()
        .filter_map(|p| {
            let own: Vec<&variant::Model> = variants.iter().filter(|v| v.product_id == p.id).collect();
            // A product without variants cannot be bought or priced: leave it out.
            let cheapest = own.iter().min_by_key(|v| v.price_amount)?;
            let in_stock = own.iter().any(|v| available.get(&v.id).copied().unwrap_or(0) > 0);
            Some(ProductSummary {
                product_id: p.id,
                title: p.title,
                brand: p.brand,
                price: Money::new(cheapest.price_amount, &cheapest.currency),
                price_varies: own.iter().any(|v| v.price_amount != cheapest.price_amount),
                rating: rating_of(p.rating_sum, p.rating_count),
                review_count: p.rating_count,
                image_url: match pictures.remove(&p.id).and_then(|v| v.into_iter().next()) {
                    Some(img) => media_url(&img.file_name),
                    None => image_url(p.id, 0),
                },
                in_stock,
                seller: SellerRef {
                    seller_id: p.seller_id,
                    name: sellers.get(&p.seller_id).cloned().unwrap_or_default(),
                },
            })
        })
        .collect())
}

/// The product page through the cache (five minutes, dropped on every change). A cache that
/// cannot be reached only makes the page slower, never unavailable.
pub async fn cached_product_detail(state: &crate::state::AppState, ProductId(id): ProductId) -> Result<ProductDetail, CatalogError> {
    use super::port::Lookup;
    let cache = &state.stores.product_cache;
    let generation = match cache.get(id).await {
        Ok(Lookup::Hit(detail)) => return Ok(detail),
        Ok(Lookup::Miss { generation }) => Some(generation),
        Err(e) => {
            tracing::warn!(error = %e, product_id = id, "product cache unavailable");
            None
        }
    };
    let detail = product_detail(&state.db, id).await?;
    if let Some(g) = generation {
        if let Err(e) = cache.put(id, g, &detail).await {
            tracing::warn!(error = %e, product_id = id, "caching a product page");
        }
    }
    Ok(detail)
}

#[tracing::instrument(skip(db))]
pub async fn product_detail(db: &DatabaseConnection, id: i64) -> Result<ProductDetail, CatalogError> {
    let not_found = || CatalogError::NotFound(format!("There is no product with id {id}."));
    let p = product::Entity::find_by_id(id)
        .filter(product::Column::Status.eq(ProductStatus::Active))
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    let variants = variants_of(db, p.id).await?;
    let cheapest = variants.iter().min_by_key(|v| v.price_amount).ok_or_else(not_found)?;
    let available = available_by_variant(db, variants.iter().map(|v| v.id).collect()).await?;
    let seller = seller::Entity::find_by_id(p.seller_id).one(db).await?;
    let uploaded = images_of(db, vec![p.id]).await?.remove(&p.id).unwrap_or_default();
    let all_categories = category::Entity::find().all(db).await?;
    let mut categories = Vec::new();
    let mut next = Some(p.category_id);
    while let Some(cid) = next {
        match all_categories.iter().find(|c| c.id == cid) {
            Some(c) if categories.len() < 8 => {
                categories.insert(0, category_ref(c));
                next = c.parent_id;
            }
            _ => break,
        }
    }
    let views: Vec<VariantView> = variants
        .iter()
        .map(|v| {
            let avail = available.get(&v.id).copied().unwrap_or(0).max(0);
            VariantView {
                sku: v.sku.clone(),
                attributes: serde_json::from_str::<BTreeMap<String, String>>(&v.attributes).unwrap_or_default(),
                price: Money::new(v.price_amount, &v.currency),
                available: avail,
                stock: StockState::from_available(avail),
            }
        })
        .collect();
    Ok(ProductDetail {
        product_id: p.id,
        price: Money::new(cheapest.price_amount, &cheapest.currency),
        in_stock: views.iter().any(|v| v.available > 0),
        title: p.title,
        description: p.description,
        brand: p.brand,
        tags: p.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        rating: rating_of(p.rating_sum, p.rating_count),
        review_count: p.rating_count,
        // A seller's pictures, or drawn placeholders for a product without any.
        images: if uploaded.is_empty() {
            (0..p.image_count.max(1)).map(|n| image_url(p.id, n)).collect()
        } else {
            uploaded.iter().map(|i| media_url(&i.file_name)).collect()
        },
        seller: SellerRef { seller_id: p.seller_id, name: seller.map(|s| s.name).unwrap_or_default() },
        categories,
        variants: views,
    })
}

/// Tells every node (search index, page caches, open pages) what changed.
pub async fn announce(state: &AppState, product_id: i64) {
    // This node's kept pages first, so the writer's next view already shows the change.
    state.page_generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let events = &state.stores.events;
    if let Err(e) = events.publish(ShopEvent::ProductChanged { product_id }).await {
        tracing::warn!(error = %e, product_id, "publishing ProductChanged");
    }
    let variants = match variant::Entity::find().filter(variant::Column::ProductId.eq(product_id)).all(&state.db).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, product_id, "reading variants to announce stock");
            return;
        }
    };
    let available = available_by_variant(&state.db, variants.iter().map(|v| v.id).collect())
        .await
        .unwrap_or_default();
    for v in variants {
        let event = ShopEvent::StockChanged { product_id, available: available.get(&v.id).copied().unwrap_or(0), sku: v.sku };
        if let Err(e) = events.publish(event).await {
            tracing::warn!(error = %e, product_id, "publishing StockChanged");
        }
    }
}

/// A variant's options as shoppers read them ("navy / M"), from the stored attributes; empty
/// when it has none.
pub fn options_label(attributes: &str) -> String {
    serde_json::from_str::<std::collections::BTreeMap<String, String>>(attributes)
        .map(|a| a.into_values().collect::<Vec<_>>().join(" / "))
        .unwrap_or_default()
}

/// The product's next or running flash sale, if any (the one starting soonest).
pub async fn sale_banner(db: &DatabaseConnection, ProductId(product_id): ProductId) -> Result<Option<SaleBanner>, AppError> {
    use crate::states::SaleStatus;
    use sea_orm::sea_query::ExprTrait as _;
    let now = chrono::Utc::now();
    let Some(sale) = flash_sale::Entity::find()
        .filter(flash_sale::Column::ProductId.eq(product_id))
        .filter(flash_sale::Column::Status.is_in([SaleStatus::Scheduled, SaleStatus::Active]))
        .filter(flash_sale::Column::EndsAt.gt(now))
        .filter(Expr::col(flash_sale::Column::Sold).lt(Expr::col(flash_sale::Column::Allocated)))
        .order_by_asc(flash_sale::Column::StartsAt)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let v = variant::Entity::find_by_id(sale.variant_id).one(db).await?;
    let sku = v.as_ref().map(|v| v.sku.clone()).unwrap_or_default();
    let options = v.map(|v| options_label(&v.attributes)).unwrap_or_default();
    Ok(Some(SaleBanner {
        sale_id: sale.id,
        variant: if options.is_empty() { sku.clone() } else { options },
        sku,
        live: now >= sale.starts_at,
        price: Money::new(sale.price_amount, &sale.currency),
        starts_at: crate::db::rfc3339(sale.starts_at),
    }))
}
