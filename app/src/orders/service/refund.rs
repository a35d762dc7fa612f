//! Refunds of a shipped order: in full, by lines (each may put its units back on the shelf they
//! came from) or by an amount. Reserved in the database before the provider is called, sent
//! with a key made from the reserved row, finished (stock back, mail out) exactly once.

use crate::ids::OrderId;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

use super::fulfil::{Part, capture_payment, lock_order, one, settle, sources_of, visible, waiting, write_shipments};
use super::*;
use crate::db::{order, order_item, payment, refund};
use crate::error::AppError;
use crate::payments::GatewayError;
use crate::state::AppState;

/// Refunds a shipped or delivered order, in full (what is left), by lines (each may be put back
/// in stock) or by an amount.
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
    let part = visible(db, user, order_id).await?;
    let (o, items, owned, whole) = (&part.order, &part.items, part.owned(), part.whole());
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
    // A whole order once it has shipped; a share once its seller shipped it.
    let status = if whole { o.status } else { part.status() };
    if !matches!(status, OrderStatus::Shipped | OrderStatus::Delivered) {
        let hint = if status == OrderStatus::Paid { " It is not shipped yet: cancel it instead, which releases the card authorization." } else { "" };
        let what = if whole { format!("Order {order_id} is") } else { format!("Your items in order {order_id} are") };
        return Err(AppError::Conflict(format!("{what} {status} and cannot be refunded.{hint}")));
    }
    if req.amount.is_some() && !req.lines.is_empty() {
        return Err(AppError::bad("amount", "Refund either lines or an amount, not both."));
    }
    if req.amount.is_some() && !whole {
        return Err(AppError::bad("amount", "Other sellers' items are in this order: refund your lines (or all of them), not an amount."));
    }
    if let Some(a) = req.amount
        && a < 1
    {
        return Err(AppError::bad("amount", "Enter an amount above zero."));
    }
    // The units each line gives back: those asked for, or for the whole order (or share) all not yet refunded.
    let mut lines: Vec<RefundedItem> = Vec::new();
    for (n, l) in req.lines.iter().enumerate() {
        let missing = || AppError::bad(&format!("lines[{n}].sku"), if whole { format!("SKU {} is not in this order.", l.sku) } else { format!("SKU {} is not among your items in this order.", l.sku) });
        let item = owned.iter().find(|i| i.sku == l.sku).ok_or_else(missing)?;
        if l.quantity < 1 || l.quantity > item.quantity {
            return Err(AppError::bad(&format!("lines[{n}].quantity"), format!("Refund 1 to {} of {}.", item.quantity, l.sku)));
        }
        if lines.iter().any(|i| i.item_id == item.id) {
            return Err(AppError::bad(&format!("lines[{n}].sku"), format!("{} is named twice; give its quantity once.", l.sku)));
        }
        lines.push(RefundedItem { item_id: item.id, quantity: l.quantity, restock: l.restock });
    }
    let kind = match (req.amount, lines.is_empty()) {
        (Some(a), _) => Kind::Amount(a),
        (None, false) => Kind::Lines,
        (None, true) => {
            lines = unrefunded(&owned, false);
            // A share's "everything" is its lines; shipping and tax stay with the order.
            if whole { Kind::Whole } else { Kind::Lines }
        }
    };
    let p = captured_payment(db, order_id).await?;

    let txn = state.writer.begin().await?;
    let amount = reserve(&txn, o, items, &lines, kind).await?;
    let row = match refund_row(&p, amount, kind.as_str(), key, &lines).insert(&txn).await {
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

/// After a shipment (or a share's cancel) captured the payment, the order turned out to have
/// been cancelled meanwhile (the shopper's cancel crossed it: it voids only an authorization,
/// and the capture came first). Everything captured goes back, once whoever else gets here,
/// with the stock already returned by the cancel; the 409 to answer. None when the order was
/// not cancelled (something else changed it).
pub(super) async fn captured_then_cancelled(state: &AppState, order_id: i64) -> Result<Option<AppError>, AppError> {
    let db = &state.db;
    let Some(o) = order::Entity::find_by_id(order_id).one(db).await? else { return Ok(None) };
    if o.status != OrderStatus::Cancelled {
        return Ok(None);
    }
    let answer = Some(AppError::Conflict(format!("Order {order_id} was cancelled by the shopper just now, so nothing was shipped; the payment taken for it is refunded.")));
    let Ok(p) = captured_payment(db, order_id).await else { return Ok(answer) };
    let txn = state.writer.begin().await?;
    let taken = order::Entity::update_many()
        .col_expr(order::Column::Refunded, Expr::col(order::Column::Total))
        .col_expr(order::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.eq(OrderStatus::Cancelled))
        .filter(order::Column::Refunded.eq(0))
        .exec(&txn)
        .await?;
    if taken.rows_affected != 1 {
        return Ok(answer);
    }
    let row = refund_row(&p, o.total, "cancelled", None, &[]).insert(&txn).await?;
    txn.commit().await?;
    tracing::warn!(order_id, "a payment captured for an order cancelled at the same moment: refunded in full");
    complete(state, row).await?;
    payment::Entity::update_many()
        .col_expr(payment::Column::State, Expr::value(PaymentState::Refunded))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(p.id))
        .filter(payment::Column::State.is_in([PaymentState::Captured, PaymentState::Settled]))
        .exec(db)
        .await?;
    Ok(answer)
}

