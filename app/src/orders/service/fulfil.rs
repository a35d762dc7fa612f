//! The seller's side of an order: the queue, shipping (which captures the payment), delivery
//! and refunds (all, or some lines). A seller fulfils orders made only of their own products;
//! an order mixing sellers is fulfilled by an admin.

use crate::ids::OrderId;
use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::*;
use crate::accounts::{CurrentUser, Need, Role, authorize};
use crate::db::{order, order_item, payment, product, refund};
use crate::error::AppError;
use crate::payments::GatewayError;
use crate::state::AppState;

/// Product ids of the caller's shop; `None` for an admin (every product).
async fn own_products(db: &DatabaseConnection, user: &CurrentUser) -> Result<Option<HashSet<i64>>, AppError> {
    authorize(Some(user), Need::Seller)?;
    if user.role == Role::Admin {
        return Ok(None);
    }
    let seller = user.seller.as_ref().ok_or_else(AppError::forbidden)?;
    let ids = product::Entity::find()
        .select_only()
        .column(product::Column::Id)
        .filter(product::Column::SellerId.eq(seller.seller_id))
        .into_tuple::<i64>()
        .all(db)
        .await?;
    Ok(Some(ids.into_iter().collect()))
}

fn line_of(i: &order_item::Model) -> OrderLine {
    OrderLine {
        product_id: i.product_id,
        sku: i.sku.clone(),
        title: i.title.clone(),
        quantity: i.quantity,
        unit_price: Money::new(i.unit_price, &i.currency),
        line_total: Money::new(i.line_total, &i.currency),
    }
}

/// Orders with the caller's products that were paid (and what happened after), newest first.
pub async fn seller_orders(db: &DatabaseConnection, user: &CurrentUser) -> Result<Vec<SellerOrder>, AppError> {
    let mine = own_products(db, user).await?;
    let mut items = order_item::Entity::find();
    if let Some(ids) = &mine {
        items = items.filter(order_item::Column::ProductId.is_in(ids.iter().copied().collect::<Vec<_>>()));
    }
    let order_ids: HashSet<i64> = items.all(db).await?.into_iter().map(|i| i.order_id).collect();
    let orders = order::Entity::find()
        .filter(order::Column::Id.is_in(order_ids.into_iter().collect::<Vec<_>>()))
        .filter(order::Column::Status.is_in([OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered, OrderStatus::Refunded]))
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    let all_items = order_item::Entity::find().filter(order_item::Column::OrderId.is_in(orders.iter().map(|o| o.id).collect::<Vec<_>>())).all(db).await?;
    let mut by_order: HashMap<i64, Vec<&order_item::Model>> = HashMap::new();
    for i in &all_items {
        by_order.entry(i.order_id).or_default().push(i);
    }
    Ok(orders
        .into_iter()
        .map(|o| {
            let lines = by_order.remove(&o.id).unwrap_or_default();
            let is_mine = |i: &order_item::Model| mine.as_ref().is_none_or(|m| m.contains(&i.product_id));
            SellerOrder {
                order_id: o.id,
                fulfillable: lines.iter().all(|i| is_mine(i)),
                lines: lines.iter().filter(|i| is_mine(i)).map(|i| line_of(i)).collect(),
                created_at: crate::db::rfc3339(o.created_at),
                total: Money::new(o.total, &o.currency),
                refunded: Money::new(o.refunded, &o.currency),
                tracking_number: o.tracking_number,
                status: o.status,
            }
        })
        .collect())
}

/// The order, if the caller may fulfil it: 404 when none of it is theirs, 403 when only part.
async fn fulfillable(db: &DatabaseConnection, user: &CurrentUser, order_id: i64) -> Result<(order::Model, Vec<order_item::Model>), AppError> {
    let mine = own_products(db, user).await?;
    let not_found = || AppError::not_found(format!("There is no order {order_id} with your products."));
    let o = order::Entity::find_by_id(order_id).one(db).await?.ok_or_else(not_found)?;
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(order_id)).all(db).await?;
    if let Some(m) = &mine {
        let owned = items.iter().filter(|i| m.contains(&i.product_id)).count();
        if owned == 0 || o.status == OrderStatus::Pending || o.status == OrderStatus::Expired {
            return Err(not_found());
        }
        if owned < items.len() {
            return Err(AppError::Forbidden("This order also has other sellers' items; an admin fulfils it.".to_owned()));
        }
    }
    Ok((o, items))
}

