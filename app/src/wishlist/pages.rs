//! The wishlist page: saved products, each with a Remove button that works without JavaScript.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

use super::*;
use crate::catalog::cards::ProductGrid;
use crate::error::AppError;
use crate::ui::{ErrorPanel, Loading};

#[component]
pub fn WishlistPage() -> impl IntoView {
    let wish = ServerAction::<SetWishlist>::new();
    let list = Resource::new(move || wish.version().get(), |_| get_wishlist());
    view! {
        <Title text="Wishlist" />
        <Meta name="description" content="The products you saved for later." />
        <h1>"Your wishlist"</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match list.await {
                    Err(AppError::Unauthorized(_)) => {
                        crate::ui::set_status(401);
                        view! { <p>"Please " <a href="/signin?next=/wishlist">"sign in"</a> " to see your wishlist."</p> }.into_any()
                    }
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(None) => view! {
                        <p class="muted extras-resting" data-testid="wishlist-resting">"Your wishlist is taking a break; it is safe and will be back shortly."</p>
                    }.into_any(),
                    Ok(Some(items)) if items.is_empty() => view! {
                        <div class="empty-state">
                            <p>"Nothing saved yet. Tap “Save to wishlist” on a product to keep it here."</p>
                            <a href="/">"Browse the shop"</a>
                        </div>
                    }.into_any(),
                    Ok(Some(items)) => view! {
                        <ProductGrid products=items.clone() />
                        <h2 class="visually-hidden">"Remove"</h2>
                        <ul class="chips">
                            {items.into_iter().map(|p| view! {
                                <li>
                                    <ActionForm action=wish>
                                        <input type="hidden" name="product_id" value=p.product_id />
                                        <input type="hidden" name="save" value="false" />
                                        <input type="hidden" name="back" value="/wishlist" />
                                        <button type="submit" class="link danger">{format!("Remove {}", p.title)}</button>
                                    </ActionForm>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
