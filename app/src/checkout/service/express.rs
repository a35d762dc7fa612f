//! Express buy (DESIGN §5, seed 002), checkout's side of the sale's `ExpressBuy` port: the
//! details saved at registration are checked here (the address is the shopper's, the card is
//! kept by the provider on their customer), and an admitted shopper's new hold becomes an
//! order through the same saga as any checkout, its saved card authorized off-session under a
//! key derived from the hold. A card that needs the bank's check or is declined leaves the
//! order pending: the order page asks for the check or another card while the hold lasts.

use crate::flash::{ExpressBuy, ExpressDetails, ExpressOrder};
use crate::ids::{HoldId, OrderId};
use super::*;

/// The adapter the server puts in the `AppState`.
pub struct Express;

/// One order per hold: the same key for every try.
fn key_of(hold_id: &HoldId) -> String {
    format!("express-{hold_id}")
}

#[async_trait::async_trait]
impl ExpressBuy<AppState> for Express {
    async fn save(&self, state: &AppState, user: &CurrentUser, shipping_address_id: i64, payment_method_id: &str) -> Result<ExpressDetails, AppError> {
        address::Entity::find_by_id(shipping_address_id)
            .filter(address::Column::UserId.eq(user.user_id))
            .one(&state.db)
            .await?
            .ok_or_else(|| AppError::bad("shipping_address_id", format!("Address {shipping_address_id} is not in your address book.")))?;
        let (_, card) = crate::payments::saved::save(state, user, payment_method_id).await?;
        Ok(ExpressDetails { shipping_address_id, payment_method_id: card.payment_method_id, card_label: card.label })
    }

    async fn check_out(&self, state: &AppState, user: &CurrentUser, hold_id: &HoldId, details: &ExpressDetails) -> Result<ExpressOrder, AppError> {
        let customer = crate::payments::saved::customer_of(state, user.user_id).await?;
        let req = CheckoutRequest {
            shipping_address: None,
            shipping_address_id: Some(details.shipping_address_id),
            shipping_method: ShippingMethod::Standard.as_str().to_owned(),
            payment_method_id: details.payment_method_id.clone(),
            hold_id: Some(hold_id.clone()),
        };
        let key = key_of(hold_id);
        match checkout_paying(state, user, &key, &req, customer.as_deref(), true).await {
            Ok((r, _)) => Ok(ExpressOrder { order_id: r.order_id, status: r.status, client_secret: r.client_secret, message: None }),
            Err(AppError::PaymentDeclined(message)) => {
                let order_id = order_id_for_key(&state.db, user.user_id, &key).await?.ok_or(AppError::Internal)?;
                Ok(ExpressOrder { order_id, status: OrderStatus::Pending, client_secret: None, message: Some(message) })
            }
            Err(e) => Err(e),
        }
    }
}

/// The card saved for the sale an order was bought in by express buy, as the order page
/// offers it ("Pay with Visa •••• 4242"): none for other orders.
pub async fn saved_card_of(state: &AppState, user: &CurrentUser, OrderId(order_id): OrderId) -> Result<Option<ExpressDetails>, AppError> {
    let Some(hold) = crate::flash::service::hold_of_order(&state.db, order_id).await? else {
        return Ok(None);
    };
    if hold.user_id != user.user_id {
        return Ok(None);
    }
    crate::flash::service::express_details(state, user.user_id, hold.sale_id).await
}

/// Pays a pending express order with its saved card, the shopper at the keyboard this time
/// (after the bank asked for its check or the off-session charge was refused): a 3-D Secure
/// check comes back as the client secret, as at any checkout.
#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn pay_with_saved(state: &AppState, user: &CurrentUser, order_id: OrderId) -> Result<CheckoutResult, AppError> {
    let details = saved_card_of(state, user, order_id)
        .await?
        .ok_or_else(|| AppError::bad("payment_method_id", "This order has no saved card: pay with a card instead."))?;
    let customer = crate::payments::saved::customer_of(state, user.user_id).await?;
    let card = Card { method: &details.payment_method_id, customer: customer.as_deref(), off_session: false };
    pay_again_with(state, user, order_id, &card).await
}
