//! The payment-gateway port (DESIGN §3, §5): authorize a card payment for an order (manual
//! capture), capture it at shipping, void it at cancellation. The browser gives the card to
//! Stripe.js and our server only ever sees a payment method id. Adapters: Stripe (against real
//! Stripe or localstripe) and the built-in demo gateway of the embedded default, which honours
//! Stripe's test payment-method ids.

use serde::{Deserialize, Serialize};

/// Stripe's test ids the demo gateway knows, for the test-card picker.
pub const DEMO_CARDS: &[(&str, &str)] = &[
    ("pm_card_visa", "Visa, succeeds"),
    ("pm_card_visa_chargeDeclined", "Visa, declined"),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub order_id: i64,
    pub amount: i64,
    pub currency: String,
    pub payment_method_id: String,
    /// Derived from the order and the attempt: one intent per attempt.
    pub idempotency_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthorizeOutcome {
    /// Funds held; captured at shipping.
    Authorized { intent_id: String },
    /// 3-D Secure: the browser completes it with the client secret.
    RequiresAction { intent_id: String, client_secret: String },
    Declined { intent_id: Option<String>, message: String },
}

/// What the browser needs to take a card with Stripe.js (`STRIPE_PUBLISHABLE_KEY`,
/// `STRIPE_JS_URL`): the card goes from the page to Stripe, our server gets a payment method id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardEntry {
    pub publishable_key: String,
    pub js_url: String,
}

/// A reconciliation finding: an intent at the provider that disagrees with our records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Finding {
    pub id: i64,
    pub kind: String,
    pub intent_id: String,
    pub order_id: Option<i64>,
    pub detail: String,
    pub found_at: String,
}

/// Open reconciliation findings (admins only).
#[leptos::server(prefix = "/api/fn", endpoint = "reconciliation_findings")]
pub async fn get_findings() -> Result<Vec<Finding>, crate::error::AppError> {
    let (state, _) = crate::accounts::caller(crate::accounts::Need::Admin).await?;
    reconcile::findings(&state.db).await
}

/// Marks a finding as dealt with (admins only).
#[leptos::server(prefix = "/api/fn", endpoint = "resolve_finding")]
pub async fn resolve_finding(id: i64) -> Result<(), crate::error::AppError> {
    let (state, _) = crate::accounts::caller(crate::accounts::Need::Admin).await?;
    let result = reconcile::resolve(&state.db, id).await;
    match &result {
        Ok(()) if crate::ui::forms::is_plain_form_post().await => leptos_axum::redirect("/seller/payments"),
        Err(e) => crate::ui::forms::bounce_on_error("/seller/payments", e, &[]).await,
        _ => {}
    }
    result
}

/// An intent as the provider lists it, for reconciliation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderIntent {
    pub intent_id: String,
    /// Stripe's words: requires_capture, succeeded, canceled, requires_payment_method, ...
    pub status: String,
    pub amount: i64,
    pub attempt_key: Option<String>,
}

pub mod card;
#[cfg(feature = "ssr")]
pub use ports::*;
#[cfg(feature = "ssr")]
pub mod stripe;
#[cfg(feature = "ssr")]
pub mod reconcile;
#[cfg(feature = "ssr")]
pub mod webhooks;

#[cfg(feature = "ssr")]
mod ports {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    pub enum GatewayError {
        /// Not a payment method the provider knows: the shopper's input, a 400.
        #[error("{0}")]
        InvalidPaymentMethod(String),
        /// The provider could not be reached or answered nonsense: retry later.
        #[error("payment provider unavailable: {0}")]
        Unavailable(String),
    }

