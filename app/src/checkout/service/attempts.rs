//! Payment attempts: recorded before the provider is asked, moved by its answer, settled once
//! (paid, or voided when the order no longer needs the money).

use crate::ids::OrderId;
use super::*;

/// The card a payment is made with: typed in now, or saved on the shopper's customer at the
/// provider and charged without them at the keyboard (an express buy).
pub(crate) struct Card<'a> {
    pub(crate) method: &'a str,
    pub(crate) customer: Option<&'a str>,
    pub(crate) off_session: bool,
}

impl<'a> Card<'a> {
    pub(crate) fn typed(method: &'a str) -> Self {
        Card { method, customer: None, off_session: false }
    }
}

/// One payment attempt: recorded (state `created`, its key) before the provider is asked,
/// then moved by the answer. Returns the order as it ends up; with the client secret when the
/// card needs 3-D Secure (the attempt stays `created` with its intent until the browser is done).
pub(crate) async fn pay(state: &AppState, o: order::Model, card: &Card<'_>) -> Result<CheckoutResult, AppError> {
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
        state: Set(PaymentState::Created),
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
        payment_method_id: card.method.to_owned(),
        idempotency_key: key.clone(),
        customer: card.customer.map(str::to_owned),
        off_session: card.off_session,
    };
    // Fault injection for the shutdown test (debug builds only): a slow provider, so a
    // checkout is still in flight when SIGTERM arrives.
    if cfg!(debug_assertions) {
        if let Some(ms) = std::env::var("SELLOUT_FAULT_AUTHORIZE_DELAY_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
    }
    let outcome = state.stores.payments.authorize(&request).await;
    // Fault injection for the crash test (debug builds only): die between the provider's
    // answer and our bookkeeping, the worst moment for a crash.
    if cfg!(debug_assertions) && std::env::var("SELLOUT_FAULT_CRASH_AFTER_AUTHORIZE").is_ok_and(|v| v == "1") {
        tracing::error!(order_id = o.id, "fault injection: aborting after authorization");
        std::process::abort();
    }
    match outcome {
        Ok(AuthorizeOutcome::Authorized { intent_id }) => {
            set_payment(db, p.id, PaymentState::Created, PaymentState::Authorized, Some(&intent_id)).await?;
            settle_authorized(state, p.id).await.map(|paid| result_of(&paid))
        }
        Ok(AuthorizeOutcome::Declined { intent_id, message }) => {
            set_payment(db, p.id, PaymentState::Created, PaymentState::Failed, intent_id.as_deref()).await?;
            release_lease(db, o.id).await?;
            Err(AppError::PaymentDeclined(message))
        }
        Ok(AuthorizeOutcome::RequiresAction { intent_id, client_secret }) => {
            // 3-D Secure: the browser completes it with Stripe.js, then asks us to confirm
            // (`confirm_payment`); a webhook or the recovery sweep finishes it otherwise.
            set_payment(db, p.id, PaymentState::Created, PaymentState::Created, Some(&intent_id)).await?;
            release_lease(db, o.id).await?;
            tracing::info!(order_id = o.id, intent_id, "card needs 3-D Secure");
            Ok(CheckoutResult { client_secret: Some(client_secret), ..result_of(&o) })
        }
        Err(GatewayError::InvalidPaymentMethod(m)) => {
            set_payment(db, p.id, PaymentState::Created, PaymentState::Failed, None).await?;
            release_lease(db, o.id).await?;
            Err(AppError::bad("payment_method_id", m))
        }
        Err(GatewayError::Unavailable(m)) => {
            tracing::error!(order_id = o.id, error = m, "payment provider unavailable");
            set_payment(db, p.id, PaymentState::Created, PaymentState::Failed, None).await?;
            release_lease(db, o.id).await?;
            Err(AppError::Conflict("We could not reach the payment provider. Your order is saved; please try paying again in a minute.".to_owned()))
        }
    }
}

