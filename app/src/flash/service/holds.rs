//! A hold's life in the database, each move a conditional update on its state (so units move
//! exactly once): `held` → `ordered` when checked out (counted in the sale's `sold`, refused
//! once the sale is over or full), → `paid`, or → `released`. Where released units go: back to
//! the sale while it runs (the caller then gives them back to the gate), to the warehouses the
//! allocation came from once it is over, or (a paid order cancelled) to ordinary stock.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::give_back;
use crate::db::{flash_sale, sale_hold};
use crate::error::AppError;
use crate::ids::HoldId;
use crate::states::HoldState;

/// The hold an order was made from, if it is a flash-sale order.
pub async fn hold_of_order(db: &DatabaseConnection, order_id: i64) -> Result<Option<sale_hold::Model>, AppError> {
    Ok(sale_hold::Entity::find().filter(sale_hold::Column::OrderId.eq(order_id)).one(db).await?)
}

/// Checks a held hold out into `order_id` (in the order's transaction): extends it once to
/// `expires_at` and counts its units as sold. Fails, changing nothing, if the hold is no longer
/// held or has expired, or if the sale is over or full.
pub async fn order_hold(txn: &impl ConnectionTrait, hold: &sale_hold::Model, order_id: i64, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), AppError> {
    let moved = sale_hold::Entity::update_many()
        .col_expr(sale_hold::Column::State, Expr::value(HoldState::Ordered))
        .col_expr(sale_hold::Column::OrderId, Expr::value(order_id))
        .col_expr(sale_hold::Column::ExpiresAt, Expr::value(expires_at))
        .col_expr(sale_hold::Column::Extended, Expr::value(true))
        .filter(sale_hold::Column::Id.eq(hold.id.clone()))
        .filter(sale_hold::Column::State.eq(HoldState::Held))
        .filter(sale_hold::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(AppError::Conflict("This hold has expired or was already checked out; its units went back to the sale.".to_owned()));
    }
    let counted = flash_sale::Entity::update_many()
        .col_expr(flash_sale::Column::Sold, Expr::col(flash_sale::Column::Sold).add(hold.quantity))
        .filter(flash_sale::Column::Id.eq(hold.sale_id))
        .filter(flash_sale::Column::StockReturnedAt.is_null())
        .filter(Expr::col(flash_sale::Column::Sold).add(hold.quantity).lte(Expr::col(flash_sale::Column::Allocated)))
        .exec(txn)
        .await?;
    if counted.rows_affected != 1 {
        return Err(AppError::SoldOut("This sale is over or sold out; nothing was charged.".to_owned()));
    }
    Ok(())
}

/// Ordered → paid (in the transaction that marks the order paid). False if it was not ordered.
pub async fn pay_hold(txn: &impl ConnectionTrait, hold_id: &HoldId) -> Result<bool, AppError> {
    let moved = sale_hold::Entity::update_many()
        .col_expr(sale_hold::Column::State, Expr::value(HoldState::Paid))
        .filter(sale_hold::Column::Id.eq(hold_id.clone()))
        .filter(sale_hold::Column::State.eq(HoldState::Ordered))
        .exec(txn)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// Where a released hold's units went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    /// Another call released it first: nothing moved.
    Nothing,
    /// Back to the running sale: give them back to the gate too.
    ToSale,
    /// To ordinary stock (the sale is over, or a paid order was cancelled).
    ToStock,
}

/// Releases a hold from the state it is in (in the caller's transaction), exactly once.
pub async fn return_hold(txn: &impl ConnectionTrait, hold: &sale_hold::Model, now: DateTime<Utc>) -> Result<Returned, AppError> {
    if !hold.state.is_live() && hold.state != HoldState::Paid {
        return Ok(Returned::Nothing);
    }
    let moved = sale_hold::Entity::update_many()
        .col_expr(sale_hold::Column::State, Expr::value(HoldState::Released))
        .col_expr(sale_hold::Column::ReleasedAt, Expr::value(now))
        .filter(sale_hold::Column::Id.eq(hold.id.clone()))
        .filter(sale_hold::Column::State.eq(hold.state))
        .exec(txn)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(Returned::Nothing);
    }
    let sale = flash_sale::Entity::find_by_id(hold.sale_id).one(txn).await?.ok_or(AppError::Internal)?;
    let over = sale.stock_returned_at.is_some();
    if hold.state == HoldState::Ordered {
        flash_sale::Entity::update_many()
            .col_expr(flash_sale::Column::Sold, Expr::col(flash_sale::Column::Sold).sub(hold.quantity))
            .filter(flash_sale::Column::Id.eq(sale.id))
            .filter(flash_sale::Column::Sold.gte(hold.quantity))
            .exec(txn)
            .await?;
    }
    let to_stock = hold.state == HoldState::Paid || (over && hold.state == HoldState::Ordered);
    if to_stock {
        give_back(txn, sale.id, sale.variant_id, hold.quantity, false).await?;
        return Ok(Returned::ToStock);
    }
    // A hold never checked out: at the end its units were counted as unsold and went back.
    Ok(if over { Returned::Nothing } else { Returned::ToSale })
}
