//! The checkout saga on SeaORM, and the sweeper that releases expired reservations.
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
    QueryOrder, Set, SqlErr,
};
use sha2::{Digest, Sha256};

use super::*;
use crate::accounts::CurrentUser;
use crate::cart::CartOwner;
use crate::catalog::service::ACTIVE;
use crate::db::{address, inventory, order, order_item, payment, product, reservation, variant};
use crate::db::rfc3339;
use crate::error::{AppError, FieldErrors};
use crate::payments::{AuthorizeOutcome, AuthorizeRequest, GatewayError};
use crate::state::AppState;

pub const PENDING: &str = "pending";
pub const PAID: &str = "paid";
pub const EXPIRED: &str = "expired";
pub const CANCELLED: &str = "cancelled";

/// An idempotency key as clients send it: 1-200 visible ASCII characters.
pub fn check_idempotency_key(key: Option<&str>) -> Result<String, AppError> {
    match key.map(str::trim) {
        None | Some("") => Err(AppError::bad("Idempotency-Key", "Send an Idempotency-Key header (for example a UUID) so a retried checkout cannot order twice.")),
        Some(k) if k.len() > 200 || !k.chars().all(|c| c.is_ascii_graphic()) => {
            Err(AppError::bad("Idempotency-Key", "The Idempotency-Key must be 1 to 200 visible ASCII characters."))
        }
        Some(k) => Ok(k.to_owned()),
    }
}

/// The request's fingerprint: the same key with another body is refused (422).
fn request_hash(user_id: i64, req: &CheckoutRequest) -> String {
    let canonical = serde_json::json!({ "user": user_id, "request": req });
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

struct Valid {
    address: AddressInput,
    method: ShippingMethod,
    payment_method_id: String,
}

async fn validate(db: &DatabaseConnection, user_id: i64, req: &CheckoutRequest) -> Result<Valid, AppError> {
    let mut errors = FieldErrors::default();
    let method = errors.check("shipping_method", ShippingMethod::parse(&req.shipping_method));
    let payment_method_id = req.payment_method_id.trim().to_owned();
    if payment_method_id.is_empty() {
        errors.add("payment_method_id", "Enter your card (the payment method is missing).");
    } else if payment_method_id.len() > 255 || !payment_method_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        errors.add("payment_method_id", "That is not a payment method id (they look like pm_…).");
    }
    let address = match (&req.shipping_address, req.shipping_address_id) {
        (Some(a), _) => match a.validate() {
            Ok(a) => Some(a),
            Err(e) => {
                for (field, msg) in e.fields() {
                    errors.add(&format!("shipping_address.{field}"), msg);
                }
                None
            }
        },
        (None, Some(id)) => {
            match address::Entity::find_by_id(id).filter(address::Column::UserId.eq(user_id)).one(db).await? {
                Some(a) => Some(AddressInput::from(crate::accounts::service::to_address(a))),
                None => {
                    errors.add("shipping_address_id", format!("Address {id} is not in your address book."));
                    None
                }
            }
        }
        (None, None) => {
            errors.add("shipping_address", "Give a shipping address (or the id of a saved one).");
            None
        }
    };
    errors.finish()?;
    Ok(Valid { address: address.expect("checked above"), method: method.expect("checked above"), payment_method_id })
}

/// A cart line priced and checked against the catalog.
struct Line {
    variant: variant::Model,
    product: product::Model,
    quantity: i64,
}

