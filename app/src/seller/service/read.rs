//! What a seller reads: one product, their list, the dashboard, the form's choices.

use super::*;

pub(super) async fn seller_view(db: &impl ConnectionTrait, p: product::Model) -> Result<SellerProduct, AppError> {
    let variants = crate::catalog::service::variants_of(db, p.id).await?;
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
pub(super) fn like_pattern(q: &str) -> String {
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
