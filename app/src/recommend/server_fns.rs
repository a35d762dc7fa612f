//! The recommendations' server functions: one product's, and the cart's.

use leptos::prelude::*;

use super::AlsoBought;
use crate::error::AppError;

#[server(prefix = "/api/fn", endpoint = "also_bought")]
pub async fn get_also_bought(product_id: i64) -> Result<AlsoBought, AppError> {
    let state = crate::state::app_state()?;
    Ok(super::service::also_bought(&state, &[product_id]).await)
}

/// For the cart: what was bought with its products, none of them already in it.
#[server(prefix = "/api/fn", endpoint = "cart_also_bought")]
pub async fn get_cart_also_bought() -> Result<AlsoBought, AppError> {
    let state = crate::state::app_state()?;
    let session = crate::accounts::session().await?;
    let Some(owner) = crate::accounts::session::cart_owner(&state, &session, false).await? else {
        return Ok(AlsoBought::default());
    };
    let cart = crate::cart::service::view(&state, Some(&owner)).await?;
    let ids: Vec<i64> = cart.items.iter().map(|i| i.product_id).collect();
    Ok(super::service::also_bought(&state, &ids).await)
}