/// The order's captured payment, which refunds come out of.
async fn captured_payment(db: &DatabaseConnection, order_id: i64) -> Result<payment::Model, AppError> {
    payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .filter(payment::Column::State.is_in([PaymentState::Captured, PaymentState::Settled]))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Conflict("This order has no captured payment to refund.".to_owned()))
}

/// A refund row as it is reserved: no provider id yet.
fn refund_row(p: &payment::Model, amount: i64, reason: &str, key: Option<String>, lines: &[RefundedItem]) -> refund::ActiveModel {
    refund::ActiveModel {
        payment_id: Set(p.id),
        order_id: Set(p.order_id),
        amount: Set(amount),
        currency: Set(p.currency.clone()),
        provider_refund_id: Set(None),
        reason: Set(reason.to_owned()),
        created_at: Set(Utc::now()),
        idempotency_key: Set(key),
        lines: Set(encode_refund_lines(lines)),
        ..Default::default()
    }
}

/// Every unit of `items` not refunded yet, as refund lines (`restock`: back on the shelf).
fn unrefunded(items: &[order_item::Model], restock: bool) -> Vec<RefundedItem> {
    items.iter().map(|i| RefundedItem { item_id: i.id, quantity: i.quantity - i.refunded_quantity, restock }).filter(|l| l.quantity > 0).collect()
}

/// Cancels what the caller has not shipped of an order with other sellers' items (a seller:
/// their share; an admin: every share not sent), saying why. The order has one payment and
/// the provider captures it once, so its amount is captured (if no shipment did so yet) and
/// the share's lines are refunded from it, their units back on the shelves they came from;
/// when no share is left to ship, the rest (shipping, tax) goes back too. The share's
/// shipment row says it was cancelled and why, in the transaction that reserves the refund,
/// so two clicks cancel (and refund) once.
pub(super) async fn cancel_share(state: &AppState, user: &CurrentUser, part: &Part, reason: &str) -> Result<(), AppError> {
    let db = &state.db;
    let order_id = part.order.id;
    let sellers = waiting(part);
    if sellers.is_empty() {
        // Every share is shipped or cancelled already; a refund left waiting is sent again.
        finish_unconfirmed(state, order_id).await;
        return Ok(());
    }
    capture_payment(state, order_id, "cancelled").await?;
    let p = captured_payment(db, order_id).await?;
    let changed = || AppError::Conflict(format!("Order {order_id} changed just now. Reload it and try again."));
    let txn = state.writer.begin().await?;
    if !lock_order(&txn, order_id, &[OrderStatus::Paid]).await? {
        drop(txn);
        return Err(captured_then_cancelled(state, order_id).await?.unwrap_or_else(changed));
    }
    if write_shipments(&txn, order_id, &sellers, None, Some(reason)).await? != sellers.len() as u64 {
        return Err(changed());
    }
    // Read again under the order's lock: what is refunded now, which shares are left.
    let o = order::Entity::find_by_id(order_id).one(&txn).await?.ok_or(AppError::Internal)?;
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(order_id)).order_by_asc(order_item::Column::Id).all(&txn).await?;
    let seller_of = super::fulfil::sellers_of(&txn, &items).await?;
    let mine: Vec<order_item::Model> = items.iter().filter(|i| seller_of.get(&i.product_id).is_some_and(|s| sellers.contains(s))).cloned().collect();
    let rows = crate::db::shipment::Entity::find().filter(crate::db::shipment::Column::OrderId.eq(order_id)).all(&txn).await?;
    let none_left = seller_of.values().all(|s| rows.iter().any(|r| r.seller_id == *s && r.cancelled_at.is_some()));
    let lines = unrefunded(&mine, true);
    let kind = if none_left { Kind::Whole } else { Kind::Lines };
    let amount = reserve(&txn, &o, &items, &lines, kind).await?;
    let row = refund_row(&p, amount, "cancelled", None, &lines).insert(&txn).await?;
    let by = if user.role == crate::accounts::Role::Admin { "admin" } else { "seller" };
    crate::checkout::notify::enqueue(&txn, "order.items_cancelled", serde_json::json!({ "order_id": order_id, "refund_id": row.id, "reason": reason, "by": by })).await?;
    settle(&txn, order_id).await?;
    txn.commit().await?;
    tracing::info!(order_id, ?sellers, amount, "a share of an order cancelled");
    complete(state, row).await
}

