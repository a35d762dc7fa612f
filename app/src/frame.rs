//! The page frame around every page: the header (search box, cart count, account links) and
//! the footer. It reads the shared actions (`crate::ShopActions`) to refresh after any of them.

use leptos::prelude::*;

use serde::{Deserialize, Serialize};

use crate::ShopActions;
use crate::accounts::HeaderState;
use crate::reviews::MyReviewState;

/// What a page shows only to the one looking at it: the header's account links and cart count,
/// and on a product page their wishlist button and review form. Everything else on the home,
/// category, search and product pages is the same for everyone, so the server keeps those pages
/// rendered once and puts a signed-in shopper's own parts in (`server/src/page_cache.rs`).
///
/// The server reads it before rendering (`viewer_for`, a request extension) and writes it into
/// the page's head as JSON (`ViewerScript`); the browser reads it from there when it hydrates,
/// so both draw these parts from the same data without a resource of their own. After sign-in,
/// sign-out or a cart change the header reads it again (`get_header`), and a product page
/// reached in the browser reads its part (`get_my_review_state`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub header: HeaderState,
    /// On a product page: the viewer's part of its reviews.
    pub review: Option<MyReviewState>,
}

/// The page's `Viewer`, shared by the header and the product page.
#[derive(Clone, Copy)]
pub struct ViewerSignal(pub RwSignal<Viewer>);

/// The element of the page's head that carries the viewer to the browser.
pub const VIEWER_SCRIPT_ID: &str = "sellout-viewer";

/// Provides the `ViewerSignal` (in `App`): from the request on the server, from the page on
/// the browser.
pub fn provide_viewer() -> ViewerSignal {
    let viewer = ViewerSignal(RwSignal::new(initial_viewer()));
    provide_context(viewer);
    viewer
}

#[cfg(feature = "ssr")]
fn initial_viewer() -> Viewer {
    use_context::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<Viewer>().cloned()).unwrap_or_default()
}

#[cfg(not(feature = "ssr"))]
fn initial_viewer() -> Viewer {
    document()
        .get_element_by_id(VIEWER_SCRIPT_ID)
        .and_then(|e| e.text_content())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// `<script type="application/json">` with the viewer, for the shell's head (data, never run;
/// `<` written as `\u003c` so no text in it can close the element).
#[component]
pub fn ViewerScript() -> impl IntoView {
    let json = use_context::<ViewerSignal>()
        .map(|v| v.0.get_untracked())
        .or_else(|| Some(initial_viewer()))
        .and_then(|v| serde_json::to_string(&v).ok())
        .unwrap_or_else(|| "{}".to_owned())
        .replace('<', "\\u003c");
    // Data, but the page's policy asks every script element for the rendering's nonce.
    let nonce = leptos::nonce::use_nonce();
    view! { <script id=VIEWER_SCRIPT_ID type="application/json" nonce=nonce inner_html=json></script> }
}

/// The viewer of a page request: who is signed in, their cart count, and on a product page
/// (`/p/{id}`, or the same under `/_personal`) their part of its reviews.
#[cfg(feature = "ssr")]
pub async fn viewer_for(state: &crate::state::AppState, session: &tower_sessions::Session, path: &str) -> Result<Viewer, crate::error::AppError> {
    let header = crate::accounts::session::header_state(state, session).await?;
    let product = path.strip_prefix("/_personal").unwrap_or(path).strip_prefix("/p/").and_then(|id| id.parse::<i64>().ok());
    let review = match product {
        Some(id) => Some(crate::reviews::my_review_state(state, header.user.as_ref(), id).await),
        None => None,
    };
    Ok(Viewer { header, review })
}

#[component]
pub fn Header() -> impl IntoView {
    let actions = expect_context::<ShopActions>();
    let viewer = expect_context::<ViewerSignal>().0;
    let header = Memo::new(move |_| viewer.with(|v| v.header.clone()));
    // After sign-in, sign-out or a cart change (in the browser: effects never run on the
    // server), the header reads who and how many again; a change of who forgets their part of
    // the product page, which then reads it again.
    Effect::new(move |seen: Option<usize>| {
        let version = actions.cart_version();
        if seen.is_some_and(|s| s != version) {
            leptos::task::spawn_local(async move {
                let Ok(header) = crate::accounts::get_header().await else { return };
                if viewer.with_untracked(|v| v.header != header) {
                    viewer.update(|v| {
                        if v.header.user != header.user {
                            v.review = None;
                        }
                        v.header = header;
                    });
                }
            });
        }
        version
    });
    view! {
        <header class="site-header">
            <div class="container header-row">
                // A plain link (the router still takes its click): `<A>` would mark it as the
                // current page on the home page only, and the header must be the same on every
                // page for the kept pages' own parts (server/src/personal.rs).
                <a href="/" class="logo">
                    <span aria-hidden="true">"◆"</span>
                    " Sellout"
                </a>
                <SearchBox />
                <nav class="header-links" aria-label="Account">
                    <a href="/sales">"Sales"</a>
                    {move || header_links(header.get())}
                </nav>
            </div>
        </header>
    }
}

/// The cart count and the account links of `info`.
fn header_links(info: HeaderState) -> impl IntoView {
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
