//! Cart server functions for the storefront's forms (the REST API is in the server crate).

use leptos::prelude::*;

use super::*;

#[cfg(feature = "ssr")]
async fn bounce_to_cart(e: &AppError) {
    crate::ui::forms::bounce_on_error("/cart", e, &[]).await;
}

/// With notices (a capped quantity) a plain form post lands on the cart page to read them.
#[cfg(feature = "ssr")]
async fn show_notices(view: &CartView) {
    if !view.notices.is_empty() && crate::ui::forms::is_plain_form_post().await {
        let q: Vec<String> = view.notices.iter().map(|n| format!("notice={}", crate::ui::forms::url_encode(n))).collect();
        crate::ui::forms::redirect(&format!("/cart?{}", q.join("&")));
    }
}

#[server(prefix = "/api/fn", endpoint = "cart")]
pub async fn get_cart() -> Result<CartView, AppError> {
    let state = crate::state::app_state()?;
    let session = crate::accounts::session().await?;
    let owner = crate::accounts::session::cart_owner(&state, &session, false).await?;
    service::view(&state, owner.as_ref()).await
}

/// A cart form's add or set: quantity checked, cart created for a new guest, notices or the
/// error shown to a plain form post.
#[cfg(feature = "ssr")]
async fn put_from_form(sku: String, quantity: &str, mode: service::Mode) -> Result<CartView, AppError> {
    let result = async {
        let quantity = parse_quantity(quantity)?;
        let state = crate::state::app_state()?;
        let session = crate::accounts::session().await?;
        let owner = crate::accounts::session::cart_owner(&state, &session, true).await?.ok_or(AppError::Internal)?;
        service::put_item(&state, &owner, service::ItemRef::Sku(sku), quantity, mode).await
    }
    .await;
    match &result {
        Ok(view) => show_notices(view).await,
        Err(e) => bounce_to_cart(e).await,
    }
    result
}

#[server(prefix = "/api/fn", endpoint = "cart_add")]
pub async fn add_to_cart(sku: String, quantity: Option<String>) -> Result<CartView, AppError> {
    put_from_form(sku, quantity.as_deref().unwrap_or("1"), service::Mode::Add).await
}

#[server(prefix = "/api/fn", endpoint = "cart_update")]
pub async fn update_cart_line(sku: String, quantity: String) -> Result<CartView, AppError> {
    put_from_form(sku, &quantity, service::Mode::Set).await
}

#[server(prefix = "/api/fn", endpoint = "cart_remove")]
pub async fn remove_cart_line(sku: String) -> Result<CartView, AppError> {
    let result = async {
        let state = crate::state::app_state()?;
        let session = crate::accounts::session().await?;
        let owner = crate::accounts::session::cart_owner(&state, &session, true).await?.ok_or(AppError::Internal)?;
        service::remove_item(&state, &owner, &sku).await
    }
    .await;
    if let Err(e) = &result {
        bounce_to_cart(e).await;
    }
    result
}
