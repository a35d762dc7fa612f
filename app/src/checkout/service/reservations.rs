//! Stock held for an order: reserved by conditional updates, committed when paid, each move
//! of a reservation conditional on its state so stock is adjusted exactly once.

use super::*;

/// Reserves `n` units of a variant, from one warehouse when one has enough (fewest splits),
/// else from the fullest first. Every take is a conditional update; any shortfall fails the
/// whole checkout (the caller's transaction rolls back).
pub(crate) async fn reserve_line(txn: &impl ConnectionTrait, order_id: i64, line: &Line, expires: chrono::DateTime<Utc>) -> Result<(), AppError> {
    let sold_out = || AppError::Conflict(format!("\"{}\" does not have {} left. Lower the quantity or remove it; nothing was reserved.", line.product.title, line.quantity));
    let mut rows = inventory::Entity::find().filter(inventory::Column::VariantId.eq(line.variant.id)).all(txn).await?;
    rows.sort_by_key(|r| std::cmp::Reverse(r.quantity - r.reserved));
    let mut plan: Vec<(i64, i64)> = Vec::new();
    if let Some(one) = rows.iter().find(|r| r.quantity - r.reserved >= line.quantity) {
        plan.push((one.warehouse_id, line.quantity));
    } else {
        let mut left = line.quantity;
        for r in &rows {
            let take = Ord::min(r.quantity - r.reserved, left);
            if take > 0 {
                plan.push((r.warehouse_id, take));
                left -= take;
            }
        }
        if left > 0 {
            return Err(sold_out());
        }
    }
    let now = Utc::now();
    for (warehouse_id, n) in plan {
        let res = inventory::Entity::update_many()
            .col_expr(inventory::Column::Reserved, Expr::col(inventory::Column::Reserved).add(n))
            .col_expr(inventory::Column::Version, Expr::col(inventory::Column::Version).add(1))
            .filter(inventory::Column::VariantId.eq(line.variant.id))
            .filter(inventory::Column::WarehouseId.eq(warehouse_id))
            .filter(Expr::col(inventory::Column::Quantity).sub(Expr::col(inventory::Column::Reserved)).gte(n))
            .exec(txn)
            .await?;
        if res.rows_affected != 1 {
            return Err(sold_out());
        }
        reservation::ActiveModel {
            order_id: Set(Some(order_id)),
            checkout_ref: Set(format!("order-{order_id}")),
            variant_id: Set(line.variant.id),
            warehouse_id: Set(warehouse_id),
            quantity: Set(n),
            expires_at: Set(expires),
            state: Set(ReservationState::Held),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Gives a held reservation's units back to its warehouse's free stock, exactly once (the move
/// from `held` is conditional); true when this call did.
pub(crate) async fn release_held(txn: &impl ConnectionTrait, r: &reservation::Model) -> Result<bool, DbErr> {
    if !move_reservation(txn, r.id, ReservationState::Held, ReservationState::Released).await? {
        return Ok(false);
    }
    inventory::Entity::update_many()
        .col_expr(inventory::Column::Reserved, Expr::col(inventory::Column::Reserved).sub(r.quantity))
        .col_expr(inventory::Column::Version, Expr::col(inventory::Column::Version).add(1))
        .filter(inventory::Column::VariantId.eq(r.variant_id))
        .filter(inventory::Column::WarehouseId.eq(r.warehouse_id))
        .exec(txn)
        .await?;
    Ok(true)
}

/// Moves a reservation from `from` to `to` if it is still in `from`; true when this call moved
/// it, so the caller adjusts its stock exactly once.
pub(crate) async fn move_reservation(txn: &impl ConnectionTrait, id: i64, from: ReservationState, to: ReservationState) -> Result<bool, DbErr> {
    let moved = reservation::Entity::update_many()
        .col_expr(reservation::Column::State, Expr::value(to))
        .filter(reservation::Column::Id.eq(id))
        .filter(reservation::Column::State.eq(from))
        .exec(txn)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// Pending → paid with every held reservation committed (sold: off `quantity` and `reserved`),
/// all in one transaction; fails, changing nothing, if a reservation is no longer held.
pub(crate) async fn commit_paid(state: &AppState, o: &order::Model) -> Result<order::Model, AppError> {
    let txn = state.writer.begin().await?;
    let held = reservation::Entity::find()
        .filter(reservation::Column::OrderId.eq(o.id))
        .filter(reservation::Column::State.eq(ReservationState::Held))
        .all(&txn)
        .await?;
    let expected: i64 = order_item::Entity::find().filter(order_item::Column::OrderId.eq(o.id)).all(&txn).await?.iter().map(|i| i.quantity).sum();
    let lost = || AppError::Conflict(format!("Order {} expired before the payment came back; the payment was cancelled and nothing was charged.", o.id));
    // A flash-sale order holds its units as a sale hold instead of reservations.
    let hold = sale_hold::Entity::find().filter(sale_hold::Column::OrderId.eq(o.id)).one(&txn).await?;
    let hold_units = hold.as_ref().filter(|h| h.state == HoldState::Ordered).map_or(0, |h| h.quantity);
    if held.iter().map(|r| r.quantity).sum::<i64>() + hold_units != expected {
        return Err(lost());
    }
    if let Some(h) = &hold {
        if !crate::flash::service::pay_hold(&txn, &h.id).await? {
            return Err(lost());
        }
    }
    for r in &held {
        if !move_reservation(&txn, r.id, ReservationState::Held, ReservationState::Committed).await? {
            return Err(lost());
        }
        inventory::Entity::update_many()
            .col_expr(inventory::Column::Quantity, Expr::col(inventory::Column::Quantity).sub(r.quantity))
            .col_expr(inventory::Column::Reserved, Expr::col(inventory::Column::Reserved).sub(r.quantity))
            .col_expr(inventory::Column::Version, Expr::col(inventory::Column::Version).add(1))
            .filter(inventory::Column::VariantId.eq(r.variant_id))
            .filter(inventory::Column::WarehouseId.eq(r.warehouse_id))
            .exec(&txn)
            .await?;
    }
    let now = Utc::now();
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Paid))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .col_expr(order::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .col_expr(order::Column::ExpiresAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Status.eq(OrderStatus::Pending))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(lost());
    }
    let outbox = serde_json::json!({ "order_id": o.id, "user_id": o.user_id, "total": o.total, "currency": o.currency });
    crate::checkout::notify::enqueue(&txn, "order.paid", outbox).await?;
    txn.commit().await?;
    Ok(order::Entity::find_by_id(o.id).one(&state.db).await?.ok_or(AppError::Internal)?)
}
