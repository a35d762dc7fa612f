//! The sweeper: recovers payment attempts a crash cut off, then releases expired reservations.

use super::*;

/// Releases reservations whose time is up, each exactly once (the move from `held` is
/// conditional), skipping orders a request is still working on; then marks their unpaid
/// orders `expired`. Returns how many reservations went back into stock.
#[tracing::instrument(skip(state))]
pub async fn release_expired(state: &AppState) -> Result<u64, AppError> {
    let db = &state.db;
    let now = Utc::now();
    let due = reservation::Entity::find()
        .filter(reservation::Column::State.eq(ReservationState::Held))
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
        let txn = state.writer.begin().await?;
        if release_held(&txn, &r).await? {
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
            .col_expr(order::Column::Status, Expr::value(OrderStatus::Expired))
            .col_expr(order::Column::UpdatedAt, Expr::value(now))
            .filter(order::Column::Id.eq(id))
            .filter(order::Column::Status.eq(OrderStatus::Pending))
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

/// Releases flash-sale holds whose time is up, each exactly once: a hold never checked out,
/// or checked out into an order still unpaid (skipped while a request is paying it; the order
/// then expires). The gate gives the units back first, so a hold the gate cannot reach now
/// stays due and is tried again next round; the database's move is conditional. Returns how
/// many holds were released.
#[tracing::instrument(skip(state))]
pub async fn release_expired_holds(state: &AppState) -> Result<u64, AppError> {
    let db = &state.db;
    let now = Utc::now();
    let due = sale_hold::Entity::find()
        .filter(sale_hold::Column::State.is_in([HoldState::Held, HoldState::Ordered]))
        .filter(sale_hold::Column::ExpiresAt.lte(now))
        .order_by_asc(sale_hold::Column::ExpiresAt)
        .all(db)
        .await?;
    let mut released = 0;
    let mut sales = Vec::new();
    for h in due {
        let order = match h.order_id {
            Some(id) => order::Entity::find_by_id(id).one(db).await?,
            None => None,
        };
        if order.as_ref().is_some_and(|o| o.locked_until.is_some_and(|t| t > now)) {
            continue; // being paid right now
        }
        if let Err(e) = state.stores.stock_gate.release(h.sale_id, &h.id).await {
            tracing::warn!(error = %e, hold_id = %h.id, "stock gate unreachable; the hold is released next round");
            continue;
        }
        let txn = state.writer.begin().await?;
        let returned = crate::flash::service::return_hold(&txn, &h, now).await?;
        if let Some(o) = &order {
            order::Entity::update_many()
                .col_expr(order::Column::Status, Expr::value(OrderStatus::Expired))
                .col_expr(order::Column::UpdatedAt, Expr::value(now))
                .filter(order::Column::Id.eq(o.id))
                .filter(order::Column::Status.eq(OrderStatus::Pending))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        if returned != crate::flash::service::Returned::Nothing {
            released += 1;
            sales.push(h.sale_id);
        }
        if let Some(o) = order {
            void_waiting(state, o.id).await?;
        }
    }
    sales.sort_unstable();
    sales.dedup();
    for sale_id in sales {
        if let Ok(Some(remaining)) = state.stores.stock_gate.remaining(sale_id).await {
            if let Err(e) = state.stores.events.publish(crate::events::ShopEvent::SaleStock { sale_id, remaining }).await {
                tracing::warn!(error = %e, sale_id, "publishing SaleStock");
            }
        }
    }
    if released > 0 {
        tracing::info!(released, "expired flash-sale holds released");
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
        .filter(payment::Column::State.eq(PaymentState::Created))
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
                if set_payment(db, p.id, PaymentState::Created, PaymentState::Authorized, Some(&intent_id)).await? {
                    match settle_authorized(state, p.id).await {
                        Ok(o) => tracing::info!(order_id = o.id, status = %o.status, "recovered an authorization cut off by a crash"),
                        Err(e) => tracing::warn!(error = %e, order_id = o.id, "recovered an authorization, but the order could not take it"),
                    }
                }
            }
            Ok(Some(AuthorizeOutcome::RequiresAction { intent_id, .. })) => {
                // Waiting on the shopper's 3-D Secure; the webhook finishes it.
                set_payment(db, p.id, PaymentState::Created, PaymentState::Created, Some(&intent_id)).await?;
            }
            Ok(Some(AuthorizeOutcome::Declined { intent_id, .. })) => {
                set_payment(db, p.id, PaymentState::Created, PaymentState::Failed, intent_id.as_deref()).await?;
            }
            Ok(None) => {
                set_payment(db, p.id, PaymentState::Created, PaymentState::Failed, None).await?;
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
/// attempt is not mistaken for an abandoned one) until the node shuts down.
pub fn spawn_sweeper(workers: &crate::workers::Workers, state: AppState, every: std::time::Duration) {
    workers.every("sweeper", every, move || {
        let state = state.clone();
        async move {
            if let Err(e) = recover_in_flight(&state).await {
                tracing::warn!(error = %e, "recovering cut-off payments");
            }
            if let Err(e) = release_expired(&state).await {
                tracing::warn!(error = %e, "releasing expired reservations");
            }
        }
    });
}

/// Runs `release_expired_holds` every `every` (a second: a hold's units should be back on offer
/// the moment it lapses) until the node shuts down.
pub fn spawn_hold_sweeper(workers: &crate::workers::Workers, state: AppState, every: std::time::Duration) {
    workers.every("sale holds", every, move || {
        let state = state.clone();
        async move {
            if let Err(e) = release_expired_holds(&state).await {
                tracing::warn!(error = %e, "releasing expired flash-sale holds");
            }
        }
    });
}
