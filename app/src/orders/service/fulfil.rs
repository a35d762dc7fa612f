//! The seller's side of an order: the queue, shipping (which captures the payment), delivery
//! and refunds (all, or some lines). A seller fulfils orders made only of their own products;
//! an order mixing sellers is fulfilled by an admin.

use crate::ids::OrderId;
use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::*;
use crate::accounts::{CurrentUser, Need, Role, authorize};
use crate::db::{order, order_item, payment, product, refund};
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

async fn refunded_amount(db: &DatabaseConnection, order_id: i64) -> Result<i64, AppError> {
    Ok(refund::Entity::find().filter(refund::Column::OrderId.eq(order_id)).all(db).await?.iter().map(|r| r.amount).sum())
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
    let refunds = refund::Entity::find().filter(refund::Column::OrderId.is_in(orders.iter().map(|o| o.id).collect::<Vec<_>>())).all(db).await?;
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
                refunded: Money::new(refunds.iter().filter(|r| r.order_id == o.id).map(|r| r.amount).sum(), &o.currency),
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

/// Refunds a shipped or delivered order, in full (what is left) or by lines. `client_key`
/// (the request's Idempotency-Key) makes a retried request return the first refund.
#[tracing::instrument(skip(state, user, req), fields(user = user.user_id))]
pub async fn refund_order(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId, req: &RefundRequest, client_key: Option<&str>) -> Result<SellerOrder, AppError> {
    let db = &state.db;
    let (o, items) = fulfillable(db, user, order_id).await?;
    let key = match client_key {
        Some(k) => format!("sellout-order-{order_id}-refund-{}", crate::checkout::service::check_idempotency_key(Some(k))?),
        None => format!("sellout-order-{order_id}-refund-{}", refund::Entity::find().filter(refund::Column::OrderId.eq(order_id)).all(db).await?.len() + 1),
    };
    if refund::Entity::find().filter(refund::Column::IdempotencyKey.eq(key.clone())).one(db).await?.is_some() {
        return one(db, user, order_id).await;
    }
    if !matches!(o.status, OrderStatus::Shipped | OrderStatus::Delivered) {
        let hint = if o.status == OrderStatus::Paid { " It is not shipped yet: cancel it instead, which releases the card authorization." } else { "" };
        return Err(AppError::Conflict(format!("Order {order_id} is {} and cannot be refunded.{hint}", o.status)));
    }
    let already = refunded_amount(db, order_id).await?;
    let left = o.total - already;
    let amount = if req.lines.is_empty() {
        left
    } else {
        let mut sum = 0;
        for (n, l) in req.lines.iter().enumerate() {
            let item = items.iter().find(|i| i.sku == l.sku).ok_or_else(|| AppError::bad(&format!("lines[{n}].sku"), format!("SKU {} is not in this order.", l.sku)))?;
            if l.quantity < 1 || l.quantity > item.quantity {
                return Err(AppError::bad(&format!("lines[{n}].quantity"), format!("Refund 1 to {} of {}.", item.quantity, l.sku)));
            }
            sum += item.unit_price * l.quantity;
        }
        sum
    };
    if amount <= 0 || amount > left {
        return Err(AppError::Conflict(format!("Only {} of this order is left to refund.", Money::new(left.max(0), &o.currency).display())));
    }
    let p = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .filter(payment::Column::State.is_in([PaymentState::Captured, PaymentState::Settled]))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Conflict("This order has no captured payment to refund.".to_owned()))?;
    let intent = p.intent_id.clone().ok_or(AppError::Internal)?;
    let provider_id = state.stores.payments.refund(&intent, amount, &key).await.map_err(|e| {
        tracing::error!(error = %e, order_id, "refund at the provider");
        AppError::Conflict("The refund could not be made just now. Try again in a minute.".to_owned())
    })?;
    let row = refund::ActiveModel {
        payment_id: Set(p.id),
        order_id: Set(order_id),
        amount: Set(amount),
        currency: Set(o.currency.clone()),
        provider_refund_id: Set(Some(provider_id)),
        reason: Set(if req.lines.is_empty() { "full".into() } else { "lines".into() }),
        created_at: Set(Utc::now()),
        idempotency_key: Set(Some(key)),
        ..Default::default()
    };
    match row.insert(db).await {
        Ok(_) => {}
        // The same request won a race: its refund stands, this one is the same.
        Err(e) if crate::db::is_unique_violation(&e) => return one(db, user, order_id).await,
        Err(e) => return Err(e.into()),
    }
    if already + amount == o.total {
        let now = Utc::now();
        order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(OrderStatus::Refunded))
            .col_expr(order::Column::UpdatedAt, Expr::value(now))
            .filter(order::Column::Id.eq(order_id))
            .exec(db)
            .await?;
        payment::Entity::update_many()
            .col_expr(payment::Column::State, Expr::value(PaymentState::Refunded))
            .col_expr(payment::Column::UpdatedAt, Expr::value(now))
            .filter(payment::Column::Id.eq(p.id))
            .exec(db)
            .await?;
    }
    one(db, user, order_id).await
}

async fn one(db: &DatabaseConnection, user: &CurrentUser, order_id: i64) -> Result<SellerOrder, AppError> {
    seller_orders(db, user)
        .await?
        .into_iter()
        .find(|o| o.order_id == order_id)
        .ok_or_else(|| AppError::not_found(format!("There is no order {order_id} with your products.")))
}