/// Takes a refund off what is left of the order and of each of its lines, in one transaction
/// of conditional updates, the order's row first (every refund locks in that order): a whole
/// refund only if nothing was refunded since the order was read, a line refund only within
/// the order's total and the line's quantity, an amount only within the order's total. The
/// amount reserved, or a 409 saying why not.
async fn reserve(txn: &crate::db::WriteTxn, o: &order::Model, items: &[order_item::Model], lines: &[RefundedItem], kind: Kind) -> Result<i64, AppError> {
    let whole = kind == Kind::Whole;
    // Paid: a share shipped (or cancelled) before the rest of the order.
    let refundable = [OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered];
    let left = || AppError::Conflict(format!("Only {} of this order is left to refund.", Money::new(std::cmp::max(o.total - o.refunded, 0), &o.currency).display()));
    let item = |id: i64| items.iter().find(|i| i.id == id).ok_or(AppError::Internal);
    let amount = match kind {
        Kind::Whole => o.total - o.refunded,
        Kind::Amount(a) => a,
        Kind::Lines => {
            let mut sum = 0;
            for l in lines {
                sum += item(l.item_id)?.unit_price * l.quantity;
            }
            sum
        }
    };
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
    for l in lines {
        let taken = order_item::Entity::update_many()
            .col_expr(order_item::Column::RefundedQuantity, Expr::col(order_item::Column::RefundedQuantity).add(l.quantity))
            .filter(order_item::Column::Id.eq(l.item_id))
            .filter(Expr::col(order_item::Column::RefundedQuantity).add(l.quantity).lte(Expr::col(order_item::Column::Quantity)))
            .exec(txn)
            .await?;
        if taken.rows_affected != 1 {
            return Err(AppError::Conflict(format!("Fewer than {} of {} are left to refund: it was refunded already.", l.quantity, item(l.item_id)?.sku)));
        }
    }
    Ok(amount)
}

/// What a refund covers: the rest of the order, the lines named, or an amount (minor units).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Whole,
    Lines,
    Amount(i64),
}

impl Kind {
    /// The refund row's `reason`.
    fn as_str(self) -> &'static str {
        match self {
            Kind::Whole => "full",
            Kind::Lines => "lines",
            Kind::Amount(_) => "amount",
        }
    }
}

/// How long a refund may wait for the provider's answer before another request of the order
/// sends it again (with its same key): longer than one call to the provider takes.
const UNCONFIRMED_AFTER_SECS: i64 = 30;

fn unconfirmed_for_long(r: &refund::Model) -> bool {
    r.created_at < Utc::now() - chrono::Duration::seconds(UNCONFIRMED_AFTER_SECS)
}

