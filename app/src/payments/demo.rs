//! The demo gateway of the embedded default: no keys, no network, Stripe's test ids.

use std::collections::HashMap;
use std::sync::Mutex;

use super::port::{GatewayError, PaymentGateway};
use super::{AuthorizeOutcome, AuthorizeRequest, CardSetup, DEMO_CARDS, ProviderIntent, SavedCard};

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

    async fn create_customer(&self, user_id: i64, _email: &str, _key: &str) -> Result<String, GatewayError> {
        Ok(format!("cus_demo_{user_id}"))
    }

    /// Nothing to set up: the demo's pages pick a test card instead of typing one.
    async fn setup_card(&self, customer: &str, _key: &str) -> Result<CardSetup, GatewayError> {
        let id = format!("seti_demo_{customer}");
        Ok(CardSetup { client_secret: format!("{id}_secret"), setup_intent_id: id })
    }

    async fn save_card(&self, _customer: &str, payment_method_id: &str) -> Result<SavedCard, GatewayError> {
        match DEMO_CARDS.iter().find(|(id, _)| *id == payment_method_id) {
            Some((id, label)) => Ok(SavedCard { payment_method_id: id.to_string(), label: label.to_string() }),
            None => Err(GatewayError::InvalidPaymentMethod(format!(
                "\"{payment_method_id}\" is not a test card this demo shop knows; use pm_card_visa or pm_card_visa_chargeDeclined."
            ))),
        }
    }
}
