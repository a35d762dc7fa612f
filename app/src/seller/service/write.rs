//! Creating and changing products: variants matched by SKU, stock per warehouse, status.

use super::*;

/// Warehouses in id order; a shop without any gets the default one.
pub(super) async fn ensure_warehouses(db: &impl ConnectionTrait) -> Result<Vec<warehouse::Model>, DbErr> {
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

pub(super) async fn fallback_category(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
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

pub(super) async fn validated(state: &AppState, input: &ProductInput) -> Result<ValidProduct, AppError> {
    let categories = category::Entity::find().all(&state.db).await?;
    let warehouses = ensure_warehouses(&state.db).await?;
    validate(input, &categories, &warehouses, state.rules.currency)
}

/// SKUs are unique over the whole shop: name each one another product already uses.
pub(super) async fn check_skus_free(db: &DatabaseConnection, valid: &ValidProduct, product_id: Option<i64>) -> Result<(), AppError> {
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
pub(super) fn write_error(e: DbErr) -> AppError {
    if crate::db::is_unique_violation(&e) {
        AppError::Conflict("A SKU of this product was just taken by another product. Choose another SKU.".to_owned())
    } else {
        AppError::from(e)
    }
}

/// Sets units on hand of one variant in one warehouse. Never below what checkouts hold:
/// the update is conditional on `reserved <= quantity` and bumps `version`.
pub(super) async fn set_stock(db: &impl ConnectionTrait, variant_id: i64, warehouse_id: i64, quantity: i64, field: &str) -> Result<(), AppError> {
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
pub(super) async fn write_variants(db: &impl ConnectionTrait, product_id: i64, valid: &ValidProduct, default_warehouse: i64) -> Result<(), AppError> {
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

pub(super) fn owner_for_new(user: &CurrentUser, asked: Option<i64>) -> Result<i64, AppError> {
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
pub(super) async fn no_sale_running(db: &DatabaseConnection, product_id: i64) -> Result<(), AppError> {
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
