//! The product page's reviews and wishlist button, and the wishlist page. Every form is an
//! `ActionForm`: it works before the wasm has loaded and without a reload after.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::*;
use crate::wishlist::SetWishlist;
use crate::ui::forms::{Feedback, FormMessage};
use crate::ui::{ErrorPanel, Loading, Stars};

/// Reviews of one product, the caller's review form and the wishlist button.
#[component]
pub fn ProductReviewsSection(product_id: i64) -> impl IntoView {
    let save = ServerAction::<SaveReview>::new();
    let wish = ServerAction::<SetWishlist>::new();
    let data = Resource::new(move || (product_id, save.version().get(), wish.version().get()), |(id, ..)| get_reviews(id));
    let feedback = Feedback::new(save.value());
    let back = crate::catalog::product_path(product_id);
    // `data-live` on the wishlist form once its submit runs in the page (after the section
    // hydrates, which may be a moment after the page says it has): what a test waits for
    // before clicking, or the click posts the form the plain way and reloads the page.
    let wish_form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(form) = wish_form.get() {
            let _ = form.set_attribute("data-live", "true");
        }
    });
    view! {
        <Suspense fallback=Loading>
            {move || {
                let back = back.clone();
                Suspend::new(async move {
                    let d = match data.await {
                        Ok(Some(d)) => d,
                        Ok(None) => return view! {
                            <section class="reviews" id="reviews" aria-labelledby="reviews-heading">
                                <h2 id="reviews-heading">"Reviews"</h2>
                                <p class="muted extras-resting" data-testid="reviews-resting">"Reviews are taking a break; they will be back shortly."</p>
                            </section>
                        }.into_any(),
                        Err(e) => return view! { <ErrorPanel error=e /> }.into_any(),
                    };
                    let mine = d.reviews.iter().find(|r| r.mine).cloned();
                    view! {
                        {if d.signed_in {
                            view! {
                                <ActionForm action=wish node_ref=wish_form attr:class="wishlist-form">
                                    <input type="hidden" name="product_id" value=product_id />
                                    <input type="hidden" name="save" value=if d.in_wishlist { "false" } else { "true" } />
                                    <input type="hidden" name="back" value=back.clone() />
                                    <button type="submit" class="secondary" data-testid="wishlist-button" aria-pressed=if d.in_wishlist { "true" } else { "false" }>
                                        {if d.in_wishlist { "♥ Saved to your wishlist" } else { "♡ Save to wishlist" }}
                                    </button>
                                </ActionForm>
                            }.into_any()
                        } else {
                            view! { <p><a href=format!("/signin?next={}", crate::ui::forms::url_encode(&back))>"Sign in to save this to your wishlist or review it"</a></p> }.into_any()
                        }}
                        <section class="reviews" id="reviews" aria-labelledby="reviews-heading">
                            <h2 id="reviews-heading">"Reviews"</h2>
                            <Stars rating=d.rating count=d.count />
                            {d.can_review.then(|| view! { <ReviewForm product_id mine save feedback /> })}
                            {(d.signed_in && !d.can_review).then(|| view! {
                                <p class="muted" data-testid="own-product">"You sell this product, so you cannot review it. Reviews are for the people who buy it."</p>
                            })}
                            <ReviewList reviews=d.reviews />
                        </section>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}

/// The caller's review: written, or edited (what a refused plain form sent comes back as
/// typed).
#[component]
fn ReviewForm(product_id: i64, mine: Option<Review>, save: ServerAction<SaveReview>, feedback: Feedback) -> impl IntoView {
    let kept_body = feedback.kept("body");
    let body = if kept_body.is_empty() { mine.as_ref().map(|r| r.body.clone()).unwrap_or_default() } else { kept_body };
    let kept_rating = feedback.kept("rating").parse::<i32>().ok();
    let rating = kept_rating.or(mine.as_ref().map(|r| r.rating)).unwrap_or(0);
    view! {
        <ActionForm action=save attr:class="stack review-form" attr:novalidate=true>
            <h3>{if mine.is_some() { "Edit your review" } else { "Write a review" }}</h3>
            <FormMessage feedback />
            <input type="hidden" name="product_id" value=product_id />
            <fieldset class="choice stars-input" aria-describedby="rating-error">
                <legend>"Your rating"</legend>
                {(1..=5).map(|n| view! {
                    <label>
                        <input type="radio" name="rating" value=n checked=rating == n />
                        {format!(" {n} star{}", if n == 1 { "" } else { "s" })}
                    </label>
                }).collect_view()}
            </fieldset>
            {move || feedback.field("rating").map(|m| view! { <p class="field-error" id="rating-error" role="alert">{m}</p> })}
            <div class="field">
                <label for="review-body">"Your review (optional)"</label>
                <textarea id="review-body" name="body" rows="4" maxlength=MAX_REVIEW_CHARS>{crate::text::textarea_text(body)}</textarea>
                {move || feedback.field("body").map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
            </div>
            <button type="submit" disabled=move || save.pending().get()>
                {move || if save.pending().get() { "Saving…" } else { "Save review" }}
            </button>
            {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <p class="notice" role="status">"Thank you, your review is saved."</p> })}
        </ActionForm>
    }
}

/// Reviews of verified buyers first (they make the rating), then the others.
#[component]
fn ReviewList(reviews: Vec<Review>) -> impl IntoView {
    if reviews.is_empty() {
        return view! { <p class="muted">"No reviews yet."</p> }.into_any();
    }
    let (verified, others): (Vec<Review>, Vec<Review>) = reviews.into_iter().partition(|r| r.verified_purchase);
    view! {
        {(!verified.is_empty()).then(|| view! {
            <ul class="review-list" data-testid="verified-reviews">{verified.into_iter().map(review_item).collect_view()}</ul>
        })}
        {(!others.is_empty()).then(|| view! {
            <h3 class="review-others">"Other reviews"</h3>
            <p class="muted small">"From shoppers who have not bought this product here. They are not counted in the rating."</p>
            <ul class="review-list" data-testid="other-reviews">{others.into_iter().map(review_item).collect_view()}</ul>
        })}
    }.into_any()
}

/// One review in a list: stars, author, badges, text and date.
fn review_item(r: Review) -> impl IntoView {
    view! {
        <li class="review" data-testid="review">
            <p class="review-head">
                <span class="stars" aria-label=format!("{} out of 5 stars", r.rating)>
                    {"★".repeat(r.rating.clamp(0, 5) as usize)}{"☆".repeat(5 - r.rating.clamp(0, 5) as usize)}
                </span>
                " " <strong>{r.author}</strong>
                {r.verified_purchase.then(|| view! { " " <span class="badge badge-verified">"Verified purchase"</span> })}
                {r.mine.then(|| view! { " " <span class="muted small">"(yours)"</span> })}
            </p>
            {(!r.body.is_empty()).then(|| view! { <p class="review-body">{r.body}</p> })}
            <p class="muted small"><time datetime=r.created_at.clone()>{r.created_at.get(..10).unwrap_or_default().to_owned()}</time></p>
        </li>
    }
}
