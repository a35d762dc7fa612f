//! The cart page and the add-to-cart form of the product page.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

use super::*;
use crate::catalog::product_path;
use crate::ui::forms::{Feedback, FormMessage};
use crate::ShopActions;
use crate::ui::Loading;

/// "Add to cart" for the chosen variant. A plain form post without JavaScript, an action with.
#[component]
pub fn AddToCart(#[prop(into)] sku: Signal<Option<String>>, #[prop(into)] available: Signal<i64>) -> impl IntoView {
    let actions = expect_context::<ShopActions>();
    let add = actions.add;
    let feedback = Feedback::new(add.value());
    view! {
        <ActionForm action=add attr:class="add-to-cart">
            <input type="hidden" name="sku" value=move || sku.get().unwrap_or_default() />
            <label for="qty">"Quantity"</label>
            <input id="qty" name="quantity" type="number" min="1" max=MAX_PER_LINE value="1" inputmode="numeric" />
            <button type="submit" disabled=move || available.get() <= 0 || add.pending().get()>
                {move || if available.get() <= 0 { "Out of stock" } else if add.pending().get() { "Adding…" } else { "Add to cart" }}
            </button>
        </ActionForm>
        <FormMessage feedback />
        {move || match add.value().get() {
            Some(Ok(view)) => Some(view! {
                <div class="notice" role="status" data-testid="added">
                    {view.notices.first().cloned().unwrap_or_else(|| "Added to your cart.".to_owned())}
                    " " <a href="/cart">"View cart"</a>
                </div>
            }),
            _ => None,
        }}
    }
}

#[component]
pub fn CartPage() -> impl IntoView {
    let actions = expect_context::<ShopActions>();
    let cart = Resource::new(move || actions.cart_version(), |_| get_cart());
    let query = use_query_map();
    let update_feedback = Feedback::new(actions.update.value());
    view! {
        <Title text="Your cart" />
        <Meta name="description" content="Your cart: change quantities, see the total and check out." />
        <h1>"Your cart"</h1>
        {move || {
            let notices: Vec<String> = query.read().get_all("notice").unwrap_or_default();
            (!notices.is_empty()).then(|| view! {
                <ul class="notice" role="status" data-testid="cart-notices">
                    {notices.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
                </ul>
            })
        }}
        {move || {
            let mut notices = Vec::new();
            for v in [actions.update.value().get(), actions.remove.value().get()].into_iter().flatten().flatten() {
                notices.extend(v.notices);
            }
            (!notices.is_empty()).then(|| view! { <ul class="notice" role="status">{notices.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul> })
        }}
        <FormMessage feedback=update_feedback />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match cart.await {
                    Ok(view) if view.items.is_empty() => view! {
                        <section class="empty-state" data-testid="cart-empty">
                            <p>"Your cart is empty."</p>
                            <p><a class="button" href="/">"Continue shopping"</a></p>
                        </section>
                    }.into_any(),
                    Ok(view) => view! {
                        <CartLines view=view />
                        <crate::recommend::pages::CartAlsoBought version=Signal::derive(move || actions.cart_version()) />
                    }.into_any(),
                    Err(e) => view! { <crate::ui::ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CartLines(view: CartView) -> impl IntoView {
    let actions = expect_context::<ShopActions>();
    let count = view.item_count;
    view! {
        <ul class="cart-lines">
            {view.items.into_iter().map(|item| {
                let qty_id = format!("qty-{}", item.sku);
                // Each ActionForm's children own what they show.
                let (sku_update, sku_remove) = (item.sku.clone(), item.sku.clone());
                let qty_label = format!("Quantity of {}", item.title);
                let remove_label = format!("Remove {}", item.title);
                view! {
                    <li class="cart-line" class:unavailable=!item.purchasable data-testid="cart-line" data-sku=item.sku.clone()>
                        <img src=item.image_url.clone() alt="" width="96" height="96" />
                        <div class="cart-line-main">
                            <a href=product_path(item.product_id) class="card-title">{item.title.clone()}</a>
                            <span class="muted small">{item.variant.clone()}</span>
                            <span class="price">{item.unit_price.display()}</span>
                            {item.price_was.clone().map(|was| view! {
                                <span class="small price-changed">{format!("Price changed since you added it (was {})", was.display())}</span>
                            })}
                            {item.problem.clone().map(|p| view! { <span class="small stock-out" role="note">{p}</span> })}
                        </div>
                        <div class="cart-line-actions">
                            <ActionForm action=actions.update attr:class="qty-form">
                                <input type="hidden" name="sku" value=sku_update />
                                <label for=qty_id.clone() class="visually-hidden">{qty_label}</label>
                                <input id=qty_id name="quantity" type="number" min="0" max=MAX_PER_LINE value=item.quantity inputmode="numeric" />
                                <button type="submit" class="secondary">"Update"</button>
                            </ActionForm>
                            <ActionForm action=actions.remove>
                                <input type="hidden" name="sku" value=sku_remove />
                                <button type="submit" class="link danger" aria-label=remove_label>"Remove"</button>
                            </ActionForm>
                            <span class="price" data-testid="line-total">{item.line_total.display()}</span>
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
        <div class="cart-summary">
            <p>{format!("{count} item{}", if count == 1 { "" } else { "s" })}</p>
            <p class="price big" data-testid="subtotal">"Subtotal " {view.subtotal.display()}</p>
            <p class="muted small">"Shipping and tax are added at checkout."</p>
            <a class="button" href="/checkout">"Proceed to checkout"</a>
        </div>
    }
}
