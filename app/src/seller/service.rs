//! The seller's catalog rules, shared by the `/seller` pages and `/api/v1/seller/products`.
//! A seller sees and changes only their own products (another seller's product is "not
//! found", so ids do not leak); an admin sees and changes all. Every change is one database
//! transaction, then one `ProductChanged` plus a `StockChanged` per variant on the event bus,
//! which keeps the search index and every node's product-page cache current.

use crate::text::check_chars;
use crate::ids::{ProductId, ImageId};
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};

use super::*;
use crate::accounts::{CurrentUser, seller_scope};
use crate::catalog::LOW_STOCK_THRESHOLD;
use crate::catalog::service::{announce, images_of, media_url};
use crate::db::{category, flash_sale, inventory, product, product_image, seller, variant, warehouse};
use crate::db::rfc3339;
use crate::error::FieldErrors;
use crate::state::AppState;

pub const MAX_IMAGES: u64 = 12;
const FALLBACK_CATEGORY: (&str, &str) = ("other", "Other");
const DEFAULT_WAREHOUSE: (&str, &str) = ("MAIN", "Main warehouse");

async fn load_owned(db: &impl ConnectionTrait, user: &CurrentUser, id: i64) -> Result<product::Model, AppError> {
    let scope = seller_scope(user)?;
    match product::Entity::find_by_id(id).one(db).await? {
        Some(p) if scope.is_none_or(|s| s == p.seller_id) => Ok(p),
        _ => Err(AppError::not_found(format!("There is no product {id} in your shop."))),
    }
}

// ---- validation (pure: tested without a database) ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidVariant {
    pub sku: String,
    pub attributes: BTreeMap<String, String>,
    pub price: Money,
    /// Warehouse id → units on hand to set; `None` keeps what an existing variant has.
    pub stock: Option<BTreeMap<i64, i64>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidProduct {
    pub title: String,
    pub description: String,
    pub brand: String,
    pub category: Option<i64>,
    pub tags: Vec<String>,
    pub status: Option<ProductStatus>,
    pub variants: Vec<ValidVariant>,
}

fn sku_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Checks every field and names each problem the way the form and the API name the field
/// (`title`, `variants[0].price`, `variants[1].stock.MAIN`). `warehouses` are in id order;
/// the first is where a bare `stock` goes.
pub fn validate(
    input: &ProductInput,
    categories: &[category::Model],
    warehouses: &[warehouse::Model],
    shop_currency: crate::money::Currency,
) -> Result<ValidProduct, AppError> {
    let mut errors = FieldErrors::default();
    let title = input.title.trim().to_owned();
    if title.is_empty() {
        errors.add("title", "Enter a title.");
    } else if title.chars().count() > 200 {
        errors.add("title", "A title has at most 200 characters.");
    }
    let brand = input.brand.trim().to_owned();
    if brand.is_empty() {
        errors.add("brand", "Enter the brand.");
    } else if brand.chars().count() > 80 {
        errors.add("brand", "A brand has at most 80 characters.");
    }
    let description = input.description.trim().to_owned();
    if description.chars().count() > 10_000 {
        errors.add("description", "A description has at most 10,000 characters.");
    }
    check_chars(&mut errors, "title", "The title", &title, false);
    check_chars(&mut errors, "brand", "The brand", &brand, false);
    check_chars(&mut errors, "description", "The description", &description, true);
    let category = match input.category.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(slug) => match categories.iter().find(|c| c.slug == slug) {
            Some(c) => Some(c.id),
            None => {
                errors.add("category", format!("There is no category \"{slug}\"."));
                None
            }
        },
    };
    let mut tags: Vec<String> = Vec::new();
    for t in &input.tags {
        let t = t.trim().to_lowercase();
        if t.is_empty() || tags.contains(&t) {
            continue;
        }
        if t.contains(',') || t.chars().count() > 40 {
            errors.add("tags", "A tag has at most 40 characters and no commas.");
        }
        check_chars(&mut errors, "tags", "A tag", &t, false);
        tags.push(t);
    }
    if tags.len() > MAX_TAGS {
        errors.add("tags", format!("Use at most {MAX_TAGS} tags."));
    }
    let status = input.status.as_deref().map(str::trim).filter(|s| !s.is_empty()).and_then(|s| errors.check("status", ProductStatus::parse(s)));

    if input.variants.is_empty() {
        errors.add("variants", "Add at least one variant with a SKU and a price.");
    } else if input.variants.len() > MAX_VARIANTS {
        errors.add("variants", format!("A product has at most {MAX_VARIANTS} variants."));
    }
    let mut seen = HashSet::new();
    let mut variants = Vec::new();
    for (i, v) in input.variants.iter().enumerate().take(MAX_VARIANTS) {
        let f = |name: &str| format!("variants[{i}].{name}");
        let sku = v.sku.trim().to_owned();
        if sku.is_empty() {
            errors.add(&f("sku"), "Enter a SKU.");
        } else if !sku_ok(&sku) {
            errors.add(&f("sku"), "A SKU has up to 64 letters, digits, dashes, dots or underscores.");
        } else if !seen.insert(sku.clone()) {
            errors.add(&f("sku"), format!("SKU {sku} appears twice."));
        }
        let mut attributes = BTreeMap::new();
        for (k, val) in &v.attributes {
            let (k, val) = (k.trim().to_owned(), val.trim().to_owned());
            if k.is_empty() || val.is_empty() || k.chars().count() > 40 || val.chars().count() > 80 {
                errors.add(&f("attributes"), "Each option needs a name (up to 40 characters) and a value (up to 80).");
            }
            check_chars(&mut errors, &f("attributes"), "An option", &format!("{k}{val}"), false);
            attributes.insert(k, val);
        }
        if attributes.len() > 10 {
            errors.add(&f("attributes"), "A variant has at most 10 options.");
        }
        // One currency per shop: carts, orders and sales add prices up, never across currencies.
        if !shop_currency.is(&v.price.currency) {
            errors.add(&f("price"), format!("This shop sells in {shop_currency}; enter the price in {shop_currency}."));
        }
        if v.price.amount <= 0 {
            errors.add(&f("price"), "A price must be more than 0.");
        } else if v.price.amount > MAX_PRICE {
            errors.add(&f("price"), "That price is higher than we accept.");
        }
        let mut stock = None;
        let qty_error = |q: i64| {
            if q < 0 {
                Some("Stock cannot be negative.".to_owned())
            } else if q > MAX_STOCK {
                Some(format!("Stock is at most {MAX_STOCK} units per warehouse."))
            } else {
                None
            }
        };
        if v.stock.is_some() && !v.warehouse_stock.is_empty() {
            errors.add(&f("stock"), "Give either stock or warehouse_stock, not both.");
        } else if let Some(q) = v.stock {
            match (qty_error(q), warehouses.first()) {
                (Some(m), _) => errors.add(&f("stock"), m),
                (None, Some(w)) => stock = Some(BTreeMap::from([(w.id, q)])),
                (None, None) => errors.add(&f("stock"), "There is no warehouse to keep stock in."),
            }
        } else if !v.warehouse_stock.is_empty() {
            let mut map = BTreeMap::new();
            for ws in &v.warehouse_stock {
                let field = f(&format!("stock.{}", ws.warehouse.trim()));
                match warehouses.iter().find(|w| w.code.eq_ignore_ascii_case(ws.warehouse.trim())) {
                    None => errors.add(&field, format!("There is no warehouse \"{}\".", ws.warehouse.trim())),
                    Some(w) => match qty_error(ws.quantity) {
                        Some(m) => errors.add(&field, m),
                        None => {
                            map.insert(w.id, ws.quantity);
                        }
                    },
                }
            }
            stock = Some(map);
        }
        variants.push(ValidVariant { sku, attributes, price: Money::new(v.price.amount, shop_currency.as_str()), stock });
    }
    errors.finish()?;
    Ok(ValidProduct { title, description, brand, category, tags, status, variants })
}

