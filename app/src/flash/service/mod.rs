//! Flash sales on SeaORM: who may manage which sale, and sales as shoppers and sellers see
//! them. Scheduling is `schedule.rs`; the end of a sale (cancel, end now, the clock) is
//! `lifecycle.rs`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::{SaleState, SaleView, SellerSale};
use crate::accounts::{CurrentUser, seller_scope};
use crate::db::{flash_sale, inventory, product, rfc3339, sale_allocation, variant};
use crate::error::AppError;
use crate::ids::SaleId;
use crate::money::Money;
use crate::states::SaleStatus;

mod buy;
mod extras;
mod holds;
mod lifecycle;
mod reminders;
mod room;
mod schedule;

pub use buy::{buy, hold, rewarm, warm};
pub use extras::{extras_paused, set_extras};
pub use holds::{Returned, hold_of_order, order_hold, pay_hold, return_hold};
pub use lifecycle::{cancel, end_now, spawn_transitions, transitions};
pub use reminders::{ExpressDetails, express_details, open_for_registration, register, registration, unregister};
pub use room::{admit_round, bought, draw, draw_score, eligibility, join, leave, place, ticket_of};
pub use schedule::{MAX_ADMISSION_RATE, schedule, update};

/// How long an ended sale stays on `/sales`.
const RECENTLY_ENDED_HOURS: i64 = 24;

/// Gives `units` of a sale back to the warehouses its allocation came from (the largest share
/// first). `shrink` also takes them off the shares, for an allocation made smaller; at the end
/// of a sale the shares stay as the record of where the units came from.
async fn give_back(txn: &impl ConnectionTrait, sale_id: i64, variant_id: i64, units: i64, shrink: bool) -> Result<(), AppError> {
    let shares = sale_allocation::Entity::find()
        .filter(sale_allocation::Column::SaleId.eq(sale_id))
        .order_by_desc(sale_allocation::Column::Quantity)
        .all(txn)
        .await?;
    let mut left = units;
    for share in shares {
        let back = std::cmp::min(left, share.quantity);
        if back <= 0 {
            break;
        }
        inventory::Entity::update_many()
            .col_expr(inventory::Column::Quantity, Expr::col(inventory::Column::Quantity).add(back))
            .col_expr(inventory::Column::Version, Expr::col(inventory::Column::Version).add(1))
            .filter(inventory::Column::WarehouseId.eq(share.warehouse_id))
            .filter(inventory::Column::VariantId.eq(variant_id))
            .exec(txn)
            .await?;
        if shrink && back == share.quantity {
            sale_allocation::Entity::delete_by_id(share.id).exec(txn).await?;
        } else if shrink {
            sale_allocation::Entity::update_many()
                .col_expr(sale_allocation::Column::Quantity, Expr::col(sale_allocation::Column::Quantity).sub(back))
                .filter(sale_allocation::Column::Id.eq(share.id))
                .exec(txn)
                .await?;
        }
        left -= back;
    }
    Ok(())
}

pub use crate::secrets::sha256_hex;

/// Where a sale stands at `now`.
pub fn state_of(sale: &flash_sale::Model, now: DateTime<Utc>) -> SaleState {
    match sale.status {
        SaleStatus::Cancelled => SaleState::Cancelled,
        SaleStatus::Ended => SaleState::Ended,
        _ if now >= sale.ends_at => SaleState::Ended,
        _ if now < sale.starts_at => SaleState::Upcoming,
        _ if sale.allocated - sale.sold <= 0 => SaleState::SoldOut,
        _ => SaleState::Live,
    }
}