/// Ships a paid order: the payment is captured first (a failed capture ships nothing), then
/// the order moves `paid → shipped` with its tracking number.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn ship(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId, tracking: &str) -> Result<SellerOrder, AppError> {
    let db = &state.db;
    let tracking = tracking.trim();
    if tracking.is_empty() || tracking.len() > 64 || !tracking.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ') {
        return Err(AppError::bad("tracking_number", "Enter the carrier's tracking number (letters, digits, dashes; up to 64)."));
    }
    let (o, _) = fulfillable(db, user, order_id).await?;
    if o.status != OrderStatus::Paid {
        return Err(AppError::Conflict(format!("Order {order_id} is {} and cannot be shipped.", o.status)));
    }
    for p in payment::Entity::find().filter(payment::Column::OrderId.eq(order_id)).filter(payment::Column::State.eq(PaymentState::Authorized)).all(db).await? {
        let Some(intent) = p.intent_id.clone() else { continue };
        if let Err(e) = state.stores.payments.capture(&intent, &format!("{}-capture", p.idempotency_key)).await {
            tracing::error!(error = %e, order_id, "capturing at shipping");
            return Err(AppError::Conflict("The payment could not be captured just now, so nothing was shipped. Try again in a minute.".to_owned()));
        }
        payment::Entity::update_many()
            .col_expr(payment::Column::State, Expr::value(PaymentState::Captured))
            .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(payment::Column::Id.eq(p.id))
            .filter(payment::Column::State.eq(PaymentState::Authorized))
            .exec(db)
            .await?;
    }
    let now = Utc::now();
    let txn = state.writer.begin().await?;
    let moved = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Shipped))
        .col_expr(order::Column::TrackingNumber, Expr::value(tracking))
        .col_expr(order::Column::ShippedAt, Expr::value(now))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.eq(OrderStatus::Paid))
        .exec(&txn)
        .await?;
    if moved.rows_affected == 1 {
        crate::checkout::notify::enqueue(&txn, "order.shipped", serde_json::json!({ "order_id": order_id })).await?;
    }
    txn.commit().await?;
    one(db, user, order_id).await
}

pub async fn deliver(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId) -> Result<SellerOrder, AppError> {
    let db = &state.db;
    let (o, _) = fulfillable(db, user, order_id).await?;
    if o.status != OrderStatus::Shipped {
        return Err(AppError::Conflict(format!("Order {order_id} is {} and cannot be marked delivered.", o.status)));
    }
    let now = Utc::now();
    order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Delivered))
        .col_expr(order::Column::DeliveredAt, Expr::value(now))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.eq(OrderStatus::Shipped))
        .exec(db)
        .await?;
    one(db, user, order_id).await
}

/// Refunds a shipped or delivered order, in full (what is left) or by lines.
///
/// Read, call out, write, with the gap guarded: the refund is first reserved in the database
/// by conditional updates that fail when it would pass the order's total or a line's quantity
/// (whatever arrives at once: a double click, another admin), and written as a row without a
/// provider id. Only then is the provider called, with a key made from that row, so a crash
/// between the two, or an answer that never came, leaves a row that is sent again with the
/// same key (by a retry of the request, or by the next refund of the order), never a second
/// refund. A refund the provider refuses outright is given back. `client_key` (the request's
/// Idempotency-Key) makes a retried request answer with the first refund.
#[tracing::instrument(skip(state, user, req), fields(user = user.user_id))]
pub async fn refund_order(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId, req: &RefundRequest, client_key: Option<&str>) -> Result<SellerOrder, AppError> {
    let db = &state.db;
    let (o, items) = fulfillable(db, user, order_id).await?;
    let key = match client_key {
        Some(k) => Some(format!("sellout-order-{order_id}-refund-{}", crate::checkout::service::check_idempotency_key(Some(k))?)),
        None => None,
    };
    if let Some(k) = &key
        && let Some(earlier) = refund::Entity::find().filter(refund::Column::IdempotencyKey.eq(k.clone())).one(db).await?
    {
        // The same request again: its refund, sent again (same key) if it has waited long
        // for the provider's answer; a twin still in flight is left to finish.
        if earlier.provider_refund_id.is_none() && unconfirmed_for_long(&earlier) {
            complete(state, earlier).await?;
        }
        return one(db, user, order_id).await;
    }
    finish_unconfirmed(state, order_id).await;
    if !matches!(o.status, OrderStatus::Shipped | OrderStatus::Delivered) {
        let hint = if o.status == OrderStatus::Paid { " It is not shipped yet: cancel it instead, which releases the card authorization." } else { "" };
        return Err(AppError::Conflict(format!("Order {order_id} is {} and cannot be refunded.{hint}", o.status)));
    }
    // The units each line gives back: those asked for, or for the whole order all not yet refunded.
    let mut lines: Vec<(&order_item::Model, i64)> = Vec::new();
    for (n, l) in req.lines.iter().enumerate() {
        let item = items.iter().find(|i| i.sku == l.sku).ok_or_else(|| AppError::bad(&format!("lines[{n}].sku"), format!("SKU {} is not in this order.", l.sku)))?;
        if l.quantity < 1 || l.quantity > item.quantity {
            return Err(AppError::bad(&format!("lines[{n}].quantity"), format!("Refund 1 to {} of {}.", item.quantity, l.sku)));
        }
        if lines.iter().any(|(i, _)| i.id == item.id) {
            return Err(AppError::bad(&format!("lines[{n}].sku"), format!("{} is named twice; give its quantity once.", l.sku)));
        }
        lines.push((item, l.quantity));
    }
    let whole = lines.is_empty();
    if whole {
        lines = items.iter().map(|i| (i, i.quantity - i.refunded_quantity)).filter(|(_, q)| *q > 0).collect();
    }
    let p = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .filter(payment::Column::State.is_in([PaymentState::Captured, PaymentState::Settled]))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Conflict("This order has no captured payment to refund.".to_owned()))?;

    let txn = state.writer.begin().await?;
    let amount = reserve(&txn, &o, &lines, whole).await?;
    let row = refund::ActiveModel {
        payment_id: Set(p.id),
        order_id: Set(order_id),
        amount: Set(amount),
        currency: Set(o.currency.clone()),
        provider_refund_id: Set(None),
        reason: Set(if whole { "full".into() } else { "lines".into() }),
        created_at: Set(Utc::now()),
        idempotency_key: Set(key),
        lines: Set(lines.iter().map(|(i, q)| format!("{}:{q}", i.id)).collect::<Vec<_>>().join(",")),
        ..Default::default()
    };
    let row = match row.insert(&txn).await {
        Ok(row) => row,
        // The same request won a race: its refund stands, this one is the same (the
        // reservation is rolled back with the transaction).
        Err(e) if crate::db::is_unique_violation(&e) => return one(db, user, order_id).await,
        Err(e) => return Err(e.into()),
    };
    txn.commit().await?;
    complete(state, row).await?;
    one(db, user, order_id).await
}

