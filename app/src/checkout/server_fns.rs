//! Checkout's server functions: the checkout page's data, placing an order, paying again,
//! confirming after 3-D Secure, and a flash sale's buy and express buy. A declined card is not an error: the order waits
//! for another.

use super::*;

#[leptos::server(prefix = "/api/fn", endpoint = "checkout_info")]
pub async fn get_checkout_info(hold: Option<String>) -> Result<CheckoutInfo, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    let hold = hold.filter(|h| !h.trim().is_empty()).map(|h| crate::ids::HoldId::parse(&h)).transpose()?;
    let (cart, hold_expires_at) = match &hold {
        Some(h) => {
            let (cart, until) = service::hold_cart(&state, user.user_id, h).await?;
            (cart, Some(until))
        }
        None => (crate::cart::service::view(&state, Some(&crate::cart::CartOwner::User(user.user_id))).await?, None),
    };
    let now = chrono::Utc::now();
    let addresses = crate::accounts::service::list_addresses(&state.db, user.user_id).await?;
    Ok(CheckoutInfo {
        cart,
        addresses,
        tax_rate_bps: state.rules.tax_rate_bps,
        payment: service::payment_entry(&state),
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        hold_id: hold,
        hold_expires_at: hold_expires_at.map(crate::db::rfc3339),
        hold_seconds_left: hold_expires_at.map(|t| (t - now).num_seconds().max(0)),
    })
}

/// The checkout form. A declined card is not an error here: the order exists and waits for
/// another card, so the shopper lands on it either way.
#[allow(clippy::too_many_arguments)]
#[leptos::server(prefix = "/api/fn", endpoint = "place_order")]
pub async fn place_order(
    idempotency_key: String,
    shipping_address_id: Option<String>,
    name: Option<String>,
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    shipping_method: Option<String>,
    payment_method_id: Option<String>,
    hold_id: Option<String>,
) -> Result<Placed, crate::error::AppError> {
    use crate::error::AppError;
    let saved = shipping_address_id.as_deref().filter(|s| !s.is_empty() && *s != "new").map(|s| s.parse::<i64>());
    let hold_id = hold_id.filter(|h| !h.trim().is_empty()).map(|h| crate::ids::HoldId::parse(&h)).transpose()?;
    let back = match &hold_id {
        Some(h) => format!("/checkout?hold={}", crate::ui::forms::url_encode(h.as_str())),
        None => "/checkout".to_owned(),
    };
    let req = CheckoutRequest {
        hold_id,
        shipping_address_id: match saved {
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => return Err(AppError::bad("shipping_address_id", "Choose one of your addresses.")),
            None => None,
        },
        shipping_address: saved.is_none().then(|| AddressInput {
            name: name.clone().unwrap_or_default(),
            line1: line1.clone().unwrap_or_default(),
            line2: line2.clone(),
            city: city.clone().unwrap_or_default(),
            region: region.clone(),
            postal_code: postal_code.clone().unwrap_or_default(),
            country: country.clone().unwrap_or_default(),
        }),
        shipping_method: shipping_method.clone().unwrap_or_default(),
        payment_method_id: payment_method_id.unwrap_or_default(),
    };
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        let key = service::check_idempotency_key(Some(&idempotency_key))?;
        service::check_checkout_rate(&state, user.user_id, &crate::accounts::client_ip().await).await?;
        match service::checkout(&state, &user, &key, &req).await {
            Ok((r, _)) => Ok(Placed { order_id: r.order_id, status: r.status, message: None, client_secret: r.client_secret }),
            Err(AppError::PaymentDeclined(message)) => {
                let order_id = service::order_id_for_key(&state.db, user.user_id, &key).await?.ok_or(AppError::Internal)?;
                Ok(Placed { order_id, status: crate::states::OrderStatus::Pending, message: Some(message), client_secret: None })
            }
            // The form's address fields are named without the API's `shipping_address.`.
            Err(AppError::Invalid(fields)) => Err(AppError::Invalid(
                fields.into_iter().map(|(k, v)| (k.strip_prefix("shipping_address.").map(str::to_owned).unwrap_or(k), v)).collect(),
            )),
            Err(e) => Err(e),
        }
    }
    .await;
    match &result {
        Ok(p) if crate::ui::forms::is_plain_form_post().await => crate::ui::forms::redirect(&order_page(p)),
        Err(e) => {
            let keep: Vec<(&str, String)> = [("name", name), ("line1", line1), ("line2", line2), ("city", city), ("region", region), ("postal_code", postal_code), ("country", country), ("shipping_method", shipping_method)]
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect();
            let keep: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (*k, v.as_str())).collect();
            crate::ui::forms::bounce_on_error(&back, e, &keep).await;
        }
        _ => {}
    }
    result
}

/// Where a placed order is shown, with the decline message when there is one.
pub fn order_page(p: &Placed) -> String {
    match &p.message {
        Some(m) => format!("/orders/{}?declined={}", p.order_id, crate::ui::forms::url_encode(m)),
        None => format!("/orders/{}?placed=1", p.order_id),
    }
}

