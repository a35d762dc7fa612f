//! Idempotency: the client's key on the order (same key and body → the same order, another
//! body → 422, still running → 409) and the provider keys derived from the order and attempt.

use super::*;

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
pub(crate) fn request_hash(user_id: i64, req: &CheckoutRequest) -> String {
    let canonical = serde_json::json!({ "user": user_id, "request": req });
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The answer to a request whose key was seen before.
pub(crate) fn replay(existing: &order::Model, user_id: i64, hash: &str) -> Result<CheckoutResult, AppError> {
    if existing.user_id != user_id || existing.request_hash != hash {
        return Err(AppError::Unprocessable("This Idempotency-Key was already used for a different checkout request. Use a new key for a new order.".to_owned()));
    }
    if existing.status == OrderStatus::Pending && existing.locked_until.is_some_and(|t| t > Utc::now()) {
        return Err(AppError::Conflict("A checkout with this Idempotency-Key is still in progress. Wait a moment and ask again.".to_owned()));
    }
    Ok(result_of(existing))
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

pub(crate) fn rfc3339_nanos(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The caller's order made under `key`, if any.
pub async fn order_id_for_key(db: &DatabaseConnection, user_id: i64, key: &str) -> Result<Option<i64>, AppError> {
    Ok(order::Entity::find()
        .filter(order::Column::IdempotencyKey.eq(key))
        .filter(order::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .map(|o| o.id))
}
