//! Orders' server functions: the shopper's orders and cancel, the seller's queue and fulfilment.

use super::*;
use crate::checkout::PaymentEntry;

#[leptos::server(prefix = "/api/fn", endpoint = "cancel_order")]
pub async fn cancel_order(order_id: i64) -> Result<OrderView, crate::error::AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        service::cancel(&state, &user, crate::ids::OrderId(order_id)).await
    }
    .await;
    let page = format!("/orders/{order_id}");
    after_plain_post(&result, &page, &page, &[]).await;
    result
}

/// The seller's orders; `filter` is a `SellerOrderFilter` name (`to_ship`, …) or empty for all.
#[leptos::server(prefix = "/api/fn", endpoint = "seller_orders")]
pub async fn get_seller_orders(filter: String) -> Result<Vec<SellerOrder>, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::seller_orders(&state.db, &user, SellerOrderFilter::parse(&filter)).await
}

#[leptos::server(prefix = "/api/fn", endpoint = "seller_order")]
pub async fn get_seller_order(order_id: i64) -> Result<SellerOrderDetail, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::seller_order(&state.db, &user, crate::ids::OrderId(order_id)).await
}

/// Ships from the list or the order page; `back` is the page to return to without JavaScript.
#[leptos::server(prefix = "/api/fn", endpoint = "seller_ship")]
pub async fn ship_order(order_id: i64, tracking_number: String, carrier: String, back: String) -> Result<SellerOrder, crate::error::AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
        service::ship(&state, &user, crate::ids::OrderId(order_id), &tracking_number, &carrier).await
    }
    .await;
    let id = order_id.to_string();
    after_plain_post(&result, &back, &back, &[("shipped", &id), ("tracking_number", &tracking_number), ("carrier", &carrier)]).await;
    result
}

/// The seller cancels a paid order that has not shipped (after the confirmation step).
#[leptos::server(prefix = "/api/fn", endpoint = "seller_cancel")]
pub async fn seller_cancel_order(order_id: i64, reason: String) -> Result<SellerOrder, crate::error::AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
        service::seller_cancel(&state, &user, crate::ids::OrderId(order_id), &reason).await
    }
    .await;
    let page = format!("/seller/orders/{order_id}");
    after_plain_post(&result, &page, &format!("{page}?confirm=cancel"), &[("reason", &reason)]).await;
    result
}

/// A refund from the order page, after its confirmation: `lines` is the JSON of the lines
/// (`sku`, `quantity`, `restock`), `amount` minor units (or empty); `key` comes with the
/// confirmation, so a double click refunds once.
#[leptos::server(prefix = "/api/fn", endpoint = "seller_refund")]
pub async fn refund_from_page(order_id: i64, key: String, lines: String, amount: String) -> Result<SellerOrder, crate::error::AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
        let lines: Vec<RefundLine> = serde_json::from_str(if lines.trim().is_empty() { "[]" } else { &lines }).map_err(|_| crate::error::AppError::bad("lines", "The lines to refund could not be read; start again."))?;
        let amount = match amount.trim() {
            "" => None,
            a => Some(a.parse::<i64>().map_err(|_| crate::error::AppError::bad("amount", "Enter the amount to refund, e.g. 12.50."))?),
        };
        service::refund_order(&state, &user, crate::ids::OrderId(order_id), &RefundRequest { lines, amount }, Some(&key)).await
    }
    .await;
    let page = format!("/seller/orders/{order_id}");
    after_plain_post(&result, &page, &page, &[]).await;
    result
}

/// Without JavaScript: on to `done` (one of this shop's pages), or on failure to `retry` with
/// the error and `keep`.
#[cfg(feature = "ssr")]
async fn after_plain_post<T>(result: &Result<T, crate::error::AppError>, done: &str, retry: &str, keep: &[(&str, &str)]) {
    match result {
        Ok(_) if crate::ui::forms::is_plain_form_post().await => crate::ui::forms::redirect(crate::ui::forms::same_site_path(done)),
        Err(e) => crate::ui::forms::bounce_on_error(crate::ui::forms::same_site_path(retry), e, keep).await,
        _ => {}
    }
}

#[leptos::server(prefix = "/api/fn", endpoint = "seller_deliver")]
pub async fn deliver_order(order_id: i64, back: String) -> Result<SellerOrder, crate::error::AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
        service::deliver(&state, &user, crate::ids::OrderId(order_id)).await
    }
    .await;
    after_plain_post(&result, &back, &back, &[]).await;
    result
}

#[leptos::server(prefix = "/api/fn", endpoint = "orders")]
pub async fn get_orders() -> Result<Vec<OrderSummary>, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    service::order_list(&state.db, user.user_id).await
}

#[leptos::server(prefix = "/api/fn", endpoint = "order")]
pub async fn get_order(order_id: i64) -> Result<(OrderView, PaymentEntry, Option<String>), crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    let id = crate::ids::OrderId(order_id);
    let view = service::order_view(&state.db, user.user_id, id, state.rules.cancel_window_minutes).await?;
    // An express buy's order can be paid again with the card saved for its sale.
    let saved = match view.status {
        crate::states::OrderStatus::Pending => crate::checkout::service::saved_card_of(&state, &user, id).await?.map(|d| d.card_label),
        _ => None,
    };
    Ok((view, crate::checkout::service::payment_entry(&state), saved))
}
