//! The seller admin's Sales section (`/seller/sales`): the seller's sales, scheduling a new one,
//! and a live dashboard per sale (sold, held, left, the line, shoppers let in each second),
//! refreshed by what the websocket pushes. An admin sees every seller's sales.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::ui::forms::{Feedback, Field, FormMessage, LocalDateTimeField};
use crate::ui::{ConfirmDialog, ErrorPanel, LocalTime, Loading};

#[component]
pub fn SellerSales() -> impl IntoView {
    let sales = Resource::new(|| (), |_| get_seller_sales());
    view! {
        <h1>"Sales"</h1>
        <p><A href="/seller/sales/new">"Schedule a sale"</A></p>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match sales.await {
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty-state">"No flash sales yet. Schedule one: a few units of a variant at a special price, shared fairly through a waiting room."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="admin-table">
                            <thead><tr>
                                <th scope="col">"Sale"</th><th scope="col">"Price"</th><th scope="col">"Starts"</th>
                                <th scope="col">"Sold"</th><th scope="col">"State"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|s| view! {
                                    <tr data-testid="seller-sale">
                                        <td><A href=format!("/seller/sales/{}", s.sale.sale_id)>{format!("{} ({})", s.sale.title, s.sale.sku)}</A></td>
                                        <td>{s.sale.price.display()}</td>
                                        <td><LocalTime at=s.sale.starts_at.clone() /></td>
                                        <td>{format!("{} of {}", s.sold, s.sale.allocated)}</td>
                                        <td>{s.sale.state.label()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The variant on sale, picked from the seller's own (a list, not a SKU typed by hand).
#[component]
fn VariantPicker(kept: String, error: Signal<Option<String>>) -> impl IntoView {
    let choices = Resource::new(|| (), |_| get_variant_choices());
    view! {
        <div class="field">
            <label for="field-sku">"Variant"</label>
            <Suspense fallback=|| view! { <select id="field-sku" name="sku" disabled=true><option>"Loading your variants…"</option></select> }>
                {move || {
                    let kept = kept.clone();
                    Suspend::new(async move {
                        match choices.await {
                            Ok(list) if list.is_empty() => view! {
                                <p class="muted" id="field-sku">"You have no products yet. " <A href="/seller/products/new">"Add a product"</A> " first, then put one of its variants on sale."</p>
                            }.into_any(),
                            Ok(list) => view! {
                                <select id="field-sku" name="sku" aria-describedby="field-sku-hint" aria-invalid=move || error.get().map(|_| "true")>
                                    <option value="" selected=kept.is_empty()>"Choose a variant"</option>
                                    {list.into_iter().map(|c| {
                                        let selected = c.sku == kept;
                                        view! { <option value=c.sku.clone() selected=selected>{format!("{} · {}", c.label, c.sku)}</option> }
                                    }).collect_view()}
                                </select>
                            }.into_any(),
                            Err(e) => view! { <p class="field-error" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
            <p class="muted small" id="field-sku-hint">"The variant on sale; its units move out of ordinary stock now."</p>
            {move || error.get().map(|m| view! { <p class="field-error" id="field-sku-error" role="alert">{m}</p> })}
        </div>
    }
}

#[component]
pub fn NewSale() -> impl IntoView {
    let schedule = ServerAction::<ScheduleSale>::new();
    let feedback = Feedback::new(schedule.value());
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(s)) = schedule.value().get() {
            navigate(&format!("/seller/sales/{}", s.sale.sale_id), Default::default());
        }
    });
    let kept = move |name: &str, default: &str| {
        let v = feedback.kept(name);
        if v.is_empty() { default.to_owned() } else { v }
    };
    view! {
        <h1>"Schedule a sale"</h1>
        <ActionForm action=schedule attr:class="stack" attr:novalidate=true>
            <FormMessage feedback />
            <VariantPicker kept=feedback.kept("sku") error=Signal::derive(move || feedback.field("sku")) />
            <Field label="Sale price" name="price" value=feedback.kept("price") hint="Below the regular price, in its currency, e.g. 29.99" feedback />
            <LocalDateTimeField label="Starts" name="starts_at" value=feedback.kept("starts_at") feedback />
            <LocalDateTimeField label="Ends" name="ends_at" value=feedback.kept("ends_at") feedback />
            <Field label="Units" name="allocation" kind="number" value=kept("allocation", "") feedback />
            <Field label="Most per shopper" name="per_buyer_limit" kind="number" value=kept("per_buyer_limit", "1") feedback />
            <Field label="Shoppers let in per second" name="admission_rate" kind="number" value=kept("admission_rate", "50") feedback />
            <label class="check">
                <input type="checkbox" name="existing_accounts_only" value="true" checked=!feedback.kept("existing_accounts_only").is_empty() />
                " Only accounts that exist now may join (accounts made after you schedule the sale cannot)"
            </label>
            <label class="check">
                <input type="checkbox" name="verified_email_only" value="true" checked=!feedback.kept("verified_email_only").is_empty() />
                " Only shoppers who confirmed their email address may join"
            </label>
            <button type="submit" disabled=move || schedule.pending().get()>
                {move || if schedule.pending().get() { "Scheduling…" } else { "Schedule the sale" }}
            </button>
        </ActionForm>
    }
}

/// A sale's live dashboard: figures reloaded whenever the websocket says something changed.
#[component]
pub fn SellerSaleDashboard() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let end = ServerAction::<EndSale>::new();
    let cancel = ServerAction::<CancelSale>::new();
    let extras = ServerAction::<SetSaleExtras>::new();
    let pushed = RwSignal::new(0u32);
    let per_second = RwSignal::new(0i64);
    crate::ui::close_confirmation_when(
        move || matches!(end.value().get(), Some(Ok(_))) || matches!(cancel.value().get(), Some(Ok(_))),
        move || format!("/seller/sales/{}", id()),
    );
    let figures = Resource::new(move || (id(), pushed.get(), end.version().get(), cancel.version().get(), extras.version().get()), |(id, ..)| get_sale_dashboard(id));
    let error = move || {
        [end.value().get().and_then(|r| r.err()), cancel.value().get().and_then(|r| r.err()), extras.value().get().and_then(|r| r.err())].into_iter().flatten().next().map(|e| e.to_string())
    };
    Effect::new(move |_| {
        let sale_id = id();
        #[cfg(feature = "hydrate")]
        super::live::follow(sale_id, move |event| {
            if event.get("type").and_then(|t| t.as_str()) == Some("queue_moved") {
                per_second.try_set(event.get("admitted").and_then(|n| n.as_i64()).unwrap_or(0));
            }
            pushed.try_update(|n| *n += 1);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (sale_id, per_second, pushed);
    });
    view! {
        {move || error().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let d = match figures.await {
                    Ok(d) => d,
                    Err(e) => return view! { <ErrorPanel error=e /> }.into_any(),
                };
                let s = d.sale.sale.clone();
                let sale_id = s.sale_id;
                let before_start = s.state == SaleState::Upcoming;
                let running = matches!(s.state, SaleState::Live | SaleState::SoldOut);
                view! {
                    <h1>{format!("Sale: {} ({})", s.title, s.sku)}</h1>
                    <p><span class="badge" data-testid="dashboard-state">{s.state.label()}</span> " " <LocalTime at=s.starts_at.clone() /> " → " <LocalTime at=s.ends_at.clone() /></p>
                    <dl class="totals dashboard" data-testid="dashboard">
                        <dt>"Sold"</dt><dd data-testid="dash-sold">{d.sale.sold}</dd>
                        <dt>"Held"</dt><dd data-testid="dash-held">{d.held}</dd>
                        <dt>"Left"</dt><dd data-testid="dash-left">{s.remaining}</dd>
                        <dt>"In line"</dt><dd data-testid="dash-waiting">{d.waiting}</dd>
                        <dt>"Let in last second"</dt><dd data-testid="dash-rate">{move || per_second.get()}</dd>
                        <dt>"Price"</dt><dd>{format!("{} (regular {})", s.price.display(), s.regular_price.display())}</dd>
                        <dt>"Rate"</dt><dd>{format!("{} shoppers a second, at most {} each", d.sale.admission_rate, s.per_buyer_limit)}</dd>
                    </dl>
                    <p><a href=format!("/sales/{sale_id}")>"The shoppers' page"</a></p>
                    {matches!(s.state, SaleState::Ended | SaleState::SoldOut).then(|| view! { <Report sale_id /> })}
                    {before_start.then(|| view! {
                        <Form method="GET" action=format!("/seller/sales/{sale_id}")>
                            <input type="hidden" name="confirm" value="cancel" />
                            <button type="submit" class="secondary">"Cancel the sale…"</button>
                        </Form>
                    })}
                    {(!matches!(s.state, SaleState::Ended | SaleState::Cancelled)).then(|| view! { <ExtrasSwitch sale_id off=d.sale.extras_off extras /> })}
                    {running.then(|| view! {
                        <Form method="GET" action=format!("/seller/sales/{sale_id}")>
                            <input type="hidden" name="confirm" value="end" />
                            <button type="submit" class="secondary" data-testid="end-sale">"End now…"</button>
                        </Form>
                    })}
                    <SaleDialogs sale_id sold=d.sale.sold running before_start end cancel />
                }.into_any()
            })}
        </Transition>
    }
}

/// Whether recommendations, reviews and wishlists stay on while the sale is live.
#[component]
fn ExtrasSwitch(sale_id: i64, off: bool, extras: ServerAction<SetSaleExtras>) -> impl IntoView {
    view! {
        <ActionForm action=extras attr:class="extras-switch">
            <input type="hidden" name="sale_id" value=sale_id />
            <input type="hidden" name="extras_off" value=if off { "false" } else { "true" } />
            <p class="muted small" data-testid="extras-state">
                {if off {
                    "While this sale is live, pages go without recommendations, reviews and wishlists."
                } else {
                    "Recommendations, reviews and wishlists stay on during this sale (they turn themselves off when slow)."
                }}
            </p>
            <button type="submit" class="secondary" data-testid="extras-switch" aria-pressed=if off { "true" } else { "false" }>
                {if off { "Keep the extras on" } else { "Switch the extras off during the sale" }}
            </button>
        </ActionForm>
    }
}

/// "End now" and "Cancel the sale" confirmations, opened by `?confirm=` (a plain link before
/// the wasm loads).
#[component]
fn SaleDialogs(sale_id: i64, sold: i64, running: bool, before_start: bool, end: ServerAction<EndSale>, cancel: ServerAction<CancelSale>) -> impl IntoView {
    let query = use_query_map();
    move || {
        let back = format!("/seller/sales/{sale_id}");
        match query.read().get("confirm").as_deref() {
            Some("end") if running => Some(view! {
                <ConfirmDialog title="End this sale now?" back>
                    <p>{format!("Nobody else gets in and nothing more is sold at the sale price ({sold} sold so far). What is unsold goes back to ordinary stock.")}</p>
                    <ActionForm action=end>
                        <input type="hidden" name="sale_id" value=sale_id />
                        <button type="submit" class="danger" data-testid="confirm-end">"Yes, end the sale"</button>
                    </ActionForm>
                </ConfirmDialog>
            }.into_any()),
            Some("cancel") if before_start => Some(view! {
                <ConfirmDialog title="Cancel this sale?" back>
                    <p>"It will not start, and its units go back to ordinary stock."</p>
                    <ActionForm action=cancel>
                        <input type="hidden" name="sale_id" value=sale_id />
                        <button type="submit" class="danger" data-testid="confirm-cancel-sale">"Yes, cancel the sale"</button>
                    </ActionForm>
                </ConfirmDialog>
            }.into_any()),
            _ => None,
        }
    }
}

/// The fairness report, once the sale has sold out or ended.
#[component]
fn Report(sale_id: i64) -> impl IntoView {
    let report = Resource::new(move || sale_id, get_sale_report);
    view! {
        <section class="panel" aria-labelledby="report-heading">
            <h2 id="report-heading">"How fair it was"</h2>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match report.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(r) => view! {
                            <dl class="totals" data-testid="report">
                                <dt>"Buyers"</dt><dd data-testid="report-buyers">{r.distinct_buyers}</dd>
                                <dt>"Units each"</dt><dd>{r.units_per_buyer.iter().map(|(u, n)| format!("{n} bought {u}")).collect::<Vec<_>>().join(", ")}</dd>
                                <dt>"Sold out after"</dt><dd>{r.sold_out_after_seconds.map(wait_text).unwrap_or_else(|| "did not sell out".to_owned())}</dd>
                                <dt>"Holds released"</dt><dd>{format!("{} ({} units offered again)", r.holds_released, r.units_reoffered)}</dd>
                                <dt>"Turned away by rate limits"</dt><dd data-testid="report-limited">{r.rate_limited}</dd>
                            </dl>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