async fn priced_lines(state: &AppState, user_id: i64) -> Result<Vec<Line>, AppError> {
    let cart = state.stores.carts.lines(&CartOwner::User(user_id)).await?;
    if cart.is_empty() {
        return Err(AppError::bad("cart", "Your cart is empty: the cart is empty, so there is nothing to check out."));
    }
    let skus: Vec<String> = cart.iter().map(|l| l.sku.clone()).collect();
    let variants = variant::Entity::find().filter(variant::Column::Sku.is_in(skus)).all(&state.db).await?;
    let products: HashMap<i64, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(variants.iter().map(|v| v.product_id).collect::<Vec<_>>()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut lines = Vec::new();
    for l in cart {
        let v = variants.iter().find(|v| v.sku == l.sku);
        match v.and_then(|v| products.get(&v.product_id).map(|p| (v, p))) {
            Some((v, p)) if p.status == ACTIVE => lines.push(Line { variant: v.clone(), product: p.clone(), quantity: l.quantity }),
            Some((_, p)) => return Err(AppError::Conflict(format!("\"{}\" is no longer sold. Remove it from your cart to check out.", p.title))),
            None => return Err(AppError::Conflict(format!("An item in your cart ({}) is no longer sold. Remove it to check out.", l.sku))),
        }
    }
    let currency = &lines[0].variant.currency;
    if lines.iter().any(|l| &l.variant.currency != currency) {
        return Err(AppError::bad("cart", "Your cart has prices in more than one currency; check them out separately."));
    }
    Ok(lines)
}

/// Reserves `n` units of a variant, from one warehouse when one has enough (fewest splits),
/// else from the fullest first. Every take is a conditional update; any shortfall fails the
/// whole checkout (the caller's transaction rolls back).
async fn reserve_line(txn: &impl ConnectionTrait, order_id: i64, line: &Line, expires: chrono::DateTime<Utc>) -> Result<(), AppError> {
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
            state: Set("held".to_owned()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

fn result_of(o: &order::Model) -> CheckoutResult {
    let method = ShippingMethod::parse(&o.shipping_method).unwrap_or(ShippingMethod::Standard);
    CheckoutResult {
        order_id: o.id,
        status: o.status.clone(),
        total: Money::new(o.total, &o.currency),
        estimated_delivery: (o.created_at + Duration::days(method.days())).date_naive().to_string(),
        client_secret: None,
    }
}

/// Serialises this process's write transactions on SQLite (one writer at a time anyway).
/// PostgreSQL runs free.
async fn sqlite_turn(state: &AppState) -> Option<tokio::sync::MutexGuard<'_, ()>> {
    match state.db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => Some(state.sqlite_writes.lock().await),
        _ => None,
    }
}

/// Runs the checkout for `user` under `key`. Returns the result and whether it is a replay of
/// an earlier request with the same key (200 rather than 201).
#[tracing::instrument(skip(state, user, req), fields(user = user.user_id))]
pub async fn checkout(state: &AppState, user: &CurrentUser, key: &str, req: &CheckoutRequest) -> Result<(CheckoutResult, bool), AppError> {
    let db = &state.db;
    let hash = request_hash(user.user_id, req);
    if let Some(existing) = order::Entity::find().filter(order::Column::IdempotencyKey.eq(key)).one(db).await? {
        return replay(&existing, user.user_id, &hash).map(|r| (r, true));
    }
    let valid = validate(db, user.user_id, req).await?;
    let lines = priced_lines(state, user.user_id).await?;
    let currency = lines[0].variant.currency.clone();
    let subtotal: i64 = lines.iter().map(|l| l.variant.price_amount * l.quantity).sum();
    let shipping = valid.method.price(subtotal);
    let tax = tax_of(subtotal + shipping, state.rules.tax_rate_bps);
    let now = Utc::now();
    let expires = now + Duration::minutes(RESERVATION_MINUTES);

    let created = {
        let _turn = sqlite_turn(state).await;
        let txn = crate::db::begin_write(&state.db).await?;
        let inserted = order::ActiveModel {
            user_id: Set(user.user_id),
            status: Set(PENDING.to_owned()),
            currency: Set(currency.clone()),
            subtotal: Set(subtotal),
            shipping: Set(shipping),
            tax: Set(tax),
            total: Set(subtotal + shipping + tax),
            shipping_address: Set(serde_json::to_string(&valid.address).map_err(|_| AppError::Internal)?),
            shipping_method: Set(valid.method.as_str().to_owned()),
            idempotency_key: Set(key.to_owned()),
            request_hash: Set(hash.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            locked_until: Set(Some(now + Duration::seconds(state.rules.lease_seconds))),
            expires_at: Set(Some(expires)),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let o = match inserted {
            Ok(o) => o,
            // The same key won a race a moment ago: that request is still working on it.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                drop(txn);
                let existing = order::Entity::find().filter(order::Column::IdempotencyKey.eq(key)).one(db).await?.ok_or(AppError::Internal)?;
                return replay(&existing, user.user_id, &hash).map(|r| (r, true));
            }
            Err(e) => return Err(e.into()),
        };
        for line in &lines {
            order_item::ActiveModel {
                order_id: Set(o.id),
                variant_id: Set(line.variant.id),
                product_id: Set(line.product.id),
                title: Set(line.product.title.clone()),
                sku: Set(line.variant.sku.clone()),
                unit_price: Set(line.variant.price_amount),
                currency: Set(currency.clone()),
                quantity: Set(line.quantity),
                line_total: Set(line.variant.price_amount * line.quantity),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            reserve_line(&txn, o.id, line, expires).await?;
        }
        txn.commit().await?;
        o
    };
    tracing::info!(order_id = created.id, total = created.total, "order created, stock reserved");
    announce_stock(state, lines.iter().map(|l| l.product.id)).await;
    Ok((pay(state, created, &valid.payment_method_id).await?, false))
}

/// The answer to a request whose key was seen before.
fn replay(existing: &order::Model, user_id: i64, hash: &str) -> Result<CheckoutResult, AppError> {
    if existing.user_id != user_id || existing.request_hash != hash {
        return Err(AppError::Unprocessable("This Idempotency-Key was already used for a different checkout request. Use a new key for a new order.".to_owned()));
    }
    if existing.status == PENDING && existing.locked_until.is_some_and(|t| t > Utc::now()) {
        return Err(AppError::Conflict("A checkout with this Idempotency-Key is still in progress. Wait a moment and ask again.".to_owned()));
    }
    Ok(result_of(existing))
}

/// Pays a pending order with another card (after a decline), while its reservation lasts.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn pay_again(state: &AppState, user: &CurrentUser, order_id: i64, payment_method_id: &str) -> Result<CheckoutResult, AppError> {
    let db = &state.db;
    let o = own_order(db, user.user_id, order_id).await?;
    if o.status != PENDING {
        return Err(AppError::Conflict(format!("Order {order_id} is {} and cannot be paid.", o.status)));
    }
    if o.expires_at.is_some_and(|t| t <= Utc::now()) {
        return Err(AppError::Conflict(format!("Order {order_id} expired; its items went back on sale.")));
    }
    let pm = payment_method_id.trim();
    if pm.is_empty() {
        return Err(AppError::bad("payment_method_id", "Enter your card (the payment method is missing)."));
    }
    // Take the lease, so two tabs cannot pay the same order at once.
    let now = Utc::now();
    let claimed = order::Entity::update_many()
        .col_expr(order::Column::LockedUntil, Expr::value(now + Duration::seconds(state.rules.lease_seconds)))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.eq(PENDING))
        .filter(sea_orm::Condition::any().add(order::Column::LockedUntil.is_null()).add(order::Column::LockedUntil.lt(now)))
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(AppError::Conflict("This order is being paid in another window. Wait a moment and reload.".to_owned()));
    }
    let o = order::Entity::find_by_id(order_id).one(db).await?.ok_or(AppError::Internal)?;
    pay(state, o, pm).await
}

