//! The payment-gateway port: authorize (manual capture), retrieve, capture, void, refund and
//! list intents. Adapters: `stripe` (real Stripe or localstripe) and `demo` (no keys).

use super::{AuthorizeOutcome, AuthorizeRequest, CardSetup, ProviderIntent, SavedCard};

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
    /// Creates the provider's customer for a shopper (cards saved for later belong to it).
    async fn create_customer(&self, user_id: i64, email: &str, idempotency_key: &str) -> Result<String, GatewayError>;
    /// Starts saving a card for `customer` (Stripe: a SetupIntent for off-session use).
    async fn setup_card(&self, customer: &str, idempotency_key: &str) -> Result<CardSetup, GatewayError>;
    /// Keeps a payment method on `customer` for off-session payments (attaching it if the
    /// setup did not): `InvalidPaymentMethod` when the provider does not know it, it belongs to
    /// another customer, or the bank refused it.
    async fn save_card(&self, customer: &str, payment_method_id: &str) -> Result<SavedCard, GatewayError>;
}