async fn view(db: &impl ConnectionTrait, sale: &flash_sale::Model, now: DateTime<Utc>) -> Result<(SaleView, i64), AppError> {
    let variant = variant::Entity::find_by_id(sale.variant_id).one(db).await?.ok_or(AppError::Internal)?;
    let product = product::Entity::find_by_id(sale.product_id).one(db).await?.ok_or(AppError::Internal)?;
    let view = SaleView {
        sale_id: sale.id,
        product_id: product.id,
        title: product.title,
        sku: variant.sku,
        state: state_of(sale, now),
        price: Money::new(sale.price_amount, &sale.currency),
        regular_price: Money::new(variant.price_amount, &variant.currency),
        allocated: sale.allocated,
        remaining: std::cmp::max(sale.allocated - sale.sold, 0),
        per_buyer_limit: sale.per_buyer_limit,
        starts_at: rfc3339(sale.starts_at),
        ends_at: rfc3339(sale.ends_at),
        server_time: rfc3339(now),
        seconds_to_start: (sale.starts_at - now).num_seconds(),
        seconds_to_end: (sale.ends_at - now).num_seconds(),
        draw_seed_sha256: sha256_hex(sale.draw_seed.as_deref().unwrap_or_default()),
        draw_seed: sale.draw_seed.clone().filter(|_| now >= sale.starts_at),
        announced_at: rfc3339(sale.created_at),
        existing_accounts_only: sale.existing_accounts_only,
        verified_email_only: sale.verified_email_only,
    };
    Ok((view, product.seller_id))
}

/// The sale's rate limits on one request of a shopper (`action`: `join`, `buy`), per shopper
/// and per address; a refusal is also counted for the sale's fairness report.
async fn within_limits(state: &crate::state::AppState, sale_id: i64, action: &str, user_id: i64, ip: &str, rules: (crate::ratelimit::Rule, crate::ratelimit::Rule)) -> Result<(), AppError> {
    let (per_user, per_ip) = rules;
    let limited = crate::ratelimit::enforce(state.stores.rate_limiter.as_ref(), &state.limits, &[
        (format!("sale:{action}:user:{user_id}"), per_user),
        (format!("sale:{action}:ip:{ip}"), per_ip),
    ])
    .await;
    if let Err(AppError::TooManyRequests { .. }) = &limited {
        let _ = state.stores.waiting_room.note_refusal(sale_id).await;
    }
    limited
}

pub(super) async fn find(state: &crate::state::AppState, id: i64) -> Result<flash_sale::Model, AppError> {
    let sale = flash_sale::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| no_sale(id))?;
    state.recent.sales.put(id, std::sync::Arc::new(sale.clone()));
    Ok(sale)
}

/// The sale as read in the last second, for the hot paths (join, place, buy): what they take
/// from it (price, variant, seed, times) is fixed once a sale is live, and the gate, not this
/// row, decides whether it is. Warming the gate reads the row afresh.
pub(super) async fn find_recent(state: &crate::state::AppState, id: i64) -> Result<std::sync::Arc<flash_sale::Model>, AppError> {
    match state.recent.sales.get(&id) {
        Some(sale) => Ok(sale),
        None => find(state, id).await.map(std::sync::Arc::new),
    }
}

fn no_sale(id: i64) -> AppError {
    AppError::not_found(format!("There is no sale {id}."))
}

/// While a sale runs, the units left are the gate's (holds count), not only what is sold; the
/// database's figure stands when the gate cannot be asked.
async fn with_gate(state: &crate::state::AppState, mut view: SaleView) -> SaleView {
    if matches!(view.state, SaleState::Live | SaleState::SoldOut) {
        if let Ok(Some(left)) = state.stores.stock_gate.remaining(view.sale_id).await {
            view.remaining = Ord::max(left, 0);
            view.state = if left > 0 { SaleState::Live } else { SaleState::SoldOut };
        }
    }
    view
}

/// A sale as shoppers see it; cancelled ones too (a page that linked it says so).
pub async fn sale(state: &crate::state::AppState, SaleId(id): SaleId) -> Result<SaleView, AppError> {
    let db = &state.db;
    let sale = flash_sale::Entity::find_by_id(id).one(db).await?.ok_or_else(|| no_sale(id))?;
    Ok(with_gate(state, view(db, &sale, Utc::now()).await?.0).await)
}

