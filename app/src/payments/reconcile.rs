//! Reconciliation (`sellout reconcile`, and daily in the server): this shop's recent intents at
//! the provider against our payments, found by the attempt key in each intent's metadata.
//! An intent we have no payment for (a crash before we wrote it, or a bug) is an orphan: if it
//! still holds money it is cancelled. Amounts and states that disagree are recorded for an
//! admin (`GET /api/v1/admin/reconciliation`), once per intent and kind.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};

use sea_orm::DatabaseConnection;

use super::{Finding, IntentStatus, PaymentGateway};
use crate::db::{payment, reconciliation_finding};
use crate::error::AppError;
use crate::states::{FindingKind, PaymentState};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub checked: usize,
    pub orphans_cancelled: usize,
    pub new_findings: Vec<Finding>,
}

/// What the provider should say for a payment in our state; `None`: anything goes (in flight).
fn expected(state: PaymentState) -> Option<&'static [IntentStatus]> {
    match state {
        PaymentState::Authorized => Some(&[IntentStatus::RequiresCapture]),
        PaymentState::Captured | PaymentState::Settled | PaymentState::Refunded => Some(&[IntentStatus::Succeeded]),
        PaymentState::Voided => Some(&[IntentStatus::Canceled]),
        PaymentState::Failed => Some(&[IntentStatus::RequiresPaymentMethod, IntentStatus::Canceled, IntentStatus::RequiresConfirmation]),
        PaymentState::Created => None,
    }
}

fn order_of(key: &str) -> Option<i64> {
    key.strip_prefix("sellout-order-")?.split('-').next()?.parse().ok()
}

#[tracing::instrument(skip(db, gateway))]
pub async fn reconcile(db: &DatabaseConnection, gateway: &dyn PaymentGateway) -> Result<Report, AppError> {
    let intents = gateway.list_recent().await.map_err(|e| {
        tracing::error!(error = %e, "listing intents for reconciliation");
        AppError::Conflict("The payment provider could not be reached; reconciliation did not run.".to_owned())
    })?;
    let mut report = Report { checked: intents.len(), ..Default::default() };
    let keys: Vec<String> = intents.iter().filter_map(|i| i.attempt_key.clone()).collect();
    let mut ours_by_key: std::collections::HashMap<String, payment::Model> = payment::Entity::find()
        .filter(payment::Column::IdempotencyKey.is_in(keys))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.idempotency_key.clone(), p))
        .collect();
    for i in intents {
        let Some(key) = i.attempt_key.clone() else { continue };
        let ours = ours_by_key.remove(&key);
        let finding = match ours {
            None if matches!(i.status, IntentStatus::RequiresCapture | IntentStatus::RequiresAction) => {
                match gateway.void(&i.intent_id, &format!("{key}-orphan")).await {
                    Ok(()) => {
                        report.orphans_cancelled += 1;
                        Some((FindingKind::OrphanCancelled, format!("No payment of ours; {} held, now cancelled.", i.amount)))
                    }
                    Err(e) => Some((FindingKind::Orphan, format!("No payment of ours; cancelling failed: {e}"))),
                }
            }
            None if i.status == IntentStatus::Succeeded => Some((FindingKind::OrphanCaptured, format!("No payment of ours but {} captured: refund by hand.", i.amount))),
            None => None,
            Some(p) if p.amount != i.amount => Some((FindingKind::AmountMismatch, format!("ours {} {}, provider {}", p.amount, p.currency, i.amount))),
            Some(p) => match expected(p.state) {
                Some(ok) if !ok.contains(&i.status) => Some((FindingKind::StateMismatch, format!("ours {}, provider {}", p.state, i.status))),
                _ => None,
            },
        };
        let Some((kind, detail)) = finding else { continue };
        let now = Utc::now();
        let row = reconciliation_finding::ActiveModel {
            found_at: Set(now),
            kind: Set(kind),
            intent_id: Set(i.intent_id.clone()),
            order_id: Set(order_of(&key)),
            detail: Set(detail.clone()),
            resolved: Set(false),
            ..Default::default()
        };
        match row.insert(db).await {
            Ok(r) => report.new_findings.push(Finding {
                id: r.id,
                kind: r.kind,
                intent_id: r.intent_id,
                order_id: r.order_id,
                detail: r.detail,
                found_at: crate::db::rfc3339(now),
            }),
            // Already listed by an earlier run.
            Err(e) if crate::db::is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(checked = report.checked, orphans = report.orphans_cancelled, findings = report.new_findings.len(), "reconciled");
    Ok(report)
}

/// Open findings, newest first.
pub async fn findings(db: &DatabaseConnection) -> Result<Vec<Finding>, AppError> {
    Ok(reconciliation_finding::Entity::find()
        .filter(reconciliation_finding::Column::Resolved.eq(false))
        .order_by_desc(reconciliation_finding::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| Finding {
            id: r.id,
            kind: r.kind,
            intent_id: r.intent_id,
            order_id: r.order_id,
            detail: r.detail,
            found_at: crate::db::rfc3339(r.found_at),
        })
        .collect())
}

/// An admin marks a finding as dealt with (a refund made by hand, a mismatch explained): it
/// leaves the open list. Resolving twice is resolving once; an unknown id is 404.
pub async fn resolve(db: &DatabaseConnection, id: i64) -> Result<(), AppError> {
    use sea_orm::sea_query::Expr;
    let found = reconciliation_finding::Entity::find_by_id(id).one(db).await?;
    if found.is_none() {
        return Err(AppError::not_found(format!("There is no finding {id}.")));
    }
    reconciliation_finding::Entity::update_many()
        .col_expr(reconciliation_finding::Column::Resolved, Expr::value(true))
        .filter(reconciliation_finding::Column::Id.eq(id))
        .exec(db)
        .await?;
    tracing::info!(finding = id, "reconciliation finding resolved");
    Ok(())
}

/// Runs `reconcile` once a day for as long as the server runs.
/// Reconciles once a day (the first a day after start) until the node shuts down.
pub fn spawn_daily(workers: &crate::workers::Workers, db: DatabaseConnection, gateway: std::sync::Arc<dyn PaymentGateway>) {
    let mut first = true;
    workers.every("reconciliation", std::time::Duration::from_secs(24 * 3600), move || {
        let skip = std::mem::replace(&mut first, false);
        let (db, gateway) = (db.clone(), gateway.clone());
        async move {
            if skip {
                return;
            }
            if let Err(e) = reconcile(&db, gateway.as_ref()).await {
                tracing::warn!(error = %e, "daily reconciliation");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_come_from_attempt_keys() {
        assert_eq!(order_of("sellout-order-42-a1b2c3d4e5-attempt-1"), Some(42));
        assert_eq!(order_of("something-else"), None);
        assert_eq!(expected(PaymentState::Authorized), Some(&[IntentStatus::RequiresCapture][..]));
        assert_eq!(expected(PaymentState::Created), None);
    }

    #[test]
    fn stripe_statuses_read_by_name_and_others_are_kept_as_sent() {
        let read: Vec<IntentStatus> = serde_json::from_str(r#"["requires_capture", "canceled", "requires_more_magic"]"#).unwrap();
        assert_eq!(read, [IntentStatus::RequiresCapture, IntentStatus::Canceled, IntentStatus::Other("requires_more_magic".into())]);
        assert_eq!(serde_json::to_string(&read).unwrap(), r#"["requires_capture","canceled","requires_more_magic"]"#);
        for (status, name) in IntentStatus::NAMED {
            assert_eq!(IntentStatus::from(name.to_owned()), status);
        }
    }
}
