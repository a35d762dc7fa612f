//! The seller's side of orders in the admin: the list by state, one order (who, where, what to
//! pack from which warehouse, its timeline, payment and refunds) with its next steps, and a
//! printable packing slip. Cancel and refund go through a confirmation (`ConfirmDialog`): a
//! dialog with JavaScript, a confirmation page without.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::money::Money;
use crate::states::OrderStatus;
use crate::ui::forms::{Feedback, FormMessage};
use crate::ui::{ConfirmDialog, ErrorPanel, Loading};

/// Orders to fulfil, by state: ship (with tracking, which captures the payment), mark
/// delivered; each opens on its own page for the rest.
#[component]
pub fn SellerOrders() -> impl IntoView {
    let query = use_query_map();
    let filter = move || query.read().get("state").and_then(|s| SellerOrderFilter::parse(&s));
    let ship = ServerAction::<ShipOrder>::new();
    let deliver = ServerAction::<DeliverOrder>::new();
    let orders = Resource::new(
        move || (filter(), ship.version().get(), deliver.version().get()),
        |(f, ..)| get_seller_orders(f.map(|f| f.as_str().to_owned()).unwrap_or_default()),
    );
    let page_error = move || {
        [ship.value().get().and_then(|r| r.err()), deliver.value().get().and_then(|r| r.err())]
            .into_iter()
            .flatten()
            .map(|e| e.to_string())
            .next()
            .or_else(|| query.read().get("error"))
    };
    let back = move || match filter() {
        Some(f) => format!("/seller/orders?state={}", f.as_str()),
        None => "/seller/orders".to_owned(),
    };
    view! {
        <Title text="Orders" />
        <Meta name="description" content="Your shop's orders: ship, deliver, cancel and refund them." />
        <h1>"Orders"</h1>
        <nav class="filter-tabs" aria-label="Orders by state">
            <a href="/seller/orders" aria-current=move || filter().is_none().then_some("page")>"All"</a>
            {SellerOrderFilter::ALL.map(|f| view! {
                <a href=format!("/seller/orders?state={}", f.as_str()) aria-current=move || (filter() == Some(f)).then_some("page")>{f.label()}</a>
            }).collect_view()}
        </nav>
        {move || page_error().map(|m| view! { <p class="form-error" role="alert" data-testid="page-error">{m}</p> })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match orders.await {
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty-state" data-testid="seller-orders-empty">{match filter() {
                            Some(f) => format!("No orders in \u{201c}{}\u{201d}.", f.label()),
                            None => "No paid orders with your products yet.".to_owned(),
                        }}</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="table-scroll">
                        <table class="admin-table seller-orders">
                            <thead><tr>
                                <th scope="col">"Order"</th><th scope="col">"Ship to"</th><th scope="col">"Items"</th>
                                <th scope="col">"Total"</th><th scope="col">"Status"</th><th scope="col">"Next step"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|o| {
                                    let id = o.order_id;
                                    view! {
                                        <tr data-testid="seller-order">
                                            <td><a href=format!("/seller/orders/{id}") data-testid="seller-order-link">{format!("#{id}")}</a><br />
                                                <span class="muted small">{o.created_at.get(..10).unwrap_or_default().to_owned()}</span></td>
                                            <td>{o.buyer_name.clone()}<br /><span class="muted small">{o.ship_to.clone()}</span><br />
                                                <span class="small">{o.shipping_method.as_str()}</span></td>
                                            <td><LineList lines=o.lines.clone() /></td>
                                            <td>{o.total.display()}{o.shared.then(|| view! { <br /><span class="muted small">"your items"</span> })}{(o.refunded.amount > 0).then(|| view! { <br /><span class="muted small">{format!("refunded {}", o.refunded.display())}</span> })}</td>
                                            <td><span class=format!("status status-{}", o.status)>{o.status.label()}</span>
                                                {o.tracking_number.clone().map(|t| view! { <br /><span class="small">{t}</span> })}</td>
                                            <td>{match o.status {
                                                OrderStatus::Paid => view! { <ShipForm id action=ship back=back() /> }.into_any(),
                                                OrderStatus::Shipped => view! {
                                                    <ActionForm action=deliver>
                                                        <input type="hidden" name="order_id" value=id />
                                                        <input type="hidden" name="back" value=back() />
                                                        <button type="submit" class="secondary">"Mark delivered"</button>
                                                    </ActionForm>
                                                }.into_any(),
                                                _ => view! { <a class="small" href=format!("/seller/orders/{id}")>"Details"</a> }.into_any(),
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// "2 × Beanie (rust / M)" with the SKU under it, one per line.
#[component]
fn LineList(lines: Vec<OrderLine>) -> impl IntoView {
    lines
        .into_iter()
        .map(|l| {
            view! {
                <div data-testid="seller-order-line">
                    {format!("{} × {}", l.quantity, l.title)}
                    {(!l.options.is_empty()).then(|| format!(" ({})", l.options))}
                    <br /><span class="muted small">{format!("SKU {}", l.sku)}</span>
                </div>
            }
        })
        .collect_view()
}

/// Tracking number and carrier; without JavaScript a refused one comes back with them kept.
#[component]
fn ShipForm(id: i64, action: ServerAction<ShipOrder>, back: String) -> impl IntoView {
    let tracking_id = format!("tracking-{id}");
    let carrier_id = format!("carrier-{id}");
    let query = use_query_map();
    let kept = move |name: &str| {
        let q = query.read_untracked();
        (q.get("shipped") == Some(id.to_string())).then(|| q.get(name)).flatten().unwrap_or_default()
    };
    let (typed, picked) = (kept("tracking_number"), kept("carrier"));
    view! {
        <ActionForm action attr:class="row ship-form">
            <input type="hidden" name="order_id" value=id />
            <input type="hidden" name="back" value=back />
            <label for=tracking_id.clone() class="visually-hidden">{format!("Tracking number for order {id}")}</label>
            <input id=tracking_id type="text" name="tracking_number" placeholder="Tracking number" required=true value=typed />
            <label for=carrier_id.clone() class="visually-hidden">{format!("Carrier for order {id}")}</label>
            <select id=carrier_id name="carrier">
                <option value="">"Carrier (other)"</option>
                {carriers::KNOWN.iter().map(|(code, name, _)| view! { <option value=*code selected=picked == *code>{*name}</option> }).collect_view()}
            </select>
            <button type="submit">"Mark shipped"</button>
        </ActionForm>
    }
}

/// A short, stable fingerprint (FNV-1a) of what a refund asks for: with the amount already
/// refunded it names one refund, so a double click or a second tab refunds once.
fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// What a refund's confirmation shows and sends, read from the refund form's query: line `i`'s
/// units in `q{i}` (and `r{i}` to restock them), or an `amount`; `all` for everything left.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RefundPlan {
    lines: Vec<(OrderLine, i64, bool)>,
    amount: Option<i64>,
    all: bool,
}

impl RefundPlan {
    fn read(d: &SellerOrderDetail, q: &leptos_router::params::ParamsMap) -> Result<Self, String> {
        let currency = d.order.total.currency.clone();
        if q.get("all").is_some() {
            return Ok(RefundPlan { lines: Vec::new(), amount: None, all: true });
        }
        let mut lines = Vec::new();
        for (i, l) in d.order.lines.iter().enumerate() {
            let text = q.get(&format!("q{i}")).unwrap_or_default();
            let units = match text.trim() {
                "" => 0,
                t => t.parse::<i64>().map_err(|_| format!("\u{201c}{t}\u{201d} is not a number of units of {}.", l.title))?,
            };
            let left = l.quantity - l.refunded_quantity;
            if units < 0 || units > left {
                return Err(format!("Refund 0 to {left} of {}.", l.title));
            }
            if units > 0 {
                lines.push((l.clone(), units, q.get(&format!("r{i}")).is_some()));
            }
        }
        let amount = match q.get("amount").map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => Some(crate::seller::parse_price(&a, &currency).map_err(|e| e.to_string())?),
        };
        match (lines.is_empty(), amount) {
            (true, None) => Err("Choose units to refund, or enter an amount.".to_owned()),
            (false, Some(_)) => Err("Refund either units or an amount, not both.".to_owned()),
            (_, Some(a)) if a <= 0 => Err("Enter an amount above zero.".to_owned()),
            (_, Some(a)) if a > d.order.total.amount - d.order.refunded.amount => {
                Err(format!("At most {} is left to refund.", Money::new(d.order.total.amount - d.order.refunded.amount, &currency).display()))
            }
            _ => Ok(RefundPlan { lines, amount, all: false }),
        }
    }

    fn total(&self, d: &SellerOrderDetail) -> Money {
        let c = &d.order.total.currency;
        match (self.all, self.amount) {
            (true, _) => Money::new(d.order.total.amount - d.order.refunded.amount, c),
            (false, Some(a)) => Money::new(a, c),
            (false, None) => Money::new(self.lines.iter().map(|(l, n, _)| l.unit_price.amount * n).sum(), c),
        }
    }

    /// The refund form's `lines` (JSON) and `amount` fields, and its key.
    fn fields(&self, d: &SellerOrderDetail) -> (String, String, String) {
        let lines: Vec<RefundLine> = self.lines.iter().map(|(l, n, r)| RefundLine { sku: l.sku.clone(), quantity: *n, restock: *r }).collect();
        let lines = serde_json::to_string(&lines).unwrap_or_else(|_| "[]".to_owned());
        let amount = self.amount.map(|a| a.to_string()).unwrap_or_default();
        let key = format!("ui-{}-after-{}-{}", d.order.order_id, d.order.refunded.amount, fingerprint(&format!("{}|{lines}|{amount}", self.all)));
        (lines, amount, key)
    }
}

/// One order as its seller sees it, with what can be done next.
#[component]
pub fn SellerOrderPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let ship = ServerAction::<ShipOrder>::new();
    let deliver = ServerAction::<DeliverOrder>::new();
    let cancel = ServerAction::<SellerCancelOrder>::new();
    let refund = ServerAction::<RefundFromPage>::new();
    let order = Resource::new(
        move || (id(), ship.version().get(), deliver.version().get(), cancel.version().get(), refund.version().get()),
        |(id, ..)| get_seller_order(id),
    );
    crate::ui::close_confirmation_when(
        move || matches!(cancel.value().get(), Some(Ok(_))) || matches!(refund.value().get(), Some(Ok(_))),
        move || format!("/seller/orders/{}", id()),
    );
    let cancel_feedback = Feedback::new(cancel.value());
    let refund_feedback = Feedback::new(refund.value());
    // Shipping's or delivery's error (JavaScript), or any step's after a plain form post sent
    // the browser back here (a dialog shows its own).
    let page_error = move || {
        let q = query.read();
        let bounced = if q.get("confirm").is_none() { q.get("error") } else { None };
        [ship.value().get().and_then(|r| r.err()), deliver.value().get().and_then(|r| r.err())]
            .into_iter()
            .flatten()
            .map(|e| e.to_string())
            .next()
            .or(bounced)
    };
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let d = match order.await {
                    Ok(d) => d,
                    Err(e) => return view! { <ErrorPanel error=e /> }.into_any(),
                };
                let o = d.order.clone();
                let oid = o.order_id;
                let page = format!("/seller/orders/{oid}");
                let refundable = matches!(o.status, OrderStatus::Shipped | OrderStatus::Delivered) && o.refunded.amount < o.total.amount;
                let dialog = {
                    let d = d.clone();
                    let page = page.clone();
                    move || match query.read().get("confirm").as_deref() {
                        Some("cancel") if d.order.status == OrderStatus::Paid => Some(view! { <CancelDialog d=d.clone() action=cancel feedback=cancel_feedback back=page.clone() /> }.into_any()),
                        Some("refund") if refundable => Some(view! { <RefundDialog d=d.clone() action=refund feedback=refund_feedback back=page.clone() /> }.into_any()),
                        _ => None,
                    }
                };
                view! {
                    <Title text=format!("Order #{oid}") />
                    <Meta name="description" content=format!("Order #{oid}: buyer, address, items to pack, payment and refunds.") />
                    <div class="list-head">
                        <h1>{format!("Order #{oid}")}</h1>
                        <a class="button secondary no-print" href=format!("/seller/orders/{oid}/slip") data-testid="packing-slip-link">"Packing slip"</a>
                    </div>
                    <p>
                        <span data-testid="seller-order-status" class=format!("status status-{}", o.status)>{o.status.label()}</span>
                        " " <span class="muted">{format!("placed {}", o.created_at.replace('T', " ").get(..16).unwrap_or_default())}</span>
                    </p>
                    {move || page_error().map(|m| view! { <p class="form-error" role="alert" data-testid="page-error">{m}</p> })}
                    <div class="order-columns">
                        <BuyerPanel d=d.clone() />
                        <PaymentPanel d=d.clone() />
                    </div>
                    <PickList d=d.clone() />
                    {if o.shipments.len() > 1 {
                        view! { <h2>"Shipments"</h2><ShipmentList shipments=o.shipments.clone() lines=o.lines.clone() /> }.into_any()
                    } else {
                        o.tracking_number.clone().map(|t| view! {
                            <p>"Tracking: " <TrackingLink number=t carrier=d.carrier.clone() url=d.tracking_url.clone() /></p>
                        }).into_any()
                    }}
                    {d.cancel_reason.clone().map(|r| view! { <p class="notice">{match (o.shared, d.cancelled_by.clone()) {
                        (false, Some(by)) => format!("Cancelled by the {by}: {r}"),
                        _ => format!("Cancelled: {r}"),
                    }}</p> })}
                    <NextStep d=d.clone() page=page.clone() refundable ship deliver />
                    {(!d.refunds.is_empty()).then(|| view! {
                        <h2>"Refunds"</h2>
                        <RefundList refunds=d.refunds.clone() />
                    })}
                    <h2>"Timeline"</h2>
                    <ol class="history" data-testid="seller-timeline">
                        {d.timeline.iter().map(|t| view! {
                            <li><time datetime=t.at.clone()>{t.at.replace('T', " ").get(..16).unwrap_or_default().to_owned()}</time> " " {t.what.clone()}</li>
                        }).collect_view()}
                    </ol>
                    <p class="no-print"><a href="/seller/orders">"All orders"</a></p>
                    {dialog}
                }.into_any()
            })}
        </Transition>
    }
}