/// After the shopper's 3-D Secure in the browser: asks the provider where the waiting attempt
/// stands. Authorized → the order is paid (or, if its stock is gone, the money released);
/// authentication failed → 402 and the order stays payable; not finished → 409.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn confirm_payment(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId) -> Result<CheckoutResult, AppError> {
    let db = &state.db;
    let o = own_order(db, user.user_id, order_id).await?;
    let waiting = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .filter(payment::Column::IntentId.is_not_null())
        .order_by_desc(payment::Column::Attempt)
        .one(db)
        .await?;
    let Some(p) = waiting.filter(|p| p.state == PaymentState::Created) else {
        // Nothing waiting: a webhook may have finished it already, or it never needed a check.
        return match o.status {
            OrderStatus::Pending => Err(AppError::Conflict(format!("Order {order_id} has no card check waiting. Pay for it with a card."))),
            _ => Ok(result_of(&o)),
        };
    };
    let intent_id = p.intent_id.clone().unwrap_or_default();
    match state.stores.payments.retrieve(&intent_id).await {
        Ok(AuthorizeOutcome::Authorized { .. }) => {
            if set_payment(db, p.id, PaymentState::Created, PaymentState::Authorized, None).await? {
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
            set_payment(db, p.id, PaymentState::Created, PaymentState::Failed, None).await?;
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
    if !matches!(p.state, PaymentState::Authorized | PaymentState::Captured) {
        return Ok(o);
    }
    if o.status == OrderStatus::Pending {
        return match commit_paid(state, &o).await {
            Ok(paid) => {
                match crate::flash::service::hold_of_order(db, o.id).await? {
                    // A flash-sale order: its units stay sold in the gate; the cart is untouched.
                    Some(h) => {
                        if let Err(e) = state.stores.stock_gate.commit(h.sale_id, &h.id).await {
                            tracing::warn!(error = %e, order_id = o.id, hold_id = %h.id, "committing a paid hold in the stock gate");
                        }
                    }
                    None => {
                        if let Err(e) = state.stores.carts.clear(&CartOwner::User(o.user_id)).await {
                            tracing::warn!(error = %e, order_id = o.id, "clearing the cart after payment");
                        }
                    }
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
        .filter(payment::Column::State.is_in([PaymentState::Authorized, PaymentState::Captured, PaymentState::Settled]))
        .count(db)
        .await?
        > 0;
    if paid_by_other || !o.status.is_purchase() {
        tracing::warn!(order_id = o.id, status = %o.status, "an authorization for an order that no longer needs it: voiding");
        void_payment(state, &p).await?;
    }
    Ok(o)
}

/// Voids an authorized payment at the provider; a failure is logged and left to reconciliation.
pub(crate) async fn void_payment(state: &AppState, p: &payment::Model) -> Result<(), AppError> {
    let Some(intent_id) = p.intent_id.as_deref() else { return Ok(()) };
    match state.stores.payments.void(intent_id, &format!("{}-void", p.idempotency_key)).await {
        Ok(()) => {
            set_payment(&state.db, p.id, p.state, PaymentState::Voided, None).await?;
        }
        Err(e) => tracing::error!(error = %e, order_id = p.order_id, intent_id, "voiding a payment; reconciliation will retry"),
    }
    Ok(())
}

/// Cancels an order's attempts still waiting for 3-D Secure (a new card, expiry, cancel), so
/// a check finished late cannot authorize money for an order that moved on.
pub(crate) async fn void_waiting(state: &AppState, order_id: i64) -> Result<(), AppError> {
    let waiting = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .filter(payment::Column::State.eq(PaymentState::Created))
        .filter(payment::Column::IntentId.is_not_null())
        .all(&state.db)
        .await?;
    for p in waiting {
        void_payment(state, &p).await?;
    }
    Ok(())
}

/// Moves a payment from `from` to `to` if it is still in `from`; true when this call moved it.
pub(crate) async fn set_payment(db: &DatabaseConnection, id: i64, from: PaymentState, to: PaymentState, intent_id: Option<&str>) -> Result<bool, DbErr> {
    let mut q = payment::Entity::update_many()
        .col_expr(payment::Column::State, Expr::value(to))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()));
    if let Some(i) = intent_id {
        q = q.col_expr(payment::Column::IntentId, Expr::value(i));
    }
    q.filter(payment::Column::Id.eq(id)).filter(payment::Column::State.eq(from)).exec(db).await.map(|r| r.rows_affected == 1)
}

pub(crate) async fn release_lease(db: &DatabaseConnection, order_id: i64) -> Result<(), DbErr> {
    order::Entity::update_many()
        .col_expr(order::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(order::Column::Id.eq(order_id))
        .exec(db)
        .await
        .map(|_| ())
}
