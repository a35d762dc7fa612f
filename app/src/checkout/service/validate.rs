//! Checking a checkout request and pricing the cart against the catalog.

use super::*;

pub(crate) struct Valid {
    pub(crate) address: AddressInput,
    pub(crate) method: ShippingMethod,
    pub(crate) payment_method_id: String,
}

pub(crate) async fn validate(db: &DatabaseConnection, user_id: i64, req: &CheckoutRequest) -> Result<Valid, AppError> {
    let mut errors = FieldErrors::default();
    let method = errors.check("shipping_method", ShippingMethod::parse(&req.shipping_method));
    let payment_method_id = req.payment_method_id.trim().to_owned();
    if payment_method_id.is_empty() {
        errors.add("payment_method_id", "Enter your card (the payment method is missing).");
    } else if payment_method_id.len() > 255 || !payment_method_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        errors.add("payment_method_id", "That is not a payment method id (they look like pm_…).");
    }
    let address = match (&req.shipping_address, req.shipping_address_id) {
        (Some(a), _) => match a.validate() {
            Ok(a) => Some(a),
            Err(e) => {
                for (field, msg) in e.fields() {
                    errors.add(&format!("shipping_address.{field}"), msg);
                }
                None
            }
        },
        (None, Some(id)) => {
            match address::Entity::find_by_id(id).filter(address::Column::UserId.eq(user_id)).one(db).await? {
                Some(a) => Some(AddressInput::from(crate::accounts::service::to_address(a))),
                None => {
                    errors.add("shipping_address_id", format!("Address {id} is not in your address book."));
                    None
                }
            }
        }
        (None, None) => {
            errors.add("shipping_address", "Give a shipping address (or the id of a saved one).");
            None
        }
    };
    errors.finish()?;
    Ok(Valid { address: address.expect("checked above"), method: method.expect("checked above"), payment_method_id })
}

/// A cart line priced and checked against the catalog.
pub(crate) struct Line {
    pub(crate) variant: variant::Model,
    pub(crate) product: product::Model,
    pub(crate) quantity: i64,
    /// The price of one unit: the variant's, or a flash sale's.
    pub(crate) unit_price: i64,
}

pub(crate) async fn priced_lines(state: &AppState, user_id: i64) -> Result<Vec<Line>, AppError> {
    let cart = state.stores.carts.lines(&CartOwner::User(user_id)).await?;
    if cart.is_empty() {
        return Err(AppError::bad("cart", "Your cart is empty: the cart is empty, so there is nothing to check out."));
    }
    let skus: Vec<String> = cart.iter().map(|l| l.sku.clone()).collect();
    let variants = variant::Entity::find().filter(variant::Column::Sku.is_in(skus)).all(&state.db).await?;
    let products: HashMap<i64, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(variants.iter().map(|v| v.product_id).collect::<Vec<_>>()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut lines = Vec::new();
    for l in cart {
        let v = variants.iter().find(|v| v.sku == l.sku);
        match v.and_then(|v| products.get(&v.product_id).map(|p| (v, p))) {
            Some((v, p)) if p.status == ProductStatus::Active => {
                lines.push(Line { variant: v.clone(), product: p.clone(), quantity: l.quantity, unit_price: v.price_amount })
            }
            Some((_, p)) => return Err(AppError::Conflict(format!("\"{}\" is no longer sold. Remove it from your cart to check out.", p.title))),
            None => return Err(AppError::Conflict(format!("An item in your cart ({}) is no longer sold. Remove it to check out.", l.sku))),
        }
    }
    let shop = state.rules.currency;
    if let Some(l) = lines.iter().find(|l| !shop.is(&l.variant.currency)) {
        return Err(AppError::bad("cart", format!("\"{}\" is priced in {}, and this shop sells in {shop}. Remove it from your cart to check out.", l.product.title, l.variant.currency)));
    }
    Ok(lines)
}

/// The line of a flash-sale hold the shopper checks out, at the sale price, with the expiry
/// the hold gets now (extended once, as its payment begins).
pub(crate) async fn hold_line(state: &AppState, user_id: i64, hold_id: &crate::ids::HoldId, now: chrono::DateTime<Utc>) -> Result<(Line, sale_hold::Model, chrono::DateTime<Utc>), AppError> {
    let db = &state.db;
    let hold = sale_hold::Entity::find_by_id(hold_id.clone())
        .filter(sale_hold::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad("hold_id", format!("You have no hold {hold_id}.")))?;
    match (hold.state, hold.order_id) {
        (HoldState::Held, _) if hold.expires_at > now => {}
        (HoldState::Ordered | HoldState::Paid, Some(order_id)) => {
            return Err(AppError::Conflict(format!("This hold was already checked out as order {order_id}.")));
        }
        _ => return Err(AppError::Conflict("This hold has expired; its units went back to the sale. Join the queue again.".to_owned())),
    }
    let sale = flash_sale::Entity::find_by_id(hold.sale_id).one(db).await?.ok_or(AppError::Internal)?;
    let variant = variant::Entity::find_by_id(sale.variant_id).one(db).await?.ok_or(AppError::Internal)?;
    let product = product::Entity::find_by_id(sale.product_id).one(db).await?.ok_or(AppError::Internal)?;
    let expires = if hold.extended { hold.expires_at } else { Ord::max(hold.expires_at, now + Duration::seconds(state.rules.sale_hold_seconds)) };
    let line = Line { variant, product, quantity: hold.quantity, unit_price: sale.price_amount };
    Ok((line, hold, expires))
}

/// A hold shown as the checkout's one line (at the sale price), for the checkout page, with
/// when the hold lapses unless its payment begins.
pub async fn hold_cart(state: &AppState, user_id: i64, hold_id: &crate::ids::HoldId) -> Result<(crate::cart::CartView, chrono::DateTime<Utc>), AppError> {
    let (line, hold, _) = hold_line(state, user_id, hold_id, Utc::now()).await?;
    let unit = Money::new(line.unit_price, &line.variant.currency);
    let total = Money::new(line.unit_price * line.quantity, &line.variant.currency);
    let item = crate::cart::CartItem {
        sku: line.variant.sku.clone(),
        product_id: line.product.id,
        title: format!("{} (flash sale)", line.product.title),
        variant: String::new(),
        image_url: String::new(),
        quantity: line.quantity,
        unit_price: unit,
        line_total: total.clone(),
        price_was: Some(Money::new(line.variant.price_amount, &line.variant.currency)),
        available: line.quantity,
        purchasable: true,
        problem: None,
    };
    Ok((crate::cart::CartView { items: vec![item], subtotal: total, item_count: line.quantity, notices: vec![] }, hold.expires_at))
}
