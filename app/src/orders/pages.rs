//! Order pages: the shopper's orders and one order (timeline, pay again, 3-D Secure, cancel,
//! tracking, refunds). The seller's side is in `admin`.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::checkout::pages::{after_payment, card_submit, sign_in_first};
use crate::payments::card::TestCardPicker;
use crate::checkout::{PayOrder, PaymentEntry};
use crate::payments::card::CardField;
use crate::states::OrderStatus;
use crate::ui::forms::{Feedback, FormMessage};
use crate::ui::{ConfirmDialog, ErrorPanel, Loading};
use leptos_router::components::Form;
use super::admin::{RefundList, ShipmentList, TrackingLink};

#[component]
pub fn OrdersPage() -> impl IntoView {
    let orders = Resource::new(|| (), |_| get_orders());
    view! {
        <Title text="Your orders" />
        <Meta name="description" content="Your orders with their status: track, pay or cancel them." />
        <h1>"Your orders"</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match orders.await {
                    Err(crate::error::AppError::Unauthorized(_)) => sign_in_first("/orders"),
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <div class="empty-state"><p>"No orders yet."</p><a href="/">"Start shopping"</a></div>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="admin-table">
                            <thead><tr><th scope="col">"Order"</th><th scope="col">"Placed"</th><th scope="col">"Items"</th><th scope="col">"Total"</th><th scope="col">"Status"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|o| view! {
                                    <tr data-testid="order-row">
                                        <td><a href=format!("/orders/{}", o.order_id)>{format!("#{}", o.order_id)}</a></td>
                                        <td>{o.created_at.get(..10).unwrap_or_default().to_owned()}</td>
                                        <td>{o.items}</td>
                                        <td>{o.total.display()}</td>
                                        <td><span class=format!("status status-{}", o.status)>{o.status.label()}</span></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The steps an order goes through, marked done up to where it is.
#[component]
fn Timeline(status: OrderStatus) -> impl IntoView {
    let steps = [OrderStatus::Pending, OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered];
    let reached = steps.iter().position(|s| *s == status);
    let ended = (!steps.contains(&status)).then_some(status);
    view! {
        <ol class="timeline" aria-label="Order status">
            {steps.iter().enumerate().map(|(i, s)| {
                let done = reached.is_some_and(|r| i <= r) || (ended.is_some() && i == 0);
                let current = reached == Some(i);
                view! {
                    <li class:done=done class:current=current aria-current=current.then_some("step")>{s.label()}</li>
                }
            }).collect_view()}
            {ended.map(|s| view! { <li class="done current ended" aria-current="step">{s.label()}</li> })}
        </ol>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let actions = expect_context::<crate::ShopActions>();
    let (pay, confirm) = (actions.pay, actions.confirm);
    let cancel = ServerAction::<CancelOrder>::new();
    let order = Resource::new(
        move || (id(), pay.version().get(), cancel.version().get(), confirm.version().get()),
        |(id, ..)| get_order(id),
    );
    let cancel_feedback = Feedback::new(cancel.value());
    crate::ui::close_confirmation_when(move || matches!(cancel.value().get(), Some(Ok(_))), move || format!("/orders/{}", id()));
    pay.value().set(None);
    confirm.value().set(None);
    let feedback = Feedback::new(pay.value());
    let card_error = RwSignal::new(None::<String>);
    let card_busy = RwSignal::new(false);
    // Why the last payment did not go through: from the checkout (query), a card or a 3-D Secure check.
    let declined = RwSignal::new(query.read_untracked().get("declined"));
    after_payment(pay, move || pay.value().get().and_then(Result::ok), card_busy, move |p| declined.set(p.message));
    let seen_confirm = confirm.version().get_untracked();
    Effect::new(move |_| {
        if confirm.version().get() > seen_confirm {
            match confirm.value().get() {
                Some(Ok(p)) => declined.set(p.message),
                Some(Err(e)) => declined.set(Some(e.to_string())),
                None => {}
            }
        }
    });
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let (o, payment, saved_card) = match order.await {
                    Ok(x) => x,
                    Err(crate::error::AppError::Unauthorized(_)) => return sign_in_first(&format!("/orders/{}", id())),
                    Err(e) => {
                        return view! { <ErrorPanel error=e /> }.into_any();
                    }
                };
                let placed = query.read_untracked().get("placed").is_some() && o.status == OrderStatus::Paid;
                let payable = o.status == OrderStatus::Pending;
                let a = o.shipping_address.clone();
                view! {
                    <Title text=format!("Order #{}", o.order_id) />
                    <Meta name="description" content=format!("Order #{}: its items, payment, delivery address and status.", o.order_id) />
                    <h1>{format!("Order #{}", o.order_id)}</h1>
                    {placed.then(|| view! { <p class="notice" role="status" data-testid="order-placed">"Thank you! Your order is placed and paid."</p> })}
                    <p data-testid="order-status" class=format!("status status-{}", o.status)>{o.status.label()}</p>
                    <Timeline status=o.status />
                    {payable.then(|| view! {
                        <PayPanel order_id=o.order_id expires_at=o.expires_at.clone() saved_card=saved_card.clone() payment=payment.clone() declined feedback card_busy card_error />
                    })}
                    {o.cancellable_until.clone().map(|until| view! {
                        <CancelOrderForm order_id=o.order_id until paid=o.status == OrderStatus::Paid cancel feedback=cancel_feedback />
                    })}
                    {o.cancel_reason.clone().map(|r| view! {
                        <p class="notice" data-testid="cancel-reason">{format!("The seller cancelled this order: {r}")}</p>
                    })}
                    {if o.shipments.len() > 1 {
                        view! {
                            <h2>"Shipments"</h2>
                            <p class="muted small">"Your order comes from several shops: each sends its items in its own parcel."</p>
                            <ShipmentList shipments=o.shipments.clone() lines=o.lines.clone() />
                        }.into_any()
                    } else {
                        o.tracking_number.clone().map(|t| view! {
                            <p>"Tracking: " <TrackingLink number=t carrier=o.carrier.clone() url=o.tracking_url.clone() /></p>
                        }).into_any()
                    }}
                    <OrderItems o=o.clone() />
                    <h2>"Shipping to"</h2>
                    <address>
                        {a.name}<br />{a.line1}<br />{a.line2.map(|l| view! { {l}<br /> })}
                        {format!("{} {}", a.postal_code, a.city)}<br />{a.country}
                    </address>
                    {o.estimated_delivery.clone().map(|e| view! { <p class="muted" data-testid="estimated-delivery">"Estimated delivery: " {e}</p> })}
                    <p><a href="/orders">"All your orders"</a></p>
                }.into_any()
            })}
        </Suspense>
    }
}

/// Paying a pending order: with the card saved for its sale (an express buy), or another.
#[allow(clippy::too_many_arguments)]
#[component]
fn PayPanel(
    order_id: i64,
    expires_at: Option<String>,
    saved_card: Option<String>,
    payment: PaymentEntry,
    declined: RwSignal<Option<String>>,
    feedback: Feedback,
    card_busy: RwSignal<bool>,
    card_error: RwSignal<Option<String>>,
) -> impl IntoView {
    let actions = expect_context::<crate::ShopActions>();
    let (pay, confirm) = (actions.pay, actions.confirm);
    let working = move || pay.pending().get() || confirm.pending().get() || card_busy.get();
    view! {
        <section class="panel" aria-labelledby="pay-heading">
            <h2 id="pay-heading">"Pay for this order"</h2>
            {move || declined.get().map(|m| view! { <p class="form-error" role="alert" data-testid="declined">{m}</p> })}
            {expires_at.map(|t| view! { <p class="muted">"Your items are held until " <crate::ui::LocalTime at=t /> "."</p> })}
            <FormMessage feedback />
            {saved_card.map(|card| view! {
                <ActionForm action=pay attr:class="stack" attr:data-testid="pay-saved">
                    <input type="hidden" name="order_id" value=order_id />
                    <input type="hidden" name="saved_card" value="1" />
                    <button type="submit" data-testid="pay-saved-card" disabled=working>
                        {format!("Pay with {card}, saved for the sale")}
                    </button>
                </ActionForm>
                <p class="muted small">"Or pay with another card:"</p>
            })}
            {match payment {
                PaymentEntry::TestCards(cards) => view! {
                    <ActionForm action=pay attr:class="stack">
                        <input type="hidden" name="order_id" value=order_id />
                        <TestCardPicker cards />
                        <button type="submit" disabled=working>
                            {move || if pay.pending().get() { "Paying…" } else { "Pay now" }}
                        </button>
                    </ActionForm>
                }.into_any(),
                PaymentEntry::Card(entry) => {
                    let on_submit = card_submit(card_busy, card_error, move |args: PayOrder| { pay.dispatch(args); });
                    view! {
                        <form method="post" action="/api/fn/pay_order" class="stack" on:submit=on_submit>
                            <input type="hidden" name="order_id" value=order_id />
                            <CardField entry error=card_error />
                            <button type="submit" disabled=working>
                                {move || if working() { "Paying…" } else { "Pay now" }}
                            </button>
                        </form>
                    }.into_any()
                }
                PaymentEntry::NotSetUp => view! { <p class="form-error">"Card payments are not set up on this server yet."</p> }.into_any(),
            }}
        </section>
    }
}

/// "Cancel order…" while it may be, then a confirmation (a plain link before the wasm loads).
#[component]
fn CancelOrderForm(order_id: i64, until: String, paid: bool, cancel: ServerAction<CancelOrder>, feedback: Feedback) -> impl IntoView {
    let query = use_query_map();
    let page = format!("/orders/{order_id}");
    let released = if paid { "The hold on your card is released" } else { "Nothing is charged" };
    view! {
        <FormMessage feedback />
        <Form method="GET" action=page.clone() attr:class="row cancel-form">
            <input type="hidden" name="confirm" value="cancel" />
            <button type="submit" class="secondary danger">"Cancel order…"</button>
            <span class="muted small">"You can cancel until " <crate::ui::LocalTime at=until time_only=true />"."</span>
        </Form>
        {move || (query.read().get("confirm").as_deref() == Some("cancel")).then(|| view! {
            <ConfirmDialog title=format!("Cancel order #{order_id}?") back=page.clone()>
                <p>{format!("{released} and the items go back on sale. This cannot be undone.")}</p>
                <ActionForm action=cancel>
                    <input type="hidden" name="order_id" value=order_id />
                    <button type="submit" class="danger" data-testid="confirm-cancel-order" disabled=move || cancel.pending().get()>"Yes, cancel the order"</button>
                </ActionForm>
            </ConfirmDialog>
        })}
    }
}

/// The order's lines, its totals and its refunds.
#[component]
fn OrderItems(o: OrderView) -> impl IntoView {
    view! {
        <h2>"Items"</h2>
        <ul class="summary-lines">
            {o.lines.iter().map(|l| view! {
                <li data-testid="order-line">
                    <span>
                        {format!("{} × {}", l.quantity, l.title)}
                        {(!l.options.is_empty()).then(|| view! { " " <span class="muted small" data-testid="line-options">{format!("({})", l.options)}</span> })}
                        {(l.refunded_quantity > 0).then(|| view! { " " <span class="badge">{format!("{} refunded", l.refunded_quantity)}</span> })}
                    </span>
                    <span>{l.line_total.display()}</span>
                </li>
            }).collect_view()}
        </ul>
        <dl class="totals">
            <dt>"Subtotal"</dt><dd>{o.subtotal.display()}</dd>
            <dt>"Shipping (" {o.shipping_method.as_str()} ")"</dt><dd>{o.shipping.display()}</dd>
            <dt>"Tax"</dt><dd>{o.tax.display()}</dd>
            <dt>"Total"</dt><dd class="price" data-testid="order-total">{o.total.display()}</dd>
            {(o.refunded.amount > 0).then(|| view! { <dt>"Refunded"</dt><dd data-testid="order-refunded">{o.refunded.display()}</dd> })}
        </dl>
        {(!o.refunds.is_empty()).then(|| view! {
            <h2>"Refunds"</h2>
            <RefundList refunds=o.refunds.clone() />
        })}
    }
}
