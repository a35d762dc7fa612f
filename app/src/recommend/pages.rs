//! "Customers also bought" under the product and the cart: a grid, nothing at all when there is
//! nothing to show, and a quiet line (never an error) while the extras are resting.

use leptos::prelude::*;

use super::AlsoBought;
use crate::catalog::cards::ProductGrid;
use crate::error::AppError;

/// Under a product (its page makes `list` from `get_also_bought`) and under the cart.
#[component]
pub fn AlsoBoughtSection(list: Resource<Result<AlsoBought, AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(a) if !a.products.is_empty() => view! {
                        <section class="also-bought" aria-labelledby="also-bought-heading" data-testid="also-bought">
                            <h2 id="also-bought-heading">"Customers also bought"</h2>
                            <ProductGrid products=a.products />
                        </section>
                    }.into_any(),
                    Ok(a) if a.resting => view! {
                        <p class="muted small extras-resting" data-testid="also-bought-resting">"Suggestions are taking a break; they will be back shortly."</p>
                    }.into_any(),
                    // Nothing bought with it yet, or a failure already logged: no section at all.
                    _ => ().into_any(),
                }
            })}
        </Suspense>
    }
}

/// Under the cart; `version` changes whenever the cart does.
#[component]
pub fn CartAlsoBought(version: Signal<usize>) -> impl IntoView {
    let list = Resource::new(move || version.get(), |_| super::get_cart_also_bought());
    view! { <AlsoBoughtSection list /> }
}
