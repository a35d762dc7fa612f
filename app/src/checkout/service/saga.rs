//! The saga's entry points: a new checkout under an idempotency key, and paying a pending
//! order again with another card.

use crate::ids::OrderId;
use super::*;

/// Runs the checkout for `user` under `key`. Returns the result and whether it is a replay of
/// an earlier request with the same key (200 rather than 201).
#[tracing::instrument(skip(state, user, req), fields(user = user.user_id))]
pub async fn checkout(state: &AppState, user: &CurrentUser, key: &str, req: &CheckoutRequest) -> Result<(CheckoutResult, bool), AppError> {
    checkout_paying(state, user, key, req, None, false).await
}

/// The checkout, paying with the card of `req`: typed in now, or saved on `customer` and
/// charged `off_session` (an express buy).
pub(crate) async fn checkout_paying(
    state: &AppState,
    user: &CurrentUser,
    key: &str,
    req: &CheckoutRequest,
    customer: Option<&str>,
    off_session: bool,
) -> Result<(CheckoutResult, bool), AppError> {
    let db = &state.db;
    let hash = request_hash(user.user_id, req);
    if let Some(existing) = order::Entity::find().filter(order::Column::IdempotencyKey.eq(key)).one(db).await? {
        return replay(&existing, user.user_id, &hash).map(|r| (r, true));
    }
    let valid = validate(db, user.user_id, req).await?;
    let now = Utc::now();
    // The goods: a flash-sale hold at the sale price, or the cart (stock reserved below).
    let hold_id = req.hold_id.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let (lines, hold, expires) = match hold_id {
        Some(id) => {
            let (line, hold, expires) = hold_line(state, user.user_id, id, now).await?;
            (vec![line], Some(hold), expires)
        }
        None => (priced_lines(state, user.user_id).await?, None, now + Duration::minutes(RESERVATION_MINUTES)),
    };
    let currency = lines[0].variant.currency.clone();
    let subtotal: i64 = lines.iter().map(|l| l.unit_price * l.quantity).sum();
    let shipping = valid.method.price(subtotal);
    let tax = tax_of(subtotal + shipping, state.rules.tax_rate_bps);

    let created = {
        let txn = state.writer.begin().await?;
        let inserted = order::ActiveModel {
            user_id: Set(user.user_id),
            status: Set(OrderStatus::Pending),
            currency: Set(currency.clone()),
            subtotal: Set(subtotal),
            shipping: Set(shipping),
            tax: Set(tax),
            total: Set(subtotal + shipping + tax),
            shipping_address: Set(serde_json::to_string(&valid.address).map_err(|_| AppError::Internal)?),
            shipping_method: Set(valid.method.as_str().to_owned()),
            idempotency_key: Set(key.to_owned()),
            request_hash: Set(hash.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            locked_until: Set(Some(now + Duration::seconds(state.rules.lease_seconds))),
            expires_at: Set(Some(expires)),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let o = match inserted {
            Ok(o) => o,
            // The same key won a race a moment ago: that request is still working on it.
            Err(e) if crate::db::is_unique_violation(&e) => {
                drop(txn);
                let existing = order::Entity::find().filter(order::Column::IdempotencyKey.eq(key)).one(db).await?.ok_or(AppError::Internal)?;
                return replay(&existing, user.user_id, &hash).map(|r| (r, true));
            }
            Err(e) => return Err(e.into()),
        };
        for line in &lines {
            order_item::ActiveModel {
                order_id: Set(o.id),
                variant_id: Set(line.variant.id),
                product_id: Set(line.product.id),
                title: Set(line.product.title.clone()),
                sku: Set(line.variant.sku.clone()),
                unit_price: Set(line.unit_price),
                currency: Set(currency.clone()),
                quantity: Set(line.quantity),
                line_total: Set(line.unit_price * line.quantity),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            match &hold {
                Some(h) => crate::flash::service::order_hold(&txn, h, o.id, expires, now).await?,
                None => reserve_line(&txn, o.id, line, expires).await?,
            }
        }
        txn.commit().await?;
        o
    };
    match &hold {
        Some(h) => {
            tracing::info!(order_id = created.id, total = created.total, hold_id = h.id, "order created from a flash-sale hold");
            // The gate's copy of the hold lasts as long (a backstop only: the database decides).
            if let Err(e) = state.stores.stock_gate.extend(h.sale_id, &h.id, expires.timestamp_millis()).await {
                tracing::warn!(error = %e, hold_id = h.id, "extending a hold in the stock gate");
            }
            // Sold moved: the seller's dashboard (and any page) hears it.
            if let Ok(Some(remaining)) = state.stores.stock_gate.remaining(h.sale_id).await {
                if let Err(e) = state.stores.events.publish(crate::events::ShopEvent::SaleStock { sale_id: h.sale_id, remaining }).await {
                    tracing::warn!(error = %e, sale_id = h.sale_id, "publishing SaleStock");
                }
            }
        }
        None => {
            tracing::info!(order_id = created.id, total = created.total, "order created, stock reserved");
            announce_stock(state, lines.iter().map(|l| l.product.id)).await;
        }
    }
    let card = Card { method: &valid.payment_method_id, customer, off_session };
    Ok((pay(state, created, &card).await?, false))
}

/// Pays a pending order with another card (after a decline), while its reservation lasts.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn pay_again(state: &AppState, user: &CurrentUser, order_id: OrderId, payment_method_id: &str) -> Result<CheckoutResult, AppError> {
    let pm = payment_method_id.trim();
    if pm.is_empty() {
        return Err(AppError::bad("payment_method_id", "Enter your card (the payment method is missing)."));
    }
    pay_again_with(state, user, order_id, &Card::typed(pm)).await
}

pub(crate) async fn pay_again_with(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId, card: &Card<'_>) -> Result<CheckoutResult, AppError> {
    let db = &state.db;
    let o = own_order(db, user.user_id, order_id).await?;
    if o.status != OrderStatus::Pending {
        return Err(AppError::Conflict(format!("Order {order_id} is {} and cannot be paid.", o.status)));
    }
    if o.expires_at.is_some_and(|t| t <= Utc::now()) {
        return Err(AppError::Conflict(format!("Order {order_id} expired; its items went back on sale.")));
    }
    // Take the lease, so two tabs cannot pay the same order at once.
    let now = Utc::now();
    let claimed = order::Entity::update_many()
        .col_expr(order::Column::LockedUntil, Expr::value(now + Duration::seconds(state.rules.lease_seconds)))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.eq(OrderStatus::Pending))
        .filter(sea_orm::Condition::any().add(order::Column::LockedUntil.is_null()).add(order::Column::LockedUntil.lt(now)))
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(AppError::Conflict("This order is being paid in another window. Wait a moment and reload.".to_owned()));
    }
    let o = order::Entity::find_by_id(order_id).one(db).await?.ok_or(AppError::Internal)?;
    pay(state, o, card).await
}
