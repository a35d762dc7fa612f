//! The buy: one round trip to the stock gate (the sale's window, the shopper's admission
//! token, their limit and the units left, checked and taken at once) and one small database
//! write recording the hold. The database stays the source of truth: `warm` rebuilds the
//! gate from it (allocated − sold − live holds) whenever the gate has nothing on a sale.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{find, find_recent, within_limits};
use crate::accounts::CurrentUser;
use crate::db::{flash_sale, rfc3339, sale_hold, variant};
use crate::error::AppError;
use crate::events::ShopEvent;
use crate::flash::port::{Hold, SaleTerms, TakeOutcome, Warm};
use crate::flash::{BuyRequest, HoldView, MAX_BUY_QUANTITY};
use crate::ids::{HoldId, SaleId};
use crate::money::Money;
use crate::state::AppState;
use crate::states::{HoldState, SaleStatus};
use crate::store::StoreError;

/// The gate (Redis) cannot be reached: 503 with `Retry-After`, the rest of the shop serves on.
pub(crate) fn unavailable(e: StoreError) -> AppError {
    tracing::warn!(error = %e, "flash sale store unreachable");
    AppError::Unavailable {
        message: "The sale's queue is not reachable right now. Nothing was taken; try again in a few seconds.".to_owned(),
        retry_after_secs: 2,
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Loads the gate with a sale's figures from the database: units left are the allocation less
/// what is sold (ordered holds count as sold) and less the holds not yet ordered; each buyer's
/// count includes what they hold and bought. A second node warming at once changes nothing.
pub async fn warm(state: &AppState, sale: &flash_sale::Model) -> Result<(), AppError> {
    load(state, sale, false).await
}

/// Gives the gate a sale's new figures after an edit before its start (if it has the sale).
pub async fn rewarm(state: &AppState, sale: &flash_sale::Model) -> Result<(), AppError> {
    if state.stores.stock_gate.remaining(sale.id).await.map_err(unavailable)?.is_some() {
        load(state, sale, true).await?;
    }
    Ok(())
}

async fn load(state: &AppState, sale: &flash_sale::Model, replace: bool) -> Result<(), AppError> {
    let holds = sale_hold::Entity::find()
        .filter(sale_hold::Column::SaleId.eq(sale.id))
        .filter(sale_hold::Column::State.is_in([HoldState::Held, HoldState::Ordered, HoldState::Paid]))
        .all(&state.db)
        .await?;
    let mut bought: BTreeMap<String, i64> = BTreeMap::new();
    let mut live = Vec::new();
    let mut held_units = 0;
    for h in &holds {
        *bought.entry(h.user_id.to_string()).or_default() += h.quantity;
        if h.state.is_live() {
            live.push(Hold { id: h.id.clone(), sale_id: sale.id, buyer: h.user_id.to_string(), quantity: h.quantity, expires_at_ms: ms(h.expires_at) });
        }
        if h.state == HoldState::Held {
            held_units += h.quantity;
        }
    }
    // Every sale gets a random secret when scheduled (older ones from a migration): one that
    // is missing is a fault, never replaced by something guessable.
    let Some(token_secret) = sale.gate_secret.clone().filter(|s| !s.is_empty()) else {
        tracing::error!(sale_id = sale.id, "the sale has no gate secret: its line cannot be opened");
        return Err(AppError::Internal);
    };
    let warm = Warm {
        terms: SaleTerms {
            starts_at_ms: ms(sale.starts_at),
            ends_at_ms: ms(sale.ends_at),
            per_buyer_limit: sale.per_buyer_limit,
            token_secret,
        },
        remaining: std::cmp::max(sale.allocated - sale.sold - held_units, 0),
        bought: bought.into_iter().collect(),
        holds: live,
    };
    let gate = &state.stores.stock_gate;
    if gate.warm(sale.id, &warm, replace).await.map_err(unavailable)? {
        tracing::info!(sale_id = sale.id, remaining = warm.remaining, holds = warm.holds.len(), "stock gate warmed from the database");
    }
    if matches!(sale.status, SaleStatus::Ended | SaleStatus::Cancelled) {
        gate.close(sale.id).await.map_err(unavailable)?;
    }
    Ok(())
}

async fn hold_view(state: &AppState, sale: &flash_sale::Model, h: &sale_hold::Model, remaining: i64) -> Result<HoldView, AppError> {
    let sku = match state.recent.skus.get(&sale.variant_id) {
        Some(sku) => sku,
        None => {
            let sku = variant::Entity::find_by_id(sale.variant_id).one(&state.db).await?.map(|v| v.sku).unwrap_or_default();
            state.recent.skus.put(sale.variant_id, sku.clone());
            sku
        }
    };
    Ok(HoldView {
        hold_id: h.id.clone(),
        sale_id: sale.id,
        sku,
        quantity: h.quantity,
        price: Money::new(sale.price_amount, &sale.currency),
        expires_at: rfc3339(h.expires_at),
        remaining,
        order_id: h.order_id,
        order_status: None,
        client_secret: None,
        message: None,
    })
}

/// Takes units of a live sale for an admitted shopper and holds them for
/// `SELLOUT_SALE_HOLD_SECONDS`. A shopper holding units already gets that hold back (one
/// live hold each); the bool is true for a new hold. Only the hold: making its order is
/// checkout's (by hand on `/checkout?hold=…`, or at once for an express buy).
pub async fn buy(state: &AppState, user: &CurrentUser, ip: &str, SaleId(id): SaleId, req: &BuyRequest) -> Result<(HoldView, bool), AppError> {
    within_limits(state, id, "buy", user.user_id, ip, (state.limits.sale_buy_per_user, state.limits.sale_buy_per_ip)).await?;
    if !(1..=MAX_BUY_QUANTITY).contains(&req.quantity) {
        return Err(AppError::bad("quantity", format!("quantity must be from 1 to {MAX_BUY_QUANTITY} (got {})", req.quantity)));
    }
    let token = req.token.trim();
    if token.is_empty() {
        return Err(AppError::bad("token", "token is required: join the queue and buy once you are let in."));
    }
    take(state, user, id, token, req.quantity).await
}

/// The buy past its rate limits and checks: once more after a hold the database gave back,
/// without spending another of the shopper's tokens.
async fn take(state: &AppState, user: &CurrentUser, id: i64, token: &str, quantity: i64) -> Result<(HoldView, bool), AppError> {
    let sale = find_recent(state, id).await?;
    let buyer = user.user_id.to_string();
    let gate = &state.stores.stock_gate;
    let hold_for = Duration::from_secs(state.rules.sale_hold_seconds.max(1) as u64);
    let mut outcome = gate.try_take(id, &buyer, token, quantity, hold_for).await.map_err(unavailable)?;
    if outcome == TakeOutcome::NotLoaded {
        warm(state, &find(state, id).await?).await?;
        outcome = gate.try_take(id, &buyer, token, quantity, hold_for).await.map_err(unavailable)?;
    }
    match outcome {
        TakeOutcome::Held { hold, remaining } => {
            let now = Utc::now();
            let row = sale_hold::ActiveModel {
                id: Set(hold.id.clone()),
                sale_id: Set(id),
                user_id: Set(user.user_id),
                quantity: Set(hold.quantity),
                state: Set(HoldState::Held),
                expires_at: Set(DateTime::from_timestamp_millis(hold.expires_at_ms).unwrap_or(now)),
                extended: Set(false),
                order_id: Set(None),
                created_at: Set(now),
                released_at: Set(None),
            };
            let row = match row.insert(&state.db).await {
                Ok(row) => row,
                Err(e) => {
                    // Not recorded, so not held: the units go straight back (a second give-back
                    // of the same hold changes nothing).
                    if let Err(e) = gate.release(id, &hold.id).await {
                        tracing::error!(error = %e, sale_id = id, hold_id = %hold.id, "giving back a hold the database did not record");
                    }
                    if let Ok(Some(_)) = sale_hold::Entity::find_by_id(hold.id.clone()).one(&state.db).await {
                        // Another request of this shopper found the hold unrecorded for too long
                        // and took it back (`claim_unrecorded`); it buys again for them.
                        return Err(AppError::Conflict("This buy took too long to record and was undone; your other request for this sale holds your units.".to_owned()));
                    }
                    return Err(e.into());
                }
            };
            if let Err(e) = state.stores.events.publish(ShopEvent::SaleStock { sale_id: id, remaining }).await {
                tracing::warn!(error = %e, sale_id = id, "publishing SaleStock");
            }
            Ok((hold_view(state, &sale, &row, remaining).await?, true))
        }
        TakeOutcome::AlreadyHolding { hold_id } => {
            // The shopper's one hold. Never given back here: another request of theirs may be
            // recording it right now (a double click, parallel buys), so wait for its row.
            let row = match recorded(state, &hold_id, RECORDING_TAKES_AT_MOST).await? {
                Some(row) => row,
                // Unrecorded for longer than any write takes (its taker died, or its reply was
                // lost): claimed as given back, unless its taker recorded it after all.
                None => claim_unrecorded(state, id, user.user_id, &hold_id).await?,
            };
            if row.state == HoldState::Released {
                // Given back in the database (claimed above, or lapsed while the gate had not
                // heard yet): the gate gives it back too, once, and the shopper buys again.
                tracing::warn!(sale_id = id, hold_id = %hold_id, "releasing a hold the database has given back");
                gate.release(id, &hold_id).await.map_err(unavailable)?;
                return Box::pin(take(state, user, id, token, quantity)).await;
            }
            let remaining = gate.remaining(id).await.map_err(unavailable)?.unwrap_or(0);
            Ok((hold_view(state, &sale, &row, remaining).await?, false))
        }
        TakeOutcome::SoldOut { .. } => Err(AppError::SoldOut("Sold out: every unit of this sale is taken. Units that come back are offered to the next in line.".to_owned())),
        TakeOutcome::LimitReached { limit, already } => Err(AppError::LimitExceeded(format!(
            "You may buy at most {limit} of this sale and you hold or bought {already}; {} more is over the limit.",
            quantity
        ))),
        TakeOutcome::NotAdmitted => Err(AppError::NotAdmitted("You have not been let in yet, or your turn lapsed: join the queue and buy once it is your turn.".to_owned())),
        TakeOutcome::NotLive => Err(AppError::Conflict("This sale is not live: it has not started yet or it is over.".to_owned())),
        TakeOutcome::NotLoaded => Err(AppError::Internal),
    }
}

/// How long a taken hold may go without its database row before it counts as orphaned: far
/// longer than the one insert that records it.
const RECORDING_TAKES_AT_MOST: Duration = Duration::from_secs(5);

/// The hold's row, waiting up to `deadline` for the request that took it to write it.
async fn recorded(state: &AppState, hold_id: &HoldId, deadline: Duration) -> Result<Option<sale_hold::Model>, AppError> {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(row) = sale_hold::Entity::find_by_id(hold_id.clone()).one(&state.db).await? {
            return Ok(Some(row));
        }
        if tokio::time::Instant::now() >= until {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Claims a hold that was never recorded by writing its row first, as given back: the hold's
/// id is the row's key, so exactly one of this and the taker's own insert succeeds (a late
/// insert of the taker's then fails and undoes its buy). The row that stands either way.
async fn claim_unrecorded(state: &AppState, sale_id: i64, user_id: i64, hold_id: &HoldId) -> Result<sale_hold::Model, AppError> {
    let now = Utc::now();
    let tombstone = sale_hold::ActiveModel {
        id: Set(hold_id.clone()),
        sale_id: Set(sale_id),
        user_id: Set(user_id),
        quantity: Set(1),
        state: Set(HoldState::Released),
        expires_at: Set(now),
        extended: Set(false),
        order_id: Set(None),
        created_at: Set(now),
        released_at: Set(Some(now)),
    };
    match tombstone.insert(&state.db).await {
        Ok(row) => Ok(row),
        Err(e) => sale_hold::Entity::find_by_id(hold_id.clone()).one(&state.db).await?.ok_or_else(|| e.into()),
    }
}

/// One of the shopper's holds.
pub async fn hold(state: &AppState, user: &CurrentUser, hold_id: &HoldId) -> Result<HoldView, AppError> {
    let row = sale_hold::Entity::find_by_id(hold_id.clone())
        .filter(sale_hold::Column::UserId.eq(user.user_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("You have no hold {hold_id}.")))?;
    let sale = find(state, row.sale_id).await?;
    let remaining = state.stores.stock_gate.remaining(sale.id).await.map_err(unavailable)?.unwrap_or(0);
    hold_view(state, &sale, &row, remaining).await
}
