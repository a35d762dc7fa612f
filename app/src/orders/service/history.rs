//! The shopper's orders: one order as its page shows it, and the list.

use crate::ids::OrderId;
use super::*;

/// The caller's order; `window` is the cancel window in minutes.
pub async fn order_view(db: &DatabaseConnection, user_id: i64, OrderId(order_id): OrderId, window: i64) -> Result<OrderView, AppError> {
    let o = own_order(db, user_id, order_id).await?;
    let mut cancel_until = cancellable_until(&o, window).filter(|t| *t > Utc::now()).map(rfc3339);
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(o.id)).order_by_asc(order_item::Column::Id).all(db).await?;
    let r = result_of(&o);
    let seller_of = super::fulfil::sellers_of(db, &items).await?;
    let rows = crate::db::shipment::Entity::find().filter(crate::db::shipment::Column::OrderId.eq(o.id)).order_by_asc(crate::db::shipment::Column::Id).all(db).await?;
    let names = super::fulfil::seller_names(db, seller_of.values().copied()).await?;
    let shipments = super::fulfil::shipment_views(&o, &items, &seller_of, &rows, &names);
    if !rows.is_empty() {
        // A share has shipped or was cancelled by its seller: no more cancelling here.
        cancel_until = None;
    }
    let first = shipments.iter().find(|s| s.tracking_number.is_some());
    let on_its_way = matches!(o.status, OrderStatus::Pending | OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered);
    Ok(OrderView {
        order_id: o.id,
        status: o.status,
        lines: lines_of(db, &items).await?,
        refunds: refunds_of(db, o.id, &items).await?,
        refunded: Money::new(o.refunded, &o.currency),
        subtotal: Money::new(o.subtotal, &o.currency),
        shipping: Money::new(o.shipping, &o.currency),
        tax: Money::new(o.tax, &o.currency),
        total: Money::new(o.total, &o.currency),
        shipping_method: o.shipping_method,
        shipping_address: serde_json::from_str(&o.shipping_address).unwrap_or_default(),
        created_at: rfc3339(o.created_at),
        expires_at: (o.status == OrderStatus::Pending).then_some(o.expires_at).flatten().map(rfc3339),
        cancellable_until: cancel_until,
        estimated_delivery: on_its_way.then_some(r.estimated_delivery),
        tracking_number: first.and_then(|s| s.tracking_number.clone()),
        carrier: first.and_then(|s| s.carrier.clone()),
        tracking_url: first.and_then(|s| s.tracking_url.clone()),
        cancel_reason: o.cancel_reason.clone(),
        shipments,
    })
}

pub async fn order_list(db: &DatabaseConnection, user_id: i64) -> Result<Vec<OrderSummary>, AppError> {
    let orders = order::Entity::find()
        .filter(order::Column::UserId.eq(user_id))
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .all(db)
        .await?;
    let items = order_item::Entity::find()
        .filter(order_item::Column::OrderId.is_in(orders.iter().map(|o| o.id).collect::<Vec<_>>()))
        .all(db)
        .await?;
    Ok(orders
        .into_iter()
        .map(|o| OrderSummary {
            order_id: o.id,
            items: items.iter().filter(|i| i.order_id == o.id).map(|i| i.quantity).sum(),
            total: Money::new(o.total, &o.currency),
            created_at: rfc3339(o.created_at),
            status: o.status,
        })
        .collect())
}