/// Takes a refund off what is left of the order and of each of its lines, in one transaction
/// of conditional updates, the order's row first (every refund locks in that order): a whole
/// refund only if nothing was refunded since the order was read, a line refund only within
/// the order's total and the line's quantity. The amount reserved, or a 409 saying why not.
async fn reserve(txn: &crate::db::WriteTxn, o: &order::Model, lines: &[(&order_item::Model, i64)], whole: bool) -> Result<i64, AppError> {
    let refundable = [OrderStatus::Shipped, OrderStatus::Delivered];
    let left = || AppError::Conflict(format!("Only {} of this order is left to refund.", Money::new(std::cmp::max(o.total - o.refunded, 0), &o.currency).display()));
    let amount = if whole { o.total - o.refunded } else { lines.iter().map(|(i, q)| i.unit_price * q).sum() };
    if amount <= 0 {
        return Err(left());
    }
    let mut order_update = order::Entity::update_many()
        .col_expr(order::Column::Refunded, Expr::col(order::Column::Refunded).add(amount))
        .col_expr(order::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Status.is_in(refundable))
        .filter(Expr::col(order::Column::Refunded).add(amount).lte(Expr::col(order::Column::Total)));
    if whole {
        order_update = order_update.filter(order::Column::Refunded.eq(o.refunded));
    }
    if order_update.exec(txn).await?.rows_affected != 1 {
        return Err(if whole { AppError::Conflict("Another refund of this order was made at the same time: nothing more is left to refund.".to_owned()) } else { left() });
    }
    for (item, quantity) in lines {
        let taken = order_item::Entity::update_many()
            .col_expr(order_item::Column::RefundedQuantity, Expr::col(order_item::Column::RefundedQuantity).add(*quantity))
            .filter(order_item::Column::Id.eq(item.id))
            .filter(Expr::col(order_item::Column::RefundedQuantity).add(*quantity).lte(Expr::col(order_item::Column::Quantity)))
            .exec(txn)
            .await?;
        if taken.rows_affected != 1 {
            return Err(AppError::Conflict(format!("Fewer than {quantity} of {} are left to refund: it was refunded already.", item.sku)));
        }
    }
    Ok(amount)
}

/// How long a refund may wait for the provider's answer before another request of the order
/// sends it again (with its same key): longer than one call to the provider takes.
const UNCONFIRMED_AFTER_SECS: i64 = 30;

fn unconfirmed_for_long(r: &refund::Model) -> bool {
    r.created_at < Utc::now() - chrono::Duration::seconds(UNCONFIRMED_AFTER_SECS)
}

