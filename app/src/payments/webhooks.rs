//! Stripe webhooks: the signature is checked (HMAC-SHA256 over `t.payload`, as Stripe
//! documents), every event is recorded once by its id (a replay has no second effect), and
//! payment states only move forward, so events arriving out of order cannot undo each other.

use chrono::Utc;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::Sha256;

use crate::db::{payment, webhook_event};
use crate::error::AppError;
use crate::state::AppState;
use crate::states::PaymentState;

/// How old a signed event may be (replay protection), as Stripe's libraries default.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a webhook's signature was refused (logged, answered 400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header has no timestamp")]
    NoTimestamp,
    #[error("the event's signature is too old")]
    TooOld,
    #[error("no signature matches")]
    NoMatch,
}

/// Checks a `Stripe-Signature` header (`t=<unix time>,v1=<hex hmac>[,v1=…]`) for `payload`.
pub fn verify_signature(secret: &str, header: &str, payload: &[u8], now_unix: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.push(s.to_owned()),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::NoTimestamp)?;
    if (now_unix - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::TooOld);
    }
    for sig in signatures {
        let Some(expected) = hex_decode(&sig) else { continue };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any size");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        // Constant-time comparison.
        if mac.verify_slice(&expected).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::NoMatch)
}

/// `t=…,v1=…` for `payload`, as Stripe would send it (tests and tools sign with it).
pub fn sign(secret: &str, payload: &[u8], t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let sig: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={sig}")
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// What an event did.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Applied,
    /// Seen before (same event id): nothing done.
    Duplicate,
    /// Nothing for us (another event type, or no payment of ours).
    Ignored,
}

/// Records and applies one verified event.
#[tracing::instrument(skip(state, payload))]
pub async fn handle_event(state: &AppState, payload: &str) -> Result<Handled, AppError> {
    let event: serde_json::Value = serde_json::from_str(payload).map_err(|_| AppError::bad("body", "The event is not JSON."))?;
    let (Some(id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
        return Err(AppError::bad("body", "The event has no id or type."));
    };
    let db = &state.db;
    let row = webhook_event::ActiveModel {
        provider: Set("stripe".into()),
        event_id: Set(id.to_owned()),
        event_type: Set(kind.to_owned()),
        payload: Set(payload.to_owned()),
        received_at: Set(Utc::now()),
        processed_at: Set(None),
        ..Default::default()
    };
    let row = match row.insert(db).await {
        Ok(r) => r,
        Err(e) if crate::db::is_unique_violation(&e) => return Ok(Handled::Duplicate),
        Err(e) => return Err(e.into()),
    };
    let target = match kind {
        "payment_intent.amount_capturable_updated" => Some(PaymentState::Authorized),
        "payment_intent.succeeded" => Some(PaymentState::Captured),
        "payment_intent.payment_failed" => Some(PaymentState::Failed),
        "payment_intent.canceled" => Some(PaymentState::Voided),
        _ => None,
    };
    let intent_id = event["data"]["object"]["id"].as_str().unwrap_or_default();
    let mut handled = Handled::Ignored;
    if let Some(to) = target {
        if let Some(p) = payment::Entity::find().filter(payment::Column::IntentId.eq(intent_id)).one(db).await? {
            // A webhook only ever moves a payment forward (`PaymentState::rank`).
            if to.rank() > p.state.rank() {
                let moved = payment::Entity::update_many()
                    .col_expr(payment::Column::State, Expr::value(to))
                    .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
                    .filter(payment::Column::Id.eq(p.id))
                    .filter(payment::Column::State.eq(p.state))
                    .exec(db)
                    .await?;
                if moved.rows_affected == 1 && matches!(to, PaymentState::Authorized | PaymentState::Captured) && p.state == PaymentState::Created {
                    // Authorized out of band (3-D Secure finished in the browser): the order
                    // becomes paid if its stock is still held.
                    if let Err(e) = crate::checkout::service::settle_authorized(state, p.id).await {
                        tracing::warn!(error = %e, order_id = p.order_id, "completing an order after an authorization webhook");
                    }
                }
            }
            handled = Handled::Applied;
        }
    }
    webhook_event::Entity::update_many()
        .col_expr(webhook_event::Column::ProcessedAt, Expr::value(Utc::now()))
        .filter(webhook_event::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(handled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked() {
        let payload = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        let header = sign("whsec_x", payload, 1_000_000);
        assert_eq!(verify_signature("whsec_x", &header, payload, 1_000_100), Ok(()));
        assert_eq!(verify_signature("whsec_other", &header, payload, 1_000_100), Err(SignatureError::NoMatch), "wrong secret");
        assert_eq!(verify_signature("whsec_x", &header, b"{}", 1_000_100), Err(SignatureError::NoMatch), "changed payload");
        assert_eq!(verify_signature("whsec_x", &header, payload, 1_000_000 + TOLERANCE_SECS + 1), Err(SignatureError::TooOld));
        assert_eq!(verify_signature("whsec_x", "v1=abcd", payload, 1_000_000), Err(SignatureError::NoTimestamp));
        // A signature that is not hex (multi-byte letters included) is no match, not a panic.
        assert_eq!(verify_signature("whsec_x", "t=1000000,v1=aéa,v1=zz", payload, 1_000_000), Err(SignatureError::NoMatch));
        let two = format!("{},v1=00ff", header);
        assert_eq!(verify_signature("whsec_x", &two, payload, 1_000_000), Ok(()), "any v1 may match");
    }
}
