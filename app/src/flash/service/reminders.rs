//! "Remind me": a shopper registers for a sale before its start and gets mail (the outbox)
//! when it starts, once however often they registered; they may unregister.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use super::room::find;
use crate::accounts::CurrentUser;
use crate::db::sale_registration;
use crate::error::AppError;
use crate::ids::SaleId;
use crate::state::AppState;

/// Registers the shopper for the start's mail; registering again changes nothing. True when
/// this call registered them.
pub async fn register(state: &AppState, user: &CurrentUser, SaleId(id): SaleId) -> Result<bool, AppError> {
    let sale = find(state, id).await?;
    if Utc::now() >= sale.starts_at || sale.status != crate::states::SaleStatus::Scheduled {
        return Err(AppError::Conflict("This sale has started (or is over): there is nothing to remind you of. Join the queue instead.".to_owned()));
    }
    if is_registered(state, user, id).await? {
        return Ok(false);
    }
    let row = sale_registration::ActiveModel { sale_id: Set(id), user_id: Set(user.user_id), created_at: Set(Utc::now()), ..Default::default() };
    match row.insert(&state.db).await {
        Ok(_) => Ok(true),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(false), // another tab registered at the same moment
        Err(e) => Err(e.into()),
    }
}

/// No more mail for this sale. True when the shopper was registered.
pub async fn unregister(state: &AppState, user: &CurrentUser, SaleId(id): SaleId) -> Result<bool, AppError> {
    find(state, id).await?;
    let gone = sale_registration::Entity::delete_many()
        .filter(sale_registration::Column::SaleId.eq(id))
        .filter(sale_registration::Column::UserId.eq(user.user_id))
        .exec(&state.db)
        .await?;
    Ok(gone.rows_affected > 0)
}

pub async fn is_registered(state: &AppState, user: &CurrentUser, id: i64) -> Result<bool, AppError> {
    Ok(sale_registration::Entity::find()
        .filter(sale_registration::Column::SaleId.eq(id))
        .filter(sale_registration::Column::UserId.eq(user.user_id))
        .count(&state.db)
        .await?
        > 0)
}
