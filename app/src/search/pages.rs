//! The search results page: facet sidebar with counts, active filters as removable chips,
//! sorting and paging. Its whole state is the URL, so it is shareable, the back button works,
//! and it works before the wasm loads (every control is a link or a GET form).

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

use super::*;
use crate::catalog::cards::ProductGrid;
use crate::ui::{ErrorPanel, Loading, Pagination};

fn href(q: &SearchQuery) -> String {
    let s = q.to_query_string();
    if s.is_empty() { "/search".to_owned() } else { format!("/search?{s}") }
}

/// The same search with `change` applied and paging reset.
fn with(q: &SearchQuery, change: impl FnOnce(&mut SearchQuery)) -> String {
    let mut next = q.clone();
    next.page = 1;
    change(&mut next);
    href(&next)
}

fn price_label(from: Option<i64>, to: Option<i64>) -> String {
    let euros = |c: i64| format!("€{}", c / 100);
    match (from, to) {
        (None, Some(t)) => format!("Under {}", euros(t)),
        (Some(f), Some(t)) => format!("{} – {}", euros(f), euros(t)),
        (Some(f), None) => format!("{} and up", euros(f)),
        (None, None) => "Any price".to_owned(),
    }
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let request = move || {
        let map = query.read();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for key in ["q", "category", "price_min", "price_max", "rating_min", "in_stock", "sort", "page", "limit"] {
            if let Some(v) = map.get(key) {
                pairs.push((key.to_owned(), v));
            }
        }
        for b in map.get_all("brand").unwrap_or_default() {
            pairs.push(("brand".to_owned(), b));
        }
        SearchQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    };
    let results = Resource::new(request, |parsed| async move { search_products(parsed?).await });
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let outcome = results.await;
                match (request(), outcome) {
                    (Ok(q), Ok(found)) => view! { <ResultsView q found /> }.into_any(),
                    (_, Err(e)) | (Err(e), _) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ResultsView(q: SearchQuery, found: SearchResults) -> impl IntoView {
    let heading = if q.q.is_empty() { "All products".to_owned() } else { format!("Results for “{}”", q.q) };
    let base = {
        let mut b = q.clone();
        b.page = 1;
        let s = b.to_query_string();
        if s.is_empty() { "/search?".to_owned() } else { format!("/search?{s}") }
    };
    let base = base.trim_end_matches('?').to_owned();
    view! {
        <Title text=if q.q.is_empty() { "Search".to_owned() } else { format!("Search: {}", q.q) } />
        <Meta name="description" content=if q.q.is_empty() { "Search the whole catalog by word, brand, price and rating.".to_owned() } else { format!("Products matching \"{}\", with filters by category, brand, price and rating.", q.q) } />
        <div class="list-head">
            <h1>{heading}</h1>
            <p class="muted" data-testid="result-count">{format!("{} products", found.total)}</p>
        </div>
        <ActiveFilters q=q.clone() />
        <div class="search-layout">
            <FacetSidebar q=q.clone() facets=found.facets.clone() />
            <section aria-label="Results">
                <form class="sort-form" method="get" action="/search">
                    {hidden_fields(&q)}
                    <label for="search-sort">"Sort by "</label>
                    <select id="search-sort" name="sort">
                        {SearchSort::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=s == q.sort>{s.label()}</option>
                        }).collect_view()}
                    </select>
                    <button type="submit">"Apply"</button>
                </form>
                {if found.results.is_empty() {
                    view! {
                        <section class="empty-state" data-testid="no-results">
                            <p>"Nothing matches that."</p>
                            <p>"Check the spelling, use fewer words, or remove a filter."</p>
                            <p><a href="/search">"Start over"</a></p>
                        </section>
                    }.into_any()
                } else {
                    view! { <ProductGrid products=found.results.clone() /> }.into_any()
                }}
                <Pagination page=found.page total_pages=found.total_pages base=base />
            </section>
        </div>
    }
}