// ---- reads ----

async fn seller_view(db: &impl ConnectionTrait, p: product::Model) -> Result<SellerProduct, AppError> {
    let variants = variant::Entity::find()
        .filter(variant::Column::ProductId.eq(p.id))
        .order_by_asc(variant::Column::Position)
        .order_by_asc(variant::Column::Id)
        .all(db)
        .await?;
    let stock = inventory::Entity::find()
        .filter(inventory::Column::VariantId.is_in(variants.iter().map(|v| v.id).collect::<Vec<_>>()))
        .all(db)
        .await?;
    let sales = flash_sale::Entity::find()
        .filter(flash_sale::Column::VariantId.is_in(variants.iter().map(|v| v.id).collect::<Vec<_>>()))
        .filter(flash_sale::Column::StockReturnedAt.is_null())
        .order_by_asc(flash_sale::Column::StartsAt)
        .all(db)
        .await?;
    let warehouses = warehouse::Entity::find().order_by_asc(warehouse::Column::Id).all(db).await?;
    let cat = category::Entity::find_by_id(p.category_id).one(db).await?;
    let seller_name = seller::Entity::find_by_id(p.seller_id).one(db).await?.map(|s| s.name).unwrap_or_default();
    let images = images_of(db, vec![p.id]).await?.remove(&p.id).unwrap_or_default();
    let variants = variants
        .into_iter()
        .map(|v| {
            let rows: Vec<WarehouseStock> = warehouses
                .iter()
                .filter_map(|w| {
                    stock.iter().find(|s| s.variant_id == v.id && s.warehouse_id == w.id).map(|s| WarehouseStock {
                        warehouse: w.code.clone(),
                        name: w.name.clone(),
                        quantity: s.quantity,
                        reserved: s.reserved,
                    })
                })
                .collect();
            SellerVariant {
                variant_id: v.id,
                attributes: serde_json::from_str(&v.attributes).unwrap_or_default(),
                price: Money::new(v.price_amount, &v.currency),
                stock: rows.iter().map(|r| r.quantity).sum(),
                available: rows.iter().map(|r| r.quantity - r.reserved).sum(),
                warehouses: rows,
                set_aside: sales
                    .iter()
                    .filter(|s| s.variant_id == v.id)
                    .map(|s| SetAside { sale_id: s.id, units: std::cmp::max(s.allocated - s.sold, 0), starts_at: rfc3339(s.starts_at) })
                    .collect(),
                sku: v.sku,
            }
        })
        .collect();
    Ok(SellerProduct {
        product_id: p.id,
        seller: SellerRef { seller_id: p.seller_id, name: seller_name },
        title: p.title,
        description: p.description,
        brand: p.brand,
        category: cat
            .map(|c| CategoryRef { category_id: c.id, slug: c.slug, name: c.name })
            .unwrap_or(CategoryRef { category_id: p.category_id, slug: String::new(), name: String::new() }),
        tags: p.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        status: p.status,
        images: images.iter().map(|i| ProductImage { image_id: i.id, url: media_url(&i.file_name) }).collect(),
        variants,
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
    })
}