/// Who the order goes to, and how.
#[component]
fn BuyerPanel(d: SellerOrderDetail) -> impl IntoView {
    let a = d.shipping_address;
    view! {
        <section class="panel" aria-labelledby="buyer-heading" data-testid="buyer">
            <h2 id="buyer-heading">"Ship to"</h2>
            <address>
                <strong>{a.name}</strong><br />{a.line1}<br />{a.line2.map(|l| view! { {l}<br /> })}
                {format!("{} {}", a.postal_code, a.city)}<br />{a.region.map(|r| view! { {r}<br /> })}{a.country}
            </address>
            <p><a href=format!("mailto:{}", d.buyer_email)>{d.buyer_email.clone()}</a></p>
            <p>"Shipping: " <strong data-testid="shipping-method">{d.order.shipping_method.as_str()}</strong></p>
        </section>
    }
}

/// What the order (or the seller's share of it) costs, what was refunded, and the card.
#[component]
fn PaymentPanel(d: SellerOrderDetail) -> impl IntoView {
    let o = d.order;
    view! {
        <section class="panel" aria-labelledby="payment-heading">
            <h2 id="payment-heading">"Payment"</h2>
            <dl class="totals">
                {(!o.shared).then(|| view! {
                    <dt>"Subtotal"</dt><dd>{d.subtotal.display()}</dd>
                    <dt>"Shipping"</dt><dd>{d.shipping.display()}</dd>
                    <dt>"Tax"</dt><dd>{d.tax.display()}</dd>
                })}
                <dt>{if o.shared { "Your items" } else { "Total" }}</dt><dd class="price" data-testid="seller-total">{o.total.display()}</dd>
                <dt>"Refunded"</dt><dd data-testid="seller-refunded">{o.refunded.display()}</dd>
                <dt>"Card"</dt><dd>{d.payment.map(payment_words).unwrap_or("not paid")}</dd>
            </dl>
        </section>
    }
}

