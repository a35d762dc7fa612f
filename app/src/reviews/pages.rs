//! The product page's reviews and wishlist button, and the wishlist page. Every form is an
//! `ActionForm`: it works before the wasm has loaded and without a reload after.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::*;
use crate::wishlist::SetWishlist;
use crate::ui::forms::{Feedback, FormMessage};
use crate::ui::{ErrorPanel, Loading, Stars};

/// The reviews' read and forms of a product page, made where the page makes its reads
/// (`catalog::pages::ProductPage`), not inside its Suspense.
#[derive(Clone, Copy)]
pub struct ReviewsOnPage {
    pub save: ServerAction<SaveReview>,
    pub wish: ServerAction<SetWishlist>,
    /// As everyone sees them, read again after a saved review.
    pub data: Resource<Result<Option<ProductReviews>, AppError>>,
}

impl ReviewsOnPage {
    pub fn new(product_id: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        let save = ServerAction::<SaveReview>::new();
        let wish = ServerAction::<SetWishlist>::new();
        let data = Resource::new(move || (product_id(), save.version().get()), |(id, _)| get_reviews(id));
        Self { save, wish, data }
    }
}

/// Reviews of one product, the caller's review form and the wishlist button. The caller's
/// part (`MyReviewBlock`) is drawn from the page's viewer and the reviews from what everyone
/// sees, so the section is the same for everyone but that part.
#[component]
pub fn ProductReviewsSection(product_id: i64, reviews: ReviewsOnPage) -> impl IntoView {
    let ReviewsOnPage { save, wish, data } = reviews;
    view! {
        <MyReviewBlock product_id save wish />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(d)) => view! {
                        <section class="reviews" id="reviews" aria-labelledby="reviews-heading">
                            <h2 id="reviews-heading">"Reviews"</h2>
                            <Stars rating=d.rating count=d.count />
                            <ReviewList reviews=d.reviews />
                        </section>
                    }.into_any(),
                    Ok(None) => view! {
                        <section class="reviews" id="reviews" aria-labelledby="reviews-heading">
                            <h2 id="reviews-heading">"Reviews"</h2>
                            <p class="muted extras-resting" data-testid="reviews-resting">"Reviews are taking a break; they will be back shortly."</p>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The caller's part of a product's reviews: the wishlist button (or a link to sign in), their
/// review form and their own review. From the page's viewer (`frame::ViewerSignal`); read
/// again after either form is saved, and on a product page reached in the browser. The server
/// puts this element into a kept page as a whole (`server/src/page_cache.rs`), up to its
/// `data-personal-end` marker.
#[component]
pub fn MyReviewBlock(product_id: i64, save: ServerAction<SaveReview>, wish: ServerAction<SetWishlist>) -> impl IntoView {
    let viewer = expect_context::<crate::frame::ViewerSignal>().0;
    // A memo: a change elsewhere in the viewer (the cart count) does not draw the part again,
    // which would lose a review being typed.
    let mine = Memo::new(move |_| {
        viewer.with(|v| match (&v.header.user, v.review.as_ref().filter(|r| r.product_id == product_id)) {
            (_, Some(r)) => Some(r.clone()),
            (None, None) => Some(MyReviewState::anonymous(product_id)),
            // Signed in, and this page's part not read yet (a page reached in the browser).
            (Some(_), None) => None,
        })
    });
    // In the browser only (effects never run on the server): read the part when it is missing
    // and again after a save.
    Effect::new(move |seen: Option<(usize, usize)>| {
        let versions = (save.version().get(), wish.version().get());
        let missing = viewer.with(|v| v.header.user.is_some() && v.review.as_ref().is_none_or(|r| r.product_id != product_id));
        if missing || seen.is_some_and(|s| s != versions) {
            leptos::task::spawn_local(async move {
                // Unchanged (a refused save) changes nothing: the form keeps what was typed.
                if let Ok(state) = get_my_review_state(product_id).await {
                    if viewer.with_untracked(|v| v.review.as_ref() != Some(&state)) {
                        viewer.update(|v| v.review = Some(state));
                    }
                }
            });
        }
        versions
    });
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
        <div data-personal="product" class="my-review">
            {move || mine.get().filter(|m| !m.resting).map(|m| {
                let back = back.clone();
                view! {
                    {if m.signed_in {
                        view! {
                            <ActionForm action=wish node_ref=wish_form attr:class="wishlist-form">
                                <input type="hidden" name="product_id" value=product_id />
                                <input type="hidden" name="save" value=if m.in_wishlist { "false" } else { "true" } />
                                <input type="hidden" name="back" value=back.clone() />
                                <button type="submit" class="secondary" data-testid="wishlist-button" aria-pressed=if m.in_wishlist { "true" } else { "false" }>
                                    {if m.in_wishlist { "♥ Saved to your wishlist" } else { "♡ Save to wishlist" }}
                                </button>
                            </ActionForm>
                        }.into_any()
                    } else {
                        view! { <p><a href=format!("/signin?next={}", crate::ui::forms::url_encode(&back))>"Sign in to save this to your wishlist or review it"</a></p> }.into_any()
                    }}
                    {m.mine.clone().map(|r| view! {
                        <h2>"Your review"</h2>
                        <ul class="review-list" data-testid="my-review">{review_item(r)}</ul>
                    })}
                    {m.can_review.then(|| view! { <ReviewForm product_id mine=m.mine.clone() save feedback /> })}
                    {(m.signed_in && !m.can_review).then(|| view! {
                        <p class="muted" data-testid="own-product">"You sell this product, so you cannot review it. Reviews are for the people who buy it."</p>
                    })}
                }
            })}
            <span hidden data-personal-end=""></span>
        </div>
    }
}

/// `/_personal/p/{id}`: only the viewer's part of a product page (and the header around it),
/// which the server puts into the kept page; nobody is sent here.
#[component]
pub fn MyProductPart() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let product_id = params.read_untracked().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    view! {
        <leptos_meta::Meta name="robots" content="noindex" />
        <MyReviewBlock product_id save=ServerAction::new() wish=ServerAction::new() />
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