#[leptos::server(prefix = "/api/fn", endpoint = "pay_order")]
pub async fn pay_order(order_id: i64, payment_method_id: Option<String>, saved_card: Option<String>) -> Result<Placed, crate::error::AppError> {
    use crate::error::AppError;
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        service::check_checkout_rate(&state, user.user_id, &crate::accounts::client_ip().await).await?;
        let id = crate::ids::OrderId(order_id);
        let paid = if saved_card.is_some_and(|s| !s.is_empty()) {
            service::pay_with_saved(&state, &user, id).await
        } else {
            service::pay_again(&state, &user, id, payment_method_id.as_deref().unwrap_or_default()).await
        };
        match paid {
            Ok(r) => Ok(Placed { order_id, status: r.status, message: None, client_secret: r.client_secret }),
            Err(AppError::PaymentDeclined(message)) => Ok(Placed { order_id, status: crate::states::OrderStatus::Pending, message: Some(message), client_secret: None }),
            Err(e) => Err(e),
        }
    }
    .await;
    match &result {
        Ok(p) if crate::ui::forms::is_plain_form_post().await => crate::ui::forms::redirect(&order_page(p)),
        Err(e) => crate::ui::forms::bounce_on_error(&format!("/orders/{order_id}"), e, &[]).await,
        _ => {}
    }
    result
}

/// After 3-D Secure in the browser: the order is paid, or the check failed (the message comes
/// back and the order stays payable).
#[leptos::server(prefix = "/api/fn", endpoint = "confirm_payment")]
pub async fn confirm_payment(order_id: i64) -> Result<Placed, crate::error::AppError> {
    use crate::error::AppError;
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    match service::confirm_payment(&state, &user, crate::ids::OrderId(order_id)).await {
        Ok(r) => Ok(Placed { order_id, status: r.status, message: None, client_secret: None }),
        Err(AppError::PaymentDeclined(message)) => Ok(Placed { order_id, status: crate::states::OrderStatus::Pending, message: Some(message), client_secret: None }),
        Err(e) => Err(e),
    }
}

/// The sale page's Buy (checkout's, as the buy may make the order): buys for an admitted
/// shopper; then the hold is checked out on `/checkout?hold=…`, or, for
/// an express buy, the order page shows the order it made.
#[leptos::server(prefix = "/api/fn", endpoint = "sale_buy")]
pub async fn buy_sale(sale_id: i64, token: String, quantity: Option<i64>) -> Result<crate::flash::HoldView, crate::error::AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        let req = crate::flash::BuyRequest { token, quantity: quantity.unwrap_or(1) };
        service::buy_in_sale(&state, &user, &crate::accounts::client_ip().await, crate::ids::SaleId(sale_id), &req).await.map(|(h, _)| h)
    }
    .await;
    crate::ui::forms::after_form(&result, after_buy_path, &format!("/sales/{sale_id}"), &[]).await;
    result
}

/// Where a buy goes on: the hold's checkout, or the order an express buy made (paid, or
/// asking for the bank's check or another card).
pub fn after_buy_path(h: &crate::flash::HoldView) -> String {
    use crate::ui::forms::url_encode;
    match h.order_id {
        None => format!("/checkout?hold={}", url_encode(h.hold_id.as_str())),
        Some(order) if h.order_status == Some(crate::states::OrderStatus::Paid) => format!("/orders/{order}?placed=1"),
        Some(order) => {
            let why = match (&h.message, &h.client_secret) {
                (Some(m), _) => m.clone(),
                (None, Some(_)) => "Your bank wants to confirm this payment: pay with your saved card below to do the check.".to_owned(),
                (None, None) => String::new(),
            };
            if why.is_empty() { format!("/orders/{order}") } else { format!("/orders/{order}?declined={}", url_encode(&why)) }
        }
    }
}


/// The sale page's "Save for express buy": saves an express buy with the registration (registering if need be): an address of the
/// book and a card (a test card id, or the payment method Stripe.js saved).
#[leptos::server(prefix = "/api/fn", endpoint = "sale_express")]
pub async fn save_express(sale_id: i64, shipping_address_id: Option<String>, payment_method_id: Option<String>) -> Result<crate::flash::RegistrationView, crate::error::AppError> {
    crate::accounts::form_post(format!("/sales/{sale_id}"), crate::accounts::Need::SignedIn, |state, user| async move {
        let address = match shipping_address_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => return Err(crate::error::AppError::bad("shipping_address_id", "Choose the address to ship to.")),
            Some(a) => a.parse::<i64>().map_err(|_| crate::error::AppError::bad("shipping_address_id", "Choose one of your addresses."))?,
        };
        let pm = payment_method_id.clone().filter(|p| !p.trim().is_empty()).ok_or_else(|| crate::error::AppError::bad("payment_method_id", "Choose the card to pay with."))?;
        let req = crate::flash::RegisterRequest { shipping_address_id: Some(address), payment_method_id: Some(pm) };
        let id = crate::ids::SaleId(sale_id);
        service::register_for_sale(&state, &user, id, &req).await?;
        crate::flash::service::registration(&state, &user, sale_id).await?.ok_or(crate::error::AppError::Internal)
    })
    .await
}
