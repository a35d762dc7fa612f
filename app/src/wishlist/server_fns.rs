//! The wishlist's server functions: the list, and saving or removing a product.

use leptos::prelude::*;

use crate::catalog::ProductSummary;
use crate::error::AppError;

/// The caller's wishlist behind the wishlist breaker: `None` while it rests (slow, failing, or
/// switched off for a live sale).
#[server(prefix = "/api/fn", endpoint = "wishlist")]
pub async fn get_wishlist() -> Result<Option<Vec<ProductSummary>>, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    if crate::flash::service::extras_paused(&state).await {
        return Ok(None);
    }
    state.extras.wishlist.call_app(super::service::wishlist(&state.db, user.user_id)).await
}

/// Saves (`save = "true"`) or removes a product; a plain form post goes back where it came from.
#[server(prefix = "/api/fn", endpoint = "set_wishlist")]
pub async fn set_wishlist(product_id: i64, save: String, back: Option<String>) -> Result<bool, AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        if save == "true" {
            super::service::add_to_wishlist(&state.db, user.user_id, crate::ids::ProductId(product_id)).await?;
            Ok(true)
        } else {
            super::service::remove_from_wishlist(&state.db, user.user_id, crate::ids::ProductId(product_id)).await?;
            Ok(false)
        }
    }
    .await;
    let back = crate::accounts::safe_next(back.as_deref());
    match &result {
        Ok(_) if crate::ui::forms::is_plain_form_post().await => crate::ui::forms::redirect(&back),
        Err(e) => crate::ui::forms::bounce_on_error(&back, e, &[]).await,
        _ => {}
    }
    result
}