/// Sends again the order's refunds that never had the provider's answer (cut off by a crash
/// or a lost reply), each with its own key. What cannot be finished now stays reserved.
async fn finish_unconfirmed(state: &AppState, order_id: i64) {
    let waiting = refund::Entity::find()
        .filter(refund::Column::OrderId.eq(order_id))
        .filter(refund::Column::ProviderRefundId.is_null())
        .all(&state.db)
        .await;
    for r in waiting.unwrap_or_default().into_iter().filter(unconfirmed_for_long) {
        if let Err(e) = complete(state, r).await {
            tracing::warn!(error = %e, order_id, "an unconfirmed refund is still waiting for the provider");
        }
    }
}

/// Asks the provider for a reserved refund, with a key made from its row, and records the
/// answer: the provider's id (and the order refunded once nothing is left). A refusal gives
/// the reservation back; no answer leaves it reserved, to be sent again with the same key.
async fn complete(state: &AppState, r: refund::Model) -> Result<(), AppError> {
    let db = &state.db;
    let intent = payment::Entity::find_by_id(r.payment_id).one(db).await?.and_then(|p| p.intent_id).ok_or(AppError::Internal)?;
    let provider_id = match state.stores.payments.refund(&intent, r.amount, &format!("sellout-refund-{}", r.id)).await {
        Ok(id) => id,
        Err(GatewayError::InvalidPaymentMethod(why)) => {
            tracing::error!(why, order_id = r.order_id, refund_id = r.id, "the provider refused a refund");
            give_back(state, &r).await?;
            return Err(AppError::Conflict(format!("The payment provider refused this refund: {why}")));
        }
        Err(e) => {
            tracing::error!(error = %e, order_id = r.order_id, refund_id = r.id, "refund at the provider");
            return Err(AppError::Conflict("The refund was sent to the payment provider but not confirmed. Send it again in a minute: it is kept and will not be made twice.".to_owned()));
        }
    };
    let now = Utc::now();
    refund::Entity::update_many()
        .col_expr(refund::Column::ProviderRefundId, Expr::value(provider_id))
        .filter(refund::Column::Id.eq(r.id))
        .filter(refund::Column::ProviderRefundId.is_null())
        .exec(db)
        .await?;
    let finished = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Refunded))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(r.order_id))
        .filter(order::Column::Status.is_in([OrderStatus::Shipped, OrderStatus::Delivered]))
        .filter(Expr::col(order::Column::Refunded).eq(Expr::col(order::Column::Total)))
        .exec(db)
        .await?;
    // Refunded in full only once every refund of it is done at the provider.
    let pending = refund::Entity::find().filter(refund::Column::OrderId.eq(r.order_id)).filter(refund::Column::ProviderRefundId.is_null()).count(db).await?;
    if finished.rows_affected == 1 && pending == 0 {
        payment::Entity::update_many()
            .col_expr(payment::Column::State, Expr::value(PaymentState::Refunded))
            .col_expr(payment::Column::UpdatedAt, Expr::value(now))
            .filter(payment::Column::Id.eq(r.payment_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Undoes a refund the provider refused: its row goes, and what it reserved of the order and
/// of each line is left to refund again. Once only, whoever else tries.
async fn give_back(state: &AppState, r: &refund::Model) -> Result<(), AppError> {
    let txn = state.writer.begin().await?;
    let gone = refund::Entity::delete_many().filter(refund::Column::Id.eq(r.id)).filter(refund::Column::ProviderRefundId.is_null()).exec(&txn).await?;
    if gone.rows_affected != 1 {
        return Ok(());
    }
    order::Entity::update_many()
        .col_expr(order::Column::Refunded, Expr::col(order::Column::Refunded).sub(r.amount))
        .filter(order::Column::Id.eq(r.order_id))
        .exec(&txn)
        .await?;
    for (item, quantity) in r.lines.split(',').filter_map(|pair| pair.split_once(':')).filter_map(|(i, q)| Some((i.parse::<i64>().ok()?, q.parse::<i64>().ok()?))) {
        order_item::Entity::update_many()
            .col_expr(order_item::Column::RefundedQuantity, Expr::col(order_item::Column::RefundedQuantity).sub(quantity))
            .filter(order_item::Column::Id.eq(item))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

async fn one(db: &DatabaseConnection, user: &CurrentUser, order_id: i64) -> Result<SellerOrder, AppError> {
    seller_orders(db, user)
        .await?
        .into_iter()
        .find(|o| o.order_id == order_id)
        .ok_or_else(|| AppError::not_found(format!("There is no order {order_id} with your products.")))
}
