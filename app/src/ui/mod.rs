//! UI shared by every domain: the page frame, error and empty states, product cards, forms.

pub mod forms;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::catalog::{ProductSummary, product_path};
use crate::error::AppError;

/// The actions that change who is signed in or what is in the cart, shared so the header and
/// the pages refresh after any of them without a reload.
#[derive(Clone, Copy)]
pub struct ShopActions {
    pub login: ServerAction<crate::accounts::Login>,
    pub register: ServerAction<crate::accounts::Register>,
    pub logout: ServerAction<crate::accounts::Logout>,
    pub add: ServerAction<crate::cart::AddToCart>,
    pub update: ServerAction<crate::cart::UpdateCartLine>,
    pub remove: ServerAction<crate::cart::RemoveCartLine>,
    /// Placing an order empties the cart.
    pub place: ServerAction<crate::checkout::PlaceOrder>,
    pub pay: ServerAction<crate::checkout::PayOrder>,
    /// Finishing 3-D Secure pays the order and empties the cart.
    pub confirm: ServerAction<crate::checkout::ConfirmPayment>,
}

impl ShopActions {
    pub fn new() -> Self {
        Self {
            login: ServerAction::new(),
            register: ServerAction::new(),
            logout: ServerAction::new(),
            add: ServerAction::new(),
            update: ServerAction::new(),
            remove: ServerAction::new(),
            place: ServerAction::new(),
            pay: ServerAction::new(),
            confirm: ServerAction::new(),
        }
    }

    /// Changes whenever who is signed in may have changed.
    pub fn auth_version(&self) -> usize {
        self.login.version().get() + self.register.version().get() + self.logout.version().get()
    }

    /// Changes whenever the cart may have changed.
    pub fn cart_version(&self) -> usize {
        self.auth_version()
            + self.add.version().get()
            + self.update.version().get()
            + self.remove.version().get()
            + self.place.version().get()
            + self.pay.version().get()
            + self.confirm.version().get()
    }
}

impl Default for ShopActions {
    fn default() -> Self {
        Self::new()
    }
}

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

/// Sets the HTTP status of the page being rendered (a no-op in the browser).
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(resp), Ok(status)) =
        (use_context::<leptos_axum::ResponseOptions>(), axum::http::StatusCode::from_u16(code))
    {
        resp.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

#[component]
pub fn NotFound(#[prop(optional, into)] message: Option<String>) -> impl IntoView {
    set_status(404);
    view! {
        <Title text="Page not found" />
        <section class="empty-state" data-testid="not-found">
            <h1>"We couldn't find that page"</h1>
            <p>{message.unwrap_or_else(|| "The link may be old, or the item may no longer be sold.".to_owned())}</p>
            <p><A href="/">"Back to the shop"</A></p>
        </section>
    }
}

/// Shows an error in place of the content it stopped.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    set_status(error.status());
    match error {
        AppError::NotFound(msg) => view! { <NotFound message=msg /> }.into_any(),
        AppError::BadRequest { message, .. } => view! {
            <section class="empty-state" role="alert">
                <h1>"That request didn't work"</h1>
                <p>{message}</p>
            </section>
        }
        .into_any(),
        other => view! {
            <section class="empty-state" role="alert">
                <h1>"Something went wrong"</h1>
                <p>{other.to_string()}</p>
            </section>
        }
        .into_any(),
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-live="polite">"Loading…"</p> }
}

#[component]
pub fn Stars(rating: Option<f64>, count: i64) -> impl IntoView {
    match rating {
        Some(r) => {
            let full = r.round() as usize;
            let stars: String = "★".repeat(full) + &"☆".repeat(5usize.saturating_sub(full));
            view! {
                <span class="stars" aria-label=format!("Rated {r:.1} out of 5 by {count} shoppers")>
                    <span aria-hidden="true">{stars}</span>
                    <span class="muted">{format!(" {r:.1} ({count})")}</span>
                </span>
            }
            .into_any()
        }
        None => view! { <span class="stars muted">"No reviews yet"</span> }.into_any(),
    }
}

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
                <span class="price">{product.price.display()}</span>
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

/// Previous / numbered / next links that keep the rest of the query string.
#[component]
pub fn Pagination(page: u64, total_pages: u64, base: String) -> impl IntoView {
    if total_pages <= 1 {
        return ().into_any();
    }
    let link = move |p: u64| {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}page={p}")
    };
    let window: Vec<u64> = (page.saturating_sub(2).max(1)..=(page + 2).min(total_pages)).collect();
    view! {
        <nav class="pagination" aria-label="Pages">
            // Plain <a>: the router still navigates client-side, but <A> would mark every
            // link to this path aria-current="page" whatever its query.
            {(page > 1).then(|| view! { <a href=link(page - 1) rel="prev">"← Previous"</a> })}
            {window
                .into_iter()
                .map(|p| {
                    if p == page {
                        view! { <span aria-current="page" class="current">{p}</span> }.into_any()
                    } else {
                        view! { <a href=link(p)>{p}</a> }.into_any()
                    }
                })
                .collect_view()}
            {(page < total_pages).then(|| view! { <a href=link(page + 1) rel="next">"Next →"</a> })}
        </nav>
    }
    .into_any()
}
