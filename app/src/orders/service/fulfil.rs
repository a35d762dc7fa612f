//! The seller's side of an order: the queue, one order, shipping (which captures the payment),
//! delivery and cancelling before shipping (refunds are in `refund`). A seller fulfils orders made only of their own products;
//! an order mixing sellers is fulfilled by an admin.

use crate::ids::OrderId;
use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::cancel::cancel_now;
use super::*;
use crate::accounts::{CurrentUser, Need, Role, authorize};
use crate::db::{order, order_item, payment, product, reservation, warehouse};
use crate::error::AppError;
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

/// Order ids where a payment held the money at some point: a cancelled one of these was paid
/// (a seller lists it), the others never were.
async fn once_paid(db: &DatabaseConnection, order_ids: Vec<i64>) -> Result<HashSet<i64>, AppError> {
    let held = [PaymentState::Authorized, PaymentState::Captured, PaymentState::Settled, PaymentState::Voided, PaymentState::Refunded];
    Ok(payment::Entity::find()
        .select_only()
        .column(payment::Column::OrderId)
        .filter(payment::Column::OrderId.is_in(order_ids))
        .filter(payment::Column::State.is_in(held))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The order as the seller's list shows it: the caller's lines (`mine`: none for an admin).
fn summary_of(o: &order::Model, items: &[&order_item::Model], lines: &[OrderLine], mine: &Option<HashSet<i64>>) -> SellerOrder {
    let is_mine = |product_id: i64| mine.as_ref().is_none_or(|m| m.contains(&product_id));
    let address: crate::accounts::AddressInput = serde_json::from_str(&o.shipping_address).unwrap_or_default();
    let whole = items.iter().all(|i| is_mine(i.product_id));
    let (total, refunded) = if whole { (o.total, o.refunded) } else { share_of(items.iter().copied().filter(|i| is_mine(i.product_id))) };
    SellerOrder {
        order_id: o.id,
        fulfillable: whole,
        lines: lines.iter().filter(|l| is_mine(l.product_id)).cloned().collect(),
        created_at: crate::db::rfc3339(o.created_at),
        total: Money::new(total, &o.currency),
        refunded: Money::new(refunded, &o.currency),
        tracking_number: o.tracking_number.clone(),
        status: o.status,
        buyer_name: address.name,
        ship_to: [address.city, address.country].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "),
        shipping_method: o.shipping_method.clone(),
    }
}

/// What some lines of an order come to, and what of them was refunded: a seller's share of
/// an order with other sellers' items.
fn share_of<'a>(items: impl Iterator<Item = &'a order_item::Model>) -> (i64, i64) {
    items.fold((0, 0), |(total, refunded), i| (total + i.line_total, refunded + i.unit_price * i.refunded_quantity))
}

/// Orders with the caller's products that were paid (and what happened after, cancelled ones
/// included), newest first; `filter` narrows them to one state.
pub async fn seller_orders(db: &DatabaseConnection, user: &CurrentUser, filter: Option<SellerOrderFilter>) -> Result<Vec<SellerOrder>, AppError> {
    let mine = own_products(db, user).await?;
    let mut items = order_item::Entity::find().select_only().column(order_item::Column::OrderId);
    if let Some(ids) = &mine {
        items = items.filter(order_item::Column::ProductId.is_in(ids.iter().copied().collect::<Vec<_>>()));
    }
    let order_ids: HashSet<i64> = items.into_tuple::<i64>().all(db).await?.into_iter().collect();
    let statuses: Vec<OrderStatus> = match filter {
        None => vec![OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered, OrderStatus::Refunded, OrderStatus::Cancelled],
        Some(SellerOrderFilter::ToShip) => vec![OrderStatus::Paid],
        Some(SellerOrderFilter::Shipped) => vec![OrderStatus::Shipped],
        Some(SellerOrderFilter::Delivered) => vec![OrderStatus::Delivered],
        Some(SellerOrderFilter::Cancelled) => vec![OrderStatus::Cancelled],
        Some(SellerOrderFilter::Refunded) => vec![OrderStatus::Shipped, OrderStatus::Delivered, OrderStatus::Refunded],
    };
    let mut query = order::Entity::find().filter(order::Column::Id.is_in(order_ids.into_iter().collect::<Vec<_>>())).filter(order::Column::Status.is_in(statuses));
    if filter == Some(SellerOrderFilter::Refunded) {
        query = query.filter(order::Column::Refunded.gt(0));
    }
    let mut orders = query.order_by_desc(order::Column::CreatedAt).order_by_desc(order::Column::Id).limit(200).all(db).await?;
    // A cancelled order is listed only if it had been paid (not one the shopper left unpaid).
    let cancelled: Vec<i64> = orders.iter().filter(|o| o.status == OrderStatus::Cancelled).map(|o| o.id).collect();
    if !cancelled.is_empty() {
        let paid = once_paid(db, cancelled).await?;
        orders.retain(|o| o.status != OrderStatus::Cancelled || paid.contains(&o.id));
    }
    let all_items = order_item::Entity::find()
        .filter(order_item::Column::OrderId.is_in(orders.iter().map(|o| o.id).collect::<Vec<_>>()))
        .order_by_asc(order_item::Column::Id)
        .all(db)
        .await?;
    let all_lines = lines_of(db, &all_items).await?;
    let mut by_order: HashMap<i64, (Vec<&order_item::Model>, Vec<OrderLine>)> = HashMap::new();
    for (i, l) in all_items.iter().zip(all_lines) {
        let entry = by_order.entry(i.order_id).or_default();
        entry.0.push(i);
        entry.1.push(l);
    }
    Ok(orders
        .iter()
        .map(|o| {
            let (items, lines) = by_order.remove(&o.id).unwrap_or_default();
            summary_of(o, &items, &lines, &mine)
        })
        .collect())
}

/// An order the caller may see (some of it is theirs and it was paid): 404 otherwise, the
/// same answer as for an order that does not exist.
async fn visible(db: &DatabaseConnection, user: &CurrentUser, order_id: i64) -> Result<(order::Model, Vec<order_item::Model>, Option<HashSet<i64>>), AppError> {
    let mine = own_products(db, user).await?;
    let not_found = || AppError::not_found(format!("There is no order {order_id} with your products."));
    let o = order::Entity::find_by_id(order_id).one(db).await?.ok_or_else(not_found)?;
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(order_id)).order_by_asc(order_item::Column::Id).all(db).await?;
    let seen = match o.status {
        OrderStatus::Pending | OrderStatus::Expired => false,
        OrderStatus::Cancelled => once_paid(db, vec![order_id]).await?.contains(&order_id),
        _ => true,
    };
    if !seen || mine.as_ref().is_some_and(|m| !items.iter().any(|i| m.contains(&i.product_id))) {
        return Err(not_found());
    }
    Ok((o, items, mine))
}