/// The provider idempotency key of one attempt: derived from the order (its id and a digest of
/// its client key and creation time, so two shops or test databases sharing one Stripe account
/// never collide) and the attempt number.
pub fn attempt_key(o: &order::Model, attempt: i32) -> String {
    let digest = Sha256::digest(format!("{}|{}|{}", o.id, o.idempotency_key, rfc3339_nanos(o.created_at)).as_bytes());
    let tag: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    format!("{}attempt-{attempt}", attempt_prefix(o.id, &tag))
}

/// What every attempt key of an order starts with.
pub fn attempt_prefix(order_id: i64, tag: &str) -> String {
    format!("sellout-order-{order_id}-{tag}-")
}

fn rfc3339_nanos(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// One payment attempt: recorded (state `created`, its key) before the provider is asked,
/// then moved by the answer. Returns the order as it ends up; with the client secret when the
/// card needs 3-D Secure (the attempt stays `created` with its intent until the browser is done).
async fn pay(state: &AppState, o: order::Model, payment_method_id: &str) -> Result<CheckoutResult, AppError> {
    let db = &state.db;
    let attempt = payment::Entity::find().filter(payment::Column::OrderId.eq(o.id)).count(db).await? as i32 + 1;
    if attempt > 1 {
        // An earlier attempt still waiting for 3-D Secure must not be completed later as well.
        void_waiting(state, o.id).await?;
    }
    let key = attempt_key(&o, attempt);
    let now = Utc::now();
    let p = payment::ActiveModel {
        order_id: Set(o.id),
        provider: Set(state.stores.payments.provider().to_owned()),
        intent_id: Set(None),
        state: Set("created".to_owned()),
        amount: Set(o.total),
        currency: Set(o.currency.clone()),
        idempotency_key: Set(key.clone()),
        attempt: Set(attempt),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let request = AuthorizeRequest {
        order_id: o.id,
        amount: o.total,
        currency: o.currency.clone(),
        payment_method_id: payment_method_id.to_owned(),
        idempotency_key: key.clone(),
    };
    let outcome = state.stores.payments.authorize(&request).await;
    // Fault injection for the crash test (debug builds only): die between the provider's
    // answer and our bookkeeping, the worst moment for a crash.
    if cfg!(debug_assertions) && std::env::var("SELLOUT_FAULT_CRASH_AFTER_AUTHORIZE").is_ok_and(|v| v == "1") {
        tracing::error!(order_id = o.id, "fault injection: aborting after authorization");
        std::process::abort();
    }
    match outcome {
        Ok(AuthorizeOutcome::Authorized { intent_id }) => {
            set_payment(db, p.id, "created", "authorized", Some(&intent_id)).await?;
            settle_authorized(state, p.id).await.map(|paid| result_of(&paid))
        }
        Ok(AuthorizeOutcome::Declined { intent_id, message }) => {
            set_payment(db, p.id, "created", "failed", intent_id.as_deref()).await?;
            release_lease(db, o.id).await?;
            Err(AppError::PaymentDeclined(message))
        }
        Ok(AuthorizeOutcome::RequiresAction { intent_id, client_secret }) => {
            // 3-D Secure: the browser completes it with Stripe.js, then asks us to confirm
            // (`confirm_payment`); a webhook or the recovery sweep finishes it otherwise.
            set_payment(db, p.id, "created", "created", Some(&intent_id)).await?;
            release_lease(db, o.id).await?;
            tracing::info!(order_id = o.id, intent_id, "card needs 3-D Secure");
            Ok(CheckoutResult { client_secret: Some(client_secret), ..result_of(&o) })
        }
        Err(GatewayError::InvalidPaymentMethod(m)) => {
            set_payment(db, p.id, "created", "failed", None).await?;
            release_lease(db, o.id).await?;
            Err(AppError::bad("payment_method_id", m))
        }
        Err(GatewayError::Unavailable(m)) => {
            tracing::error!(order_id = o.id, error = m, "payment provider unavailable");
            set_payment(db, p.id, "created", "failed", None).await?;
            release_lease(db, o.id).await?;
            Err(AppError::Conflict("We could not reach the payment provider. Your order is saved; please try paying again in a minute.".to_owned()))
        }
    }
}

/// After the shopper's 3-D Secure in the browser: asks the provider where the waiting attempt
/// stands. Authorized → the order is paid (or, if its stock is gone, the money released);
/// authentication failed → 402 and the order stays payable; not finished → 409.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn confirm_payment(state: &AppState, user: &CurrentUser, order_id: i64) -> Result<CheckoutResult, AppError> {
    let db = &state.db;
    let o = own_order(db, user.user_id, order_id).await?;
    let waiting = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .filter(payment::Column::IntentId.is_not_null())
        .order_by_desc(payment::Column::Attempt)
        .one(db)
        .await?;
    let Some(p) = waiting.filter(|p| p.state == "created") else {
        // Nothing waiting: a webhook may have finished it already, or it never needed a check.
        return match o.status.as_str() {
            PENDING => Err(AppError::Conflict(format!("Order {order_id} has no card check waiting. Pay for it with a card."))),
            _ => Ok(result_of(&o)),
        };
    };
    let intent_id = p.intent_id.clone().unwrap_or_default();
    match state.stores.payments.retrieve(&intent_id).await {
        Ok(AuthorizeOutcome::Authorized { .. }) => {
            if set_payment(db, p.id, "created", "authorized", None).await? {
                settle_authorized(state, p.id).await.map(|o| result_of(&o))
            } else {
                // A webhook got there first.
                Ok(result_of(&own_order(db, user.user_id, order_id).await?))
            }
        }
        Ok(AuthorizeOutcome::RequiresAction { .. }) => {
            Err(AppError::Conflict("The card check (3-D Secure) is not finished yet. Complete it in the window your bank opened, or pay with another card.".to_owned()))
        }
        Ok(AuthorizeOutcome::Declined { message, .. }) => {
            set_payment(db, p.id, "created", "failed", None).await?;
            Err(AppError::PaymentDeclined(message))
        }
        Err(e) => {
            tracing::warn!(error = %e, order_id, intent_id, "looking up a 3-D Secure attempt");
            Err(AppError::Conflict("We could not reach the payment provider to check your card. Try again in a minute.".to_owned()))
        }
    }
}

/// A payment that became `authorized` settles its order: paid if the order is still pending
/// with its stock held. Otherwise (the reservation ran out, the order was cancelled, or another
/// attempt paid it) the authorization is voided, so no card is charged without an order. Used
/// by checkout, the 3-D Secure confirmation, webhooks and crash recovery; whoever moved the
/// payment to `authorized` (a conditional update) calls it, so it runs once per payment.
pub async fn settle_authorized(state: &AppState, payment_id: i64) -> Result<order::Model, AppError> {
    let db = &state.db;
    let p = payment::Entity::find_by_id(payment_id).one(db).await?.ok_or(AppError::Internal)?;
    let o = order::Entity::find_by_id(p.order_id).one(db).await?.ok_or(AppError::Internal)?;
    if !matches!(p.state.as_str(), "authorized" | "captured") {
        return Ok(o);
    }
    if o.status == PENDING {
        return match commit_paid(state, &o).await {
            Ok(paid) => {
                if let Err(e) = state.stores.carts.clear(&CartOwner::User(o.user_id)).await {
                    tracing::warn!(error = %e, order_id = o.id, "clearing the cart after payment");
                }
                let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(o.id)).all(db).await?;
                announce_stock(state, items.iter().map(|i| i.product_id)).await;
                tracing::info!(order_id = o.id, intent_id = p.intent_id, "order paid");
                Ok(paid)
            }
            Err(e @ AppError::Conflict(_)) => {
                // The reservation ran out before the payment came back: give the money back.
                void_payment(state, &p).await?;
                Err(e)
            }
            Err(e) => Err(e),
        };
    }
    let paid_by_other = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(o.id))
        .filter(payment::Column::Id.ne(p.id))
        .filter(payment::Column::State.is_in(["authorized", "captured", "settled"]))
        .count(db)
        .await?
        > 0;
    if paid_by_other || !matches!(o.status.as_str(), PAID | "shipped" | "delivered") {
        tracing::warn!(order_id = o.id, status = o.status, "an authorization for an order that no longer needs it: voiding");
        void_payment(state, &p).await?;
    }
    Ok(o)
}

