//! Express buy (DESIGN §5, seed 002): a flash sale's buy that is checkout's, since it may make
//! the order. The sale hands checkout a hold (`flash::service::buy`) and never calls back: the
//! dependency points one way, checkout -> flash. With the registration, the details are checked
//! here (the address is the shopper's, the card is kept by the provider on their customer) and
//! handed to the sale to keep; once admitted, the shopper's new hold becomes an order through
//! the same saga as any checkout, its saved card authorized off-session under a key derived
//! from the hold. A card that needs the bank's check or is declined leaves the order pending:
//! the order page asks for the check or another card while the hold lasts.

use crate::flash::service::ExpressDetails;
use crate::flash::{BuyRequest, HoldView, RegisterRequest};
use crate::ids::{HoldId, OrderId, SaleId};
use super::*;

/// One order per hold: the same key for every try.
fn key_of(hold_id: &HoldId) -> String {
    format!("express-{hold_id}")
}

/// "Remind me" for a sale, with an express buy's address and card when given (both or
/// neither; given again, they replace the saved ones). True when this call registered the
/// shopper. Nothing is saved when a detail is refused, and no card is saved for a sale that
/// has started.
pub async fn register_for_sale(state: &AppState, user: &CurrentUser, sale: SaleId, req: &RegisterRequest) -> Result<bool, AppError> {
    crate::flash::service::open_for_registration(state, sale).await?;
    let pm = req.payment_method_id.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let details = match (req.shipping_address_id, pm) {
        (None, None) => None,
        (Some(address), Some(pm)) => Some(save_details(state, user, address, pm).await?),
        (address, _) => {
            let (field, missing) = if address.is_none() { ("shipping_address_id", "a shipping address") } else { ("payment_method_id", "a card") };
            return Err(AppError::bad(field, format!("An express buy needs {missing} as well: save both, or neither for a reminder only.")));
        }
    };
    crate::flash::service::register(state, user, sale, details).await
}

/// Checks that the address is in the shopper's book and keeps the card with the provider for
/// off-session payments; a 400 naming the field when either is refused.
async fn save_details(state: &AppState, user: &CurrentUser, shipping_address_id: i64, payment_method_id: &str) -> Result<ExpressDetails, AppError> {
    address::Entity::find_by_id(shipping_address_id)
        .filter(address::Column::UserId.eq(user.user_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::bad("shipping_address_id", format!("Address {shipping_address_id} is not in your address book.")))?;
    let (_, card) = crate::payments::saved::save(state, user, payment_method_id).await?;
    Ok(ExpressDetails { shipping_address_id, payment_method_id: card.payment_method_id, card_label: card.label })
}

/// A flash sale's buy (`POST /api/v1/sales/{id}/buy`, the sale page's Buy): the sale's hold,
/// then, for a shopper who saved an express buy, its order paid off-session (one order per
/// hold, keyed by it; a hold already ordered is answered as it is). When the order cannot be
/// made (the address was deleted, the provider is down) the hold still stands and the shopper
/// checks it out by hand; the reason comes back in `message`. The bool is true for a new hold.
pub async fn buy_in_sale(state: &AppState, user: &CurrentUser, ip: &str, sale: SaleId, req: &BuyRequest) -> Result<(HoldView, bool), AppError> {
    let (view, new) = crate::flash::service::buy(state, user, ip, sale, req).await?;
    Ok((express(state, user, view).await, new))
}

async fn express(state: &AppState, user: &CurrentUser, mut view: HoldView) -> HoldView {
    if view.order_id.is_some() || !has_express(state, view.sale_id).await {
        return view;
    }
    let ordered = match crate::flash::service::express_details(state, user.user_id, view.sale_id).await {
        Ok(None) => return view,
        Ok(Some(details)) => check_out(state, user, &view.hold_id, &details).await,
        Err(e) => Err(e),
    };
    match ordered {
        Ok(order) => {
            tracing::info!(sale_id = view.sale_id, hold_id = %view.hold_id, order_id = order.order_id, status = %order.status, "express buy");
            view.order_id = Some(order.order_id);
            view.order_status = Some(order.status);
            view.client_secret = order.client_secret;
            view.message = order.message;
        }
        Err(e) => {
            tracing::warn!(sale_id = view.sale_id, hold_id = %view.hold_id, error = %e, "express buy not possible; the hold stands");
            view.message = Some(format!("Your units are held, but the express buy did not go through: {e} Check out below before the hold ends."));
        }
    }
    view
}

/// Whether anyone saved an express buy for the sale (as known a second ago; registering on this
/// node forgets it): most sales have none, and then a buy does not ask for the shopper's.
async fn has_express(state: &AppState, sale_id: i64) -> bool {
    if let Some(known) = state.recent.sale_has_express.get(&sale_id) {
        return known;
    }
    let any = crate::db::sale_registration::Entity::find()
        .filter(crate::db::sale_registration::Column::SaleId.eq(sale_id))
        .filter(crate::db::sale_registration::Column::PaymentMethodId.is_not_null())
        .one(&state.db)
        .await;
    match any {
        Ok(row) => {
            state.recent.sale_has_express.put(sale_id, row.is_some());
            row.is_some()
        }
        // Unknown: ask for the shopper's own details, as before.
        Err(_) => true,
    }
}

/// The order an express buy made of a hold, and what its payment still needs: nothing (paid),
/// the bank's check (`client_secret`, 3-D Secure on the order page) or another card (`message`).
struct ExpressOrder {
    order_id: i64,
    status: OrderStatus,
    client_secret: Option<String>,
    message: Option<String>,
}

/// Makes the order of a new hold with the saved details and authorizes the saved card
/// off-session, under an idempotency key derived from the hold: one order and one payment
/// attempt per hold, however often it is asked.
async fn check_out(state: &AppState, user: &CurrentUser, hold_id: &HoldId, details: &ExpressDetails) -> Result<ExpressOrder, AppError> {
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