#[tracing::instrument(skip(db, user), fields(user = user.user_id))]
pub async fn get(db: &DatabaseConnection, user: &CurrentUser, ProductId(id): ProductId) -> Result<SellerProduct, AppError> {
    let p = load_owned(db, user, id).await?;
    seller_view(db, p).await
}

/// Characters that would act as LIKE wildcards are dropped from the words searched for.
fn like_pattern(q: &str) -> String {
    let clean: String = q.chars().filter(|c| !matches!(c, '%' | '_' | '\\')).collect::<String>().to_lowercase();
    format!("%{}%", clean.trim())
}

#[tracing::instrument(skip(db, user), fields(user = user.user_id))]
pub async fn list(db: &DatabaseConnection, user: &CurrentUser, query: &SellerListQuery) -> Result<SellerProductList, AppError> {
    let scope = seller_scope(user)?;
    let mut sel = product::Entity::find();
    if let Some(s) = scope {
        sel = sel.filter(product::Column::SellerId.eq(s));
    }
    if let Some(status) = query.status {
        sel = sel.filter(product::Column::Status.eq(status));
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = like_pattern(&q.chars().take(100).collect::<String>());
        let lower = |c: product::Column| Expr::expr(Func::lower(Expr::col((product::Entity, c))));
        let by_sku = variant::Entity::find()
            .select_only()
            .column(variant::Column::ProductId)
            .filter(Expr::expr(Func::lower(Expr::col((variant::Entity, variant::Column::Sku)))).like(pattern.clone()))
            .into_query();
        sel = sel.filter(
            sea_orm::Condition::any()
                .add(lower(product::Column::Title).like(pattern.clone()))
                .add(lower(product::Column::Brand).like(pattern))
                .add(product::Column::Id.in_subquery(by_sku)),
        );
    }
    let page = Ord::max(query.page, 1);
    let paginator = sel
        .order_by_desc(product::Column::UpdatedAt)
        .order_by_desc(product::Column::Id)
        .paginate(db, SELLER_PAGE_SIZE);
    let counts = paginator.num_items_and_pages().await?;
    let products = paginator.fetch_page(page - 1).await?;
    let ids: Vec<i64> = products.iter().map(|p| p.id).collect();
    let variants = variant::Entity::find().filter(variant::Column::ProductId.is_in(ids.clone())).all(db).await?;
    let available = crate::catalog::service::available_by_variant(db, variants.iter().map(|v| v.id).collect()).await?;
    let mut images = images_of(db, ids).await?;
    let sellers: HashMap<i64, String> = seller::Entity::find()
        .filter(seller::Column::Id.is_in(products.iter().map(|p| p.seller_id).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let rows = products
        .into_iter()
        .map(|p| {
            let own: Vec<&variant::Model> = variants.iter().filter(|v| v.product_id == p.id).collect();
            let image_url = match images.remove(&p.id).and_then(|v| v.into_iter().next()) {
                Some(img) => media_url(&img.file_name),
                None => crate::catalog::service::image_url(p.id, 0),
            };
            SellerProductRow {
                product_id: p.id,
                status: p.status,
                seller: SellerRef { seller_id: p.seller_id, name: sellers.get(&p.seller_id).cloned().unwrap_or_default() },
                price: own.iter().min_by_key(|v| v.price_amount).map(|v| Money::new(v.price_amount, &v.currency)),
                variants: own.len() as u64,
                available: own.iter().map(|v| available.get(&v.id).copied().unwrap_or(0)).sum(),
                image_url,
                updated_at: rfc3339(p.updated_at),
                title: p.title,
                brand: p.brand,
            }
        })
        .collect();
    Ok(SellerProductList { products: rows, total: counts.number_of_items, page, total_pages: counts.number_of_pages })
}

#[tracing::instrument(skip(db, user), fields(user = user.user_id))]
pub async fn dashboard(db: &DatabaseConnection, user: &CurrentUser) -> Result<Dashboard, AppError> {
    let scope = seller_scope(user)?;
    let mine = || {
        let sel = product::Entity::find();
        match scope {
            Some(s) => sel.filter(product::Column::SellerId.eq(s)),
            None => sel,
        }
    };
    let count = |status: ProductStatus| mine().filter(product::Column::Status.eq(status)).count(db);
    let (drafts, active, archived) = (count(ProductStatus::Draft).await?, count(ProductStatus::Active).await?, count(ProductStatus::Archived).await?);
    let live = mine().filter(product::Column::Status.eq(ProductStatus::Active)).all(db).await?;
    let titles: HashMap<i64, String> = live.iter().map(|p| (p.id, p.title.clone())).collect();
    let variants = variant::Entity::find()
        .filter(variant::Column::ProductId.is_in(titles.keys().copied().collect::<Vec<_>>()))
        .all(db)
        .await?;
    let available = crate::catalog::service::available_by_variant(db, variants.iter().map(|v| v.id).collect()).await?;
    let mut low_stock: Vec<LowStockRow> = variants
        .iter()
        .map(|v| (v, available.get(&v.id).copied().unwrap_or(0)))
        .filter(|(_, a)| *a <= LOW_STOCK_THRESHOLD)
        .map(|(v, a)| LowStockRow { product_id: v.product_id, title: titles[&v.product_id].clone(), sku: v.sku.clone(), available: a })
        .collect();
    low_stock.sort_by(|a, b| a.available.cmp(&b.available).then(a.sku.cmp(&b.sku)));
    low_stock.truncate(10);
    Ok(Dashboard { shop_name: user.seller.as_ref().map(|s| s.name.clone()), drafts, active, archived, low_stock })
}

pub async fn form_options(db: &DatabaseConnection) -> Result<FormOptions, AppError> {
    let all = category::Entity::find().order_by_asc(category::Column::Position).order_by_asc(category::Column::Name).all(db).await?;
    let mut categories = Vec::new();
    for top in all.iter().filter(|c| c.parent_id.is_none()) {
        categories.push((top.slug.clone(), top.name.clone()));
        for child in all.iter().filter(|c| c.parent_id == Some(top.id)) {
            categories.push((child.slug.clone(), format!("{} › {}", top.name, child.name)));
        }
    }
    let warehouses = ensure_warehouses(db).await?.into_iter().map(|w| WarehouseRef { code: w.code, name: w.name }).collect();
    Ok(FormOptions { categories, warehouses })
}

// ---- writes ----

/// Warehouses in id order; a shop without any gets the default one.
async fn ensure_warehouses(db: &impl ConnectionTrait) -> Result<Vec<warehouse::Model>, DbErr> {
    let all = warehouse::Entity::find().order_by_asc(warehouse::Column::Id).all(db).await?;
    if !all.is_empty() {
        return Ok(all);
    }
    let w = warehouse::ActiveModel {
        code: Set(DEFAULT_WAREHOUSE.0.to_owned()),
        name: Set(DEFAULT_WAREHOUSE.1.to_owned()),
        ..Default::default()
    };
    match w.insert(db).await {
        Ok(_) => {}
        // Another request created it meanwhile.
        Err(e) if crate::db::is_unique_violation(&e) => {}
        Err(e) => return Err(e),
    }
    warehouse::Entity::find().order_by_asc(warehouse::Column::Id).all(db).await
}

async fn fallback_category(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let find = || category::Entity::find().filter(category::Column::Slug.eq(FALLBACK_CATEGORY.0)).one(db);
    if let Some(c) = find().await? {
        return Ok(c.id);
    }
    let c = category::ActiveModel {
        parent_id: Set(None),
        slug: Set(FALLBACK_CATEGORY.0.to_owned()),
        name: Set(FALLBACK_CATEGORY.1.to_owned()),
        position: Set(1000),
        ..Default::default()
    };
    match c.insert(db).await {
        Ok(c) => Ok(c.id),
        Err(e) if crate::db::is_unique_violation(&e) => {
            find().await?.map(|c| c.id).ok_or(e)
        }
        Err(e) => Err(e),
    }
}

async fn validated(state: &AppState, input: &ProductInput) -> Result<ValidProduct, AppError> {
    let categories = category::Entity::find().all(&state.db).await?;
    let warehouses = ensure_warehouses(&state.db).await?;
    validate(input, &categories, &warehouses, state.rules.currency)
}

/// SKUs are unique over the whole shop: name each one another product already uses.
async fn check_skus_free(db: &DatabaseConnection, valid: &ValidProduct, product_id: Option<i64>) -> Result<(), AppError> {
    let skus: Vec<String> = valid.variants.iter().map(|v| v.sku.clone()).collect();
    let taken = variant::Entity::find().filter(variant::Column::Sku.is_in(skus)).all(db).await?;
    let mut errors = FieldErrors::default();
    for (i, v) in valid.variants.iter().enumerate() {
        if taken.iter().any(|t| t.sku == v.sku && Some(t.product_id) != product_id) {
            errors.add(&format!("variants[{i}].sku"), format!("SKU {} is already used by another product.", v.sku));
        }
    }
    errors.finish()
}

/// A write that lost a race on a unique SKU is a conflict a person can fix; other database
/// failures are internal.
fn write_error(e: DbErr) -> AppError {
    if crate::db::is_unique_violation(&e) {
        AppError::Conflict("A SKU of this product was just taken by another product. Choose another SKU.".to_owned())
    } else {
        AppError::from(e)
    }
}

/// Sets units on hand of one variant in one warehouse. Never below what checkouts hold:
/// the update is conditional on `reserved <= quantity` and bumps `version`.
async fn set_stock(db: &impl ConnectionTrait, variant_id: i64, warehouse_id: i64, quantity: i64, field: &str) -> Result<(), AppError> {
    let row = inventory::Entity::find()
        .filter(inventory::Column::VariantId.eq(variant_id))
        .filter(inventory::Column::WarehouseId.eq(warehouse_id))
        .one(db)
        .await?;
    match row {
        Some(r) => {
            let res = inventory::Entity::update_many()
                .col_expr(inventory::Column::Quantity, Expr::value(quantity))
                .col_expr(inventory::Column::Version, Expr::col(inventory::Column::Version).add(1))
                .filter(inventory::Column::Id.eq(r.id))
                .filter(inventory::Column::Reserved.lte(quantity))
                .exec(db)
                .await?;
            if res.rows_affected == 0 {
                return Err(AppError::bad(
                    field,
                    format!("{} units are held by checkouts in progress; stock cannot go below that.", r.reserved),
                ));
            }
        }
        None => {
            inventory::ActiveModel {
                variant_id: Set(variant_id),
                warehouse_id: Set(warehouse_id),
                quantity: Set(quantity),
                reserved: Set(0),
                version: Set(0),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Makes the product's variants what `valid` says: matched by SKU, new ones added (with zero
/// stock in the default warehouse unless told), missing ones removed when nothing holds them.
async fn write_variants(db: &impl ConnectionTrait, product_id: i64, valid: &ValidProduct, default_warehouse: i64) -> Result<(), AppError> {
    let existing = variant::Entity::find().filter(variant::Column::ProductId.eq(product_id)).all(db).await?;
    for (pos, v) in valid.variants.iter().enumerate() {
        let attributes = serde_json::to_string(&v.attributes).map_err(|_| AppError::Internal)?;
        let (variant_id, is_new) = match existing.iter().find(|e| e.sku == v.sku) {
            Some(e) => {
                let mut m: variant::ActiveModel = e.clone().into();
                m.attributes = Set(attributes);
                m.price_amount = Set(v.price.amount);
                m.currency = Set(v.price.currency.clone());
                m.position = Set(pos as i32);
                m.update(db).await.map_err(write_error)?;
                (e.id, false)
            }
            None => {
                let m = variant::ActiveModel {
                    product_id: Set(product_id),
                    sku: Set(v.sku.clone()),
                    attributes: Set(attributes),
                    price_amount: Set(v.price.amount),
                    currency: Set(v.price.currency.clone()),
                    position: Set(pos as i32),
                    ..Default::default()
                }
                .insert(db)
                .await
                .map_err(write_error)?;
                (m.id, true)
            }
        };
        let stock = match (&v.stock, is_new) {
            (Some(s), _) => s.clone(),
            (None, true) => BTreeMap::from([(default_warehouse, 0)]),
            (None, false) => BTreeMap::new(),
        };
        for (warehouse_id, quantity) in stock {
            set_stock(db, variant_id, warehouse_id, quantity, &format!("variants[{pos}].stock")).await?;
        }
    }
    for gone in existing.iter().filter(|e| !valid.variants.iter().any(|v| v.sku == e.sku)) {
        let held = inventory::Entity::find()
            .filter(inventory::Column::VariantId.eq(gone.id))
            .filter(inventory::Column::Reserved.gt(0))
            .count(db)
            .await?;
        if held > 0 {
            return Err(AppError::bad("variants", format!("SKU {} has units held by checkouts in progress; it cannot be removed now.", gone.sku)));
        }
        match variant::Entity::delete_by_id(gone.id).exec(db).await {
            Ok(_) => {}
            Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))) => {
                return Err(AppError::bad("variants", format!("SKU {} has been ordered, so it stays; set its stock to 0 instead.", gone.sku)));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn owner_for_new(user: &CurrentUser, asked: Option<i64>) -> Result<i64, AppError> {
    match (seller_scope(user)?, asked) {
        (Some(own), None) => Ok(own),
        (Some(own), Some(id)) if id == own => Ok(own),
        (Some(_), Some(_)) => Err(AppError::Forbidden("You can only add products to your own shop.".to_owned())),
        (None, Some(id)) => Ok(id),
        (None, None) => Err(AppError::bad("seller_id", "Say which seller this product belongs to (seller_id).")),
    }
}

#[tracing::instrument(skip(state, user, input), fields(user = user.user_id))]
pub async fn create(state: &AppState, user: &CurrentUser, input: ProductInput) -> Result<SellerProduct, AppError> {
    let db = &state.db;
    let seller_id = owner_for_new(user, input.seller_id)?;
    if seller::Entity::find_by_id(seller_id).one(db).await?.is_none() {
        return Err(AppError::bad("seller_id", format!("There is no seller {seller_id}.")));
    }
    let valid = validated(state, &input).await?;
    if valid.status == Some(ProductStatus::Archived) {
        return Err(AppError::bad("status", "A new product is a draft or published, not archived."));
    }
    check_skus_free(db, &valid, None).await?;
    let default_warehouse = ensure_warehouses(db).await?.first().map(|w| w.id).ok_or(AppError::Internal)?;
    let txn = state.writer.begin().await?;
    let category_id = match valid.category {
        Some(id) => id,
        None => fallback_category(&txn).await?,
    };
    let now = Utc::now();
    let p = product::ActiveModel {
        seller_id: Set(seller_id),
        category_id: Set(category_id),
        title: Set(valid.title.clone()),
        description: Set(valid.description.clone()),
        brand: Set(valid.brand.clone()),
        tags: Set(valid.tags.join(",")),
        status: Set(valid.status.unwrap_or_default()),
        rating_sum: Set(0),
        rating_count: Set(0),
        image_count: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    write_variants(&txn, p.id, &valid, default_warehouse).await?;
    txn.commit().await.map_err(write_error)?;
    tracing::info!(product_id = p.id, seller_id, "product created");
    announce(state, p.id).await;
    get(db, user, ProductId(p.id)).await
}

#[tracing::instrument(skip(state, user, input), fields(user = user.user_id))]
pub async fn update(state: &AppState, user: &CurrentUser, ProductId(id): ProductId, input: ProductInput) -> Result<SellerProduct, AppError> {
    let db = &state.db;
    let existing = load_owned(db, user, id).await?;
    if input.seller_id.is_some_and(|s| s != existing.seller_id) {
        return Err(AppError::bad("seller_id", "A product cannot move to another seller."));
    }
    let valid = validated(state, &input).await?;
    check_skus_free(db, &valid, Some(id)).await?;
    if valid.status.is_some_and(|s| s != ProductStatus::Active) {
        no_sale_running(db, id).await?;
    }
    let default_warehouse = ensure_warehouses(db).await?.first().map(|w| w.id).ok_or(AppError::Internal)?;
    let txn = state.writer.begin().await?;
    let category_id = match valid.category {
        Some(c) => c,
        None => fallback_category(&txn).await?,
    };
    let mut p: product::ActiveModel = existing.into();
    p.category_id = Set(category_id);
    p.title = Set(valid.title.clone());
    p.description = Set(valid.description.clone());
    p.brand = Set(valid.brand.clone());
    p.tags = Set(valid.tags.join(","));
    if let Some(s) = valid.status {
        p.status = Set(s);
    }
    p.updated_at = Set(Utc::now());
    p.update(&txn).await?;
    write_variants(&txn, id, &valid, default_warehouse).await?;
    txn.commit().await.map_err(write_error)?;
    announce(state, id).await;
    get(db, user, ProductId(id)).await
}

/// A product with a live or scheduled flash sale stays published: hiding it would leave the
/// sale selling something no shopper can see. The seller is told which sale to end first.
async fn no_sale_running(db: &DatabaseConnection, product_id: i64) -> Result<(), AppError> {
    use crate::states::SaleStatus;
    let running = flash_sale::Entity::find()
        .filter(flash_sale::Column::ProductId.eq(product_id))
        .filter(flash_sale::Column::Status.is_in([SaleStatus::Scheduled, SaleStatus::Active]))
        .filter(flash_sale::Column::StockReturnedAt.is_null())
        .filter(flash_sale::Column::EndsAt.gt(Utc::now()))
        .one(db)
        .await?;
    match running {
        Some(s) => Err(AppError::Conflict(format!(
            "This product has a {} flash sale (sale {}, under Sales). {} it first, then unpublish the product.",
            if s.status == SaleStatus::Active { "live" } else { "scheduled" },
            s.id,
            if s.status == SaleStatus::Active { "End" } else { "Cancel" },
        ))),
        None => Ok(()),
    }
}

/// Publish, unpublish (back to draft) or archive.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn set_status(state: &AppState, user: &CurrentUser, ProductId(id): ProductId, status: ProductStatus) -> Result<SellerProduct, AppError> {
    let db = &state.db;
    let existing = load_owned(db, user, id).await?;
    if status == ProductStatus::Active && variant::Entity::find().filter(variant::Column::ProductId.eq(id)).count(db).await? == 0 {
        return Err(AppError::bad("status", "Add a variant with a price before publishing."));
    }
    if status != ProductStatus::Active {
        no_sale_running(db, id).await?;
    }
    let mut p: product::ActiveModel = existing.into();
    p.status = Set(status);
    p.updated_at = Set(Utc::now());
    p.update(db).await?;
    announce(state, id).await;
    get(db, user, ProductId(id)).await
}

// ---- pictures ----

/// Why an upload is not a picture we keep.
#[derive(Debug, PartialEq, Eq)]
pub enum PictureRefusal {
    /// Not JPEG, PNG, GIF or WebP, or it does not decode in full (a header followed by
    /// something else, a file cut short).
    NotAPicture,
    /// Larger than the pixel limit (`SELLOUT_MAX_IMAGE_PIXELS`): width, height.
    TooManyPixels(u32, u32),
}

/// What the bytes are, decoded in full (never judged by the name, the declared type or the
/// first bytes): only raster formats browsers show, at most `max_pixels`. The size is read
/// from the header first, so a picture claiming to be huge is refused before any memory is
/// spent on it. SVG is refused, since it can carry script. Runs for a while on a big picture:
/// call it on the blocking pool.
pub fn check_picture(bytes: &[u8], max_pixels: u64) -> Result<(&'static str, &'static str), PictureRefusal> {
    use image::{ImageFormat, ImageReader};
    use std::io::Cursor;
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| PictureRefusal::NotAPicture)?;
    let (content_type, ext) = match reader.format() {
        Some(ImageFormat::Png) => ("image/png", "png"),
        Some(ImageFormat::Jpeg) => ("image/jpeg", "jpg"),
        Some(ImageFormat::Gif) => ("image/gif", "gif"),
        Some(ImageFormat::WebP) => ("image/webp", "webp"),
        _ => return Err(PictureRefusal::NotAPicture),
    };
    let (width, height) = reader.into_dimensions().map_err(|_| PictureRefusal::NotAPicture)?;
    if width == 0 || height == 0 {
        return Err(PictureRefusal::NotAPicture);
    }
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(PictureRefusal::TooManyPixels(width, height));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| PictureRefusal::NotAPicture)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // Room for the decoded pixels at 16 bits a channel, RGBA, and no more.
    limits.max_alloc = Some(u64::from(width) * u64::from(height) * 8 + 1024 * 1024);
    reader.limits(limits);
    reader.decode().map_err(|_| PictureRefusal::NotAPicture)?;
    Ok((content_type, ext))
}

/// Pictures decoded at once: each may take a few hundred MB for a moment.
static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// `check_picture` on the blocking pool, two at a time, as the error a person reads.
async fn decoded_picture(bytes: &[u8], max_pixels: u64) -> Result<(&'static str, &'static str), AppError> {
    let _turn = DECODING.acquire().await.map_err(|_| AppError::Internal)?;
    let owned = bytes.to_vec();
    let checked = tokio::task::spawn_blocking(move || check_picture(&owned, max_pixels)).await.map_err(|e| {
        tracing::error!(error = %e, "decoding an uploaded picture");
        AppError::Internal
    })?;
    checked.map_err(|refusal| match refusal {
        PictureRefusal::NotAPicture => AppError::bad("image", "That file is not a picture we can use. Upload a JPEG, PNG, GIF or WebP."),
        PictureRefusal::TooManyPixels(w, h) => AppError::bad(
            "image",
            format!("That picture is {w} × {h} pixels; the most we take is {} megapixels. Make it smaller and try again.", max_pixels / 1_000_000),
        ),
    })
}

/// Checks and stores an uploaded picture: written under a fresh name (then renamed, so a
/// half-written file is never served), then recorded. Nothing is kept when a step fails.
#[tracing::instrument(skip(state, user, bytes), fields(user = user.user_id, size = bytes.len()))]
pub async fn add_image(state: &AppState, user: &CurrentUser, ProductId(id): ProductId, bytes: &[u8]) -> Result<SellerProduct, AppError> {
    let db = &state.db;
    load_owned(db, user, id).await?;
    if bytes.is_empty() {
        return Err(AppError::bad("image", "Choose a picture to upload."));
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(AppError::bad("image", "That picture is larger than 5 MB. Make it smaller and try again."));
    }
    let count = product_image::Entity::find().filter(product_image::Column::ProductId.eq(id)).count(db).await?;
    if count >= MAX_IMAGES {
        return Err(AppError::bad("image", format!("A product has at most {MAX_IMAGES} pictures. Remove one first.")));
    }
    let (content_type, ext) = decoded_picture(bytes, state.rules.max_image_pixels).await?;
    let dir = state.media_dir.join("products");
    let file_name = format!("{id}-{}.{ext}", uuid::Uuid::new_v4().simple());
    let path = dir.join(&file_name);
    let tmp = dir.join(format!(".{file_name}.part"));
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, "storing an uploaded picture");
        AppError::Internal
    };
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    tokio::fs::write(&tmp, bytes).await.map_err(io)?;
    if let Err(e) = tokio::fs::rename(&tmp, &path).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(io(e));
    }
    let row = product_image::ActiveModel {
        product_id: Set(id),
        position: Set(count as i32),
        file_name: Set(file_name.clone()),
        content_type: Set(content_type.to_owned()),
        byte_size: Set(bytes.len() as i64),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Err(e) = row.insert(db).await {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e.into());
    }
    touch(db, id).await?;
    announce(state, id).await;
    get(db, user, ProductId(id)).await
}

async fn touch(db: &DatabaseConnection, id: i64) -> Result<(), DbErr> {
    product::Entity::update_many()
        .col_expr(product::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(product::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn remove_image(state: &AppState, user: &CurrentUser, ProductId(id): ProductId, ImageId(image_id): ImageId) -> Result<SellerProduct, AppError> {
    let db = &state.db;
    load_owned(db, user, id).await?;
    let img = product_image::Entity::find_by_id(image_id)
        .filter(product_image::Column::ProductId.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("Product {id} has no picture {image_id}.")))?;
    product_image::Entity::delete_by_id(img.id).exec(db).await?;
    if let Err(e) = tokio::fs::remove_file(state.media_dir.join("products").join(&img.file_name)).await {
        tracing::warn!(error = %e, file = img.file_name, "removing a picture's file");
    }
    touch(db, id).await?;
    announce(state, id).await;
    get(db, user, ProductId(id)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn wh(id: i64, code: &str) -> warehouse::Model {
        warehouse::Model { id, code: code.into(), name: code.into() }
    }

    fn cat(id: i64, slug: &str) -> category::Model {
        category::Model { id, parent_id: None, slug: slug.into(), name: slug.into(), position: 0 }
    }

    fn variant(sku: &str, amount: i64, stock: Option<i64>) -> VariantInput {
        VariantInput { sku: sku.into(), attributes: BTreeMap::new(), price: Money::new(amount, "EUR"), stock, warehouse_stock: vec![] }
    }

    fn input() -> ProductInput {
        ProductInput {
            title: " Lamp ".into(),
            brand: "Lumo".into(),
            category: Some("home".into()),
            tags: vec!["Light".into(), "light".into(), " ".into()],
            variants: vec![variant("LAMP-1", 1999, Some(5))],
            ..Default::default()
        }
    }

    #[test]
    fn a_good_product_is_trimmed_and_resolved() {
        let v = validate(&input(), &[cat(7, "home")], &[wh(3, "MAIN"), wh(4, "EAST")], Currency::EUR).unwrap();
        assert_eq!(v.title, "Lamp");
        assert_eq!(v.category, Some(7));
        assert_eq!(v.tags, ["light"]);
        assert_eq!(v.variants[0].stock, Some(BTreeMap::from([(3, 5)])), "bare stock goes to the first warehouse");
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut i = input();
        i.title = "".into();
        i.category = Some("nope".into());
        i.status = Some("deleted".into());
        i.variants = vec![
            variant("", 0, Some(-1)),
            variant("OK-1", -5, None),
            variant("OK-1", 100, None),
            VariantInput { warehouse_stock: vec![WarehouseQuantity { warehouse: "WEST".into(), quantity: 1 }], ..variant("OK-2", 100, None) },
            VariantInput { price: Money::new(100, "USD"), ..variant("OK-3", 100, None) },
        ];
        let AppError::Invalid(f) = validate(&i, &[], &[wh(1, "MAIN")], Currency::EUR).unwrap_err() else { panic!() };
        assert!(f["variants[4].price"].contains("sells in EUR"), "{f:?}");
        for field in ["title", "category", "status", "variants[0].sku", "variants[0].price", "variants[0].stock", "variants[1].price", "variants[2].sku", "variants[3].stock.WEST", "variants[4].price"] {
            assert!(f.contains_key(field), "{field} missing from {f:?}");
        }
        let mut none = input();
        none.variants.clear();
        assert!(matches!(validate(&none, &[], &[], Currency::EUR), Err(AppError::Invalid(f)) if f.contains_key("variants")));
    }

    fn encoded(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
        let picture = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 40) as u8, (y * 60) as u8, 128])));
        // GIF is written from RGBA, JPEG only from RGB.
        let picture = if format == image::ImageFormat::Gif { image::DynamicImage::ImageRgba8(picture.to_rgba8()) } else { picture };
        let mut out = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut out, format).expect("encoding a test picture");
        out.into_inner()
    }

    #[test]
    fn pictures_are_decoded_not_sniffed() {
        use image::ImageFormat;
        for (format, expected) in [(ImageFormat::Png, ("image/png", "png")), (ImageFormat::Gif, ("image/gif", "gif")), (ImageFormat::Jpeg, ("image/jpeg", "jpg"))] {
            let bytes = encoded(format, 6, 4);
            assert_eq!(check_picture(&bytes, 1_000), Ok(expected), "{format:?}");
            // Cut short, it no longer decodes, though it starts like one.
            assert_eq!(check_picture(&bytes[..bytes.len() * 2 / 3], 1_000), Err(PictureRefusal::NotAPicture), "{format:?} cut short");
            assert_eq!(check_picture(&bytes, 23), Err(PictureRefusal::TooManyPixels(6, 4)), "{format:?} over the limit");
        }
        for not in [
            &b"\x89PNG\r\n\x1a\n"[..],
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00<html><script>alert(1)</script></html>",
            b"RIFF\0\0\0\0WEBPVP8 ",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>",
            b"%PDF-1.7",
            b"",
        ] {
            assert_eq!(check_picture(not, crate::checkout::rules::DEFAULT_MAX_IMAGE_PIXELS), Err(PictureRefusal::NotAPicture), "{:?}", String::from_utf8_lossy(not));
        }
    }
}
