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
