//! Reviews' server functions: a product's reviews, and writing the caller's own.

use leptos::prelude::*;

use super::*;
use crate::error::AppError;


/// A product's reviews for its page, behind the reviews breaker: `None` while they rest (slow,
/// failing, or switched off for a live sale), and the page goes on without them.
#[server(prefix = "/api/fn", endpoint = "reviews")]
pub async fn get_reviews(product_id: i64) -> Result<Option<ProductReviews>, AppError> {
    let state = crate::state::app_state()?;
    if crate::flash::service::extras_paused(&state).await {
        return Ok(None);
    }
    let user = crate::accounts::session::current_user(&state, &crate::accounts::session().await?).await?;
    state.extras.reviews.call_app(service::reviews(&state.db, user.as_ref().map(|u| u.user_id), crate::ids::ProductId(product_id))).await
}

/// Writes (or rewrites) the caller's review. A plain form post lands back on the product page.
#[server(prefix = "/api/fn", endpoint = "save_review")]
pub async fn save_review(product_id: i64, rating: Option<String>, body: Option<String>) -> Result<Review, AppError> {
    // No star chosen sends no `rating` at all.
    let (rating, body) = (rating.unwrap_or_default(), body.unwrap_or_default());
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        let (rating, body) = check_review(&rating, &body)?;
        service::save_review(&state, user.user_id, crate::ids::ProductId(product_id), rating, &body).await.map(|(r, _)| r)
    }
    .await;
    let page = format!("{}#reviews", crate::catalog::product_path(product_id));
    match &result {
        Ok(_) if crate::ui::forms::is_plain_form_post().await => crate::ui::forms::redirect(&page),
        Err(e) => crate::ui::forms::bounce_on_error(&crate::catalog::product_path(product_id), e, &[("rating", &rating), ("body", &body)]).await,
        _ => {}
    }
    result
}
