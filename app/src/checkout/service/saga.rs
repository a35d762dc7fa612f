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
    let hash = request_hash(user.user_id, req);
    if let Some(earlier) = replayed(state, user.user_id, key, &hash).await? {
        return earlier.map(|r| (r, true));
    }
    let valid = validate(&state.db, user.user_id, req).await?;
    let now = Utc::now();
    let goods = match goods(state, user.user_id, req, now).await {
        Ok(goods) => goods,
        Err(e) => {
            // The same key may have finished meanwhile (a double submit), taking the cart or
            // the hold with it: answer as that request did, not with an empty cart.
            if let Some(earlier) = replayed(state, user.user_id, key, &hash).await? {
                return earlier.map(|r| (r, true));
            }
            return Err(e);
        }
    };
    let created = match record(state, user.user_id, key, &hash, &valid, &goods, now).await? {
        Recorded::New(o) => o,
        Recorded::Earlier(earlier) => return earlier.map(|r| (r, true)),
    };
    announce(state, &created, &goods).await;
    let card = Card { method: &valid.payment_method_id, customer, off_session };
    match pay(state, created.clone(), &card).await {
        Ok(result) => Ok((result, false)),
        // The provider refused the card before any authorisation: nothing was charged, so
        // nothing of this request stays (its stock is free again at once).
        Err(e) if e.field("payment_method_id").is_some() => {
            undo_refused(state, &created, goods.hold.as_ref()).await?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// The answer of an earlier request under the same key (or 422 when that one asked for
/// something else); none when the key is new.
async fn replayed(state: &AppState, user_id: i64, key: &str, hash: &str) -> Result<Option<Result<CheckoutResult, AppError>>, AppError> {
    let existing = order::Entity::find().filter(order::Column::IdempotencyKey.eq(key)).one(&state.db).await?;
    Ok(existing.map(|o| replay(&o, user_id, hash)))
}

/// What an order is made of: a flash-sale hold at the sale price, or the cart (its stock
/// reserved as the order is written), and until when it is held unpaid.
struct Goods {
    lines: Vec<Line>,
    hold: Option<sale_hold::Model>,
    expires: chrono::DateTime<Utc>,
}

async fn goods(state: &AppState, user_id: i64, req: &CheckoutRequest, now: chrono::DateTime<Utc>) -> Result<Goods, AppError> {
    match req.hold_id.as_ref().filter(|h| !h.as_str().is_empty()) {
        Some(id) => hold_line(state, user_id, id, now).await.map(|(line, hold, expires)| Goods { lines: vec![line], hold: Some(hold), expires }),
        None => priced_lines(state, user_id).await.map(|lines| Goods { lines, hold: None, expires: now + Duration::minutes(RESERVATION_MINUTES) }),
    }
}

enum Recorded {
    New(order::Model),
    /// The same key won a race a moment ago: that request's answer.
    Earlier(Result<CheckoutResult, AppError>),
}

/// Writes the order, its lines and their stock (reservations, or the hold moved to ordered) in
/// one transaction, below the shopper's cap of unpaid orders.
async fn record(state: &AppState, user_id: i64, key: &str, hash: &str, valid: &Valid, goods: &Goods, now: chrono::DateTime<Utc>) -> Result<Recorded, AppError> {
    let Goods { lines, hold, expires } = goods;
    let currency = lines[0].variant.currency.clone();
    let subtotal: i64 = lines.iter().map(|l| l.unit_price * l.quantity).sum();
    let shipping = valid.method.price(subtotal);
    let tax = tax_of(subtotal + shipping, state.rules.tax_rate_bps);
    let txn = state.writer.begin().await?;
    unpaid_below_cap(&txn, state, user_id, now).await?;
    let inserted = order::ActiveModel {
        user_id: Set(user_id),
        status: Set(OrderStatus::Pending),
        currency: Set(currency.clone()),
        subtotal: Set(subtotal),
        shipping: Set(shipping),
        tax: Set(tax),
        total: Set(subtotal + shipping + tax),
        shipping_address: Set(serde_json::to_string(&valid.address).map_err(|_| AppError::Internal)?),
        shipping_method: Set(valid.method),
        idempotency_key: Set(key.to_owned()),
        request_hash: Set(hash.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        locked_until: Set(Some(now + Duration::seconds(state.rules.lease_seconds))),
        expires_at: Set(Some(*expires)),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let o = match inserted {
        Ok(o) => o,
        Err(e) if crate::db::is_unique_violation(&e) => {
            drop(txn);
            return Ok(Recorded::Earlier(replayed(state, user_id, key, hash).await?.ok_or(AppError::Internal)?));
        }
        Err(e) => return Err(e.into()),
    };
    for line in lines {
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
        match hold {
            Some(h) => crate::flash::service::order_hold(&txn, h, o.id, *expires, now).await?,
            None => reserve_line(&txn, o.id, line, *expires).await?,
        }
    }
    txn.commit().await?;
    Ok(Recorded::New(o))
}

/// After the order is written: the stock it took is announced (pages, the seller's dashboard),
/// and the gate's copy of a hold lasts as long as the order (a backstop only: the database
/// decides).
async fn announce(state: &AppState, created: &order::Model, goods: &Goods) {
    match &goods.hold {
        Some(h) => {
            tracing::info!(order_id = created.id, total = created.total, hold_id = %h.id, "order created from a flash-sale hold");
            if let Err(e) = state.stores.stock_gate.extend(h.sale_id, &h.id, goods.expires.timestamp_millis()).await {
                tracing::warn!(error = %e, hold_id = %h.id, "extending a hold in the stock gate");
            }
            if let Ok(Some(remaining)) = state.stores.stock_gate.remaining(h.sale_id).await {
                if let Err(e) = state.stores.events.publish(crate::events::ShopEvent::SaleStock { sale_id: h.sale_id, remaining }).await {
                    tracing::warn!(error = %e, sale_id = h.sale_id, "publishing SaleStock");
                }
            }
        }
        None => {
            tracing::info!(order_id = created.id, total = created.total, "order created, stock reserved");
            announce_stock(state, goods.lines.iter().map(|l| l.product.id)).await;
        }
    }
}

/// Refuses a new order when the shopper already has `max_pending_orders` unpaid ones still
/// holding stock: free accounts must not be a way to keep products from everyone else. Runs
/// in the transaction that inserts the order, with the shopper's row locked on PostgreSQL
/// (SQLite runs one write transaction at a time), so checkouts sent at once cannot all pass.
async fn unpaid_below_cap(txn: &impl ConnectionTrait, state: &AppState, user_id: i64, now: chrono::DateTime<Utc>) -> Result<(), AppError> {
    let backend = txn.get_database_backend();
    if backend == sea_orm::DbBackend::Postgres {
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(backend, "SELECT id FROM users WHERE id = $1 FOR UPDATE", [user_id.into()])).await?;
    }
    let unpaid = order::Entity::find()
        .filter(order::Column::UserId.eq(user_id))
        .filter(order::Column::Status.eq(OrderStatus::Pending))
        .filter(order::Column::ExpiresAt.gt(now))
        .count(txn)
        .await? as i64;
    let cap = state.rules.max_pending_orders;
    if unpaid >= cap {
        return Err(AppError::Conflict(format!(
            "You have {unpaid} unpaid order{} holding stock, the most at once. Pay for one or cancel it under Your orders, then check out again.",
            if unpaid == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Takes back the order a refused checkout opened, whole and in one transaction: its reserved
/// stock released at once (a flash-sale hold goes back to the shopper as it was), its lines,
/// its failed attempt and the order itself deleted. The refused request changes nothing, and
/// its Idempotency-Key may be tried again. Leaves the order alone if it has moved on or has
/// an attempt that did not fail.
pub(crate) async fn undo_refused(state: &AppState, o: &order::Model, hold: Option<&sale_hold::Model>) -> Result<(), AppError> {
    let txn = state.writer.begin().await?;
    let live = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(o.id))
        .filter(payment::Column::State.ne(PaymentState::Failed))
        .count(&txn)
        .await?;
    let claimed = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Expired))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Status.eq(OrderStatus::Pending))
        .exec(&txn)
        .await?;
    if live > 0 || claimed.rows_affected != 1 {
        return Ok(());
    }
    let mut released = Vec::new();
    match hold {
        Some(h) => {
            let back = sale_hold::Entity::update_many()
                .col_expr(sale_hold::Column::State, Expr::value(HoldState::Held))
                .col_expr(sale_hold::Column::OrderId, Expr::value(Option::<i64>::None))
                .col_expr(sale_hold::Column::ExpiresAt, Expr::value(h.expires_at))
                .col_expr(sale_hold::Column::Extended, Expr::value(h.extended))
                .filter(sale_hold::Column::Id.eq(h.id.clone()))
                .filter(sale_hold::Column::State.eq(HoldState::Ordered))
                .filter(sale_hold::Column::OrderId.eq(o.id))
                .exec(&txn)
                .await?;
            if back.rows_affected == 1 {
                flash_sale::Entity::update_many()
                    .col_expr(flash_sale::Column::Sold, Expr::col(flash_sale::Column::Sold).sub(h.quantity))
                    .filter(flash_sale::Column::Id.eq(h.sale_id))
                    .exec(&txn)
                    .await?;
            }
        }
        None => {
            for r in reservation::Entity::find().filter(reservation::Column::OrderId.eq(o.id)).all(&txn).await? {
                if release_held(&txn, &r).await? {
                    released.push(r.variant_id);
                }
            }
            reservation::Entity::delete_many().filter(reservation::Column::OrderId.eq(o.id)).exec(&txn).await?;
        }
    }
    let products: Vec<i64> = order_item::Entity::find().filter(order_item::Column::OrderId.eq(o.id)).all(&txn).await?.into_iter().map(|i| i.product_id).collect();
    payment::Entity::delete_many().filter(payment::Column::OrderId.eq(o.id)).exec(&txn).await?;
    order_item::Entity::delete_many().filter(order_item::Column::OrderId.eq(o.id)).exec(&txn).await?;
    order::Entity::delete_by_id(o.id).exec(&txn).await?;
    txn.commit().await?;
    tracing::info!(order_id = o.id, released = released.len(), "a refused checkout was taken back");
    if hold.is_none() {
        announce_stock(state, products.into_iter()).await;
    }
    Ok(())
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
