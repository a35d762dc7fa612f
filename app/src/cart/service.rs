//! Cart rules on top of the cart port: lines are checked against the live catalog on every
//! read (no stock is held), quantities are capped by stock and a per-line maximum, and a guest
//! cart is merged into the user's at sign-in.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::*;
use crate::catalog::service::{available_by_variant, image_url, options_label, variants_of};
use crate::states::ProductStatus;
use crate::db::{product, variant};
use crate::error::AppError;
use crate::state::AppState;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemRef {
    Sku(String),
    Product(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Add,
    Set,
}

/// The variant and its product, if both are for sale.
async fn resolve(state: &AppState, item: &ItemRef) -> Result<(variant::Model, product::Model), AppError> {
    let variant = match item {
        ItemRef::Sku(sku) => variant::Entity::find()
            .filter(variant::Column::Sku.eq(sku.as_str()))
            .one(&state.db)
            .await?
            .ok_or_else(|| AppError::not_found(format!("There is no item with SKU \"{sku}\".")))?,
        ItemRef::Product(id) => {
            let variants = variants_of(&state.db, *id).await?;
            let available = available_by_variant(&state.db, variants.iter().map(|v| v.id).collect()).await?;
            let in_stock = variants.iter().find(|v| available.get(&v.id).copied().unwrap_or(0) > 0).cloned();
            in_stock
                .or_else(|| variants.first().cloned())
                .ok_or_else(|| AppError::not_found(format!("There is no product with id {id}.")))?
        }
    };
    let product = product::Entity::find_by_id(variant.product_id)
        .filter(product::Column::Status.eq(ProductStatus::Active))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("\"{}\" is not for sale.", variant.sku)))?;
    Ok((variant, product))
}

/// The cart as the shopper sees it now. `None` (a visitor with no cart yet) is an empty cart.
pub async fn view(state: &AppState, owner: Option<&CartOwner>) -> Result<CartView, AppError> {
    let lines = match owner {
        Some(o) => state.stores.carts.lines(o).await?,
        None => Vec::new(),
    };
    let skus: Vec<String> = lines.iter().map(|l| l.sku.clone()).collect();
    let variants: HashMap<String, variant::Model> = variant::Entity::find()
        .filter(variant::Column::Sku.is_in(skus))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|v| (v.sku.clone(), v))
        .collect();
    let products: HashMap<i64, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(variants.values().map(|v| v.product_id).collect::<Vec<_>>()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let available = available_by_variant(&state.db, variants.values().map(|v| v.id).collect()).await?;

    let mut items = Vec::new();
    for line in lines {
        let found = variants.get(&line.sku).and_then(|v| products.get(&v.product_id).map(|p| (v, p)));
        let item = match found {
            Some((v, p)) if p.status == ProductStatus::Active => {
                let unit_price = Money::new(v.price_amount, &v.currency);
                let avail = available.get(&v.id).copied().unwrap_or(0).max(0);
                let problem = if !state.rules.currency.is(&v.currency) {
                    Some(format!("Priced in {}; this shop sells in {}", v.currency, state.rules.currency))
                } else if avail == 0 {
                    Some("Out of stock".to_owned())
                } else if avail < line.quantity {
                    Some(format!("Only {avail} left: lower the quantity to buy it"))
                } else {
                    None
                };
                CartItem {
                    sku: line.sku.clone(),
                    product_id: p.id,
                    title: p.title.clone(),
                    variant: options_label(&v.attributes),
                    image_url: image_url(p.id, 0),
                    quantity: line.quantity,
                    line_total: Money::new(unit_price.amount * line.quantity, &unit_price.currency),
                    price_was: (line.added_price != unit_price).then(|| line.added_price.clone()),
                    unit_price,
                    available: avail,
                    purchasable: problem.is_none(),
                    problem,
                }
            }
            other => CartItem {
                sku: line.sku.clone(),
                product_id: other.map(|(_, p)| p.id).unwrap_or(0),
                title: other.map(|(_, p)| p.title.clone()).unwrap_or_else(|| line.sku.clone()),
                variant: other.map(|(v, _)| options_label(&v.attributes)).unwrap_or_default(),
                image_url: other.map(|(_, p)| image_url(p.id, 0)).unwrap_or_default(),
                quantity: line.quantity,
                unit_price: line.added_price.clone(),
                line_total: Money::new(line.added_price.amount * line.quantity, &line.added_price.currency),
                price_was: None,
                available: 0,
                purchasable: false,
                problem: Some("No longer sold".to_owned()),
            },
        };
        items.push(item);
    }
    // Only lines in the shop's one currency add up (a line in another is not purchasable).
    let currency = state.rules.currency.to_string();
    let subtotal = items
        .iter()
        .filter(|i| i.purchasable && i.unit_price.currency == currency)
        .map(|i| i.line_total.amount)
        .sum();
    Ok(CartView {
        item_count: items.iter().map(|i| i.quantity).sum(),
        subtotal: Money::new(subtotal, &currency),
        items,
        notices: Vec::new(),
    })
}

