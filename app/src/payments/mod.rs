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
    /// The provider's customer a saved card belongs to (an express buy), else none.
    pub customer: Option<String>,
    /// Charged without the shopper at the keyboard (a saved card at an express buy): the bank
    /// may refuse or ask for 3-D Secure, which the order page then offers.
    pub off_session: bool,
}

/// A card saved with the provider for later (an express buy): its payment method id and how
/// the page names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCard {
    pub payment_method_id: String,
    pub label: String,
}

/// What Stripe.js needs to save a card for later (`confirmCardSetup(client_secret, …)`): a
/// SetupIntent of the shopper's customer. The card goes from the browser to the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CardSetup {
    pub setup_intent_id: String,
    pub client_secret: String,
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

/// How a shopper pays (or saves a card) on this shop's pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentEntry {
    /// The demo gateway: Stripe's test ids to pick from (no card entry at all).
    TestCards(Vec<(String, String)>),
    /// Stripe: card entry with Stripe.js.
    Card(CardEntry),
    /// Stripe without a publishable key: no way to enter a card.
    NotSetUp,
}

/// A reconciliation finding: an intent at the provider that disagrees with our records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Finding {
    pub id: i64,
    pub kind: crate::states::FindingKind,
    pub intent_id: String,
    pub order_id: Option<i64>,
    pub detail: String,
    pub found_at: String,
}

/// A PaymentIntent's status in Stripe's words: those the shop acts on by name, any other kept
/// as sent (`Other`), so a status Stripe adds later is reported, not refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum IntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
    Other(String),
}

impl IntentStatus {
    const NAMED: [(IntentStatus, &'static str); 7] = [
        (IntentStatus::RequiresPaymentMethod, "requires_payment_method"),
        (IntentStatus::RequiresConfirmation, "requires_confirmation"),
        (IntentStatus::RequiresAction, "requires_action"),
        (IntentStatus::Processing, "processing"),
        (IntentStatus::RequiresCapture, "requires_capture"),
        (IntentStatus::Canceled, "canceled"),
        (IntentStatus::Succeeded, "succeeded"),
    ];

    pub fn as_str(&self) -> &str {
        match self {
            IntentStatus::Other(s) => s,
            named => Self::NAMED.iter().find(|(n, _)| n == named).map_or("", |(_, s)| s),
        }
    }
}

impl From<String> for IntentStatus {
    fn from(s: String) -> Self {
        Self::NAMED.into_iter().find(|(_, name)| *name == s).map_or(IntentStatus::Other(s), |(n, _)| n)
    }
}

impl From<IntentStatus> for String {
    fn from(s: IntentStatus) -> String {
        s.as_str().to_owned()
    }
}

impl std::fmt::Display for IntentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An intent as the provider lists it, for reconciliation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderIntent {
    pub intent_id: String,
    pub status: IntentStatus,
    pub amount: i64,
    pub attempt_key: Option<String>,
}

pub mod card;
#[cfg(feature = "ssr")]
pub mod demo;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod port;
#[cfg(feature = "ssr")]
pub mod reconcile;
#[cfg(feature = "ssr")]
pub mod saved;
mod server_fns;
#[cfg(feature = "ssr")]
pub mod stripe;
#[cfg(feature = "ssr")]
pub mod webhooks;

#[cfg(feature = "ssr")]
pub use demo::DemoGateway;
#[cfg(feature = "ssr")]
pub use port::{GatewayError, PaymentGateway};
pub use server_fns::*;

