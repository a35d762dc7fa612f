//! Product cards and the grid of them, shown by the home, category, search and wishlist pages.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{ProductSummary, product_path};
use crate::ui::Stars;

#[component]
pub fn ProductCard(product: ProductSummary) -> impl IntoView {
    let href = product_path(product.product_id);
    view! {
        <li class="card" data-testid="product-card">
            <A href=href.clone() attr:class="card-link">
                <img src=product.image_url.clone() alt="" width="320" height="320" loading="lazy" />
                <span class="card-brand">{product.brand.clone()}</span>
                <span class="card-title">{product.title.clone()}</span>
            </A>
            <Stars rating=product.rating count=product.review_count />
            <div class="card-foot">
                <span class="price">{product.price_varies.then_some("from ")}{product.price.display()}</span>
                {(!product.in_stock).then(|| view! { <span class="badge badge-out">"Out of stock"</span> })}
            </div>
            <span class="muted small">"Sold by " {product.seller.name.clone()}</span>
        </li>
    }
}

#[component]
pub fn ProductGrid(products: Vec<ProductSummary>) -> impl IntoView {
    view! {
        <ul class="grid">
            {products.into_iter().map(|p| view! { <ProductCard product=p /> }).collect_view()}
        </ul>
    }
}