/// Everything but the sort, so changing the sort keeps the filters.
fn hidden_fields(q: &SearchQuery) -> impl IntoView + use<> {
    let mut fields: Vec<(&'static str, String)> = Vec::new();
    if !q.q.is_empty() {
        fields.push(("q", q.q.clone()));
    }
    if let Some(c) = &q.category {
        fields.push(("category", c.clone()));
    }
    for b in &q.brands {
        fields.push(("brand", b.clone()));
    }
    if let Some(v) = q.price_min {
        fields.push(("price_min", v.to_string()));
    }
    if let Some(v) = q.price_max {
        fields.push(("price_max", v.to_string()));
    }
    if let Some(v) = q.rating_min {
        fields.push(("rating_min", v.to_string()));
    }
    if q.in_stock {
        fields.push(("in_stock", "true".to_owned()));
    }
    fields.into_iter().map(|(n, v)| view! { <input type="hidden" name=n value=v /> }).collect_view()
}

#[component]
fn ActiveFilters(q: SearchQuery) -> impl IntoView {
    let mut chips: Vec<(String, String)> = Vec::new();
    if let Some(c) = &q.category {
        chips.push((format!("Category: {c}"), with(&q, |n| n.category = None)));
    }
    for b in &q.brands {
        let b2 = b.clone();
        chips.push((format!("Brand: {b}"), with(&q, move |n| n.brands.retain(|x| *x != b2))));
    }
    if q.price_min.is_some() || q.price_max.is_some() {
        chips.push((price_label(q.price_min, q.price_max.map(|m| m + 1)), with(&q, |n| {
            n.price_min = None;
            n.price_max = None;
        })));
    }
    if let Some(r) = q.rating_min {
        chips.push((format!("{r}★ & up"), with(&q, |n| n.rating_min = None)));
    }
    if q.in_stock {
        chips.push(("In stock".to_owned(), with(&q, |n| n.in_stock = false)));
    }
    (!chips.is_empty()).then(|| view! {
        <ul class="chips" aria-label="Active filters" data-testid="active-filters">
            {chips.into_iter().map(|(label, remove)| {
                let aria = format!("Remove filter {label}");
                view! { <li><a class="chip chip-active" href=remove aria-label=aria>{label} " ✕"</a></li> }
            }).collect_view()}
            <li><a class="chip" href=with(&q, |n| {
                n.category = None;
                n.brands.clear();
                n.price_min = None;
                n.price_max = None;
                n.rating_min = None;
                n.in_stock = false;
            })>"Clear all"</a></li>
        </ul>
    })
}

#[component]
fn FacetSidebar(q: SearchQuery, facets: Facets) -> impl IntoView {
    let cat_links = facets.categories.iter().map(|c| {
        let slug = c.value.clone();
        let on = q.category.as_deref() == Some(&c.value);
        let link = with(&q, |n| n.category = if on { None } else { Some(slug) });
        view! {
            <li class:child=c.parent.is_some()>
                <a href=link aria-current=on.then_some("true")>{c.name.clone()} <span class="count">{c.count}</span></a>
            </li>
        }
    }).collect_view();
    let brand_links = facets.brands.iter().take(15).map(|b| {
        let value = b.value.clone();
        let on = q.brands.contains(&b.value);
        let link = with(&q, |n| if on { n.brands.retain(|x| *x != value) } else { n.brands.push(value) });
        view! {
            <li><a href=link role="checkbox" aria-checked=if on { "true" } else { "false" }>
                <span aria-hidden="true">{if on { "☑ " } else { "☐ " }}</span>{b.value.clone()} <span class="count">{b.count}</span>
            </a></li>
        }
    }).collect_view();
    let price_links = facets.price_ranges.iter().filter(|p| p.count > 0).map(|p| {
        let (from, to) = (p.from, p.to);
        let on = q.price_min == from && q.price_max == to.map(|t| t - 1);
        let link = with(&q, |n| if on { n.price_min = None; n.price_max = None } else { n.price_min = from; n.price_max = to.map(|t| t - 1) });
        view! { <li><a href=link aria-current=on.then_some("true")>{price_label(from, to)} <span class="count">{p.count}</span></a></li> }
    }).collect_view();
    let rating_links = facets.rating.iter().filter(|r| r.count > 0).map(|r| {
        let min = r.min;
        let on = q.rating_min == Some(min);
        let link = with(&q, |n| n.rating_min = if on { None } else { Some(min) });
        view! { <li><a href=link aria-current=on.then_some("true")>{format!("{min}★ & up")} <span class="count">{r.count}</span></a></li> }
    }).collect_view();
    let stock_link = with(&q, |n| n.in_stock = !n.in_stock);
    // On a phone the filters fold behind a "Filters" button so the results come first: a
    // checkbox and its label, so it works before (and without) the wasm.
    view! {
        <div class="facets-fold">
        <input type="checkbox" id="show-filters" class="filters-toggle-box" aria-controls="search-filters" />
        <label for="show-filters" class="button filters-toggle" data-testid="filters-toggle">"Filters"</label>
        <aside class="facets" id="search-filters" aria-label="Filters">
            <section><h2>"Category"</h2><ul class="facet-list" data-testid="facet-categories">{cat_links}</ul></section>
            <section><h2>"Brand"</h2><ul class="facet-list" data-testid="facet-brands">{brand_links}</ul></section>
            <section><h2>"Price"</h2><ul class="facet-list">{price_links}</ul></section>
            <section><h2>"Rating"</h2><ul class="facet-list">{rating_links}</ul></section>
            <section><h2>"Availability"</h2>
                <ul class="facet-list"><li><a href=stock_link role="checkbox" aria-checked=if q.in_stock { "true" } else { "false" }>
                    <span aria-hidden="true">{if q.in_stock { "☑ " } else { "☐ " }}</span>"In stock only " <span class="count">{facets.in_stock}</span>
                </a></li></ul>
            </section>
        </aside>
        </div>
    }
}
