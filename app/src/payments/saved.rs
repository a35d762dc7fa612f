//! Cards saved for later (an express buy): each shopper gets one customer at the provider,
//! created on first use and kept in `payment_customers`; a card is saved on it through a
//! SetupIntent in the browser (Stripe.js) or, on the demo gateway, by picking a test card.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use super::{CardSetup, GatewayError, SavedCard};
use crate::accounts::CurrentUser;
use crate::db::payment_customer;
use crate::error::AppError;
use crate::state::AppState;

/// The provider could not be reached: nothing was saved, try again.
fn gateway(e: GatewayError) -> AppError {
    match e {
        GatewayError::InvalidPaymentMethod(m) => AppError::bad("payment_method_id", m),
        GatewayError::Unavailable(m) => {
            tracing::warn!(error = m, "payment provider unavailable while saving a card");
            AppError::Unavailable { message: "We could not reach the payment provider; nothing was saved. Try again in a minute.".to_owned(), retry_after_secs: 30 }
        }
    }
}

/// The shopper's customer at this shop's provider, created on first use. Two tabs at once
/// may each create one at the provider; the first recorded wins and the other stays unused.
pub async fn customer_for(state: &AppState, user: &CurrentUser) -> Result<String, AppError> {
    if let Some(c) = customer_of(state, user.user_id).await? {
        return Ok(c);
    }
    let payments = &state.stores.payments;
    let provider = payments.provider();
    let key = format!("customer-{}-{provider}", user.user_id);
    let id = payments.create_customer(user.user_id, &user.email, &key).await.map_err(gateway)?;
    let row = payment_customer::ActiveModel { user_id: Set(user.user_id), provider: Set(provider.to_owned()), customer_id: Set(id.clone()), created_at: Set(Utc::now()) };
    match row.insert(&state.db).await {
        Ok(_) => Ok(id),
        Err(e) if crate::db::is_unique_violation(&e) => customer_of(state, user.user_id).await?.ok_or(AppError::Internal),
        Err(e) => Err(e.into()),
    }
}

/// Starts saving a card: the browser confirms the setup with Stripe.js and sends back the
/// payment method id.
pub async fn start_setup(state: &AppState, user: &CurrentUser) -> Result<CardSetup, AppError> {
    let customer = customer_for(state, user).await?;
    let key = format!("setup-{}-{}", user.user_id, uuid::Uuid::new_v4());
    state.stores.payments.setup_card(&customer, &key).await.map_err(gateway)
}

/// Keeps `payment_method_id` on the shopper's customer for off-session payments; a 400 naming
/// `payment_method_id` when the provider refuses it.
pub async fn save(state: &AppState, user: &CurrentUser, payment_method_id: &str) -> Result<(String, SavedCard), AppError> {
    let pm = payment_method_id.trim();
    if pm.is_empty() || pm.len() > 255 || !pm.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(AppError::bad("payment_method_id", "That is not a payment method id (they look like pm_…)."));
    }
    let customer = customer_for(state, user).await?;
    let card = state.stores.payments.save_card(&customer, pm).await.map_err(gateway)?;
    Ok((customer, card))
}

/// The shopper's customer, if one was ever made (the express buy pays with it).
pub async fn customer_of(state: &AppState, user_id: i64) -> Result<Option<String>, AppError> {
    let provider = state.stores.payments.provider().to_owned();
    Ok(payment_customer::Entity::find_by_id((user_id, provider)).one(&state.db).await?.map(|c| c.customer_id))
}