/// Voids an authorized payment at the provider; a failure is logged and left to reconciliation.
async fn void_payment(state: &AppState, p: &payment::Model) -> Result<(), AppError> {
    let Some(intent_id) = p.intent_id.as_deref() else { return Ok(()) };
    match state.stores.payments.void(intent_id, &format!("{}-void", p.idempotency_key)).await {
        Ok(()) => {
            set_payment(&state.db, p.id, &p.state, "voided", None).await?;
        }
        Err(e) => tracing::error!(error = %e, order_id = p.order_id, intent_id, "voiding a payment; reconciliation will retry"),
    }
    Ok(())
}

/// Cancels an order's attempts still waiting for 3-D Secure (a new card, expiry, cancel), so
/// a check finished late cannot authorize money for an order that moved on.
async fn void_waiting(state: &AppState, order_id: i64) -> Result<(), AppError> {
    let waiting = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .filter(payment::Column::State.eq("created"))
        .filter(payment::Column::IntentId.is_not_null())
        .all(&state.db)
        .await?;
    for p in waiting {
        void_payment(state, &p).await?;
    }
    Ok(())
}

/// Moves a payment from `from` to `to` if it is still in `from`; true when this call moved it.
async fn set_payment(db: &DatabaseConnection, id: i64, from: &str, to: &str, intent_id: Option<&str>) -> Result<bool, DbErr> {
    let mut q = payment::Entity::update_many()
        .col_expr(payment::Column::State, Expr::value(to))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()));
    if let Some(i) = intent_id {
        q = q.col_expr(payment::Column::IntentId, Expr::value(i));
    }
    q.filter(payment::Column::Id.eq(id)).filter(payment::Column::State.eq(from)).exec(db).await.map(|r| r.rows_affected == 1)
}

