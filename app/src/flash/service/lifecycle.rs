//! The end of a sale. Before its start a seller may cancel it; once it has started, only end it
//! now. At its end (by the clock, or ended now) what is unsold goes back to ordinary stock, to
//! the warehouses it came from, exactly once: the stamp `stock_returned_at` is set by a
//! conditional update in the same transaction that moves the units, so two nodes (or a retry)
//! cannot return them twice. At the start the sale turns active and every node is told.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{give_back, no_sale, seller_sale};
use crate::accounts::CurrentUser;
use crate::db::flash_sale;
use crate::error::AppError;
use crate::events::ShopEvent;
use crate::flash::SellerSale;
use crate::ids::SaleId;
use crate::state::AppState;
use crate::states::SaleStatus;

/// One of the caller's sales (an admin: anyone's); `seller_sale` is 404 for anyone else's.
async fn owned(state: &AppState, user: &CurrentUser, id: i64) -> Result<flash_sale::Model, AppError> {
    seller_sale(&state.db, user, SaleId(id)).await?;
    flash_sale::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| no_sale(id))
}

/// Cancels a sale that has not started: all of its allocation goes back to ordinary stock.
pub async fn cancel(state: &AppState, user: &CurrentUser, SaleId(id): SaleId) -> Result<SellerSale, AppError> {
    let sale = owned(state, user, id).await?;
    let now = Utc::now();
    if now >= sale.starts_at || sale.status != SaleStatus::Scheduled {
        return Err(AppError::Conflict("This sale has started or is over; it can only be ended now, not cancelled.".to_owned()));
    }
    if !finish(state, &sale, SaleStatus::Cancelled, now, Some(SaleStatus::Scheduled)).await? {
        return Err(AppError::Conflict("This sale started, ended or was cancelled meanwhile.".to_owned()));
    }
    seller_sale(&state.db, user, SaleId(id)).await
}

/// Ends a sale that has started, before its end time; what is unsold goes back to stock.
pub async fn end_now(state: &AppState, user: &CurrentUser, SaleId(id): SaleId) -> Result<SellerSale, AppError> {
    let sale = owned(state, user, id).await?;
    let now = Utc::now();
    if now < sale.starts_at && sale.status == SaleStatus::Scheduled {
        return Err(AppError::Conflict("This sale has not started yet: cancel it instead.".to_owned()));
    }
    if matches!(sale.status, SaleStatus::Ended | SaleStatus::Cancelled) || sale.stock_returned_at.is_some() {
        return Err(AppError::Conflict("This sale is already over.".to_owned()));
    }
    finish(state, &sale, SaleStatus::Ended, now, None).await?;
    seller_sale(&state.db, user, SaleId(id)).await
}

/// Moves a sale to `to` (ended or cancelled) and returns what is unsold to the warehouses its
/// allocation came from, in one transaction. True only for the call that did it; `from` (if
/// given) must be the sale's status.
async fn finish(state: &AppState, sale: &flash_sale::Model, to: SaleStatus, now: DateTime<Utc>, from: Option<SaleStatus>) -> Result<bool, AppError> {
    let txn = state.writer.begin().await?;
    let mut stamp = flash_sale::Entity::update_many()
        .col_expr(flash_sale::Column::Status, Expr::value(to))
        .col_expr(flash_sale::Column::StockReturnedAt, Expr::value(now))
        .filter(flash_sale::Column::Id.eq(sale.id))
        .filter(flash_sale::Column::StockReturnedAt.is_null());
    if let Some(from) = from {
        stamp = stamp.filter(flash_sale::Column::Status.eq(from));
    }
    if stamp.exec(&txn).await?.rows_affected != 1 {
        return Ok(false); // another node or request got there first
    }
    state.recent.sales.forget(&sale.id);
    // `sold` is read inside the transaction that stamps the sale, after the stamp: a checkout
    // committing a sale unit meanwhile has either counted it already or finds the sale over.
    let current = flash_sale::Entity::find_by_id(sale.id).one(&txn).await?.ok_or(AppError::Internal)?;
    let unsold = std::cmp::max(current.allocated - current.sold, 0);
    give_back(&txn, sale.id, sale.variant_id, unsold, false).await?;
    txn.commit().await?;
    tracing::info!(sale_id = sale.id, status = %to, unsold, "flash sale over; unsold units back in ordinary stock");
    // The gate takes nothing more and the line closes (a gate that cannot be reached now is
    // closed by its clock: the sale's end time, or a warm that reads the status).
    if let Err(e) = state.stores.stock_gate.close(sale.id).await {
        tracing::warn!(error = %e, sale_id = sale.id, "closing the sale in the stock gate");
    }
    if let Err(e) = state.stores.events.publish(ShopEvent::SaleEnded { sale_id: sale.id }).await {
        tracing::warn!(error = %e, sale_id = sale.id, "publishing SaleEnded");
    }
    crate::catalog::service::announce(state, sale.product_id).await;
    Ok(true)
}

