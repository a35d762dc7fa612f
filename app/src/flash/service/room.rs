//! The waiting room: shoppers who join before the start are put in a random order drawn from
//! the sale's secret seed (each place's ticket is SHA-256(seed ":" user id); the order sorts
//! the tickets), later joins queue behind them in arrival order. Each second one round lets a
//! batch in at the sale's admission rate, each with a token valid five minutes, while units are
//! left. The seed's hash is published before the start and the seed after it, so anyone can
//! recompute the draw.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::buy::{unavailable, warm};
use super::{find, find_recent, sha256_hex, state_of, within_limits};
use crate::accounts::CurrentUser;
use crate::db::{flash_sale, rfc3339, sale_hold};
use crate::error::AppError;
use crate::events::ShopEvent;
use crate::flash::port::{ARRIVALS_FROM, Place, RoomAnswer};
use crate::flash::{DrawView, GotYours, Ineligible, QueueView, SaleState, TOKEN_SECONDS};
use crate::ids::SaleId;
use crate::state::AppState;
use crate::states::{HoldState, SaleStatus};

/// A shopper's ticket for a sale: SHA-256(seed ":" user id), hex. It follows from the seed, so
/// the shop cannot pick it once the seed's hash is published.
pub fn ticket_of(seed: &str, user_id: i64) -> String {
    sha256_hex(&format!("{seed}:{user_id}"))
}

/// A ticket's place in the draw: its first 48 bits (lower goes first).
pub fn draw_score(ticket: &str) -> u64 {
    u64::from_str_radix(ticket.get(..12).unwrap_or("0"), 16).unwrap_or(0).min(ARRIVALS_FROM - 1)
}

fn seed(sale: &flash_sale::Model) -> &str {
    sale.draw_seed.as_deref().unwrap_or_default()
}

fn view(sale: &flash_sale::Model, answer: RoomAnswer, remaining: i64, user_id: i64, now: DateTime<Utc>) -> Result<QueueView, AppError> {
    let mut view = QueueView {
        sale_id: sale.id,
        position: 0,
        eta_seconds: 0,
        admitted: false,
        token: None,
        token_expires_at: None,
        remaining,
        state: match state_of(sale, now) {
            SaleState::Live if remaining <= 0 => SaleState::SoldOut,
            s => s,
        },
        ticket: ticket_of(seed(sale), user_id),
    };
    match answer {
        RoomAnswer::Place(Place::Waiting { position }) => {
            view.position = position;
            let rate = sale.admission_rate.max(1);
            // Rounds run each second from the start: place p goes in round ceil(p / rate).
            let rounds = (position + rate - 1) / rate;
            view.eta_seconds = std::cmp::max((sale.starts_at - now).num_seconds(), 0) + rounds.saturating_sub(1);
        }
        RoomAnswer::Place(Place::Admitted { token, expires_at_ms }) => {
            view.admitted = true;
            view.token = Some(token);
            view.token_expires_at = DateTime::from_timestamp_millis(expires_at_ms).map(rfc3339);
        }
        RoomAnswer::NotInLine => return Err(AppError::not_found("You are not in line for this sale (or your turn lapsed). Join the queue again.")),
        RoomAnswer::Closed => return Err(AppError::Conflict("This sale is over; its line is closed.".to_owned())),
        RoomAnswer::NotLoaded => return Err(AppError::Internal),
    }
    Ok(view)
}

/// Units the gate has left (the database's figure while it has none).
async fn remaining(state: &AppState, sale: &flash_sale::Model) -> Result<i64, AppError> {
    Ok(match state.stores.stock_gate.remaining(sale.id).await.map_err(unavailable)? {
        Some(n) => n,
        None => sale.allocated - sale.sold,
    })
}