/// Sends again the order's refunds that never had the provider's answer (cut off by a crash
/// or a lost reply), each with its own key. What cannot be finished now stays reserved.
pub(super) async fn finish_unconfirmed(state: &AppState, order_id: i64) {
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
    // Finished once: whoever records the provider's id first puts the units back and mails.
    let txn = state.writer.begin().await?;
    let recorded = refund::Entity::update_many()
        .col_expr(refund::Column::ProviderRefundId, Expr::value(provider_id))
        .filter(refund::Column::Id.eq(r.id))
        .filter(refund::Column::ProviderRefundId.is_null())
        .exec(&txn)
        .await?;
    let mut restocked = Vec::new();
    if recorded.rows_affected == 1 {
        restocked = restock(&txn, &r).await?;
        crate::checkout::notify::enqueue(&txn, "order.refunded", serde_json::json!({ "order_id": r.order_id, "refund_id": r.id })).await?;
    }
    txn.commit().await?;
    if !restocked.is_empty() {
        crate::checkout::service::announce_stock(state, restocked.into_iter()).await;
    }
    let finished = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Refunded))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(r.order_id))
        .filter(order::Column::Status.is_in([OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered]))
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

/// Puts a refund's restocked units back on the shelves they were taken from (the order's
/// reservations, or a flash sale's allocation), in the transaction that finishes the refund.
/// Units that earlier refunds of the same line put back are skipped, so two refunds of one
/// line refill the warehouses in turn. The products whose stock changed.
async fn restock(txn: &crate::db::WriteTxn, r: &refund::Model) -> Result<Vec<i64>, AppError> {
    use crate::db::inventory;
    use std::collections::HashMap;
    let wanted: Vec<RefundedItem> = decode_refund_lines(&r.lines).into_iter().filter(|l| l.restock).collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let items = order_item::Entity::find().filter(order_item::Column::Id.is_in(wanted.iter().map(|l| l.item_id).collect::<Vec<_>>())).all(txn).await?;
    let mut earlier: HashMap<i64, i64> = HashMap::new();
    for other in refund::Entity::find()
        .filter(refund::Column::OrderId.eq(r.order_id))
        .filter(refund::Column::ProviderRefundId.is_not_null())
        .filter(refund::Column::Id.ne(r.id))
        .all(txn)
        .await?
    {
        for l in decode_refund_lines(&other.lines).into_iter().filter(|l| l.restock) {
            *earlier.entry(l.item_id).or_default() += l.quantity;
        }
    }
    let mut products = Vec::new();
    for (item, from) in sources_of(txn, r.order_id, &items).await? {
        let mut left: i64 = wanted.iter().filter(|l| l.item_id == item.id).map(|l| l.quantity).sum();
        let mut skip = earlier.get(&item.id).copied().unwrap_or(0);
        let mut shelves: Vec<(Option<i64>, i64)> = Vec::new();
        for (warehouse_id, quantity) in from {
            let skipped = std::cmp::min(skip, quantity);
            skip -= skipped;
            let put = std::cmp::min(quantity - skipped, left);
            if put > 0 {
                shelves.push((Some(warehouse_id), put));
                left -= put;
            }
        }
        if left > 0 {
            // No record of where they came from: the variant's first warehouse.
            shelves.push((None, left));
        }
        for (warehouse_id, put) in shelves {
            let mut q = inventory::Entity::update_many()
                .col_expr(inventory::Column::Quantity, Expr::col(inventory::Column::Quantity).add(put))
                .col_expr(inventory::Column::Version, Expr::col(inventory::Column::Version).add(1))
                .filter(inventory::Column::VariantId.eq(item.variant_id));
            q = match warehouse_id {
                Some(w) => q.filter(inventory::Column::WarehouseId.eq(w)),
                None => match inventory::Entity::find().filter(inventory::Column::VariantId.eq(item.variant_id)).order_by_asc(inventory::Column::Id).one(txn).await? {
                    Some(row) => q.filter(inventory::Column::Id.eq(row.id)),
                    None => continue,
                },
            };
            q.exec(txn).await?;
        }
        tracing::info!(order_id = r.order_id, refund_id = r.id, sku = item.sku, "refunded units back in stock");
        products.push(item.product_id);
    }
    Ok(products)
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
    for l in decode_refund_lines(&r.lines) {
        order_item::Entity::update_many()
            .col_expr(order_item::Column::RefundedQuantity, Expr::col(order_item::Column::RefundedQuantity).sub(l.quantity))
            .filter(order_item::Column::Id.eq(l.item_id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

