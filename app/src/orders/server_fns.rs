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
    match &result {
        Ok(_) if crate::ui::forms::is_plain_form_post().await => crate::ui::forms::redirect(&page),
        Err(e) => crate::ui::forms::bounce_on_error(&page, e, &[]).await,
        _ => {}
    }
    result
}

#[leptos::server(prefix = "/api/fn", endpoint = "seller_orders")]
pub async fn get_seller_orders() -> Result<Vec<SellerOrder>, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::seller_orders(&state.db, &user).await
}

#[leptos::server(prefix = "/api/fn", endpoint = "seller_ship")]
pub async fn ship_order(order_id: i64, tracking_number: String) -> Result<SellerOrder, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::ship(&state, &user, crate::ids::OrderId(order_id), &tracking_number).await
}

#[leptos::server(prefix = "/api/fn", endpoint = "seller_deliver")]
pub async fn deliver_order(order_id: i64) -> Result<SellerOrder, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::deliver(&state, &user, crate::ids::OrderId(order_id)).await
}

/// A full refund from the admin page; `key` comes with the page, so a double click refunds once.
#[leptos::server(prefix = "/api/fn", endpoint = "seller_refund")]
pub async fn refund_in_full(order_id: i64, key: String) -> Result<SellerOrder, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::refund_order(&state, &user, crate::ids::OrderId(order_id), &RefundRequest::default(), Some(&key)).await
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
