//! The page frame around every page: the header (search box, cart count, account links) and
//! the footer. It reads the shared actions (`crate::ShopActions`) to refresh after any of them.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::ShopActions;

#[component]
pub fn Header() -> impl IntoView {
    let actions = expect_context::<ShopActions>();
    let info = Resource::new(move || actions.cart_version(), |_| crate::accounts::get_header());
    view! {
        <header class="site-header">
            <div class="container header-row">
                <A href="/" attr:class="logo">
                    <span aria-hidden="true">"◆"</span>
                    " Sellout"
                </A>
                <SearchBox />
                <nav class="header-links" aria-label="Account">
                    <a href="/sales">"Sales"</a>
                    <Transition fallback=|| view! { <a href="/cart" class="cart-link">"Cart"</a> }>
                        {move || Suspend::new(async move {
                            let info = info.await.unwrap_or_default();
                            let count = info.cart_count;
                            view! {
                                <a href="/cart" class="cart-link" aria-label=format!("Cart, {count} item{}", if count == 1 { "" } else { "s" })>
                                    "Cart " <span class="cart-count" data-testid="cart-count">{count}</span>
                                </a>
                                {match info.user {
                                    Some(u) => view! {
                                        {matches!(u.role, crate::accounts::Role::Seller | crate::accounts::Role::Admin)
                                            .then(|| view! { <a href="/seller">"Seller admin"</a> })}
                                        <a href="/orders">"Orders"</a>
                                        <a href="/wishlist">"Wishlist"</a>
                                        <a href="/account" data-testid="account-link">{u.email}</a>
                                    }.into_any(),
                                    None => view! { <a href="/signin">"Sign in"</a> }.into_any(),
                                }}
                            }
                        })}
                    </Transition>
                </nav>
            </div>
        </header>
    }
}

/// The header's search box: a plain GET form to /search, and once hydrated a combobox that
/// suggests products as you type (debounced 200 ms; arrows, Enter and Escape work).
#[component]
fn SearchBox() -> impl IntoView {
    use leptos::ev::KeyboardEvent;
    use std::time::Duration;

    let (typed, set_typed) = signal(String::new());
    let (query, set_query) = signal(String::new());
    let (active, set_active) = signal(None::<usize>);
    let (open, set_open) = signal(false);
    let generation = StoredValue::new(0u64);
    let suggestions = LocalResource::new(move || {
        let q = query.get();
        async move {
            if q.trim().chars().count() < 2 { Vec::new() } else { crate::search::suggest(q).await.unwrap_or_default() }
        }
    });
    let items = move || suggestions.get().unwrap_or_default();
    let navigate = leptos_router::hooks::use_navigate();

    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        set_typed.set(value.clone());
        set_active.set(None);
        set_open.set(true);
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        set_timeout(
            move || {
                if generation.get_value() == mine {
                    set_query.set(value);
                }
            },
            Duration::from_millis(200),
        );
    };
    let on_key = move |ev: KeyboardEvent| {
        let n = items().len();
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                set_open.set(true);
                set_active.set(Some(active.get().map_or(0, |i| (i + 1) % n)));
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                set_active.set(Some(active.get().map_or(n - 1, |i| (i + n - 1) % n)));
            }
            "Escape" => {
                set_open.set(false);
                set_active.set(None);
            }
            "Enter" => {
                if let Some(s) = active.get().and_then(|i| items().get(i).cloned()) {
                    ev.prevent_default();
                    set_open.set(false);
                    navigate(&crate::catalog::product_path(s.product_id), Default::default());
                }
            }
            _ => {}
        }
    };
    let expanded = move || open.get() && !items().is_empty() && !typed.get().trim().is_empty();
    view! {
        <form class="search-box" method="get" action="/search" role="search">
            <label for="header-search" class="visually-hidden">"Search products"</label>
            <div class="combo">
                <input id="header-search" type="search" name="q" placeholder="Search products, brands…" autocomplete="off"
                    role="combobox" aria-autocomplete="list" aria-controls="search-suggestions"
                    aria-expanded=move || if expanded() { "true" } else { "false" }
                    aria-activedescendant=move || active.get().map(|i| format!("suggestion-{i}"))
                    on:input=on_input on:keydown=on_key
                    on:blur=move |_| set_timeout(move || set_open.set(false), Duration::from_millis(150)) />
                <ul id="search-suggestions" role="listbox" aria-label="Suggestions" class="suggestions" hidden=move || !expanded()>
                    {move || items().into_iter().enumerate().map(|(i, s)| view! {
                        <li id=format!("suggestion-{i}") role="option" aria-selected=move || if active.get() == Some(i) { "true" } else { "false" }>
                            <a href=crate::catalog::product_path(s.product_id) tabindex="-1">
                                <span class="suggestion-title">{s.title.clone()}</span>
                                <span class="muted small">{s.brand.clone()} " · " {s.price.display()}</span>
                            </a>
                        </li>
                    }).collect_view()}
                </ul>
            </div>
            <button type="submit">"Search"</button>
        </form>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="container">
                <p>"Sellout — sells out, never oversells. Demo shop: prices are not real."</p>
            </div>
        </footer>
    }
}
