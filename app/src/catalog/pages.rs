//! Storefront pages of the catalog: home, category, product and simple search.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use super::cards::ProductGrid;
use crate::ui::forms::url_encode;
use crate::ui::{ErrorPanel, Loading, Pagination, Stars};

fn query_pairs(map: &leptos_router::params::ParamsMap) -> Vec<(String, String)> {
    ["sort", "page", "limit"]
        .iter()
        .filter_map(|k| map.get(k).map(|v| ((*k).to_owned(), v)))
        .collect()
}

#[component]
pub fn HomePage() -> impl IntoView {
    let home = Resource::new(|| (), |_| get_home());
    view! {
        <Title text="" />
        <Meta name="description" content="Sellout: a fast shop for everyday buys and fair flash sales." />
        <section class="hero">
            <h1>"Everything you need, and a fair shot at the drops"</h1>
            <p>"Browse the catalog, or wait in line fairly when a flash sale starts."</p>
        </section>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match home.await {
                    Ok((tree, featured)) => view! {
                        <section aria-labelledby="cat-heading">
                            <h2 id="cat-heading">"Shop by category"</h2>
                            <ul class="category-tiles">
                                {tree.into_iter().map(|node| view! {
                                    <li class="tile">
                                        <A href=category_path(&node.category.slug) attr:class="tile-title">{node.category.name.clone()}</A>
                                        <ul class="tile-children">
                                            {node.children.into_iter().map(|c| view! {
                                                <li><A href=category_path(&c.slug)>{c.name}</A></li>
                                            }).collect_view()}
                                        </ul>
                                    </li>
                                }).collect_view()}
                            </ul>
                        </section>
                        <section aria-labelledby="featured-heading">
                            <h2 id="featured-heading">"Featured"</h2>
                            <ProductGrid products=featured />
                        </section>
                    }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn CategoryPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let request = move || {
        let slug = params.read().get("slug").unwrap_or_default();
        let pairs = query_pairs(&query.read());
        (slug, ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    };
    let page = Resource::new(request, |(slug, parsed)| async move {
        get_category_page(slug, parsed?).await
    });
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok((view, list)) => {
                        let slug = view.category.slug.clone();
                        let sort = request().1.map(|q| q.sort).unwrap_or_default();
                        let base = format!("{}?sort={}", category_path(&slug), sort.as_str());
                        view! {
                            <Title text=view.category.name.clone() />
                            <Meta name="description" content=format!("{} at Sellout: browse the range, sorted by price, rating or what is new.", view.category.name) />
                            <nav class="breadcrumbs" aria-label="Breadcrumb">
                                <A href="/">"Home"</A>
                                {view.parent.clone().map(|p| view! { " / " <A href=category_path(&p.slug)>{p.name}</A> })}
                                " / " <span aria-current="page">{view.category.name.clone()}</span>
                            </nav>
                            <div class="list-head">
                                <h1>{view.category.name.clone()}</h1>
                                <p class="muted" data-testid="result-count">{format!("{} products", list.total)}</p>
                            </div>
                            {(!view.children.is_empty()).then(|| view! {
                                <ul class="chips" aria-label="Subcategories">
                                    {view.children.clone().into_iter().map(|c| view! {
                                        <li><A href=category_path(&c.slug) attr:class="chip">{c.name}</A></li>
                                    }).collect_view()}
                                </ul>
                            })}
                            <SortForm current=sort />
                            {if list.products.is_empty() {
                                view! { <p class="empty-state">"No products here yet."</p> }.into_any()
                            } else {
                                view! { <ProductGrid products=list.products.clone() /> }.into_any()
                            }}
                            <Pagination page=list.page total_pages=list.total_pages base=base />
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A plain GET form: works before the wasm loads; the router takes over after.
#[component]
fn SortForm(current: Sort) -> impl IntoView {
    view! {
        <form class="sort-form" method="get">
            <label for="sort">"Sort by "</label>
            <select id="sort" name="sort">
                {Sort::ALL.into_iter().map(|s| view! {
                    <option value=s.as_str() selected=s == current>{s.label()}</option>
                }).collect_view()}
            </select>
            <button type="submit">"Apply"</button>
        </form>
    }
}

fn variant_label(v: &VariantView) -> String {
    if v.attributes.is_empty() {
        v.sku.clone()
    } else {
        v.attributes.values().cloned().collect::<Vec<_>>().join(" / ")
    }
}

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let product = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_product(id).await,
            None => Err(AppError::not_found("There is no such product.")),
        }
    });
    // Every read of the page is made here, beside the product's, and not in the Suspense's
    // children: Leptos walks those children two or three times on the server (leptos #4688),
    // and a resource made there was made, fetched and written into the page each time (the
    // profile of a page-cache miss showed the sale banner, "also bought" and the reviews read
    // three times). Made here, they are also read at the same time as the product.
    let key = move || id().unwrap_or(0);
    let banner = Resource::new(key, get_product_sale);
    let also_bought = Resource::new(key, crate::recommend::get_also_bought);
    let reviews = crate::reviews::pages::ReviewsOnPage::new(key);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match product.await {
                    Ok(p) => view! { <ProductView product=p banner also_bought reviews /> }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The page's meta description: the start of the product's own, cut at a word, or a line
/// made of its facts when it has none.
fn describe(product: &ProductDetail) -> String {
    let text = product.description.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return format!("{} by {}, from {}, sold by {}.", product.title, product.brand, product.price.display(), product.seller.name);
    }
    if text.chars().count() <= 155 {
        return text;
    }
    let cut: String = text.chars().take(155).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':']))
}