async fn release_lease(db: &DatabaseConnection, order_id: i64) -> Result<(), DbErr> {
    order::Entity::update_many()
        .col_expr(order::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(order::Column::Id.eq(order_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Moves a reservation from `from` to `to` if it is still in `from`; true when this call moved
/// it, so the caller adjusts its stock exactly once.
async fn move_reservation(txn: &impl ConnectionTrait, id: i64, from: &str, to: &str) -> Result<bool, DbErr> {
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
async fn commit_paid(state: &AppState, o: &order::Model) -> Result<order::Model, AppError> {
    let _turn = sqlite_turn(state).await;
    let txn = crate::db::begin_write(&state.db).await?;
    let held = reservation::Entity::find()
        .filter(reservation::Column::OrderId.eq(o.id))
        .filter(reservation::Column::State.eq("held"))
        .all(&txn)
        .await?;
    let expected: i64 = order_item::Entity::find().filter(order_item::Column::OrderId.eq(o.id)).all(&txn).await?.iter().map(|i| i.quantity).sum();
    let lost = || AppError::Conflict(format!("Order {} expired before the payment came back; the payment was cancelled and nothing was charged.", o.id));
    if held.iter().map(|r| r.quantity).sum::<i64>() != expected {
        return Err(lost());
    }
    for r in &held {
        if !move_reservation(&txn, r.id, "held", "committed").await? {
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
        .col_expr(order::Column::Status, Expr::value(PAID))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .col_expr(order::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .col_expr(order::Column::ExpiresAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Status.eq(PENDING))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(lost());
    }
    let outbox = serde_json::json!({ "order_id": o.id, "user_id": o.user_id, "total": o.total, "currency": o.currency });
    super::notify::enqueue(&txn, "order.paid", outbox).await?;
    txn.commit().await?;
    Ok(order::Entity::find_by_id(o.id).one(&state.db).await?.ok_or(AppError::Internal)?)
}

async fn announce_stock(state: &AppState, products: impl Iterator<Item = i64>) {
    let mut ids: Vec<i64> = products.collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        crate::catalog::service::announce(state, id).await;
    }
}

/// Releases reservations whose time is up, each exactly once (the move from `held` is
/// conditional), skipping orders a request is still working on; then marks their unpaid
/// orders `expired`. Returns how many reservations went back into stock.
#[tracing::instrument(skip(state))]
pub async fn release_expired(state: &AppState) -> Result<u64, AppError> {
    let db = &state.db;
    let now = Utc::now();
    let due = reservation::Entity::find()
        .filter(reservation::Column::State.eq("held"))
        .filter(reservation::Column::ExpiresAt.lte(now))
        .order_by_asc(reservation::Column::ExpiresAt)
        .all(db)
        .await?;
    let order_ids: Vec<i64> = due.iter().filter_map(|r| r.order_id).collect();
    let leased: BTreeMap<i64, bool> = order::Entity::find()
        .filter(order::Column::Id.is_in(order_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.locked_until.is_some_and(|t| t > now)))
        .collect();
    let mut released = 0;
    let mut touched_orders = Vec::new();
    let mut touched_variants = Vec::new();
    for r in due {
        if r.order_id.is_some_and(|id| leased.get(&id).copied().unwrap_or(false)) {
            continue;
        }
        let _turn = sqlite_turn(state).await;
        let txn = crate::db::begin_write(&state.db).await?;
        if move_reservation(&txn, r.id, "held", "released").await? {
            inventory::Entity::update_many()
                .col_expr(inventory::Column::Reserved, Expr::col(inventory::Column::Reserved).sub(r.quantity))
                .col_expr(inventory::Column::Version, Expr::col(inventory::Column::Version).add(1))
                .filter(inventory::Column::VariantId.eq(r.variant_id))
                .filter(inventory::Column::WarehouseId.eq(r.warehouse_id))
                .exec(&txn)
                .await?;
            released += 1;
            touched_variants.push(r.variant_id);
            touched_orders.extend(r.order_id);
        }
        txn.commit().await?;
    }
    touched_orders.sort_unstable();
    touched_orders.dedup();
    for id in touched_orders {
        order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(EXPIRED))
            .col_expr(order::Column::UpdatedAt, Expr::value(now))
            .filter(order::Column::Id.eq(id))
            .filter(order::Column::Status.eq(PENDING))
            .exec(db)
            .await?;
        void_waiting(state, id).await?;
    }
    if !touched_variants.is_empty() {
        let products = variant::Entity::find().filter(variant::Column::Id.is_in(touched_variants)).all(db).await?;
        announce_stock(state, products.iter().map(|v| v.product_id)).await;
        tracing::info!(released, "expired reservations released");
    }
    Ok(released)
}

/// Finishes payment attempts a crash cut off: an attempt still `created` after its lease is
/// looked up at the provider by its idempotency key. Authorized there → the order is paid if
/// its stock is still held, else the authorization is voided; never reached or declined → the
/// attempt failed and nothing was charged. So no card is charged without an order.
#[tracing::instrument(skip(state))]
pub async fn recover_in_flight(state: &AppState) -> Result<usize, AppError> {
    let db = &state.db;
    let cutoff = Utc::now() - Duration::seconds(state.rules.lease_seconds);
    let stuck = payment::Entity::find()
        .filter(payment::Column::State.eq("created"))
        .filter(payment::Column::IntentId.is_null())
        .filter(payment::Column::UpdatedAt.lt(cutoff))
        .all(db)
        .await?;
    let mut recovered = 0;
    for p in stuck {
        let Some(o) = order::Entity::find_by_id(p.order_id).one(db).await? else { continue };
        if o.locked_until.is_some_and(|t| t > Utc::now()) {
            continue;
        }
        match state.stores.payments.find_attempt(&p.idempotency_key).await {
            Ok(Some(AuthorizeOutcome::Authorized { intent_id })) => {
                if set_payment(db, p.id, "created", "authorized", Some(&intent_id)).await? {
                    match settle_authorized(state, p.id).await {
                        Ok(o) => tracing::info!(order_id = o.id, status = o.status, "recovered an authorization cut off by a crash"),
                        Err(e) => tracing::warn!(error = %e, order_id = o.id, "recovered an authorization, but the order could not take it"),
                    }
                }
            }
            Ok(Some(AuthorizeOutcome::RequiresAction { intent_id, .. })) => {
                // Waiting on the shopper's 3-D Secure; the webhook finishes it.
                set_payment(db, p.id, "created", "created", Some(&intent_id)).await?;
            }
            Ok(Some(AuthorizeOutcome::Declined { intent_id, .. })) => {
                set_payment(db, p.id, "created", "failed", intent_id.as_deref()).await?;
            }
            Ok(None) => {
                set_payment(db, p.id, "created", "failed", None).await?;
            }
            Err(e) => {
                tracing::warn!(error = %e, order_id = o.id, "recovery: provider unavailable, will retry");
                continue;
            }
        }
        release_lease(db, o.id).await?;
        recovered += 1;
    }
    Ok(recovered)
}

/// Runs `recover_in_flight` and `release_expired` every `every` (recovery first, so a paid
/// attempt is not mistaken for an abandoned one) for as long as the server runs.
pub fn spawn_sweeper(state: AppState, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = recover_in_flight(&state).await {
                tracing::warn!(error = %e, "recovering cut-off payments");
            }
            if let Err(e) = release_expired(&state).await {
                tracing::warn!(error = %e, "releasing expired reservations");
            }
        }
    });
}

// ---- cancelling ----

/// Until when the shopper may cancel a paid order themselves.
pub fn cancellable_until(o: &order::Model, window_minutes: i64) -> Option<chrono::DateTime<Utc>> {
    match o.status.as_str() {
        PENDING => o.expires_at,
        PAID => Some(o.created_at + Duration::minutes(window_minutes)),
        _ => None,
    }
}

/// Cancels the caller's order: a pending one gives its held stock back; a paid one within the
/// window gives its sold stock back and has its authorization voided. The status change is
/// conditional and carries the stock in the same transaction, so a double cancel (two tabs,
/// two nodes) returns the stock once.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn cancel(state: &AppState, user: &CurrentUser, order_id: i64) -> Result<OrderView, AppError> {
    let db = &state.db;
    let o = own_order(db, user.user_id, order_id).await?;
    if o.status == CANCELLED {
        // Cancelling twice is cancelling once.
        return order_view(db, user.user_id, order_id, state.rules.cancel_window_minutes).await;
    }
    let now = Utc::now();
    match (o.status.as_str(), cancellable_until(&o, state.rules.cancel_window_minutes)) {
        (PENDING | PAID, Some(until)) if until > now => {}
        (PAID, _) => {
            return Err(AppError::Conflict(format!(
                "Order {order_id} can no longer be cancelled here: the {} minutes for that have passed. Contact the seller for a return.",
                state.rules.cancel_window_minutes
            )));
        }
        (status, _) => return Err(AppError::Conflict(format!("Order {order_id} is {status} and cannot be cancelled."))),
    }
    let was_paid = o.status == PAID;
    let cancelled = {
        let _turn = sqlite_turn(state).await;
        let txn = crate::db::begin_write(&state.db).await?;
        let res = order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(CANCELLED))
            .col_expr(order::Column::UpdatedAt, Expr::value(now))
            .col_expr(order::Column::ExpiresAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .filter(order::Column::Id.eq(order_id))
            .filter(order::Column::Status.eq(o.status.clone()))
            .filter(sea_orm::Condition::any().add(order::Column::LockedUntil.is_null()).add(order::Column::LockedUntil.lt(now)))
            .exec(&txn)
            .await?;
        if res.rows_affected == 1 {
            super::notify::enqueue(&txn, "order.cancelled", serde_json::json!({ "order_id": order_id })).await?;
            let rows = reservation::Entity::find().filter(reservation::Column::OrderId.eq(order_id)).all(&txn).await?;
            for r in rows {
                let (from, back_on_shelf) = match r.state.as_str() {
                    "held" => ("held", false),
                    "committed" => ("committed", true),
                    _ => continue,
                };
                if !move_reservation(&txn, r.id, from, "released").await? {
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
        let now_status = own_order(db, user.user_id, order_id).await?.status;
        if now_status == CANCELLED {
            return order_view(db, user.user_id, order_id, state.rules.cancel_window_minutes).await;
        }
        return Err(AppError::Conflict(format!("Order {order_id} is being paid or changed right now. Reload and try again.")));
    }
    void_waiting(state, order_id).await?;
    if was_paid {
        for p in payment::Entity::find().filter(payment::Column::OrderId.eq(order_id)).filter(payment::Column::State.eq("authorized")).all(db).await? {
            let Some(intent) = p.intent_id.clone() else { continue };
            match state.stores.payments.void(&intent, &format!("{}-void", p.idempotency_key)).await {
                Ok(()) => {
                    set_payment(db, p.id, "authorized", "voided", None).await?;
                }
                // The order is cancelled either way; reconciliation voids what is left.
                Err(e) => tracing::error!(error = %e, order_id, intent, "voiding a cancelled order's payment"),
            }
        }
    }
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(order_id)).all(db).await?;
    announce_stock(state, items.iter().map(|i| i.product_id)).await;
    tracing::info!(order_id, was_paid, "order cancelled");
    order_view(db, user.user_id, order_id, state.rules.cancel_window_minutes).await
}

// ---- reading orders ----

/// The caller's order made under `key`, if any.
pub async fn order_id_for_key(db: &DatabaseConnection, user_id: i64, key: &str) -> Result<Option<i64>, AppError> {
    Ok(order::Entity::find()
        .filter(order::Column::IdempotencyKey.eq(key))
        .filter(order::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .map(|o| o.id))
}

async fn own_order(db: &DatabaseConnection, user_id: i64, order_id: i64) -> Result<order::Model, AppError> {
    order::Entity::find_by_id(order_id)
        .filter(order::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("You have no order {order_id}.")))
}

/// The caller's order; `window` is the cancel window in minutes.
pub async fn order_view(db: &DatabaseConnection, user_id: i64, order_id: i64, window: i64) -> Result<OrderView, AppError> {
    let o = own_order(db, user_id, order_id).await?;
    let cancel_until = cancellable_until(&o, window).filter(|t| *t > Utc::now()).map(rfc3339);
    let items = order_item::Entity::find().filter(order_item::Column::OrderId.eq(o.id)).order_by_asc(order_item::Column::Id).all(db).await?;
    let r = result_of(&o);
    Ok(OrderView {
        order_id: o.id,
        status: o.status.clone(),
        lines: items
            .into_iter()
            .map(|i| OrderLine {
                product_id: i.product_id,
                unit_price: Money::new(i.unit_price, &i.currency),
                line_total: Money::new(i.line_total, &i.currency),
                sku: i.sku,
                title: i.title,
                quantity: i.quantity,
            })
            .collect(),
        subtotal: Money::new(o.subtotal, &o.currency),
        shipping: Money::new(o.shipping, &o.currency),
        tax: Money::new(o.tax, &o.currency),
        total: Money::new(o.total, &o.currency),
        shipping_method: o.shipping_method.clone(),
        shipping_address: serde_json::from_str(&o.shipping_address).unwrap_or_default(),
        created_at: rfc3339(o.created_at),
        expires_at: (o.status == PENDING).then_some(o.expires_at).flatten().map(rfc3339),
        cancellable_until: cancel_until,
        estimated_delivery: r.estimated_delivery,
    })
}

pub async fn order_list(db: &DatabaseConnection, user_id: i64) -> Result<Vec<OrderSummary>, AppError> {
    let orders = order::Entity::find()
        .filter(order::Column::UserId.eq(user_id))
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .all(db)
        .await?;
    let items = order_item::Entity::find()
        .filter(order_item::Column::OrderId.is_in(orders.iter().map(|o| o.id).collect::<Vec<_>>()))
        .all(db)
        .await?;
    Ok(orders
        .into_iter()
        .map(|o| OrderSummary {
            order_id: o.id,
            items: items.iter().filter(|i| i.order_id == o.id).map(|i| i.quantity).sum(),
            total: Money::new(o.total, &o.currency),
            created_at: rfc3339(o.created_at),
            status: o.status,
        })
        .collect())
}
