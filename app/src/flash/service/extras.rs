//! The seller's switch for the extras: while a sale with `extras_off` is live, every page of the
//! shop goes without recommendations, reviews and the wishlist, leaving the database to the
//! sale (the whole shop, not the sale's product alone: the crowd a sale brings browses on).

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::seller_sale;
use crate::accounts::CurrentUser;
use crate::db::flash_sale;
use crate::error::AppError;
use crate::flash::SellerSale;
use crate::ids::SaleId;
use crate::state::AppState;
use crate::states::SaleStatus;

/// Turns the extras off (or on again) for one of the caller's sales; any time, live included.
pub async fn set_extras(state: &AppState, user: &CurrentUser, SaleId(id): SaleId, extras_off: bool) -> Result<SellerSale, AppError> {
    seller_sale(&state.db, user, SaleId(id)).await?; // 404 unless the caller's (an admin: anyone's)
    flash_sale::Entity::update_many()
        .col_expr(flash_sale::Column::ExtrasOff, Expr::value(extras_off))
        .filter(flash_sale::Column::Id.eq(id))
        .exec(&state.db)
        .await?;
    state.recent.extras_paused.forget(&());
    // Pages kept on this node drew the extras as they were (other nodes' within `PAGE_TTL`).
    state.page_generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    tracing::info!(sale_id = id, extras_off, "sale's extras switched");
    seller_sale(&state.db, user, SaleId(id)).await
}

/// Whether a live sale has the extras switched off (read at most once a second per node). A
/// database that cannot answer leaves the extras on: their own breakers deal with it.
pub async fn extras_paused(state: &AppState) -> bool {
    if let Some(known) = state.recent.extras_paused.get(&()) {
        return known;
    }
    let now = Utc::now();
    let found = flash_sale::Entity::find()
        .select_only()
        .column(flash_sale::Column::Id)
        .filter(flash_sale::Column::ExtrasOff.eq(true))
        .filter(flash_sale::Column::Status.is_in([SaleStatus::Scheduled, SaleStatus::Active]))
        .filter(flash_sale::Column::StartsAt.lte(now))
        .filter(flash_sale::Column::EndsAt.gt(now))
        .into_tuple::<i64>()
        .one(&state.db)
        .await;
    match found {
        Ok(found) => {
            state.recent.extras_paused.put((), found.is_some());
            found.is_some()
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading whether a live sale switched the extras off");
            false
        }
    }
}