/// The product with its variants. The chosen variant is `?sku=` in the URL: a link without
/// JavaScript, a client-side switch (no reload) once hydrated, and shareable either way.
#[component]
fn ProductView(
    product: ProductDetail,
    banner: Resource<Result<Option<SaleBanner>, AppError>>,
    also_bought: Resource<Result<crate::recommend::AlsoBought, AppError>>,
    reviews: crate::reviews::pages::ReviewsOnPage,
) -> impl IntoView {
    let query = use_query_map();
    let variants = StoredValue::new(product.variants.clone());
    let selected = Memo::new(move |_| {
        let wanted = query.read().get("sku");
        variants.with_value(|vs| {
            wanted
                .and_then(|sku| vs.iter().find(|v| v.sku == sku).cloned())
                .or_else(|| vs.iter().find(|v| v.available > 0).cloned())
                .or_else(|| vs.first().cloned())
        })
    });
    let title = product.title.clone();
    let summary = describe(&product);
    let last_category = product.categories.last().cloned();
    view! {
        <Title text=title.clone() />
        <Meta name="description" content=summary />
        <script type="application/ld+json" data-testid="structured-data" inner_html=structured_data(&product)></script>
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <A href="/">"Home"</A>
            {product.categories.clone().into_iter().map(|c| view! { " / " <A href=category_path(&c.slug)>{c.name}</A> }).collect_view()}
        </nav>
        <article class="product" data-testid="product">
            <Gallery images=product.images.clone() title=title.clone() />
            <div class="buy-box">
                <p class="card-brand">{product.brand.clone()}</p>
                <h1>{product.title.clone()}</h1>
                <Stars rating=product.rating count=product.review_count />
                <SaleNotice banner />
                <p class="price big" data-testid="price">
                    {move || selected.get().map(|v| v.price.display()).unwrap_or_default()}
                </p>
                <p data-testid="stock" class=move || {
                    match selected.get().map(|v| v.stock) {
                        Some(StockState::InStock) => "stock stock-in",
                        Some(StockState::Low) => "stock stock-low",
                        _ => "stock stock-out",
                    }
                }>
                    {move || selected.get().map(|v| v.stock.label(v.available)).unwrap_or_else(|| "Out of stock".into())}
                </p>
                <VariantChoice variants=product.variants.clone() selected />
                <crate::cart::pages::AddToCart
                    sku=Signal::derive(move || selected.get().map(|v| v.sku))
                    available=Signal::derive(move || selected.get().map(|v| v.available).unwrap_or(0)) />
                <p class="muted small">"SKU " <span data-testid="sku">{move || selected.get().map(|v| v.sku).unwrap_or_default()}</span></p>
                <p class="muted">"Sold by " {product.seller.name.clone()}</p>
                {last_category.map(|c| view! { <p><A href=category_path(&c.slug)>{format!("More in {}", c.name)}</A></p> })}
            </div>
            <section class="description">
                <h2>"About this product"</h2>
                {product.description.split("\n\n").map(|para| view! { <p>{para.to_owned()}</p> }).collect_view()}
                {(!product.tags.is_empty()).then(|| view! {
                    <ul class="chips" aria-label="Tags">
                        {product.tags.clone().into_iter().map(|t| view! { <li class="chip">{t}</li> }).collect_view()}
                    </ul>
                })}
            </section>
        </article>
        <crate::recommend::pages::AlsoBoughtSection list=also_bought />
        <crate::reviews::pages::ProductReviewsSection product_id=product.product_id reviews />
    }
}

