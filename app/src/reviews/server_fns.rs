//! Reviews' server functions: a product's reviews, and writing the caller's own.

use leptos::prelude::*;

use super::*;
use crate::error::AppError;


/// A product's reviews for its page, as everyone sees them (the caller's own part is
/// `get_my_review_state`), behind the reviews breaker: `None` while they rest (slow, failing,
/// or switched off for a live sale), and the page goes on without them.
#[server(prefix = "/api/fn", endpoint = "reviews")]
pub async fn get_reviews(product_id: i64) -> Result<Option<ProductReviews>, AppError> {
    let state = crate::state::app_state()?;
    if crate::flash::service::extras_paused(&state).await {
        return Ok(None);
    }
    state.extras.reviews.call_app(service::reviews(&state.db, None, crate::ids::ProductId(product_id))).await
}

/// The caller's own part of a product's reviews: wishlist, review form, their review.
#[server(prefix = "/api/fn", endpoint = "my_review_state")]
pub async fn get_my_review_state(product_id: i64) -> Result<MyReviewState, AppError> {
    let state = crate::state::app_state()?;
    let user = crate::accounts::session::current_user(&state, &crate::accounts::session().await?).await?;
    Ok(my_review_state(&state, user.as_ref(), product_id).await)
}

/// `MyReviewState` for `user` (anyone not signed in gets the link to sign in), resting when
/// the reviews are.
#[cfg(feature = "ssr")]
pub async fn my_review_state(state: &crate::state::AppState, user: Option<&crate::accounts::CurrentUser>, product_id: i64) -> MyReviewState {
    let Some(user) = user else { return MyReviewState::anonymous(product_id) };
    let resting = MyReviewState { product_id, signed_in: true, resting: true, ..Default::default() };
    if crate::flash::service::extras_paused(state).await {
        return resting;
    }
    match state.extras.reviews.call_app(service::my_state(&state.db, user, crate::ids::ProductId(product_id))).await {
        Ok(Some(mine)) => mine,
        // Resting, or a product that is not for sale (its page says so).
        _ => resting,
    }
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