/// Upcoming and live sales, and those that ended in the last day, soonest first.
pub async fn sales(state: &crate::state::AppState) -> Result<Vec<SaleView>, AppError> {
    let db = &state.db;
    let now = Utc::now();
    let rows = flash_sale::Entity::find()
        .filter(flash_sale::Column::Status.ne(SaleStatus::Cancelled))
        .filter(flash_sale::Column::EndsAt.gt(now - chrono::Duration::hours(RECENTLY_ENDED_HOURS)))
        .order_by_asc(flash_sale::Column::StartsAt)
        .order_by_asc(flash_sale::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for sale in &rows {
        out.push(with_gate(state, view(db, sale, now).await?.0).await);
    }
    Ok(out)
}

/// One of the caller's sales (an admin: anyone's); another seller's is 404.
pub async fn seller_sale(db: &DatabaseConnection, user: &CurrentUser, SaleId(id): SaleId) -> Result<SellerSale, AppError> {
    let scope = seller_scope(user)?;
    let sale = flash_sale::Entity::find_by_id(id).one(db).await?.ok_or_else(|| no_sale(id))?;
    let (view, seller_id) = view(db, &sale, Utc::now()).await?;
    if scope.is_some_and(|s| s != seller_id) {
        return Err(no_sale(id));
    }
    Ok(SellerSale { sale: view, sold: sale.sold, admission_rate: sale.admission_rate, seller_id, extras_off: sale.extras_off })
}

/// The caller's sales (an admin: everyone's), newest first.
pub async fn seller_sales(db: &DatabaseConnection, user: &CurrentUser) -> Result<Vec<SellerSale>, AppError> {
    let scope = seller_scope(user)?;
    let now = Utc::now();
    let rows = flash_sale::Entity::find().order_by_desc(flash_sale::Column::StartsAt).order_by_desc(flash_sale::Column::Id).all(db).await?;
    let mut out = Vec::new();
    for sale in &rows {
        let (view, seller_id) = view(db, sale, now).await?;
        if scope.is_none_or(|s| s == seller_id) {
            out.push(SellerSale { sale: view, sold: sale.sold, admission_rate: sale.admission_rate, seller_id, extras_off: sale.extras_off });
        }
    }
    Ok(out)
}

/// The variants the caller may put on sale (their own; an admin: everyone's), each named by
/// product, options and regular price, with its SKU, for the sale form's list. Archived
/// products are left out; at most 500, newest products first.
pub async fn variant_choices(db: &DatabaseConnection, user: &CurrentUser) -> Result<Vec<super::VariantChoice>, AppError> {
    use sea_orm::QuerySelect;
    let scope = seller_scope(user)?;
    let mut products = product::Entity::find()
        .filter(product::Column::Status.ne(crate::states::ProductStatus::Archived))
        .order_by_desc(product::Column::Id)
        .limit(500);
    if let Some(seller_id) = scope {
        products = products.filter(product::Column::SellerId.eq(seller_id));
    }
    let products = products.all(db).await?;
    let variants = variant::Entity::find()
        .filter(variant::Column::ProductId.is_in(products.iter().map(|p| p.id).collect::<Vec<_>>()))
        .order_by_asc(variant::Column::Position)
        .order_by_asc(variant::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for p in &products {
        for v in variants.iter().filter(|v| v.product_id == p.id) {
            let options = crate::catalog::service::options_label(&v.attributes);
            let price = Money::new(v.price_amount, &v.currency).display();
            let label = if options.is_empty() { format!("{} ({price})", p.title) } else { format!("{}: {options} ({price})", p.title) };
            out.push(super::VariantChoice { sku: v.sku.clone(), label });
            if out.len() >= 500 {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

/// A sale's live figures for its seller: sold, held, left (the gate's figure while it runs)
/// and the line's length.
pub async fn dashboard(state: &crate::state::AppState, user: &CurrentUser, id: SaleId) -> Result<super::SaleDashboard, AppError> {
    use crate::db::sale_hold;
    use crate::states::HoldState;
    let mut sale = seller_sale(&state.db, user, id).await?;
    let held: i64 = sale_hold::Entity::find()
        .filter(sale_hold::Column::SaleId.eq(id.0))
        .filter(sale_hold::Column::State.eq(HoldState::Held))
        .all(&state.db)
        .await?
        .iter()
        .map(|h| h.quantity)
        .sum();
    sale.sale = with_gate(state, sale.sale).await;
    let waiting = state.stores.waiting_room.waiting(id.0).await.unwrap_or(0);
    Ok(super::SaleDashboard { sale, held, waiting })
}

/// How fairly a sale went: buyers, units each, time to sell out, holds released and offered
/// again, requests turned away by rate limits. Any time; final after the end.
pub async fn report(state: &crate::state::AppState, user: &CurrentUser, id: SaleId) -> Result<super::FairnessReport, AppError> {
    use std::collections::BTreeMap;
    use crate::db::sale_hold;
    use crate::states::HoldState;
    let sold_view = seller_sale(&state.db, user, id).await?;
    let sale = flash_sale::Entity::find_by_id(id.0).one(&state.db).await?.ok_or(AppError::Internal)?;
    let holds = sale_hold::Entity::find().filter(sale_hold::Column::SaleId.eq(id.0)).all(&state.db).await?;
    let mut per_buyer: BTreeMap<i64, i64> = BTreeMap::new();
    for h in holds.iter().filter(|h| h.state == HoldState::Paid) {
        *per_buyer.entry(h.user_id).or_default() += h.quantity;
    }
    let mut histogram: BTreeMap<i64, i64> = BTreeMap::new();
    for units in per_buyer.values() {
        *histogram.entry(*units).or_default() += 1;
    }
    let over = sale.stock_returned_at.unwrap_or(sale.ends_at);
    let released: Vec<_> = holds.iter().filter(|h| h.state == HoldState::Released).collect();
    let sold_out_after_seconds = (sale.sold >= sale.allocated)
        .then(|| holds.iter().filter(|h| h.state == HoldState::Paid).map(|h| h.created_at).max())
        .flatten()
        .map(|last| Ord::max((last - sale.starts_at).num_seconds(), 0));
    Ok(super::FairnessReport {
        sale_id: id.0,
        sold: sold_view.sold,
        allocated: sale.allocated,
        distinct_buyers: per_buyer.len() as i64,
        units_per_buyer: histogram.into_iter().collect(),
        sold_out_after_seconds,
        holds_released: released.len() as i64,
        units_reoffered: released.iter().filter(|h| h.released_at.is_some_and(|t| t < over)).map(|h| h.quantity).sum(),
        rate_limited: state.stores.waiting_room.refusals(id.0).await.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_the_clock_and_the_stock() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let mut sale = flash_sale::Model {
            id: 1,
            product_id: 1,
            variant_id: 1,
            price_amount: 500,
            currency: "EUR".into(),
            starts_at: at("2026-12-03T12:00:00Z"),
            ends_at: at("2026-12-03T13:00:00Z"),
            allocated: 10,
            sold: 0,
            per_buyer_limit: 1,
            status: SaleStatus::Scheduled,
            created_at: at("2026-12-01T12:00:00Z"),
            admission_rate: 50,
            stock_returned_at: None,
            draw_seed: None,
            gate_secret: None,
            extras_off: false,
            existing_accounts_only: false,
            verified_email_only: false,
        };
        assert_eq!(state_of(&sale, at("2026-12-03T11:59:59Z")), SaleState::Upcoming);
        assert_eq!(state_of(&sale, at("2026-12-03T12:00:00Z")), SaleState::Live, "live from the start, whatever the stored status says");
        sale.sold = 10;
        assert_eq!(state_of(&sale, at("2026-12-03T12:30:00Z")), SaleState::SoldOut);
        assert_eq!(state_of(&sale, at("2026-12-03T13:00:00Z")), SaleState::Ended);
        sale.status = SaleStatus::Cancelled;
        assert_eq!(state_of(&sale, at("2026-12-03T11:00:00Z")), SaleState::Cancelled);
    }
}
