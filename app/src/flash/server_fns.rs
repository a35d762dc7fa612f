//! The sale pages' server functions (thin: take the state, call the service).

use leptos::prelude::*;

use super::SaleView;
use crate::error::AppError;

#[server(prefix = "/api/fn", endpoint = "sales")]
pub async fn get_sales() -> Result<Vec<SaleView>, AppError> {
    let state = crate::state::app_state()?;
    super::service::sales(&state.db).await
}

#[server(prefix = "/api/fn", endpoint = "sale")]
pub async fn get_sale(id: i64) -> Result<SaleView, AppError> {
    let state = crate::state::app_state()?;
    super::service::sale(&state.db, crate::ids::SaleId(id)).await
}

/// The shopper's standing in a sale: whether they are signed in, and their place if in line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MyPlace {
    pub signed_in: bool,
    pub place: Option<super::QueueView>,
}

#[server(prefix = "/api/fn", endpoint = "sale_place")]
pub async fn get_my_place(sale_id: i64) -> Result<MyPlace, AppError> {
    let (state, user) = match crate::accounts::caller(crate::accounts::Need::SignedIn).await {
        Ok(x) => x,
        Err(AppError::Unauthorized(_)) => return Ok(MyPlace { signed_in: false, place: None }),
        Err(e) => return Err(e),
    };
    match super::service::place(&state, &user, crate::ids::SaleId(sale_id)).await {
        Ok(q) => Ok(MyPlace { signed_in: true, place: Some(q) }),
        Err(AppError::NotFound(_) | AppError::Conflict(_)) => Ok(MyPlace { signed_in: true, place: None }),
        Err(e) => Err(e),
    }
}

/// After a plain form post (no JavaScript), back to `page`; an error travels in the query.
#[cfg(feature = "ssr")]
async fn back_to<T>(page: &str, result: &Result<T, AppError>) {
    match result {
        Ok(_) if crate::ui::forms::is_plain_form_post().await => leptos_axum::redirect(page),
        Err(e) => crate::ui::forms::bounce_on_error(page, e, &[]).await,
        _ => {}
    }
}

#[server(prefix = "/api/fn", endpoint = "sale_join")]
pub async fn join_queue(sale_id: i64) -> Result<super::QueueView, AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        super::service::join(&state, &user, &crate::accounts::client_ip().await, crate::ids::SaleId(sale_id)).await
    }
    .await;
    back_to(&format!("/sales/{sale_id}"), &result).await;
    result
}

#[server(prefix = "/api/fn", endpoint = "sale_leave")]
pub async fn leave_queue(sale_id: i64) -> Result<(), AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        super::service::leave(&state, &user, crate::ids::SaleId(sale_id)).await
    }
    .await;
    back_to(&format!("/sales/{sale_id}"), &result).await;
    result
}

/// Buys for an admitted shopper; then the hold is checked out on `/checkout?hold=…`.
#[server(prefix = "/api/fn", endpoint = "sale_buy")]
pub async fn buy_sale(sale_id: i64, token: String, quantity: Option<i64>) -> Result<super::HoldView, AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        let req = super::BuyRequest { token, quantity: quantity.unwrap_or(1) };
        super::service::buy(&state, &user, &crate::accounts::client_ip().await, crate::ids::SaleId(sale_id), &req).await.map(|(h, _)| h)
    }
    .await;
    match &result {
        Ok(h) if crate::ui::forms::is_plain_form_post().await => leptos_axum::redirect(&checkout_path(h)),
        Err(e) => crate::ui::forms::bounce_on_error(&format!("/sales/{sale_id}"), e, &[]).await,
        _ => {}
    }
    result
}

/// Where a hold is checked out.
pub fn checkout_path(h: &super::HoldView) -> String {
    format!("/checkout?hold={}", crate::ui::forms::url_encode(&h.hold_id))
}