/// The main picture and, when there are more, thumbnails that show each in its place.
#[component]
fn Gallery(images: Vec<String>, title: String) -> impl IntoView {
    let (main_image, set_main_image) = signal(images.first().cloned().unwrap_or_default());
    view! {
        <div class="gallery">
            <img class="gallery-main" src=move || main_image.get() alt=title width="640" height="640" />
            {(images.len() > 1).then(|| view! {
                <ul class="thumbs" aria-label="More pictures">
                    {images.iter().enumerate().map(|(i, src)| {
                        let src = src.clone();
                        let pick = src.clone();
                        view! {
                            <li>
                                <button type="button" class="thumb" aria-label=format!("Show picture {}", i + 1)
                                    on:click=move |_| set_main_image.set(pick.clone())>
                                    <img src=src alt="" width="80" height="80" />
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}

/// The variants as links (`?sku=`), the chosen one marked.
#[component]
fn VariantChoice(variants: Vec<VariantView>, selected: Memo<Option<VariantView>>) -> impl IntoView {
    view! {
        <fieldset class="variants">
            <legend>"Options"</legend>
            <ul>
                {variants.into_iter().map(|v| {
                    let sku = v.sku.clone();
                    let sku_for_class = sku.clone();
                    let sku_for_aria = sku.clone();
                    let out = v.available <= 0;
                    let label = variant_label(&v);
                    let aria = format!("{label}, {}{}", v.price.display(), if out { ", out of stock" } else { "" });
                    view! {
                        <li>
                            <a href=format!("?sku={}", url_encode(&sku))
                                class=move || {
                                    let on = selected.get().is_some_and(|s| s.sku == sku_for_class);
                                    format!("variant{}{}", if on { " selected" } else { "" }, if out { " unavailable" } else { "" })
                                }
                                aria-current=move || selected.get().is_some_and(|s| s.sku == sku_for_aria).then_some("true")
                                data-sku=sku.clone()
                                aria-label=aria>
                                {label}
                            </a>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </fieldset>
    }
}

/// An upcoming or live flash sale of one of this product's variants, linking to its page.
#[component]
fn SaleNotice(banner: Resource<Result<Option<SaleBanner>, AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                banner.await.ok().flatten().map(|b| {
                    // Live: the way to the sale price leads the buy box, ahead of "Add to cart"
                    // at the regular price.
                    let link = if b.live {
                        view! { <a class="button" data-testid="sale-buy-link" href=format!("/sales/{}", b.sale_id)>{format!("Buy {} at {} in the flash sale", b.variant, b.price.display())}</a> }.into_any()
                    } else {
                        view! { <a href=format!("/sales/{}", b.sale_id)>{format!("Flash sale of {}: {}, starts ", b.variant, b.price.display())} <crate::ui::LocalTime at=b.starts_at.clone() /></a> }.into_any()
                    };
                    view! {
                        <p class="notice sale-banner" data-testid="sale-banner" data-live=b.live.to_string()>
                            {b.live.then(|| view! { <span>{format!("Flash sale of {}, live now: ", b.variant)}</span> })}
                            {link}
                        </p>
                    }
                })
            })}
        </Suspense>
    }
}
