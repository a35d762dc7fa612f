//! The seller admin's server functions (thin: who is asking, one service call).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::*;
use crate::error::AppError;

#[server(prefix = "/api/fn", endpoint = "seller_dashboard")]
pub async fn get_seller_dashboard() -> Result<Dashboard, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::dashboard(&state.db, &user).await
}

#[server(prefix = "/api/fn", endpoint = "seller_products", input = Json)]
pub async fn list_seller_products(query: SellerListQuery) -> Result<SellerProductList, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::list(&state.db, &user, &query).await
}

#[server(prefix = "/api/fn", endpoint = "seller_product")]
pub async fn get_seller_product(id: i64) -> Result<SellerProduct, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::get(&state.db, &user, crate::ids::ProductId(id)).await
}

/// What a refused plain editor form left for the page it was sent back to (`?form=<nonce>`),
/// if it was for this product (`None`: a new one). Read, not removed: the page may be
/// rendered more than once; the next refusal or a save replaces it.
#[server(prefix = "/api/fn", endpoint = "seller_product_form_feedback", input = Json)]
pub async fn take_product_form_feedback(product_id: Option<i64>, nonce: Option<String>) -> Result<Option<ProductFormFeedback>, AppError> {
    let Some(nonce) = nonce.filter(|n| !n.is_empty()) else { return Ok(None) };
    let session = crate::accounts::session().await?;
    let feedback = session.get::<ProductFormFeedback>(PRODUCT_FORM_FEEDBACK).await?;
    Ok(feedback.filter(|f| f.product_id == product_id && f.nonce == nonce))
}

#[server(prefix = "/api/fn", endpoint = "seller_form_options")]
pub async fn get_form_options() -> Result<FormOptions, AppError> {
    let (state, _) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::form_options(&state.db).await
}

#[server(prefix = "/api/fn", endpoint = "seller_create_product", input = Json)]
pub async fn create_product(input: ProductInput) -> Result<SellerProduct, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::create(&state, &user, input).await
}

#[server(prefix = "/api/fn", endpoint = "seller_update_product", input = Json)]
pub async fn update_product(id: i64, input: ProductInput) -> Result<SellerProduct, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::update(&state, &user, crate::ids::ProductId(id), input).await
}

#[server(prefix = "/api/fn", endpoint = "seller_set_status")]
pub async fn set_product_status(id: i64, status: ProductStatus) -> Result<SellerProduct, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::set_status(&state, &user, crate::ids::ProductId(id), status).await
}

#[server(prefix = "/api/fn", endpoint = "seller_remove_image")]
pub async fn remove_product_image(id: i64, image_id: i64) -> Result<SellerProduct, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    service::remove_image(&state, &user, crate::ids::ProductId(id), crate::ids::ImageId(image_id)).await
}
