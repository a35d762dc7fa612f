//! The seller's side of an order: the queue, one order, shipping (the first shipment captures
//! the payment), delivery and cancelling before shipping (refunds are in `refund`).
//!
//! An order with several sellers' items is one share per seller (`Part`): each seller sees,
//! ships, delivers, cancels and refunds only their own lines, as a shipment of their own
//! (`shipments`); an admin acts on every share at once. The order's status follows its
//! shipments (`settle`): shipped when every share not cancelled is, delivered when each of
//! those is.

use crate::ids::OrderId;
use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::cancel::cancel_now;
use super::*;
use crate::accounts::{CurrentUser, Need, Role, authorize};
use crate::db::{order, order_item, payment, product, reservation, shipment, warehouse};
use crate::error::AppError;
use crate::state::AppState;

/// The caller's seller id; `None` for an admin (every seller's share).
fn acting_seller(user: &CurrentUser) -> Result<Option<i64>, AppError> {
    authorize(Some(user), Need::Seller)?;
    if user.role == Role::Admin {
        return Ok(None);
    }
    Ok(Some(user.seller.as_ref().ok_or_else(AppError::forbidden)?.seller_id))
}

/// One order as the caller acts on it: all its items with their sellers, its shipments, and
/// whose shares are the caller's.
pub(super) struct Part {
    pub order: order::Model,
    pub items: Vec<order_item::Model>,
    /// Each item's seller, by product id.
    seller_of: HashMap<i64, i64>,
    pub shipments: Vec<shipment::Model>,
    /// The caller's seller id; `None` for an admin.
    me: Option<i64>,
}

impl Part {
    pub fn is_mine(&self, item: &order_item::Model) -> bool {
        self.me.is_none_or(|me| self.seller_of.get(&item.product_id) == Some(&me))
    }

    /// The caller's items.
    pub fn owned(&self) -> Vec<order_item::Model> {
        self.items.iter().filter(|i| self.is_mine(i)).cloned().collect()
    }

    /// The caller acts on every line (an admin, or a seller whose products are all of it).
    pub fn whole(&self) -> bool {
        self.items.iter().all(|i| self.is_mine(i))
    }

    /// Items of more than one seller are in the order.
    pub fn several_sellers(&self) -> bool {
        self.sellers().len() > 1
    }

    /// The sellers of the order's items, in a fixed order.
    fn sellers(&self) -> BTreeSet<i64> {
        self.items.iter().filter_map(|i| self.seller_of.get(&i.product_id).copied()).collect()
    }

    /// The sellers whose shares the caller acts on.
    fn my_sellers(&self) -> Vec<i64> {
        self.sellers().into_iter().filter(|s| self.me.is_none_or(|me| me == *s)).collect()
    }

    fn shipment_of(&self, seller_id: i64) -> Option<&shipment::Model> {
        self.shipments.iter().find(|s| s.seller_id == seller_id)
    }

    /// What the caller sees as the order's state: their share's while the order is on its way.
    pub fn status(&self) -> OrderStatus {
        let o = &self.order;
        let Some(me) = self.me else { return o.status };
        if !matches!(o.status, OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered) {
            return o.status;
        }
        match self.shipment_of(me) {
            None => OrderStatus::Paid,
            Some(s) if s.cancelled_at.is_some() => OrderStatus::Cancelled,
            Some(s) if s.delivered_at.is_some() => OrderStatus::Delivered,
            Some(_) => OrderStatus::Shipped,
        }
    }

    /// The shares as shipments, the caller's only (an admin: all).
    fn shipment_views(&self, names: &HashMap<i64, String>) -> Vec<ShipmentView> {
        shipment_views(&self.order, &self.items, &self.seller_of, &self.shipments, names).into_iter().filter(|s| self.me.is_none_or(|me| me == s.seller_id)).collect()
    }