/// The order, if the caller may fulfil it: 404 when none of it is theirs, 403 when only part.
pub(super) async fn fulfillable(db: &DatabaseConnection, user: &CurrentUser, order_id: i64) -> Result<(order::Model, Vec<order_item::Model>), AppError> {
    let (o, items, mine) = visible(db, user, order_id).await?;
    if let Some(m) = &mine
        && items.iter().any(|i| !m.contains(&i.product_id))
    {
        return Err(AppError::Forbidden("This order also has other sellers' items; an admin fulfils it.".to_owned()));
    }
    Ok((o, items))
}

/// Everything a seller needs to pack, ship or unwind one order.
pub async fn seller_order(db: &DatabaseConnection, user: &CurrentUser, OrderId(order_id): OrderId) -> Result<SellerOrderDetail, AppError> {
    let (o, items, mine) = visible(db, user, order_id).await?;
    let lines = lines_of(db, &items).await?;
    let refs: Vec<&order_item::Model> = items.iter().collect();
    let summary = summary_of(&o, &refs, &lines, &mine);
    let is_mine = |product_id: i64| mine.as_ref().is_none_or(|m| m.contains(&product_id));
    let owned: Vec<order_item::Model> = items.iter().filter(|i| is_mine(i.product_id)).cloned().collect();
    let buyer_email = crate::db::user::Entity::find_by_id(o.user_id).one(db).await?.map(|u| u.email).unwrap_or_default();
    let payments = payment::Entity::find().filter(payment::Column::OrderId.eq(order_id)).order_by_asc(payment::Column::Id).all(db).await?;
    let paid = payments.iter().rev().find(|p| p.state != PaymentState::Failed && p.state != PaymentState::Created);
    let whole = owned.len() == items.len();
    // A share sees the refunds of its own lines only, never an amount taken off the whole order.
    let mut refunds: Vec<RefundView> = refunds_of(db, order_id, &owned).await?.into_iter().filter(|r| whole || !r.lines.is_empty()).collect();
    if !whole {
        for r in &mut refunds {
            let amount = r.lines.iter().map(|l| owned.iter().find(|i| i.sku == l.sku).map_or(0, |i| i.unit_price * l.quantity)).sum();
            r.amount = Money::new(amount, &o.currency);
        }
    }
    let (carrier, tracking_url) = tracking_of(&o);
    let mut timeline = vec![TimelineEntry { at: rfc3339(o.created_at), what: "Placed".to_owned() }];
    if let Some(p) = paid {
        let what = if whole { format!("Paid: {} authorized", Money::new(p.amount, &p.currency).display()) } else { "Paid".to_owned() };
        timeline.push(TimelineEntry { at: rfc3339(p.created_at), what });
    }
    if let Some(at) = o.shipped_at {
        let number = o.tracking_number.clone().unwrap_or_default();
        timeline.push(TimelineEntry { at: rfc3339(at), what: format!("Shipped{}: tracking {number}", carrier.as_deref().map(|c| format!(" with {c}")).unwrap_or_default()) });
    }
    if let Some(at) = o.delivered_at {
        timeline.push(TimelineEntry { at: rfc3339(at), what: "Delivered".to_owned() });
    }
    for r in &refunds {
        timeline.push(TimelineEntry { at: r.created_at.clone(), what: format!("Refunded {}{}", r.amount.display(), if r.confirmed { "" } else { " (waiting for the payment provider)" }) });
    }
    if let Some(at) = o.cancelled_at.or((o.status == OrderStatus::Cancelled).then_some(o.updated_at)) {
        let by = o.cancelled_by.as_deref().unwrap_or("shopper");
        let why = o.cancel_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        timeline.push(TimelineEntry { at: rfc3339(at), what: format!("Cancelled by the {by}{why}") });
    }
    timeline.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(SellerOrderDetail {
        order: summary.clone(),
        buyer_email,
        shipping_address: serde_json::from_str(&o.shipping_address).unwrap_or_default(),
        subtotal: if whole { Money::new(o.subtotal, &o.currency) } else { summary.total.clone() },
        shipping: Money::new(if whole { o.shipping } else { 0 }, &o.currency),
        tax: Money::new(if whole { o.tax } else { 0 }, &o.currency),
        picks: picks_of(db, &o, &owned).await?,
        payment: paid.map(|p| p.state),
        carrier,
        tracking_url,
        timeline,
        refunds,
        cancelled_by: o.cancelled_by.clone(),
        cancel_reason: o.cancel_reason.clone(),
    })
}

