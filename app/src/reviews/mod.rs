//! Reviews and ratings (one per shopper and product, 1-5 stars; "verified purchase" when they
//! bought it) and the wishlist. The product's rating aggregate is kept in the same
//! transaction as the review, so the stars in the shop and in search always add up.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::catalog::ProductSummary;
use crate::error::AppError;

pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

pub const MAX_REVIEW_CHARS: usize = 5_000;
pub const REVIEWS_SHOWN: u64 = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Review {
    pub review_id: i64,
    /// A short name for the author (never their email address).
    pub author: String,
    pub rating: i32,
    pub body: String,
    pub verified_purchase: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The caller wrote it.
    pub mine: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductReviews {
    pub rating: Option<f64>,
    pub count: i64,
    /// Newest first, the caller's own first of all.
    pub reviews: Vec<Review>,
    /// Whether the caller may write (signed in); their own review is in `reviews`.
    pub can_review: bool,
    pub in_wishlist: bool,
}

/// Checks a rating as typed ("4") and a text; the error names the field.
pub fn check_review(rating: &str, body: &str) -> Result<(i32, String), AppError> {
    let mut errors = crate::error::FieldErrors::default();
    let rating = match rating.trim().parse::<i32>() {
        Ok(r) if (1..=5).contains(&r) => r,
        _ => {
            errors.add("rating", "Choose from 1 to 5 stars.");
            0
        }
    };
    let body = body.trim().to_owned();
    if body.chars().count() > MAX_REVIEW_CHARS {
        errors.add("body", format!("A review has at most {MAX_REVIEW_CHARS} characters."));
    }
    errors.finish()?;
    Ok((rating, body))
}

// ---- server functions ----

#[server(prefix = "/api/fn", endpoint = "reviews")]
pub async fn get_reviews(product_id: i64) -> Result<ProductReviews, AppError> {
    let state = crate::state::app_state()?;
    let user = crate::accounts::session::current_user(&state.db, &crate::accounts::session().await?).await?;
    service::reviews(&state.db, user.as_ref().map(|u| u.user_id), product_id).await
}

/// Writes (or rewrites) the caller's review. A plain form post lands back on the product page.
#[server(prefix = "/api/fn", endpoint = "save_review")]
pub async fn save_review(product_id: i64, rating: Option<String>, body: Option<String>) -> Result<Review, AppError> {
    // No star chosen sends no `rating` at all.
    let (rating, body) = (rating.unwrap_or_default(), body.unwrap_or_default());
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        let (rating, body) = check_review(&rating, &body)?;
        service::save_review(&state, user.user_id, product_id, rating, &body).await.map(|(r, _)| r)
    }
    .await;
    let page = format!("{}#reviews", crate::catalog::product_path(product_id));
    match &result {
        Ok(_) if crate::ui::forms::is_plain_form_post().await => leptos_axum::redirect(&page),
        Err(e) => crate::ui::forms::bounce_on_error(&crate::catalog::product_path(product_id), e, &[("rating", &rating), ("body", &body)]).await,
        _ => {}
    }
    result
}

#[server(prefix = "/api/fn", endpoint = "wishlist")]
pub async fn get_wishlist() -> Result<Vec<ProductSummary>, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    service::wishlist(&state.db, user.user_id).await
}

/// Saves (`save = "true"`) or removes a product; a plain form post goes back where it came from.
#[server(prefix = "/api/fn", endpoint = "set_wishlist")]
pub async fn set_wishlist(product_id: i64, save: String, back: Option<String>) -> Result<bool, AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
        if save == "true" {
            service::add_to_wishlist(&state.db, user.user_id, product_id).await?;
            Ok(true)
        } else {
            service::remove_from_wishlist(&state.db, user.user_id, product_id).await?;
            Ok(false)
        }
    }
    .await;
    let back = crate::accounts::safe_next(back.as_deref());
    match &result {
        Ok(_) if crate::ui::forms::is_plain_form_post().await => leptos_axum::redirect(&back),
        Err(e) => crate::ui::forms::bounce_on_error(&back, e, &[]).await,
        _ => {}
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviews_are_checked() {
        assert_eq!(check_review(" 4 ", "  Nice  ").unwrap(), (4, "Nice".to_owned()));
        assert_eq!(check_review("5", "").unwrap(), (5, String::new()), "stars without words are fine");
        for bad in ["0", "6", "x", "", "4.5"] {
            assert!(matches!(check_review(bad, "ok"), Err(AppError::Invalid(f)) if f.contains_key("rating")), "{bad:?}");
        }
        assert!(matches!(check_review("3", &"a".repeat(MAX_REVIEW_CHARS + 1)), Err(AppError::Invalid(f)) if f.contains_key("body")));
    }
}