/// The items to pack, each with the warehouses to pick it from.
#[component]
fn PickList(d: SellerOrderDetail) -> impl IntoView {
    view! {
        <h2>"Items"</h2>
        <div class="table-scroll">
        <table class="admin-table">
            <thead><tr><th scope="col">"Item"</th><th scope="col">"SKU"</th><th scope="col">"Units"</th><th scope="col">"Pick from"</th><th scope="col">"Price"</th></tr></thead>
            <tbody>
                {d.order.lines.iter().map(|l| {
                    let picks: Vec<String> = d.picks.iter().filter(|p| p.sku == l.sku).map(|p| format!("{} × {}", p.quantity, p.warehouse)).collect();
                    view! {
                        <tr data-testid="seller-item">
                            <td>{l.title.clone()}{(!l.options.is_empty()).then(|| view! { <br /><span class="small" data-testid="item-options">{l.options.clone()}</span> })}</td>
                            <td>{l.sku.clone()}</td>
                            <td>{l.quantity}{(l.refunded_quantity > 0).then(|| view! { <br /><span class="muted small">{format!("{} refunded", l.refunded_quantity)}</span> })}</td>
                            <td data-testid="item-pick">{picks.join(", ")}</td>
                            <td>{l.line_total.display()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

/// What the seller can do next: ship or cancel a paid order, mark a shipped one delivered,
/// refund.
#[component]
fn NextStep(d: SellerOrderDetail, page: String, refundable: bool, ship: ServerAction<ShipOrder>, deliver: ServerAction<DeliverOrder>) -> impl IntoView {
    let o = d.order.clone();
    let oid = o.order_id;
    view! {
        <section class="panel no-print" aria-labelledby="next-heading">
            <h2 id="next-heading">"Next step"</h2>
            {o.shared.then(|| view! { <p class="muted small" data-testid="share-note">"Other sellers' items are in this order too: you ship, cancel and refund only yours."</p> })}
            {match o.status {
                OrderStatus::Paid => view! {
                    <ShipForm id=oid action=ship back=page.clone() />
                    <Form method="GET" action=page.clone() attr:class="stack cancel-form">
                        <input type="hidden" name="confirm" value="cancel" />
                        <label for="cancel-reason">"Cancel instead: why? (the shopper reads this)"</label>
                        <textarea id="cancel-reason" name="reason" rows="2" maxlength="500" placeholder="e.g. The last one was damaged in the warehouse."></textarea>
                        <button type="submit" class="secondary danger" data-testid="cancel-order">{if o.shared { "Cancel your items…" } else { "Cancel order…" }}</button>
                    </Form>
                }.into_any(),
                OrderStatus::Shipped | OrderStatus::Delivered => view! {
                    {(o.status == OrderStatus::Shipped).then({
                        let page = page.clone();
                        move || view! {
                        <ActionForm action=deliver>
                            <input type="hidden" name="order_id" value=oid />
                            <input type="hidden" name="back" value=page />
                            <button type="submit" class="secondary">"Mark delivered"</button>
                        </ActionForm>
                    }})}
                    {refundable.then(|| view! { <RefundForm d=d.clone() page=page.clone() /> })}
                }.into_any(),
                _ => view! { <p class="muted">"Nothing left to do."</p> }.into_any(),
            }}
        </section>
    }
}

fn payment_words(p: crate::states::PaymentState) -> &'static str {
    use crate::states::PaymentState as P;
    match p {
        P::Created | P::Failed => "not paid",
        P::Authorized => "authorized (charged when shipped)",
        P::Captured | P::Settled => "charged",
        P::Voided => "authorization released",
        P::Refunded => "refunded",
    }
}

/// The tracking number, linked to the carrier's page when the carrier is known.
#[component]
pub fn TrackingLink(number: String, carrier: Option<String>, url: Option<String>) -> impl IntoView {
    let label = match &carrier {
        Some(c) => format!("{c} {number}"),
        None => number.clone(),
    };
    view! {
        <span data-testid="tracking">{match url {
            Some(u) => view! { <a href=u rel="noopener noreferrer" target="_blank">{label}</a> }.into_any(),
            None => view! { <span>{label}</span> }.into_any(),
        }}</span>
    }
}

/// The shipments of an order with several sellers' items: whose, which items, how far along.
#[component]
pub fn ShipmentList(shipments: Vec<ShipmentView>, lines: Vec<OrderLine>) -> impl IntoView {
    view! {
        <ul class="shipments" data-testid="shipments">
            {shipments.into_iter().map(|s| {
                let items: Vec<String> = s.skus.iter().map(|sku| lines.iter().find(|l| &l.sku == sku).map(|l| format!("{} × {}", l.quantity, l.title)).unwrap_or_else(|| sku.clone())).collect();
                view! {
                    <li data-testid="shipment">
                        <strong>{format!("From {}", s.seller)}</strong> " "
                        <span class=format!("status status-{}", match s.state { ShipmentState::ToShip => "paid", ShipmentState::Shipped => "shipped", ShipmentState::Delivered => "delivered", ShipmentState::Cancelled => "cancelled" })
                            data-testid="shipment-state">{s.state.label()}</span>
                        <br /><span class="small">{items.join("; ")}</span>
                        {s.tracking_number.clone().map(|t| view! { <br />"Tracking: " <TrackingLink number=t carrier=s.carrier.clone() url=s.tracking_url.clone() /> })}
                        {s.cancel_reason.clone().map(|r| view! { <br /><span class="small">{format!("Cancelled: {r}")}</span> })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// Every refund of an order: when, how much, which units and whether they went back to stock.
#[component]
pub fn RefundList(refunds: Vec<RefundView>) -> impl IntoView {
    view! {
        <ul class="refunds" data-testid="refunds">
            {refunds.into_iter().map(|r| view! {
                <li data-testid="refund">
                    <strong>{r.amount.display()}</strong>
                    " " <span class="muted small">{r.created_at.get(..10).unwrap_or_default().to_owned()}</span>
                    {(!r.confirmed).then(|| view! { " " <span class="badge">"waiting for the payment provider"</span> })}
                    {(!r.lines.is_empty()).then(|| view! {
                        <br /><span class="small">{r.lines.iter().map(|l| format!("{} × {}{}", l.quantity, l.title, if l.restocked { ", back in stock" } else { "" })).collect::<Vec<_>>().join("; ")}</span>
                    })}
                </li>
            }).collect_view()}
        </ul>
    }
}

/// What to refund: units per line (each may go back to stock), an amount, or everything left.
/// It only leads to the confirmation, which refunds.
#[component]
fn RefundForm(d: SellerOrderDetail, page: String) -> impl IntoView {
    let left = Money::new(d.order.total.amount - d.order.refunded.amount, &d.order.total.currency).display();
    let amount_label = format!("Or an amount ({left} left to refund)");
    view! {
        <Form method="GET" action=page.clone() attr:class="stack refund-form" attr:data-testid="refund-form">
            <input type="hidden" name="confirm" value="refund" />
            <fieldset>
                <legend>"Refund units"</legend>
                {d.order.lines.iter().enumerate().filter(|(_, l)| l.quantity > l.refunded_quantity).map(|(i, l)| {
                    let left = l.quantity - l.refunded_quantity;
                    view! {
                        <div class="row refund-line">
                            <label for=format!("refund-q{i}")>{format!("{}{} ({} each), units:", l.title, if l.options.is_empty() { String::new() } else { format!(" ({})", l.options) }, l.unit_price.display())}</label>
                            <input id=format!("refund-q{i}") type="number" name=format!("q{i}") min="0" max=left value="0" inputmode="numeric" />
                            <span class="muted small">{format!("of {left}")}</span>
                            <label class="check"><input type="checkbox" name=format!("r{i}") />" Put back in stock"</label>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            {(!d.order.shared).then(|| view! {
                <div class="field">
                    <label for="refund-amount">{amount_label}</label>
                    <input id="refund-amount" type="text" name="amount" inputmode="decimal" placeholder="e.g. 5.00" />
                </div>
            })}
            <div class="row">
                <button type="submit" class="secondary danger" data-testid="refund-review">"Refund…"</button>
            </div>
        </Form>
        <Form method="GET" action=page attr:class="row">
            <input type="hidden" name="confirm" value="refund" />
            <input type="hidden" name="all" value="1" />
            <button type="submit" class="link danger" data-testid="refund-all">{format!("Refund everything left ({left})…")}</button>
        </Form>
    }
}

#[component]
fn CancelDialog(d: SellerOrderDetail, action: ServerAction<SellerCancelOrder>, feedback: Feedback, back: String) -> impl IntoView {
    let query = use_query_map();
    let reason = query.read_untracked().get("reason").unwrap_or_default();
    let units: i64 = d.order.lines.iter().map(|l| l.quantity).sum();
    let oid = d.order.order_id;
    view! {
        <ConfirmDialog title=if d.order.shared { format!("Cancel your items in order #{oid}?") } else { format!("Cancel order #{oid}?") } back>
            <p>{if d.order.shared {
                format!(
                    "{} goes back to the shopper's card, {units} unit{} go{} back to stock, and {} gets a mail with your reason. The other sellers' items still ship.",
                    Money::new(d.order.total.amount - d.order.refunded.amount, &d.order.total.currency).display(), if units == 1 { "" } else { "s" }, if units == 1 { "es" } else { "" }, d.order.buyer_name
                )
            } else {
                format!(
                    "The hold of {} on the shopper's card is released, {units} unit{} go{} back to stock, and {} gets a mail with your reason.",
                    d.order.total.display(), if units == 1 { "" } else { "s" }, if units == 1 { "es" } else { "" }, d.order.buyer_name
                )
            }}</p>
            <FormMessage feedback />
            <ActionForm action attr:class="stack">
                <input type="hidden" name="order_id" value=oid />
                <label for="confirm-reason">"Reason"</label>
                <textarea id="confirm-reason" name="reason" rows="3" maxlength="500" required=true>{crate::text::textarea_text(reason)}</textarea>
                {move || feedback.field("reason").map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                <button type="submit" class="danger" data-testid="confirm-cancel" disabled=move || action.pending().get()>{if d.order.shared { "Yes, cancel your items".to_owned() } else { format!("Yes, cancel order #{oid}") }}</button>
            </ActionForm>
        </ConfirmDialog>
    }
}

#[component]
fn RefundDialog(d: SellerOrderDetail, action: ServerAction<RefundFromPage>, feedback: Feedback, back: String) -> impl IntoView {
    let query = use_query_map();
    let plan = RefundPlan::read(&d, &query.read_untracked());
    let oid = d.order.order_id;
    view! {
        <ConfirmDialog title=format!("Refund from order #{oid}?") back>
            {match plan {
                Err(why) => view! { <p class="form-error" role="alert" data-testid="refund-plan-error">{why}</p> }.into_any(),
                Ok(plan) => {
                    let total = plan.total(&d);
                    let (lines, amount, key) = plan.fields(&d);
                    view! {
                        <ul data-testid="refund-plan">
                            {match (plan.all, plan.amount) {
                                (true, _) if d.order.shared => view! { <li>"All your items not refunded yet."</li> }.into_any(),
                                (true, _) => view! { <li>"Everything not refunded yet, shipping and tax included."</li> }.into_any(),
                                (false, Some(_)) => view! { <li>"An amount, no units."</li> }.into_any(),
                                (false, None) => plan.lines.iter().map(|(l, n, restock)| view! {
                                    <li>{format!("{n} × {}{}: {}{}", l.title, if l.options.is_empty() { String::new() } else { format!(" ({})", l.options) },
                                        Money::new(l.unit_price.amount * n, &l.unit_price.currency).display(),
                                        if *restock { ", back in stock" } else { ", not back in stock" })}</li>
                                }).collect_view().into_any(),
                            }}
                        </ul>
                        <p>{format!("{} goes back to {}'s card; they get a mail.", total.display(), d.order.buyer_name)}</p>
                        <FormMessage feedback />
                        <ActionForm action>
                            <input type="hidden" name="order_id" value=oid />
                            <input type="hidden" name="key" value=key />
                            <input type="hidden" name="lines" value=lines />
                            <input type="hidden" name="amount" value=amount />
                            <button type="submit" class="danger" data-testid="confirm-refund" disabled=move || action.pending().get()>{format!("Refund {}", total.display())}</button>
                        </ActionForm>
                    }.into_any()
                }
            }}
        </ConfirmDialog>
    }
}

/// What to put in the parcel and where to send it, for printing (no prices).
#[component]
pub fn PackingSlip() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let order = Resource::new(id, get_seller_order);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let d = match order.await {
                    Ok(d) => d,
                    Err(e) => return view! { <ErrorPanel error=e /> }.into_any(),
                };
                let a = d.shipping_address.clone();
                let oid = d.order.order_id;
                view! {
                    <Title text=format!("Packing slip, order #{oid}") />
                    <Meta name="description" content=format!("What to pack for order #{oid} and where to send it.") />
                    <article class="packing-slip" data-testid="packing-slip">
                        <h1>{format!("Packing slip: order #{oid}")}</h1>
                        <p>{format!("Placed {} · {} shipping", d.order.created_at.get(..10).unwrap_or_default(), d.order.shipping_method)}</p>
                        <h2>"Ship to"</h2>
                        <address>
                            {a.name}<br />{a.line1}<br />{a.line2.map(|l| view! { {l}<br /> })}
                            {format!("{} {}", a.postal_code, a.city)}<br />{a.region.map(|r| view! { {r}<br /> })}{a.country}
                        </address>
                        <table class="admin-table">
                            <thead><tr><th scope="col">"Packed"</th><th scope="col">"Units"</th><th scope="col">"Item"</th><th scope="col">"SKU"</th><th scope="col">"Pick from"</th></tr></thead>
                            <tbody>
                                {d.order.lines.iter().map(|l| view! {
                                    <tr>
                                        <td aria-hidden="true">"☐"</td>
                                        <td>{l.quantity}</td>
                                        <td>{l.title.clone()}{(!l.options.is_empty()).then(|| format!(" ({})", l.options))}</td>
                                        <td>{l.sku.clone()}</td>
                                        <td>{d.picks.iter().filter(|p| p.sku == l.sku).map(|p| format!("{} × {}", p.quantity, p.warehouse)).collect::<Vec<_>>().join(", ")}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <p class="no-print"><PrintButton /> " " <a href=format!("/seller/orders/{oid}")>"Back to the order"</a></p>
                    </article>
                }.into_any()
            })}
        </Suspense>
    }
}

/// Prints the page (with JavaScript; without, the browser's own Print does the same).
#[component]
fn PrintButton() -> impl IntoView {
    let print = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };
    view! { <button type="button" class="secondary" on:click=print>"Print"</button> }
}