/// Puts the shopper in line once (joining again, from any tab or device, answers the same place).
pub async fn join(state: &AppState, user: &CurrentUser, ip: &str, SaleId(id): SaleId) -> Result<QueueView, AppError> {
    within_limits(state, id, "join", user.user_id, ip, (state.limits.sale_join_per_user, state.limits.sale_join_per_ip)).await?;
    let sale = find_recent(state, id).await?;
    let now = Utc::now();
    if matches!(state_of(&sale, now), SaleState::Ended | SaleState::Cancelled) {
        return Err(AppError::Conflict("This sale is over; its line is closed.".to_owned()));
    }
    if let Some(got) = got_yours(state, &sale, user.user_id, now).await? {
        return Err(AppError::Conflict(got.message()));
    }
    if let Some(why) = not_eligible(state, &sale, user).await? {
        return Err(AppError::Forbidden(why.message()));
    }
    let buyer = user.user_id.to_string();
    let ticket = ticket_of(seed(&sale), user.user_id);
    let draw = (now < sale.starts_at).then(|| draw_score(&ticket));
    let room = &state.stores.waiting_room;
    let mut answer = room.join(id, &buyer, &ticket, draw).await.map_err(unavailable)?;
    if answer == RoomAnswer::NotLoaded {
        warm(state, &find(state, id).await?).await?;
        answer = room.join(id, &buyer, &ticket, draw).await.map_err(unavailable)?;
    }
    view(&sale, answer, remaining(state, &sale).await?, user.user_id, now)
}

/// Why `user` may not join `sale`'s line (none: they may). An account too new is said first:
/// confirming the address would not help it.
pub async fn not_eligible(state: &AppState, sale: &flash_sale::Model, user: &CurrentUser) -> Result<Option<Ineligible>, AppError> {
    if !sale.existing_accounts_only && !sale.verified_email_only {
        return Ok(None);
    }
    let Some(account) = crate::db::user::Entity::find_by_id(user.user_id).one(&state.db).await? else { return Ok(None) };
    if sale.existing_accounts_only && account.created_at > sale.created_at {
        return Ok(Some(Ineligible::AccountTooNew { announced_at: sale.created_at.format("%Y-%m-%d %H:%M").to_string() }));
    }
    if sale.verified_email_only && account.email_verified_at.is_none() {
        return Ok(Some(Ineligible::EmailNotConfirmed { email: account.email }));
    }
    Ok(None)
}

