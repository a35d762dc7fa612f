//! The Stripe adapter: PaymentIntents with manual capture through the `async-stripe` client,
//! against real Stripe or localstripe (`STRIPE_API_BASE`). Requests and replies use our own
//! small structs (`post_form`), because the crate's typed PaymentIntent does not parse
//! localstripe's replies (TOOLCHAIN.md). Every request carries an idempotency key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ::stripe::{Client, RequestStrategy, StripeError};

use super::*;

#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
    /// Written into every intent's metadata (`shop`), so reconciliation looks only at this
    /// shop's intents when several shops or environments share one Stripe account.
    shop: String,
}

#[derive(Serialize)]
struct CreateIntent<'a> {
    amount: i64,
    currency: String,
    payment_method: &'a str,
    confirm: bool,
    capture_method: &'static str,
    metadata: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    off_session: bool,
}

/// The fields of a PaymentMethod we read.
#[derive(Debug, Deserialize)]
struct Method {
    id: String,
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    card: Option<MethodCard>,
}

#[derive(Debug, Deserialize)]
struct MethodCard {
    #[serde(default)]
    brand: String,
    #[serde(default)]
    last4: String,
}

impl Method {
    fn saved(self) -> SavedCard {
        let label = match &self.card {
            Some(c) => {
                let mut brand = c.brand.clone();
                if let Some(first) = brand.get_mut(..1) {
                    first.make_ascii_uppercase();
                }
                format!("{} •••• {}", if brand.is_empty() { "Card" } else { &brand }, c.last4)
            }
            None => "Saved card".to_owned(),
        };
        SavedCard { payment_method_id: self.id, label }
    }
}

/// The fields of a PaymentIntent we read.
#[derive(Debug, Deserialize)]
pub struct Intent {
    pub id: String,
    pub status: IntentStatus,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub last_payment_error: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Empty {}

/// An intent's status in our words: held (manual capture, or already captured), waiting for the
/// shopper's 3-D Secure, or not paid (declined, authentication failed, cancelled).
fn outcome_of(intent: Intent) -> AuthorizeOutcome {
    match intent.status {
        IntentStatus::RequiresCapture | IntentStatus::Succeeded => AuthorizeOutcome::Authorized { intent_id: intent.id },
        IntentStatus::RequiresAction => AuthorizeOutcome::RequiresAction { client_secret: intent.client_secret.unwrap_or_default(), intent_id: intent.id },
        status => AuthorizeOutcome::Declined {
            message: match intent.last_payment_error.as_ref().and_then(|e| e["message"].as_str()) {
                Some(m) => format!("{m} Try again or use another card."),
                None if status == IntentStatus::Canceled => "This payment was cancelled. Try again or use another card.".to_owned(),
                None => "Your card was declined. Try another card.".to_owned(),
            },
            intent_id: Some(intent.id),
        },
    }
}

impl StripeGateway {
    /// `api_base` is checked by the configuration (a URL), so this does not panic.
    pub fn new(api_base: &str, secret_key: &str, shop: &str) -> Self {
        Self { client: Client::from_url(api_base, secret_key), shop: shop.to_owned() }
    }

    fn with_key(&self, key: &str) -> Client {
        self.client.clone().with_strategy(RequestStrategy::Idempotent(key.to_owned()))
    }

    /// This shop's intents, page by page (100 each, at most `MAX_PAGES`): Stripe lists the
    /// newest first, localstripe the oldest first, so both are read the same way.
    async fn list_pages(&self) -> Result<Vec<Intent>, GatewayError> {
        const MAX_PAGES: usize = 30;
        #[derive(Deserialize)]
        struct List {
            data: Vec<Intent>,
            #[serde(default)]
            has_more: bool,
        }
        #[derive(Serialize)]
        struct Page {
            limit: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            starting_after: Option<String>,
        }
        let mut out = Vec::new();
        let mut after = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .get_query::<List, _>("/payment_intents", Page { limit: 100, starting_after: after.clone() })
                .await
                .map_err(Self::unavailable)?;
            after = page.data.last().map(|i| i.id.clone());
            let more = page.has_more && after.is_some();
            out.extend(page.data.into_iter().filter(|i| i.metadata.get("shop") == Some(&self.shop)));
            if !more {
                break;
            }
        }
        Ok(out)
    }

    fn unavailable(e: StripeError) -> GatewayError {
        GatewayError::Unavailable(e.to_string())
    }
}