/// Where each item's units come from: the warehouses its reservations took them from, or for
/// a flash-sale order the warehouses the sale's units were set aside in (the largest first).
async fn picks_of(db: &DatabaseConnection, o: &order::Model, items: &[order_item::Model]) -> Result<Vec<Pick>, AppError> {
    let warehouses: HashMap<i64, String> = warehouse::Entity::find().all(db).await?.into_iter().map(|w| (w.id, format!("{} ({})", w.name, w.code))).collect();
    let mut picks = Vec::new();
    for (item, from) in sources_of(db, o.id, items).await? {
        let mut left = item.quantity;
        for (warehouse_id, quantity) in from {
            let take = std::cmp::min(left, quantity);
            if take <= 0 {
                break;
            }
            picks.push(Pick { sku: item.sku.clone(), warehouse: warehouses.get(&warehouse_id).cloned().unwrap_or_else(|| format!("warehouse {warehouse_id}")), quantity: take });
            left -= take;
        }
    }
    Ok(picks)
}

/// Each item with the warehouses its units came from, `(warehouse_id, units)` in a fixed order.
pub(super) async fn sources_of<'a>(db: &impl sea_orm::ConnectionTrait, order_id: i64, items: &'a [order_item::Model]) -> Result<Vec<(&'a order_item::Model, Vec<(i64, i64)>)>, AppError> {
    use crate::db::{sale_allocation, sale_hold};
    // One read for the whole order: `(variant, warehouse, units)`, no variant for a sale's shares
    // (a flash-sale order has one item, of the sale's variant).
    let shelves: Vec<(Option<i64>, i64, i64)> = match sale_hold::Entity::find().filter(sale_hold::Column::OrderId.eq(order_id)).one(db).await? {
        Some(h) => sale_allocation::Entity::find()
            .filter(sale_allocation::Column::SaleId.eq(h.sale_id))
            .order_by_desc(sale_allocation::Column::Quantity)
            .order_by_asc(sale_allocation::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|a| (None, a.warehouse_id, a.quantity))
            .collect(),
        None => reservation::Entity::find()
            .filter(reservation::Column::OrderId.eq(order_id))
            .filter(reservation::Column::State.ne(ReservationState::Held))
            .order_by_desc(reservation::Column::Quantity)
            .order_by_asc(reservation::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|r| (Some(r.variant_id), r.warehouse_id, r.quantity))
            .collect(),
    };
    Ok(items
        .iter()
        .map(|item| {
            let from = shelves.iter().filter(|(v, ..)| v.is_none_or(|v| v == item.variant_id)).map(|(_, w, q)| (*w, *q)).collect();
            (item, from)
        })
        .collect())
}

