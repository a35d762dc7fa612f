//! Cancelling an order within the window: stock back exactly once, the authorization voided.

use crate::ids::OrderId;
use sea_orm::sea_query::ExprTrait;

use super::*;

/// Until when the shopper may cancel a paid order themselves.
pub fn cancellable_until(o: &order::Model, window_minutes: i64) -> Option<chrono::DateTime<Utc>> {
    match o.status {
        OrderStatus::Pending => o.expires_at,
        OrderStatus::Paid => Some(o.created_at + Duration::minutes(window_minutes)),
        _ => None,
    }
}

/// Cancels the caller's order: a pending one gives its held stock back; a paid one within the
/// window gives its sold stock back and has its authorization voided. The status change is
/// conditional and carries the stock in the same transaction, so a double cancel (two tabs,
/// two nodes) returns the stock once.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn cancel(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId) -> Result<OrderView, AppError> {
    let db = &state.db;
    let o = own_order(db, user.user_id, order_id).await?;
    if o.status == OrderStatus::Cancelled {
        // Cancelling twice is cancelling once.
        return order_view(db, user.user_id, OrderId(order_id), state.rules.cancel_window_minutes).await;
    }
    if has_shipments(db, order_id).await? {
        return Err(AppError::Conflict(format!(
            "Part of order {order_id} has already shipped or been cancelled by its seller, so it can no longer be cancelled here. Contact the seller for a return."
        )));
    }
    let now = Utc::now();
    match (o.status, cancellable_until(&o, state.rules.cancel_window_minutes)) {
        (OrderStatus::Pending | OrderStatus::Paid, Some(until)) if until > now => {}
        (OrderStatus::Paid, _) => {
            return Err(AppError::Conflict(format!(
                "Order {order_id} can no longer be cancelled here: the {} minutes for that have passed. Contact the seller for a return.",
                state.rules.cancel_window_minutes
            )));
        }
        (status, _) => return Err(AppError::Conflict(format!("Order {order_id} is {status} and cannot be cancelled."))),
    }
    if !cancel_now(state, &o, "shopper", None).await? {
        let now_status = own_order(db, user.user_id, order_id).await?.status;
        if now_status == OrderStatus::Cancelled {
            return order_view(db, user.user_id, OrderId(order_id), state.rules.cancel_window_minutes).await;
        }
        return Err(AppError::Conflict(format!("Order {order_id} is being paid or changed right now. Reload and try again.")));
    }
    order_view(db, user.user_id, OrderId(order_id), state.rules.cancel_window_minutes).await
}

/// A seller shipped or cancelled their share of the order: its payment is captured (or part
/// of it refunded), so the shopper's cancel, which voids an authorization, no longer fits.
pub(super) async fn has_shipments(db: &DatabaseConnection, order_id: i64) -> Result<bool, AppError> {
    use sea_orm::PaginatorTrait;
    Ok(crate::db::shipment::Entity::find().filter(crate::db::shipment::Column::OrderId.eq(order_id)).count(db).await? > 0)
}

/// Cancels `o` (read as pending or paid) for `by` (`shopper`, `seller` or `admin`): in one
/// transaction a conditional status change (from the status read, and not while a checkout
/// holds the order's lease) with the stock it gives back, so however many cancel at once
/// (two tabs, two nodes, the shopper and the seller) the stock comes back once. Then the
/// authorization is voided. False when someone else changed the order first.
pub(super) async fn cancel_now(state: &AppState, o: &order::Model, by: &str, reason: Option<&str>) -> Result<bool, AppError> {
    let db = &state.db;
    let order_id = o.id;
    let now = Utc::now();
    let was_paid = o.status == OrderStatus::Paid;
    // A flash-sale order's units: back to the running sale, or to ordinary stock.
    let mut sale_units = None;
    let cancelled = {
        let txn = state.writer.begin().await?;
        let res = order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(OrderStatus::Cancelled))
            .col_expr(order::Column::UpdatedAt, Expr::value(now))
            .col_expr(order::Column::ExpiresAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .col_expr(order::Column::CancelledAt, Expr::value(now))
            .col_expr(order::Column::CancelledBy, Expr::value(by))
            .col_expr(order::Column::CancelReason, Expr::value(reason.map(str::to_owned)))
            .filter(order::Column::Id.eq(order_id))
            .filter(order::Column::Status.eq(o.status.clone()))
            .filter(sea_orm::Condition::any().add(order::Column::LockedUntil.is_null()).add(order::Column::LockedUntil.lt(now)))
            .exec(&txn)
            .await?;
        if res.rows_affected == 1 {
            crate::checkout::notify::enqueue(&txn, "order.cancelled", serde_json::json!({ "order_id": order_id })).await?;
            if let Some(h) = crate::flash::service::hold_of_order(db, order_id).await? {
                sale_units = Some((h.clone(), crate::flash::service::return_hold(&txn, &h, now).await?));
            }
            let rows = reservation::Entity::find().filter(reservation::Column::OrderId.eq(order_id)).all(&txn).await?;
            for r in rows {
                let (from, back_on_shelf) = match r.state {
                    ReservationState::Held => (ReservationState::Held, false),
                    ReservationState::Committed => (ReservationState::Committed, true),
                    _ => continue,
                };
                if !move_reservation(&txn, r.id, from, ReservationState::Released).await? {
                    continue;
                }
                let mut q = inventory::Entity::update_many()
                    .col_expr(inventory::Column::Version, Expr::col(inventory::Column::Version).add(1));
                q = if back_on_shelf {
                    q.col_expr(inventory::Column::Quantity, Expr::col(inventory::Column::Quantity).add(r.quantity))
                } else {
                    q.col_expr(inventory::Column::Reserved, Expr::col(inventory::Column::Reserved).sub(r.quantity))
                };
                q.filter(inventory::Column::VariantId.eq(r.variant_id)).filter(inventory::Column::WarehouseId.eq(r.warehouse_id)).exec(&txn).await?;
            }
        }
        txn.commit().await?;
        res.rows_affected == 1
    };
    if !cancelled {
        return Ok(false);
    }
    if let Some((h, crate::flash::service::Returned::ToSale)) = &sale_units {
        if let Err(e) = state.stores.stock_gate.release(h.sale_id, &h.id).await {
            tracing::error!(error = %e, hold_id = %h.id, "giving a cancelled order's sale units back to the gate");
        }
    }
    void_waiting(state, order_id).await?;
    if was_paid {
        for p in payment::Entity::find().filter(payment::Column::OrderId.eq(order_id)).filter(payment::Column::State.eq(PaymentState::Authorized)).all(db).await? {
            let Some(intent) = p.intent_id.clone() else { continue };
            match state.stores.payments.void(&intent, &format!("{}-void", p.idempotency_key)).await {
                Ok(()) => {
                    set_payment(db, p.id, PaymentState::Authorized, PaymentState::Voided, None).await?;
                }
                // The order is cancelled either way; reconciliation voids what is left.
                Err(e) => tracing::error!(error = %e, order_id, intent, "voiding a cancelled order's payment"),
            }
        }
    }
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(order_id)).all(db).await?;
    announce_stock(state, items.iter().map(|i| i.product_id)).await;
    tracing::info!(order_id, was_paid, by, "order cancelled");
    Ok(true)
}