    #[async_trait::async_trait]
    pub trait PaymentGateway: Send + Sync + 'static {
        fn provider(&self) -> &'static str;
        async fn authorize(&self, req: &AuthorizeRequest) -> Result<AuthorizeOutcome, GatewayError>;
        /// Where an intent stands now: after the shopper's 3-D Secure in the browser.
        async fn retrieve(&self, intent_id: &str) -> Result<AuthorizeOutcome, GatewayError>;
        async fn capture(&self, intent_id: &str, idempotency_key: &str) -> Result<(), GatewayError>;
        async fn void(&self, intent_id: &str, idempotency_key: &str) -> Result<(), GatewayError>;
        /// The intent made under an attempt's idempotency key, if the provider has one: how a
        /// restarted server learns what happened to a request that was cut off.
        async fn find_attempt(&self, idempotency_key: &str) -> Result<Option<AuthorizeOutcome>, GatewayError>;
        /// This shop's recent intents at the provider (the newest 100 or so).
        async fn list_recent(&self) -> Result<Vec<ProviderIntent>, GatewayError>;
        /// Gives `amount` of a captured payment back; returns the provider's refund id.
        async fn refund(&self, intent_id: &str, amount: i64, idempotency_key: &str) -> Result<String, GatewayError>;
    }

    /// The embedded default's gateway: no keys, no network. `pm_card_visa` is authorized,
    /// `pm_card_visa_chargeDeclined` declined. Like Stripe, a repeated idempotency key returns
    /// the first answer instead of making a second intent.
    #[derive(Default)]
    pub struct DemoGateway {
        seen: Mutex<HashMap<String, AuthorizeOutcome>>,
        next: Mutex<u64>,
    }

    impl DemoGateway {
        pub fn new() -> Self {
            Self::default()
        }

        /// Intents made so far (tests count them).
        pub fn intents(&self) -> usize {
            self.seen.lock().map(|s| s.len()).unwrap_or(0)
        }
    }

    #[async_trait::async_trait]
    impl PaymentGateway for DemoGateway {
        fn provider(&self) -> &'static str {
            "demo"
        }

        async fn authorize(&self, req: &AuthorizeRequest) -> Result<AuthorizeOutcome, GatewayError> {
            let mut seen = self.seen.lock().map_err(|_| GatewayError::Unavailable("demo gateway lock".into()))?;
            if let Some(first) = seen.get(&req.idempotency_key) {
                return Ok(first.clone());
            }
            let intent_id = {
                let mut n = self.next.lock().map_err(|_| GatewayError::Unavailable("demo gateway lock".into()))?;
                *n += 1;
                format!("demo_pi_{:06}", *n)
            };
            let outcome = match req.payment_method_id.as_str() {
                "pm_card_visa" => AuthorizeOutcome::Authorized { intent_id },
                "pm_card_visa_chargeDeclined" => {
                    AuthorizeOutcome::Declined { intent_id: Some(intent_id), message: "Your card was declined. Try another card.".into() }
                }
                other => {
                    return Err(GatewayError::InvalidPaymentMethod(format!(
                        "\"{other}\" is not a test card this demo shop knows; use pm_card_visa or pm_card_visa_chargeDeclined."
                    )));
                }
            };
            seen.insert(req.idempotency_key.clone(), outcome.clone());
            Ok(outcome)
        }

        async fn retrieve(&self, intent_id: &str) -> Result<AuthorizeOutcome, GatewayError> {
            let seen = self.seen.lock().map_err(|_| GatewayError::Unavailable("demo gateway lock".into()))?;
            seen.values()
                .find(|o| match o {
                    AuthorizeOutcome::Authorized { intent_id: i } | AuthorizeOutcome::RequiresAction { intent_id: i, .. } => i == intent_id,
                    AuthorizeOutcome::Declined { intent_id: i, .. } => i.as_deref() == Some(intent_id),
                })
                .cloned()
                .ok_or_else(|| GatewayError::InvalidPaymentMethod(format!("No payment {intent_id} here.")))
        }

        async fn capture(&self, _intent_id: &str, _key: &str) -> Result<(), GatewayError> {
            Ok(())
        }

        async fn void(&self, _intent_id: &str, _key: &str) -> Result<(), GatewayError> {
            Ok(())
        }

        async fn find_attempt(&self, key: &str) -> Result<Option<AuthorizeOutcome>, GatewayError> {
            Ok(self.seen.lock().map_err(|_| GatewayError::Unavailable("demo gateway lock".into()))?.get(key).cloned())
        }

        /// The demo keeps no amounts or later states: it has nothing to reconcile against.
        async fn list_recent(&self) -> Result<Vec<ProviderIntent>, GatewayError> {
            Ok(Vec::new())
        }

        async fn refund(&self, _intent_id: &str, _amount: i64, key: &str) -> Result<String, GatewayError> {
            Ok(format!("demo_re_{key}"))
        }
    }
}