/// Adds to (or with `Mode::Set` sets) a line. Quantity 0 removes. The stored quantity is capped
/// by available stock and `MAX_PER_LINE`, and the returned view says so.
#[tracing::instrument(skip(state))]
pub async fn put_item(state: &AppState, owner: &CartOwner, item: ItemRef, quantity: i64, mode: Mode) -> Result<CartView, AppError> {
    let (variant, product) = resolve(state, &item).await?;
    if !state.rules.currency.is(&variant.currency) && quantity > 0 {
        let field = if matches!(item, ItemRef::Sku(_)) { "sku" } else { "product_id" };
        return Err(AppError::bad(field, format!("{} is priced in {}, and this shop sells in {}: it cannot go in a cart.", product.title, variant.currency, state.rules.currency)));
    }
    let lines = state.stores.carts.lines(owner).await?;
    let current = lines.iter().find(|l| l.sku == variant.sku).map(|l| l.quantity).unwrap_or(0);
    let wanted = match mode {
        Mode::Add => current + quantity,
        Mode::Set => quantity,
    };
    let mut notices = Vec::new();
    if wanted <= 0 {
        state.stores.carts.remove(owner, &variant.sku).await?;
    } else {
        let available = available_by_variant(&state.db, vec![variant.id]).await?.get(&variant.id).copied().unwrap_or(0).max(0);
        if available == 0 {
            return Err(AppError::Conflict(format!("Sorry, {} is out of stock.", product.title)));
        }
        let capped = wanted.min(available).min(MAX_PER_LINE);
        if capped < wanted {
            notices.push(if capped == available && available < MAX_PER_LINE {
                format!("Only {available} of {} are available, so your cart has {capped}.", product.title)
            } else {
                format!("You can buy at most {MAX_PER_LINE} of {} per order, so your cart has {capped}.", product.title)
            });
        }
        let price = Money::new(variant.price_amount, &variant.currency);
        state.stores.carts.set_quantity(owner, &variant.sku, capped, &price).await?;
    }
    let mut view = view(state, Some(owner)).await?;
    view.notices = notices;
    Ok(view)
}

/// Removing a line that is not there is fine; an SKU nobody sells (and not in the cart) is 404.
pub async fn remove_item(state: &AppState, owner: &CartOwner, sku: &str) -> Result<CartView, AppError> {
    let in_cart = state.stores.carts.lines(owner).await?.iter().any(|l| l.sku == sku);
    if !in_cart && variant::Entity::find().filter(variant::Column::Sku.eq(sku)).one(&state.db).await?.is_none() {
        return Err(AppError::not_found(format!("There is no item with SKU \"{sku}\".")));
    }
    state.stores.carts.remove(owner, sku).await?;
    view(state, Some(owner)).await
}

/// Moves the guest's lines into the user's cart: quantities summed, capped by stock and
/// `MAX_PER_LINE`. Returns one sentence per line that was capped or dropped.
#[tracing::instrument(skip(state))]
pub async fn merge(state: &AppState, from: &CartOwner, into: &CartOwner) -> Result<Vec<String>, AppError> {
    let guest = state.stores.carts.lines(from).await?;
    if guest.is_empty() {
        return Ok(Vec::new());
    }
    let mine: HashMap<String, i64> = state.stores.carts.lines(into).await?.into_iter().map(|l| (l.sku, l.quantity)).collect();
    let mut notices = Vec::new();
    for line in guest {
        let Ok((variant, product)) = resolve(state, &ItemRef::Sku(line.sku.clone())).await else {
            notices.push(format!("{} is no longer sold and was left out of your cart.", line.sku));
            continue;
        };
        let available = available_by_variant(&state.db, vec![variant.id]).await?.get(&variant.id).copied().unwrap_or(0).max(0);
        let wanted = mine.get(&line.sku).copied().unwrap_or(0) + line.quantity;
        let capped = wanted.min(available).min(MAX_PER_LINE);
        if capped <= 0 {
            notices.push(format!("{} is out of stock and was left out of your cart.", product.title));
            continue;
        }
        if capped < wanted {
            notices.push(format!("Your cart now has {capped} of {} (you had {wanted}, but {}).", product.title,
                if capped == available && available < MAX_PER_LINE { format!("only {available} are available") } else { format!("the limit is {MAX_PER_LINE} per order") }));
        }
        // A new line keeps the guest's price snapshot, so a price change still shows.
        state.stores.carts.set_quantity(into, &line.sku, capped, &line.added_price).await?;
    }
    state.stores.carts.clear(from).await?;
    Ok(notices)
}
