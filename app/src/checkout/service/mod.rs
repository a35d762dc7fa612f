//! The checkout saga on SeaORM, split by step: `idempotency`, `validate` (and pricing),
//! `reservations`, `attempts` (payments), `saga` (the entry points), `express` (a flash sale's
//! one-step buy with a saved card) and the `sweeper`.
//!
//! Invariants: stock is reserved only by a conditional update (`quantity - reserved >= n`), so
//! it can never be oversold or go negative whatever the concurrency; a reservation leaves
//! `held` exactly once (committed on payment, released on expiry), each move conditional on
//! `state = 'held'`; one payment attempt has one idempotency key, stored before the provider is
//! called, so a retried request never makes a second intent for the same attempt.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use sha2::{Digest, Sha256};

use super::{CheckoutRequest, CheckoutResult, RESERVATION_MINUTES, ShippingMethod, tax_of};
use crate::accounts::{AddressInput, CurrentUser};
use crate::money::Money;
use crate::cart::CartOwner;
use crate::states::ProductStatus;
use crate::db::{address, flash_sale, inventory, order, order_item, payment, product, reservation, sale_hold, variant};
use crate::error::{AppError, FieldErrors};
use crate::payments::{AuthorizeOutcome, AuthorizeRequest, GatewayError};
use crate::state::AppState;
pub(crate) use crate::states::{HoldState, OrderStatus, PaymentState, ReservationState};

mod attempts;
mod express;
mod idempotency;
mod reservations;
mod saga;
mod sweeper;
mod validate;

pub use attempts::*;
pub use express::*;
pub use idempotency::*;
pub(crate) use reservations::*;
pub use saga::*;
pub use sweeper::*;
pub(crate) use validate::*;
pub use validate::hold_cart;

pub(crate) fn result_of(o: &order::Model) -> CheckoutResult {
    let method = o.shipping_method;
    CheckoutResult {
        order_id: o.id,
        status: o.status,
        total: Money::new(o.total, &o.currency),
        estimated_delivery: (o.created_at + Duration::days(method.days())).date_naive().to_string(),
        client_secret: None,
    }
}

pub(crate) async fn announce_stock(state: &AppState, products: impl Iterator<Item = i64>) {
    let mut ids: Vec<i64> = products.collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        crate::catalog::service::announce(state, id).await;
    }
}

/// Checkout attempts (placing an order, paying one) of one shopper and from one client address
/// (`ClientAddr::bucket`): 429 past `SELLOUT_RATE_CHECKOUT_PER_USER` or `…_PER_IP`, before
/// anything is reserved or sent to the payment provider.
pub async fn check_checkout_rate(state: &AppState, user_id: i64, ip: &str) -> Result<(), AppError> {
    let limits = &state.limits;
    crate::ratelimit::enforce(state.stores.rate_limiter.as_ref(), limits, &[(format!("checkout:user:{user_id}"), limits.checkout_per_user), (format!("checkout:ip:{ip}"), limits.checkout_per_ip)]).await
}

pub(crate) async fn own_order(db: &DatabaseConnection, user_id: i64, order_id: i64) -> Result<order::Model, AppError> {
    order::Entity::find_by_id(order_id)
        .filter(order::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("You have no order {order_id}.")))
}

pub use crate::payments::card::payment_entry;
