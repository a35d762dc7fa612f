//! Shopper pages of flash sales: `/sales` (upcoming, live, recently ended) and `/sales/{id}`.
//! Both render on the server with the server's clock; times to the start and end come from it,
//! not from the browser's.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

use super::*;
use crate::ui::{ErrorPanel, Loading};

/// The sale price beside the regular one, struck through.
#[component]
fn SalePrice(sale: SaleView) -> impl IntoView {
    view! {
        <p class="sale-price">
            <span class="price big" data-testid="sale-price">{sale.price.display()}</span>
            " "
            <s class="muted" aria-label=format!("Regular price {}", sale.regular_price.display())>{sale.regular_price.display()}</s>
        </p>
    }
}

/// When it starts or ends, or that it is over, in words.
fn timing(sale: &SaleView) -> String {
    match sale.state {
        SaleState::Upcoming => format!("Starts in {} ({} UTC)", wait_text(sale.seconds_to_start), sale.starts_at.replace('T', " ").trim_end_matches('Z')),
        SaleState::Live => format!("Ends in {}", wait_text(sale.seconds_to_end)),
        SaleState::SoldOut => "Every unit is taken.".to_owned(),
        SaleState::Ended => format!("Ended {} UTC", sale.ends_at.replace('T', " ").trim_end_matches('Z')),
        SaleState::Cancelled => "The seller cancelled this sale.".to_owned(),
    }
}

#[component]
pub fn SalesPage() -> impl IntoView {
    let sales = Resource::new(|| (), |_| get_sales());
    view! {
        <Title text="Flash sales" />
        <Meta name="description" content="Upcoming and live flash sales: a few units at a special price, fairly shared." />
        <h1>"Flash sales"</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match sales.await {
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <div class="empty-state" data-testid="no-sales">
                            <p>"No flash sales right now. Sellers announce them here ahead of time."</p>
                            <a href="/">"Browse the shop"</a>
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="grid sales" data-testid="sales">
                            {list.into_iter().map(|s| {
                                let when = timing(&s);
                                view! {
                                    <li class="card">
                                        <a class="card-link" href=format!("/sales/{}", s.sale_id)>
                                            <span class="badge" data-state=format!("{:?}", s.state).to_lowercase()>{s.state.label()}</span>
                                            <span class="card-title">{s.title.clone()}</span>
                                        </a>
                                        <SalePrice sale=s.clone() />
                                        <p class="muted small">{when}</p>
                                        <p class="small">{format!("{} of {} left", s.remaining, s.allocated)}</p>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn SalePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let sale = Resource::new(id, |id| async move {
        match id.parse::<i64>() {
            Ok(n) => get_sale(n).await,
            Err(_) => Err(crate::error::AppError::not_found(format!("There is no sale \"{id}\"."))),
        }
    });
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match sale.await {
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(s) => {
                        let when = timing(&s);
                        view! {
                            <Title text=format!("{} — flash sale", s.title) />
                            <Meta name="description" content=format!("{} at {} instead of {}: {} units, {}.", s.title, s.price.display(), s.regular_price.display(), s.allocated, when) />
                            <article class="sale" data-testid="sale" data-state=format!("{:?}", s.state).to_lowercase()>
                                <p><span class="badge" data-testid="sale-state">{s.state.label()}</span></p>
                                <h1>{s.title.clone()}</h1>
                                <SalePrice sale=s.clone() />
                                <p data-testid="sale-timing">{when}</p>
                                <p data-testid="sale-remaining">{format!("{} of {} left · at most {} per shopper", s.remaining, s.allocated, s.per_buyer_limit)}</p>
                                <p><a href=crate::catalog::product_path(s.product_id)>"See the product"</a></p>
                            </article>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