/// What `user_id` already has of `sale` when it reaches the limit per buyer (none before the
/// start: nothing can be bought then, and the database is spared the crowd's early joins).
pub async fn got_yours(state: &AppState, sale: &flash_sale::Model, user_id: i64, now: DateTime<Utc>) -> Result<Option<GotYours>, AppError> {
    if now < sale.starts_at {
        return Ok(None);
    }
    let holds = sale_hold::Entity::find()
        .filter(sale_hold::Column::SaleId.eq(sale.id))
        .filter(sale_hold::Column::UserId.eq(user_id))
        .filter(sale_hold::Column::State.is_in([HoldState::Held, HoldState::Ordered, HoldState::Paid]))
        .order_by_desc(sale_hold::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let quantity: i64 = holds.iter().map(|h| h.quantity).sum();
    Ok(match holds.first() {
        Some(latest) if quantity >= sale.per_buyer_limit => Some(GotYours {
            quantity,
            hold_id: latest.id.clone(),
            order_id: latest.order_id,
            paid: holds.iter().all(|h| h.state == HoldState::Paid),
        }),
        _ => None,
    })
}

/// What the shopper already has of this sale (see `got_yours`), for its page.
pub async fn bought(state: &AppState, user: &CurrentUser, SaleId(id): SaleId) -> Result<Option<GotYours>, AppError> {
    got_yours(state, &*find_recent(state, id).await?, user.user_id, Utc::now()).await
}

/// Why the shopper may not join this sale's line, for its page to say before they try.
pub async fn eligibility(state: &AppState, user: &CurrentUser, SaleId(id): SaleId) -> Result<Option<Ineligible>, AppError> {
    not_eligible(state, &*find_recent(state, id).await?, user).await
}

/// Where the shopper stands, without joining.
pub async fn place(state: &AppState, user: &CurrentUser, SaleId(id): SaleId) -> Result<QueueView, AppError> {
    let sale = find_recent(state, id).await?;
    let answer = match state.stores.waiting_room.place(id, &user.user_id.to_string()).await.map_err(unavailable)? {
        RoomAnswer::NotLoaded => RoomAnswer::NotInLine,
        a => a,
    };
    view(&sale, answer, remaining(state, &sale).await?, user.user_id, Utc::now())
}

/// Gives up the shopper's place (or admission); 404 when they had none.
pub async fn leave(state: &AppState, user: &CurrentUser, SaleId(id): SaleId) -> Result<(), AppError> {
    find(state, id).await?;
    if state.stores.waiting_room.leave(id, &user.user_id.to_string()).await.map_err(unavailable)? {
        Ok(())
    } else {
        Err(AppError::not_found("You are not in line for this sale."))
    }
}

/// The draw: before the start only the seed's hash; after it the seed, every pre-start ticket
/// in order, and the caller's own ticket and place.
pub async fn draw(state: &AppState, user: Option<&CurrentUser>, SaleId(id): SaleId) -> Result<DrawView, AppError> {
    let sale = find(state, id).await?;
    let started = Utc::now() >= sale.starts_at;
    let tickets = if started { state.stores.waiting_room.draw(id).await.map_err(unavailable)? } else { Vec::new() };
    let your_ticket = user.map(|u| ticket_of(seed(&sale), u.user_id)).filter(|t| tickets.contains(t));
    let your_place = your_ticket.as_ref().and_then(|t| tickets.iter().position(|x| x == t)).map(|i| i as i64 + 1);
    Ok(DrawView {
        sale_id: id,
        seed_sha256: sha256_hex(seed(&sale)),
        seed: started.then(|| seed(&sale).to_owned()),
        tickets,
        your_ticket,
        your_place,
    })
}

/// One admission round for every live sale: lets in the next batch at its rate (at most once a
/// second across every node, only while units are left) and tells every page how the line
/// moved. Returns how many shoppers were let in.
pub async fn admit_round(state: &AppState) -> Result<i64, AppError> {
    let now = Utc::now();
    let live = flash_sale::Entity::find()
        .filter(flash_sale::Column::Status.eq(SaleStatus::Active))
        .filter(flash_sale::Column::StartsAt.lte(now))
        .filter(flash_sale::Column::EndsAt.gt(now))
        .all(&state.db)
        .await?;
    let mut total = 0;
    for sale in live {
        if state.stores.stock_gate.remaining(sale.id).await.map_err(unavailable)?.is_none() {
            warm(state, &sale).await?;
        }
        let round = state
            .stores
            .waiting_room
            .admit(sale.id, sale.admission_rate, Duration::from_secs(TOKEN_SECONDS as u64))
            .await
            .map_err(unavailable)?;
        if round.ran && (round.admitted > 0 || round.waiting > 0) {
            total += round.admitted;
            let event = ShopEvent::QueueMoved { sale_id: sale.id, admitted: round.admitted, waiting: round.waiting, remaining: round.remaining };
            if let Err(e) = state.stores.events.publish(event).await {
                tracing::warn!(error = %e, sale_id = sale.id, "publishing QueueMoved");
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_follow_from_the_seed_and_order_the_draw() {
        let a = ticket_of("seed", 1);
        assert_eq!(a, ticket_of("seed", 1), "the same shopper always draws the same ticket");
        assert_ne!(a, ticket_of("seed", 2));
        assert_ne!(a, ticket_of("other seed", 1));
        assert_eq!(a.len(), 64);
        assert_eq!(draw_score(&a), u64::from_str_radix(&a[..12], 16).unwrap());
        assert!(draw_score(&a) < ARRIVALS_FROM, "every draw sorts before every later arrival");
    }
}
