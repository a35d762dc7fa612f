//! The catalog's server functions (thin: take the state, call the service, map the error).

use leptos::prelude::*;

use super::*;
use crate::error::AppError;

#[server(prefix = "/api/fn", endpoint = "home")]
pub async fn get_home() -> Result<(Vec<CategoryNode>, Vec<ProductSummary>), AppError> {
    let state = crate::state::app_state()?;
    let tree = service::category_tree(&state.db).await?;
    let featured = service::list_products(&state.db, &ListQuery { limit: 12, ..Default::default() }).await?;
    Ok((tree, featured.products))
}

#[server(prefix = "/api/fn", endpoint = "category_page")]
pub async fn get_category_page(slug: String, query: ListQuery) -> Result<(CategoryView, ProductList), AppError> {
    let state = crate::state::app_state()?;
    let view = service::category_view(&state.db, &slug).await?;
    let list = service::list_products(&state.db, &ListQuery { category: Some(slug), ..query }).await?;
    Ok((view, list))
}

#[server(prefix = "/api/fn", endpoint = "product")]
pub async fn get_product(id: i64) -> Result<ProductDetail, AppError> {
    let state = crate::state::app_state()?;
    Ok(service::cached_product_detail(&state, crate::ids::ProductId(id)).await?)
}

#[server(prefix = "/api/fn", endpoint = "product_sale")]
pub async fn get_product_sale(id: i64) -> Result<Option<SaleBanner>, AppError> {
    let state = crate::state::app_state()?;
    service::sale_banner(&state.db, crate::ids::ProductId(id)).await
}