#[async_trait::async_trait]
impl PaymentGateway for StripeGateway {
    fn provider(&self) -> &'static str {
        "stripe"
    }

    async fn authorize(&self, req: &AuthorizeRequest) -> Result<AuthorizeOutcome, GatewayError> {
        let params = CreateIntent {
            amount: req.amount,
            currency: req.currency.to_lowercase(),
            payment_method: &req.payment_method_id,
            confirm: true,
            capture_method: "manual",
            metadata: BTreeMap::from([
                ("order_id", req.order_id.to_string()),
                ("attempt_key", req.idempotency_key.clone()),
                ("shop", self.shop.clone()),
            ]),
            customer: req.customer.as_deref(),
            off_session: req.off_session,
        };
        match self.with_key(&req.idempotency_key).post_form::<Intent, _>("/payment_intents", &params).await {
            Ok(intent) => Ok(outcome_of(intent)),
            Err(StripeError::Stripe(e)) => {
                let declined = e.http_status == 402
                    || e.error_type == ::stripe::ErrorType::Card
                    || e.code.as_ref().is_some_and(|c| format!("{c:?}").to_lowercase().contains("declin"));
                if declined {
                    Ok(AuthorizeOutcome::Declined {
                        intent_id: None,
                        message: e.message.unwrap_or_else(|| "Your card was declined. Try another card.".to_owned()),
                    })
                } else if e.http_status == 404 || e.http_status == 400 {
                    Err(GatewayError::InvalidPaymentMethod("The card could not be used. Please enter it again.".to_owned()))
                } else {
                    Err(GatewayError::Unavailable(format!("stripe answered {}: {}", e.http_status, e.message.unwrap_or_default())))
                }
            }
            Err(e) => Err(Self::unavailable(e)),
        }
    }

    async fn capture(&self, intent_id: &str, key: &str) -> Result<(), GatewayError> {
        self.with_key(key).post_form::<Intent, _>(&format!("/payment_intents/{intent_id}/capture"), Empty {}).await.map(|_| ()).map_err(Self::unavailable)
    }

    /// Looks through this shop's listed intents for the attempt key in their metadata
    /// (localstripe has no search API; real Stripe's `/payment_intents/search` would scale
    /// further).
    async fn find_attempt(&self, key: &str) -> Result<Option<AuthorizeOutcome>, GatewayError> {
        let intents = self.list_pages().await?;
        Ok(intents.into_iter().find(|i| i.metadata.get("attempt_key").map(String::as_str) == Some(key)).map(outcome_of))
    }

    async fn retrieve(&self, intent_id: &str) -> Result<AuthorizeOutcome, GatewayError> {
        match self.client.get::<Intent>(&format!("/payment_intents/{intent_id}")).await {
            Ok(intent) => Ok(outcome_of(intent)),
            Err(StripeError::Stripe(e)) if e.http_status == 404 => Err(GatewayError::InvalidPaymentMethod(format!("The provider has no payment {intent_id}."))),
            Err(e) => Err(Self::unavailable(e)),
        }
    }

    async fn list_recent(&self) -> Result<Vec<ProviderIntent>, GatewayError> {
        Ok(self
            .list_pages()
            .await?
            .into_iter()
            .map(|i| ProviderIntent { attempt_key: i.metadata.get("attempt_key").cloned(), intent_id: i.id, status: i.status, amount: i.amount })
            .collect())
    }

    async fn refund(&self, intent_id: &str, amount: i64, key: &str) -> Result<String, GatewayError> {
        #[derive(Serialize)]
        struct CreateRefund<'a> {
            payment_intent: &'a str,
            amount: i64,
        }
        #[derive(Deserialize)]
        struct Refund {
            id: String,
        }
        self.with_key(key)
            .post_form::<Refund, _>("/refunds", CreateRefund { payment_intent: intent_id, amount })
            .await
            .map(|r| r.id)
            .map_err(Self::unavailable)
    }

    async fn create_customer(&self, user_id: i64, email: &str, key: &str) -> Result<String, GatewayError> {
        #[derive(Serialize)]
        struct CreateCustomer<'a> {
            email: &'a str,
            metadata: BTreeMap<&'static str, String>,
        }
        #[derive(Deserialize)]
        struct Customer {
            id: String,
        }
        let params = CreateCustomer { email, metadata: BTreeMap::from([("user_id", user_id.to_string()), ("shop", self.shop.clone())]) };
        self.with_key(key).post_form::<Customer, _>("/customers", &params).await.map(|c| c.id).map_err(Self::unavailable)
    }

    async fn setup_card(&self, customer: &str, key: &str) -> Result<CardSetup, GatewayError> {
        #[derive(Serialize)]
        struct CreateSetup<'a> {
            customer: &'a str,
            usage: &'static str,
            metadata: BTreeMap<&'static str, String>,
        }
        #[derive(Deserialize)]
        struct Setup {
            id: String,
            client_secret: String,
        }
        let params = CreateSetup { customer, usage: "off_session", metadata: BTreeMap::from([("shop", self.shop.clone())]) };
        self.with_key(key)
            .post_form::<Setup, _>("/setup_intents", &params)
            .await
            .map(|s| CardSetup { setup_intent_id: s.id, client_secret: s.client_secret })
            .map_err(Self::unavailable)
    }

    /// Stripe attaches the card to the customer when the SetupIntent succeeds; localstripe
    /// does not, and a test id (`pm_card_visa`) is attached here as well.
    async fn save_card(&self, customer: &str, payment_method_id: &str) -> Result<SavedCard, GatewayError> {
        let refused = |e: StripeError| match e {
            StripeError::Stripe(e) if e.http_status == 404 || e.http_status == 400 => {
                GatewayError::InvalidPaymentMethod("The payment provider does not know this card. Please enter it again.".to_owned())
            }
            StripeError::Stripe(e) if e.http_status == 402 => {
                GatewayError::InvalidPaymentMethod(e.message.unwrap_or_else(|| "Your card was declined. Try another card.".to_owned()))
            }
            e => Self::unavailable(e),
        };
        let method = self.client.get::<Method>(&format!("/payment_methods/{payment_method_id}")).await.map_err(refused)?;
        match method.customer.as_deref() {
            Some(c) if c == customer => Ok(method.saved()),
            Some(_) => Err(GatewayError::InvalidPaymentMethod("This card belongs to someone else. Please enter your own.".to_owned())),
            None => {
                #[derive(Serialize)]
                struct Attach<'a> {
                    customer: &'a str,
                }
                let key = format!("attach-{}-{customer}", method.id);
                let attached = self.with_key(&key).post_form::<Method, _>(&format!("/payment_methods/{}/attach", method.id), Attach { customer }).await.map_err(refused)?;
                Ok(attached.saved())
            }
        }
    }

    async fn void(&self, intent_id: &str, key: &str) -> Result<(), GatewayError> {
        self.with_key(key).post_form::<Intent, _>(&format!("/payment_intents/{intent_id}/cancel"), Empty {}).await.map(|_| ()).map_err(Self::unavailable)
    }
}