    /// The order as the caller's list shows it.
    fn summary(&self, lines: &[OrderLine], names: &HashMap<i64, String>) -> SellerOrder {
        let o = &self.order;
        let address: crate::accounts::AddressInput = serde_json::from_str(&o.shipping_address).unwrap_or_default();
        let whole = self.whole();
        let total = if whole { o.total } else { share_of(self.items.iter().filter(|i| self.is_mine(i))).0 };
        let refunded = self.summary_refunded();
        let shipments = self.shipment_views(names);
        SellerOrder {
            order_id: o.id,
            shared: !whole,
            lines: self.items.iter().zip(lines).filter(|(i, _)| self.is_mine(i)).map(|(_, l)| l.clone()).collect(),
            created_at: crate::db::rfc3339(o.created_at),
            total: Money::new(total, &o.currency),
            refunded: Money::new(refunded, &o.currency),
            tracking_number: shipments.iter().find_map(|s| s.tracking_number.clone()),
            shipments,
            status: self.status(),
            buyer_name: address.name,
            ship_to: [address.city, address.country].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "),
            shipping_method: o.shipping_method,
        }
    }
}

/// The seller of each product in `items`.
pub(super) async fn sellers_of(db: &impl sea_orm::ConnectionTrait, items: &[order_item::Model]) -> Result<HashMap<i64, i64>, AppError> {
    let ids: HashSet<i64> = items.iter().map(|i| i.product_id).collect();
    Ok(product::Entity::find()
        .select_only()
        .column(product::Column::Id)
        .column(product::Column::SellerId)
        .filter(product::Column::Id.is_in(ids.into_iter().collect::<Vec<_>>()))
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Shop names by seller id.
pub(super) async fn seller_names(db: &impl sea_orm::ConnectionTrait, ids: impl IntoIterator<Item = i64>) -> Result<HashMap<i64, String>, AppError> {
    Ok(crate::db::seller::Entity::find()
        .filter(crate::db::seller::Column::Id.is_in(ids.into_iter().collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

/// One view per seller of the order's items (in the order their items come), with what of
/// their share has happened.
pub(super) fn shipment_views(o: &order::Model, items: &[order_item::Model], seller_of: &HashMap<i64, i64>, rows: &[shipment::Model], names: &HashMap<i64, String>) -> Vec<ShipmentView> {
    let mut sellers: Vec<i64> = Vec::new();
    for i in items {
        if let Some(s) = seller_of.get(&i.product_id)
            && !sellers.contains(s)
        {
            sellers.push(*s);
        }
    }
    sellers
        .into_iter()
        .map(|seller_id| {
            let row = rows.iter().find(|r| r.seller_id == seller_id);
            let number = row.and_then(|r| r.tracking_number.clone()).filter(|n| !n.is_empty());
            let (carrier, tracking_url) = match &number {
                Some(n) => tracking_of(row.and_then(|r| r.carrier.as_deref()), n),
                None => (None, None),
            };
            let state = match row {
                None if matches!(o.status, OrderStatus::Cancelled | OrderStatus::Refunded) => ShipmentState::Cancelled,
                None => ShipmentState::ToShip,
                Some(r) if r.cancelled_at.is_some() => ShipmentState::Cancelled,
                Some(r) if r.delivered_at.is_some() => ShipmentState::Delivered,
                Some(_) => ShipmentState::Shipped,
            };
            ShipmentView {
                seller_id,
                seller: names.get(&seller_id).cloned().unwrap_or_default(),
                skus: items.iter().filter(|i| seller_of.get(&i.product_id) == Some(&seller_id)).map(|i| i.sku.clone()).collect(),
                state,
                tracking_number: number,
                carrier,
                tracking_url,
                shipped_at: row.and_then(|r| r.shipped_at).map(rfc3339),
                delivered_at: row.and_then(|r| r.delivered_at).map(rfc3339),
                cancel_reason: row.and_then(|r| r.cancel_reason.clone()),
            }
        })
        .collect()
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

/// What some lines of an order come to, and what of them was refunded: a seller's share of
/// an order with other sellers' items.
fn share_of<'a>(items: impl Iterator<Item = &'a order_item::Model>) -> (i64, i64) {
    items.fold((0, 0), |(total, refunded), i| (total + i.line_total, refunded + i.unit_price * i.refunded_quantity))
}

/// The parts of these orders, in their order.
async fn parts_of(db: &DatabaseConnection, orders: Vec<order::Model>, me: Option<i64>) -> Result<Vec<Part>, AppError> {
    let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.is_in(ids.clone())).order_by_asc(order_item::Column::Id).all(db).await?;
    let seller_of = sellers_of(db, &items).await?;
    let shipments = shipment::Entity::find().filter(shipment::Column::OrderId.is_in(ids)).order_by_asc(shipment::Column::Id).all(db).await?;
    let mut items_by: HashMap<i64, Vec<order_item::Model>> = HashMap::new();
    for i in items {
        items_by.entry(i.order_id).or_default().push(i);
    }
    let mut shipments_by: HashMap<i64, Vec<shipment::Model>> = HashMap::new();
    for s in shipments {
        shipments_by.entry(s.order_id).or_default().push(s);
    }
    Ok(orders
        .into_iter()
        .map(|o| {
            let items = items_by.remove(&o.id).unwrap_or_default();
            let seller_of = items.iter().filter_map(|i| seller_of.get(&i.product_id).map(|s| (i.product_id, *s))).collect();
            Part { shipments: shipments_by.remove(&o.id).unwrap_or_default(), order: o, items, seller_of, me }
        })
        .collect())
}

/// Orders with the caller's products that were paid (and what happened after, cancelled ones
/// included), newest first; `filter` narrows them to one state of the caller's share.
pub async fn seller_orders(db: &DatabaseConnection, user: &CurrentUser, filter: Option<SellerOrderFilter>) -> Result<Vec<SellerOrder>, AppError> {
    const SHOWN: usize = 200;
    let me = acting_seller(user)?;
    let mut items = order_item::Entity::find().select_only().column(order_item::Column::OrderId);
    if let Some(seller_id) = me {
        let products = product::Entity::find().select_only().column(product::Column::Id).filter(product::Column::SellerId.eq(seller_id)).into_tuple::<i64>().all(db).await?;
        items = items.filter(order_item::Column::ProductId.is_in(products));
    }
    let order_ids: HashSet<i64> = items.into_tuple::<i64>().all(db).await?.into_iter().collect();
    // The order states a share in the wanted state can be part of (a share ships before its order does).
    let on_its_way = [OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered];
    let statuses: Vec<OrderStatus> = match filter {
        None => vec![OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered, OrderStatus::Refunded, OrderStatus::Cancelled],
        Some(SellerOrderFilter::ToShip) => vec![OrderStatus::Paid],
        Some(SellerOrderFilter::Shipped | SellerOrderFilter::Delivered) => on_its_way.to_vec(),
        Some(SellerOrderFilter::Cancelled) => vec![OrderStatus::Cancelled, OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered, OrderStatus::Refunded],
        Some(SellerOrderFilter::Refunded) => vec![OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered, OrderStatus::Refunded],
    };
    let mut query = order::Entity::find().filter(order::Column::Id.is_in(order_ids.into_iter().collect::<Vec<_>>())).filter(order::Column::Status.is_in(statuses));
    if filter == Some(SellerOrderFilter::Refunded) {
        query = query.filter(order::Column::Refunded.gt(0));
    }
    // Shares are filtered below: read more than are shown.
    let mut orders = query.order_by_desc(order::Column::CreatedAt).order_by_desc(order::Column::Id).limit(SHOWN as u64 * 5).all(db).await?;
    // A cancelled order is listed only if it had been paid (not one the shopper left unpaid).
    let cancelled: Vec<i64> = orders.iter().filter(|o| o.status == OrderStatus::Cancelled).map(|o| o.id).collect();
    if !cancelled.is_empty() {
        let paid = once_paid(db, cancelled).await?;
        orders.retain(|o| o.status != OrderStatus::Cancelled || paid.contains(&o.id));
    }
    let mut parts = parts_of(db, orders, me).await?;
    parts.retain(|p| {
        let (status, refunded) = (p.status(), p.summary_refunded());
        match filter {
            None => true,
            Some(SellerOrderFilter::ToShip) => status == OrderStatus::Paid,
            Some(SellerOrderFilter::Shipped) => status == OrderStatus::Shipped,
            Some(SellerOrderFilter::Delivered) => status == OrderStatus::Delivered,
            Some(SellerOrderFilter::Cancelled) => status == OrderStatus::Cancelled,
            Some(SellerOrderFilter::Refunded) => refunded > 0,
        }
    });
    parts.truncate(SHOWN);
    let all_items: Vec<order_item::Model> = parts.iter().flat_map(|p| p.items.iter().cloned()).collect();
    let mut lines = lines_of(db, &all_items).await?.into_iter();
    let names = seller_names(db, parts.iter().flat_map(|p| p.sellers())).await?;
    Ok(parts
        .iter()
        .map(|p| {
            let mine: Vec<OrderLine> = lines.by_ref().take(p.items.len()).collect();
            p.summary(&mine, &names)
        })
        .collect())
}

impl Part {
    /// What of the caller's share was refunded.
    fn summary_refunded(&self) -> i64 {
        if self.whole() { self.order.refunded } else { share_of(self.items.iter().filter(|i| self.is_mine(i))).1 }
    }
}

/// An order the caller may see (some of it is theirs and it was paid): 404 otherwise, the
/// same answer as for an order that does not exist.
pub(super) async fn visible(db: &DatabaseConnection, user: &CurrentUser, order_id: i64) -> Result<Part, AppError> {
    let me = acting_seller(user)?;
    let not_found = || AppError::not_found(format!("There is no order {order_id} with your products."));
    let o = order::Entity::find_by_id(order_id).one(db).await?.ok_or_else(not_found)?;
    let seen = match o.status {
        OrderStatus::Pending | OrderStatus::Expired => false,
        OrderStatus::Cancelled => once_paid(db, vec![order_id]).await?.contains(&order_id),
        _ => true,
    };
    let part = parts_of(db, vec![o], me).await?.pop().ok_or_else(not_found)?;
    if !seen || !part.items.iter().any(|i| part.is_mine(i)) {
        return Err(not_found());
    }
    Ok(part)
}

/// Everything a seller needs to pack, ship or unwind one order (their share of it).
pub async fn seller_order(db: &DatabaseConnection, user: &CurrentUser, OrderId(order_id): OrderId) -> Result<SellerOrderDetail, AppError> {
    let part = visible(db, user, order_id).await?;
    let o = &part.order;
    let lines = lines_of(db, &part.items).await?;
    let names = seller_names(db, part.sellers()).await?;
    let summary = part.summary(&lines, &names);
    let owned = part.owned();
    let whole = part.whole();
    let buyer_email = crate::db::user::Entity::find_by_id(o.user_id).one(db).await?.map(|u| u.email).unwrap_or_default();
    let payments = payment::Entity::find().filter(payment::Column::OrderId.eq(order_id)).order_by_asc(payment::Column::Id).all(db).await?;
    let paid = payments.iter().rev().find(|p| p.state != PaymentState::Failed && p.state != PaymentState::Created);
    // A share sees the refunds of its own lines only, never an amount taken off the whole order.
    let mut refunds: Vec<RefundView> = refunds_of(db, order_id, &owned).await?.into_iter().filter(|r| whole || !r.lines.is_empty()).collect();
    if !whole {
        for r in &mut refunds {
            let amount = r.lines.iter().map(|l| owned.iter().find(|i| i.sku == l.sku).map_or(0, |i| i.unit_price * l.quantity)).sum();
            r.amount = Money::new(amount, &o.currency);
        }
    }
    let mut timeline = vec![TimelineEntry { at: rfc3339(o.created_at), what: "Placed".to_owned() }];
    if let Some(p) = paid {
        let what = if whole { format!("Paid: {} authorized", Money::new(p.amount, &p.currency).display()) } else { "Paid".to_owned() };
        timeline.push(TimelineEntry { at: rfc3339(p.created_at), what });
    }
    // An admin reads whose parcel each step is; a seller reads only their own.
    let whose = |s: &ShipmentView| if part.me.is_none() && summary.shipments.len() > 1 { format!(" ({})", s.seller) } else { String::new() };
    for s in &summary.shipments {
        if let (Some(at), Some(number)) = (&s.shipped_at, &s.tracking_number) {
            let with = s.carrier.as_deref().map(|c| format!(" with {c}")).unwrap_or_default();
            timeline.push(TimelineEntry { at: at.clone(), what: format!("Shipped{}{with}: tracking {number}", whose(s)) });
        }
        if let Some(at) = &s.delivered_at {
            timeline.push(TimelineEntry { at: at.clone(), what: format!("Delivered{}", whose(s)) });
        }
        if let Some(row) = part.shipment_of(s.seller_id)
            && let Some(at) = row.cancelled_at
        {
            let why = s.cancel_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            let what = if part.me.is_some() { "Your items cancelled".to_owned() } else { format!("{}'s items cancelled", s.seller) };
            timeline.push(TimelineEntry { at: rfc3339(at), what: format!("{what}{why}") });
        }
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
    let first = summary.shipments.iter().find(|s| s.tracking_number.is_some());
    Ok(SellerOrderDetail {
        buyer_email,
        shipping_address: serde_json::from_str(&o.shipping_address).unwrap_or_default(),
        subtotal: if whole { Money::new(o.subtotal, &o.currency) } else { summary.total.clone() },
        shipping: Money::new(if whole { o.shipping } else { 0 }, &o.currency),
        tax: Money::new(if whole { o.tax } else { 0 }, &o.currency),
        picks: picks_of(db, o, &owned).await?,
        payment: paid.map(|p| p.state),
        carrier: first.and_then(|s| s.carrier.clone()),
        tracking_url: first.and_then(|s| s.tracking_url.clone()),
        timeline,
        refunds,
        cancelled_by: o.cancelled_by.clone(),
        cancel_reason: o.cancel_reason.clone().or_else(|| part.me.and_then(|me| part.shipment_of(me)).and_then(|s| s.cancel_reason.clone())),
        order: summary,
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

/// "Order 7 is shipped" for the caller of a whole order, "Your items in order 7 are shipped"
/// for a share (`are`: the verb for many, which `Order` turns into one).
fn said(part: &Part, are: &str, what: impl std::fmt::Display) -> String {
    if part.whole() {
        let is = match are {
            "are" => "is",
            "have" => "has",
            other => other,
        };
        format!("Order {} {is} {what}", part.order.id)
    } else {
        format!("Your items in order {} {are} {what}", part.order.id)
    }
}

/// A seller (or an admin) cancels what they have not shipped of a paid order, saying why. A
/// whole order: the authorization is voided, the stock returns once, the shopper gets a mail
/// with the reason. A share of an order with other sellers' items: `cancel_share`.
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
    let part = visible(db, user, order_id).await?;
    match (part.order.status, part.status()) {
        (_, OrderStatus::Cancelled) => {
            // Cancelling twice is cancelling once; a refund it left waiting is sent again.
            super::refund::finish_unconfirmed(state, order_id).await;
            return one(db, user, order_id).await;
        }
        (OrderStatus::Paid, OrderStatus::Paid) => {}
        (_, OrderStatus::Shipped | OrderStatus::Delivered) => {
            let them = if part.whole() { "it" } else { "them" };
            return Err(AppError::Conflict(format!("{}: refund {them} instead.", said(&part, "have", "shipped and cannot be cancelled"))));
        }
        (_, status) => return Err(AppError::Conflict(format!("{}.", said(&part, "are", format!("{status} and cannot be cancelled"))))),
    }
    if !(part.whole() && part.shipments.is_empty()) {
        if let Err(e) = super::refund::cancel_share(state, user, &part, reason).await {
            // The same cancel twice at once: the one that lost the race answers as the other.
            if matches!(e, AppError::Conflict(_)) && visible(db, user, order_id).await?.status() == OrderStatus::Cancelled {
                return one(db, user, order_id).await;
            }
            return Err(e);
        }
        return one(db, user, order_id).await;
    }
    let by = if user.role == crate::accounts::Role::Admin { "admin" } else { "seller" };
    if !cancel_now(state, &part.order, by, Some(reason)).await? {
        let now = order::Entity::find_by_id(order_id).one(db).await?.map(|o| o.status);
        if now != Some(OrderStatus::Cancelled) {
            return Err(AppError::Conflict(format!("Order {order_id} changed just now ({}). Reload it and try again.", now.map(|s| s.label()).unwrap_or("gone"))));
        }
    }
    one(db, user, order_id).await
}

/// The sellers among `part`'s shares the caller acts on that have not shipped or cancelled yet.
pub(super) fn waiting(part: &Part) -> Vec<i64> {
    part.my_sellers().into_iter().filter(|s| part.shipment_of(*s).is_none()).collect()
}

/// Captures what the order's authorized payments hold (the first shipment or share cancel of
/// an order does it; the payment is one, the provider captures it once): a 409 when the
/// provider does not, and nothing else done.
pub(super) async fn capture_payment(state: &AppState, order_id: i64, doing: &str) -> Result<(), AppError> {
    let db = &state.db;
    for p in payment::Entity::find().filter(payment::Column::OrderId.eq(order_id)).filter(payment::Column::State.eq(PaymentState::Authorized)).all(db).await? {
        let Some(intent) = p.intent_id.clone() else { continue };
        if let Err(e) = state.stores.payments.capture(&intent, &format!("{}-capture", p.idempotency_key)).await {
            tracing::error!(error = %e, order_id, "capturing at {doing}");
            return Err(AppError::Conflict(format!("The payment could not be captured just now, so nothing was {doing}. Try again in a minute.")));
        }
        payment::Entity::update_many()
            .col_expr(payment::Column::State, Expr::value(PaymentState::Captured))
            .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(payment::Column::Id.eq(p.id))
            .filter(payment::Column::State.eq(PaymentState::Authorized))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Takes the order's row in `txn` if its status is one of `from` (false otherwise): what
/// changes one share waits for what changes another, so `settle` sees every share as it is.
pub(super) async fn lock_order(txn: &crate::db::WriteTxn, order_id: i64, from: &[OrderStatus]) -> Result<bool, AppError> {
    let taken = order::Entity::update_many()
        .col_expr(order::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.is_in(from.to_vec()))
        .exec(txn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Writes a shipment row for each of `sellers` (shipped with a number, or cancelled with a
/// reason) unless they have one; the rows written.
pub(super) async fn write_shipments(txn: &crate::db::WriteTxn, order_id: i64, sellers: &[i64], shipped: Option<(&str, Option<&str>)>, reason: Option<&str>) -> Result<u64, AppError> {
    let now = Utc::now();
    let rows = sellers.iter().map(|s| shipment::ActiveModel {
        order_id: sea_orm::Set(order_id),
        seller_id: sea_orm::Set(*s),
        tracking_number: sea_orm::Set(shipped.map(|(n, _)| n.to_owned())),
        carrier: sea_orm::Set(shipped.and_then(|(_, c)| c.map(str::to_owned))),
        shipped_at: sea_orm::Set(shipped.map(|_| now)),
        delivered_at: sea_orm::Set(None),
        cancelled_at: sea_orm::Set(shipped.is_none().then_some(now)),
        cancel_reason: sea_orm::Set(reason.map(str::to_owned)),
        created_at: sea_orm::Set(now),
        updated_at: sea_orm::Set(now),
        ..Default::default()
    });
    let written = shipment::Entity::insert_many(rows)
        .on_conflict(OnConflict::columns([shipment::Column::OrderId, shipment::Column::SellerId]).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
    Ok(written)
}

/// Brings the order's status in line with its shipments, in the transaction that changed them
/// (the order's row taken by `lock_order`): `shipped` once every share not cancelled has
/// shipped, `delivered` once each of those is. The order's tracking number and carrier are
/// its first shipment's. Nothing while a share waits, or when every share was cancelled.
pub(super) async fn settle(txn: &crate::db::WriteTxn, order_id: i64) -> Result<(), AppError> {
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(order_id)).all(txn).await?;
    let sellers: BTreeSet<i64> = sellers_of(txn, &items).await?.into_values().collect();
    let rows = shipment::Entity::find().filter(shipment::Column::OrderId.eq(order_id)).order_by_asc(shipment::Column::Id).all(txn).await?;
    let live: Vec<&shipment::Model> = rows.iter().filter(|r| r.cancelled_at.is_none()).collect();
    if live.is_empty() || !sellers.iter().all(|s| rows.iter().any(|r| r.seller_id == *s)) {
        return Ok(());
    }
    let delivered = live.iter().all(|r| r.delivered_at.is_some());
    let (to, from) = if delivered { (OrderStatus::Delivered, vec![OrderStatus::Paid, OrderStatus::Shipped]) } else { (OrderStatus::Shipped, vec![OrderStatus::Paid]) };
    order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to))
        .col_expr(order::Column::TrackingNumber, Expr::value(live[0].tracking_number.clone()))
        .col_expr(order::Column::Carrier, Expr::value(live[0].carrier.clone()))
        .col_expr(order::Column::ShippedAt, Expr::value(live.iter().filter_map(|r| r.shipped_at).max()))
        .col_expr(order::Column::DeliveredAt, Expr::value(if delivered { live.iter().filter_map(|r| r.delivered_at).max() } else { None }))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.is_in(from))
        .exec(txn)
        .await?;
    Ok(())
}

/// Ships what the caller has to send of a paid order (a seller: their share; an admin: every
/// share not sent yet, as one parcel): the payment is captured first (a failed capture ships
/// nothing), then the shipment is written with its tracking number and the order follows.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn ship(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId, tracking: &str, carrier: &str) -> Result<SellerOrder, AppError> {
    let db = &state.db;
    let tracking = tracking.trim();
    if tracking.is_empty() || tracking.len() > 64 || !tracking.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ') {
        return Err(AppError::bad("tracking_number", "Enter the carrier's tracking number (letters, digits, dashes; up to 64)."));
    }
    let carrier = crate::orders::carriers::parse(carrier).map_err(|m| AppError::bad("carrier", m))?;
    let part = visible(db, user, order_id).await?;
    let sellers = waiting(&part);
    if part.order.status != OrderStatus::Paid || sellers.is_empty() {
        return Err(AppError::Conflict(format!("{}.", said(&part, "are", format!("{} and cannot be shipped", part.status())))));
    }
    capture_payment(state, order_id, "shipped").await?;
    let txn = state.writer.begin().await?;
    let changed = || AppError::Conflict(format!("Order {order_id} changed just now. Reload it and try again."));
    if !lock_order(&txn, order_id, &[OrderStatus::Paid]).await? {
        drop(txn);
        return Err(super::refund::captured_then_cancelled(state, order_id).await?.unwrap_or_else(changed));
    }
    if write_shipments(&txn, order_id, &sellers, Some((tracking, carrier)), None).await? == 0 {
        return Err(changed());
    }
    crate::checkout::notify::enqueue(&txn, "order.shipped", serde_json::json!({ "order_id": order_id, "tracking_number": tracking, "part": part.several_sellers() })).await?;
    settle(&txn, order_id).await?;
    txn.commit().await?;
    one(db, user, order_id).await
}

/// Marks what the caller shipped of an order delivered; the order is delivered once every
/// share sent is.
pub async fn deliver(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId) -> Result<SellerOrder, AppError> {
    let db = &state.db;
    let part = visible(db, user, order_id).await?;
    let sent: Vec<i64> = part.my_sellers().into_iter().filter(|s| part.shipment_of(*s).is_some_and(|r| r.shipped_at.is_some() && r.delivered_at.is_none())).collect();
    if sent.is_empty() || !matches!(part.order.status, OrderStatus::Paid | OrderStatus::Shipped) {
        return Err(AppError::Conflict(format!("{}.", said(&part, "are", format!("{} and cannot be marked delivered", part.status())))));
    }
    let now = Utc::now();
    let txn = state.writer.begin().await?;
    if !lock_order(&txn, order_id, &[OrderStatus::Paid, OrderStatus::Shipped]).await? {
        return Err(AppError::Conflict(format!("Order {order_id} changed just now. Reload it and try again.")));
    }
    shipment::Entity::update_many()
        .col_expr(shipment::Column::DeliveredAt, Expr::value(now))
        .col_expr(shipment::Column::UpdatedAt, Expr::value(now))
        .filter(shipment::Column::OrderId.eq(order_id))
        .filter(shipment::Column::SellerId.is_in(sent))
        .filter(shipment::Column::ShippedAt.is_not_null())
        .filter(shipment::Column::DeliveredAt.is_null())
        .exec(&txn)
        .await?;
    settle(&txn, order_id).await?;
    txn.commit().await?;
    one(db, user, order_id).await
}

/// The order as the caller's list shows it.
pub(super) async fn one(db: &DatabaseConnection, user: &CurrentUser, order_id: i64) -> Result<SellerOrder, AppError> {
    let part = visible(db, user, order_id).await?;
    let lines = lines_of(db, &part.items).await?;
    let names = seller_names(db, part.sellers()).await?;
    Ok(part.summary(&lines, &names))
}