/// A seller (or an admin) cancels a paid order that has not shipped, saying why: the
/// authorization is voided, the stock returns once, the shopper gets a mail with the reason.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn seller_cancel(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId, reason: &str) -> Result<SellerOrder, AppError> {
    let db = &state.db;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::bad("reason", "Say why the order is cancelled (up to 500 characters): the shopper reads it."));
    }
    if let Some(c) = crate::text::unwanted_char(reason, true) {
        return Err(AppError::bad("reason", crate::text::unwanted_message("The reason", c)));
    }
    let (o, _) = fulfillable(db, user, order_id).await?;
    match o.status {
        OrderStatus::Paid => {}
        OrderStatus::Cancelled => return one(db, user, order_id).await,
        OrderStatus::Shipped | OrderStatus::Delivered => {
            return Err(AppError::Conflict(format!("Order {order_id} has shipped and cannot be cancelled: refund it instead.")));
        }
        status => return Err(AppError::Conflict(format!("Order {order_id} is {status} and cannot be cancelled."))),
    }
    let by = if user.role == crate::accounts::Role::Admin { "admin" } else { "seller" };
    if !cancel_now(state, &o, by, Some(reason)).await? {
        let now = order::Entity::find_by_id(order_id).one(db).await?.map(|o| o.status);
        if now != Some(OrderStatus::Cancelled) {
            return Err(AppError::Conflict(format!("Order {order_id} changed just now ({}). Reload it and try again.", now.map(|s| s.label()).unwrap_or("gone"))));
        }
    }
    one(db, user, order_id).await
}

/// Ships a paid order: the payment is captured first (a failed capture ships nothing), then
/// the order moves `paid → shipped` with its tracking number.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn ship(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId, tracking: &str, carrier: &str) -> Result<SellerOrder, AppError> {
    let db = &state.db;
    let tracking = tracking.trim();
    if tracking.is_empty() || tracking.len() > 64 || !tracking.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ') {
        return Err(AppError::bad("tracking_number", "Enter the carrier's tracking number (letters, digits, dashes; up to 64)."));
    }
    let carrier = crate::orders::carriers::parse(carrier).map_err(|m| AppError::bad("carrier", m))?;
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
        .col_expr(order::Column::Carrier, Expr::value(carrier.map(str::to_owned)))
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

/// The order as the caller's list shows it.
pub(super) async fn one(db: &DatabaseConnection, user: &CurrentUser, order_id: i64) -> Result<SellerOrder, AppError> {
    let (o, items, mine) = visible(db, user, order_id).await?;
    let lines = lines_of(db, &items).await?;
    Ok(summary_of(&o, &items.iter().collect::<Vec<_>>(), &lines, &mine))
}