/// What the clock did since the last round: sales whose start has come turn active (and every
/// node is told), sales whose end has come are ended with their unsold units returned. Safe on
/// every node at once: each move is conditional. Returns (started, ended).
pub async fn transitions(state: &AppState) -> Result<(u64, u64), AppError> {
    let now = Utc::now();
    let starting = flash_sale::Entity::find()
        .filter(flash_sale::Column::Status.eq(SaleStatus::Scheduled))
        .filter(flash_sale::Column::StartsAt.lte(now))
        .filter(flash_sale::Column::EndsAt.gt(now))
        .all(&state.db)
        .await?;
    let mut started = 0;
    for sale in starting {
        let txn = state.writer.begin().await?;
        let moved = flash_sale::Entity::update_many()
            .col_expr(flash_sale::Column::Status, Expr::value(SaleStatus::Active))
            .filter(flash_sale::Column::Id.eq(sale.id))
            .filter(flash_sale::Column::Status.eq(SaleStatus::Scheduled))
            .exec(&txn)
            .await?;
        if moved.rows_affected == 1 {
            state.recent.sales.forget(&sale.id);
            // Reminders go out with the start, once: in the transaction that starts the sale.
            let registered = crate::db::sale_registration::Entity::find()
                .filter(crate::db::sale_registration::Column::SaleId.eq(sale.id))
                .all(&txn)
                .await?;
            for r in registered {
                crate::db::outbox::enqueue(&txn, "sale.started", serde_json::json!({ "sale_id": sale.id, "user_id": r.user_id })).await?;
            }
        }
        txn.commit().await?;
        if moved.rows_affected == 1 {
            started += 1;
            tracing::info!(sale_id = sale.id, "flash sale started");
            // Load the gate now, not on the first buyer's request.
            if let Err(e) = super::warm(state, &sale).await {
                tracing::warn!(error = %e, sale_id = sale.id, "warming the stock gate at the start; the first buy will");
            }
            if let Err(e) = state.stores.events.publish(ShopEvent::SaleStarted { sale_id: sale.id }).await {
                tracing::warn!(error = %e, sale_id = sale.id, "publishing SaleStarted");
            }
        }
    }
    let ending = flash_sale::Entity::find()
        .filter(flash_sale::Column::Status.is_in([SaleStatus::Scheduled, SaleStatus::Active]))
        .filter(flash_sale::Column::EndsAt.lte(now))
        .filter(flash_sale::Column::StockReturnedAt.is_null())
        .all(&state.db)
        .await?;
    let mut ended = 0;
    for sale in ending {
        if finish(state, &sale, SaleStatus::Ended, now, None).await? {
            ended += 1;
        }
    }
    Ok((started, ended))
}

/// Runs `transitions`, then an admission round of every waiting room, every `every` (a second)
/// until the node shuts down.
pub fn spawn_transitions(workers: &crate::workers::Workers, state: AppState, every: std::time::Duration) {
    workers.every("sale transitions", every, move || {
        let state = state.clone();
        async move {
            if let Err(e) = transitions(&state).await {
                tracing::warn!(error = %e, "moving flash sales along the clock");
            }
            if let Err(e) = super::admit_round(&state).await {
                tracing::warn!(error = %e, "letting shoppers in from the waiting rooms");
            }
        }
    });
}
