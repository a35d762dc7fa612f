//! Reviews and ratings (one per shopper and product, 1-5 stars; "verified purchase" when they
//! bought it). Only verified purchases count in the product's rating: anyone may say what they
//! think, but free accounts cannot move the stars. Reviews without a purchase are shown apart,
//! marked as not counted. A seller cannot review their own products. The rating aggregate is
//! kept in the same transaction as the review, so the stars in the shop and in search always
//! add up.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub mod pages;
mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

pub use server_fns::*;

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
    /// The average of the verified purchases' stars.
    pub rating: Option<f64>,
    /// How many verified purchases the rating is of.
    pub count: i64,
    /// Newest first, the caller's own first of all.
    pub reviews: Vec<Review>,
    /// Whether the caller is signed in (and may keep a wishlist).
    pub signed_in: bool,
    /// Whether the caller may write: signed in and not the product's seller. Their own review
    /// is in `reviews`.
    pub can_review: bool,
    pub in_wishlist: bool,
}

/// What a product page shows only to the one looking at it: the wishlist button, their review
/// form and their own review. Read apart from the reviews everyone sees, so the rest of the page
/// is the same for everyone and a signed-in shopper's page is the kept one with this part put
/// in (`frame::Viewer`, `server/src/page_cache.rs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyReviewState {
    pub product_id: i64,
    pub signed_in: bool,
    /// Signed in and not the product's seller.
    pub can_review: bool,
    pub in_wishlist: bool,
    /// Their own review, if they wrote one.
    pub mine: Option<Review>,
    /// Reviews rest (slow, failing, or switched off for a live sale): nothing is shown.
    pub resting: bool,
}

impl MyReviewState {
    /// Someone not signed in: a link to sign in.
    pub fn anonymous(product_id: i64) -> Self {
        Self { product_id, ..Default::default() }
    }
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
    crate::text::check_chars(&mut errors, "body", "The review", &body, true);
    errors.finish()?;
    Ok((rating, body))
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
