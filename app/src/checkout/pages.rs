//! Checkout, the order list and an order with its status timeline. The checkout form is an
//! `ActionForm` (it works before the wasm loads); its idempotency key comes with the page, so
//! a double submit places one order.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_navigate;

use super::*;
use crate::payments::card::{CardField, TestCardPicker};
use crate::ui::forms::{Feedback, Field, FormMessage};
use crate::ui::{ErrorPanel, Loading};

pub(crate) fn sign_in_first(next: &str) -> AnyView {
    crate::ui::set_status(401);
    view! {
        <section class="empty-state">
            <p>"Please sign in to check out and see your orders."</p>
            <a class="button" href=format!("/signin?next={}", crate::ui::forms::url_encode(next))>"Sign in"</a>
        </section>
    }
    .into_any()
}

/// A submit handler for a form whose card is in Stripe's element: Stripe.js turns the card into
/// a payment method id, then `dispatch` gets the form's fields with it.
pub(crate) fn card_submit<T>(busy: RwSignal<bool>, error: RwSignal<Option<String>>, dispatch: impl Fn(T) + Clone + 'static) -> impl Fn(leptos::ev::SubmitEvent) + Clone + 'static
where
    T: serde::de::DeserializeOwned + 'static,
{
    move |ev| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let form = event_target::<leptos::web_sys::HtmlFormElement>(&ev);
        let dispatch = dispatch.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match crate::payments::card::form_with_card::<T>(form).await {
                Ok(args) => dispatch(args),
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    }
}

/// When a payment comes back needing 3-D Secure: the bank's check runs with Stripe.js, then
/// the server is asked for the outcome (it asks Stripe, whatever the page was told). Runs once
/// per completed `dispatch` of `action` (tracked by its version).
pub(crate) fn after_payment<A>(action: ServerAction<A>, placed: impl Fn() -> Option<Placed> + 'static, busy: RwSignal<bool>, on_done: impl Fn(Placed) + 'static)
where
    A: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
    A::Output: Send + Sync + 'static,
    A::Error: Send + Sync + 'static,
{
    let confirm = expect_context::<crate::ShopActions>().confirm;
    let handled = StoredValue::new(action.version().get_untracked());
    Effect::new(move |_| {
        let version = action.version().get();
        if version <= handled.get_value() {
            return;
        }
        let Some(p) = placed() else { return };
        handled.set_value(version);
        match p.client_secret.clone() {
            None => on_done(p),
            Some(secret) => {
                busy.set(true);
                leptos::task::spawn_local(async move {
                    // A failed or abandoned check is the server's to find out too.
                    let _ = crate::payments::card::authenticate(&secret).await;
                    confirm.dispatch(ConfirmPayment { order_id: p.order_id });
                    busy.set(false);
                });
            }
        }
    });
}

#[component]
pub fn CheckoutPage() -> impl IntoView {
    let actions = expect_context::<crate::ShopActions>();
    let (place, confirm) = (actions.place, actions.confirm);
    // `?hold=…`: checking out a flash-sale hold instead of the cart.
    let query = leptos_router::hooks::use_query_map();
    let hold = move || query.read().get("hold").filter(|h| !h.is_empty());
    let info = Resource::new(hold, get_checkout_info);
    // A result from an earlier visit is not this form's.
    place.value().set(None);
    confirm.value().set(None);
    let feedback = Feedback::new(place.value());
    let card_error = RwSignal::new(None::<String>);
    let card_busy = RwSignal::new(false);
    let navigate = use_navigate();
    // The actions are shared (the header's cart count follows them): only a submit made on this
    // visit of the page navigates.
    let go = navigate.clone();
    after_payment(place, move || place.value().get().and_then(Result::ok), card_busy, move |p| go(&order_page(&p), Default::default()));
    let seen_confirm = confirm.version().get_untracked();
    Effect::new(move |_| {
        if confirm.version().get() > seen_confirm {
            match confirm.value().get() {
                Some(Ok(p)) => navigate(&order_page(&p), Default::default()),
                Some(Err(e)) => card_error.set(Some(e.to_string())),
                None => {}
            }
        }
    });
    let working = move || place.pending().get() || confirm.pending().get() || card_busy.get();
    view! {
        <Title text="Checkout" />
        <Meta name="description" content="Check out: your delivery address and payment, and the order summary." />
        <h1>"Checkout"</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let info = match info.await {
                    Ok(i) => i,
                    Err(crate::error::AppError::Unauthorized(_)) => return sign_in_first(&match hold() {
                        Some(h) => format!("/checkout?hold={h}"),
                        None => "/checkout".to_owned(),
                    }),
                    Err(e) => return view! { <ErrorPanel error=e /> }.into_any(),
                };
                if info.cart.items.is_empty() {
                    return view! {
                        <section class="empty-state">
                            <p>"Your cart is empty, so there is nothing to check out."</p>
                            <a class="button" href="/">"Continue shopping"</a>
                        </section>
                    }.into_any();
                }
                let (method, set_method) = signal(feedback.kept("shipping_method"));
                let sub_amount = info.cart.subtotal.amount;
                let currency = info.cart.subtotal.currency.clone();
                let fields = view! {
                    <AddressFields addresses=info.addresses.clone() feedback />
                    <ShippingChoice sub_amount currency method set_method />
                };
                let timer = info.hold_seconds_left.map(|left| view! { <HoldTimer left until=info.hold_expires_at.clone().unwrap_or_default() /> });
                let hold_id = info.hold_id.as_ref().map(|h| h.to_string()).unwrap_or_default();
                let key = info.idempotency_key.clone();
                view! {
                    {timer}
                    <div class="checkout">
                        {match info.payment.clone() {
                            PaymentEntry::TestCards(cards) => view! {
                                <ActionForm action=place attr:class="stack checkout-form" attr:novalidate=true>
                                    <FormMessage feedback />
                                    <input type="hidden" name="idempotency_key" value=key />
                                    <input type="hidden" name="hold_id" value=hold_id />
                                    {fields}
                                    <TestCardPicker cards />
                                    {feedback.field("payment_method_id").map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                                    <button type="submit" disabled=working>
                                        {move || if place.pending().get() { "Placing your order…" } else { "Place order" }}
                                    </button>
                                </ActionForm>
                            }.into_any(),
                            PaymentEntry::Card(entry) => {
                                let on_submit = card_submit(card_busy, card_error, move |args: PlaceOrder| { place.dispatch(args); });
                                view! {
                                    <form method="post" action="/api/fn/place_order" class="stack checkout-form" novalidate=true on:submit=on_submit>
                                        <FormMessage feedback />
                                        <input type="hidden" name="idempotency_key" value=key />
                                        <input type="hidden" name="hold_id" value=hold_id />
                                        {fields}
                                        <CardField entry error=card_error />
                                        {feedback.field("payment_method_id").map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                                        <button type="submit" disabled=working>
                                            {move || if confirm.pending().get() || (card_busy.get() && !place.pending().get()) { "Checking your card…" }
                                                else if place.pending().get() { "Placing your order…" } else { "Place order" }}
                                        </button>
                                    </form>
                                }.into_any()
                            }
                            PaymentEntry::NotSetUp => view! {
                                <div class="stack checkout-form">
                                    {fields}
                                    <p class="form-error">"Card payments are not set up on this shop yet. Please try again later."</p>
                                </div>
                            }.into_any(),
                        }}
                        <OrderSummary cart=info.cart.clone() rate=info.tax_rate_bps method />
                    </div>
                }.into_any()
            })}
        </Suspense>
    }
}

/// The checkout's delivery address: one of the address book (the default chosen) or a new one,
/// whose fields show only once "A new address" is picked (all of them before the wasm loads).
#[component]
fn AddressFields(addresses: Vec<crate::accounts::Address>, feedback: Feedback) -> impl IntoView {
    let has_saved = !addresses.is_empty();
    let (use_new, set_use_new) = signal(!has_saved);
    view! {
        <fieldset class="stack">
            <legend>"Shipping address"</legend>
            {has_saved.then(|| view! {
                <div class="choice">
                    {addresses.iter().map(|a| {
                        let label = format!("{}, {}, {} {}, {}", a.name, a.line1, a.postal_code, a.city, a.country);
                        view! {
                            <label><input type="radio" name="shipping_address_id" value=a.address_id checked=a.is_default
                                on:change=move |_| set_use_new.set(false) />" " {label}</label>
                        }
                    }).collect_view()}
                    <label><input type="radio" name="shipping_address_id" value="new" on:change=move |_| set_use_new.set(true) />" A new address"</label>
                </div>
            })}
            {feedback.field("shipping_address_id").map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
            <div class="stack" class:hidden-js=move || !use_new.get()>
                <Field label="Full name" name="name" autocomplete="name" value=feedback.kept("name") feedback />
                <Field label="Street and number" name="line1" autocomplete="address-line1" value=feedback.kept("line1") feedback />
                <Field label="Apartment, floor (optional)" name="line2" autocomplete="address-line2" value=feedback.kept("line2") feedback />
                <div class="row">
                    <Field label="Postal code" name="postal_code" autocomplete="postal-code" value=feedback.kept("postal_code") feedback />
                    <Field label="City" name="city" autocomplete="address-level2" value=feedback.kept("city") feedback />
                </div>
                <div class="row">
                    <Field label="Region (optional)" name="region" autocomplete="address-level1" value=feedback.kept("region") feedback />
                    <Field label="Country code" name="country" autocomplete="country" value=feedback.kept("country") hint="Two letters, e.g. DE" feedback />
                </div>
            </div>
        </fieldset>
    }
}

/// Standard or express shipping with each one's price for this subtotal; the choice moves the
/// summary's totals.
#[component]
fn ShippingChoice(sub_amount: i64, currency: String, method: ReadSignal<String>, set_method: WriteSignal<String>) -> impl IntoView {
    view! {
        <fieldset class="choice">
            <legend>"Shipping"</legend>
            {ShippingMethod::ALL.iter().copied().map(|m| {
                let price = Money::new(m.price(sub_amount), &currency);
                let label = match m {
                    ShippingMethod::Standard => format!("Standard, {} working days: {}", m.days(), if price.amount == 0 { "free".to_owned() } else { price.display() }),
                    ShippingMethod::Express => format!("Express, {} working days: {}", m.days(), price.display()),
                };
                let checked = move || method.get() == m.as_str() || (method.get().is_empty() && m == ShippingMethod::Standard);
                view! {
                    <label><input type="radio" name="shipping_method" value=m.as_str() checked=checked
                        on:change=move |_| set_method.set(m.as_str().to_owned()) />" " {label}</label>
                }
            }).collect_view()}
        </fieldset>
    }
}

/// The lines and the totals, shipping and tax following the chosen method.
#[component]
fn OrderSummary(cart: crate::cart::CartView, rate: i64, method: ReadSignal<String>) -> impl IntoView {
    let sub_amount = cart.subtotal.amount;
    let currency = cart.subtotal.currency.clone();
    let shipping_of = move |m: &str| ShippingMethod::parse(m).unwrap_or(ShippingMethod::Standard).price(sub_amount);
    let (cur1, cur2) = (currency.clone(), currency.clone());
    view! {
        <aside class="order-summary" aria-labelledby="summary-heading">
            <h2 id="summary-heading">"Order summary"</h2>
            <ul class="summary-lines">
                {cart.items.iter().map(|i| view! {
                    <li><span>{format!("{} × {}", i.quantity, i.title)}</span><span>{i.line_total.display()}</span></li>
                }).collect_view()}
            </ul>
            <dl class="totals">
                <dt>"Subtotal"</dt><dd>{cart.subtotal.display()}</dd>
                <dt>"Shipping"</dt><dd data-testid="shipping">{move || Money::new(shipping_of(&method.get()), &cur1).display()}</dd>
                <dt>"Tax"</dt><dd>{move || Money::new(tax_of(sub_amount + shipping_of(&method.get()), rate), &cur2).display()}</dd>
                <dt>"Total"</dt><dd class="price" data-testid="total">{move || {
                    let s = shipping_of(&method.get());
                    Money::new(sub_amount + s + tax_of(sub_amount + s, rate), &currency).display()
                }}</dd>
            </dl>
        </aside>
    }
}

/// How long a flash-sale hold has left, counting down each second once the page is live (the
/// server renders the time at load). Paying in time keeps the units; past it they go back.
#[component]
fn HoldTimer(left: i64, until: String) -> impl IntoView {
    let left = RwSignal::new(left);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || left.update(|s| *s = (*s - 1).max(0)), std::time::Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <p class="notice hold-timer" role="timer" data-testid="hold-timer">
            <span hidden=move || left.get() == 0>
                {move || format!("Your units are held for you for {}:{:02} more (until ", left.get() / 60, left.get() % 60)}
                <crate::ui::LocalTime at=until time_only=true />
                "). Pay before then or they go back to the sale."
            </span>
            <span hidden=move || left.get() != 0>"Your hold has lapsed: its units went back to the sale. Join the queue again to try for another."</span>
        </p>
    }
}

/// Express buy, on a sale's page before the start: save an address and a card with the
/// registration, so that the buy, once let in, places and pays the order in one step. The demo
/// shop picks a test card (a plain form); with Stripe the card goes from the page to Stripe (a
/// SetupIntent).
#[component]
pub fn ExpressPanel(sale_id: i64, me: crate::flash::MyPlace) -> impl IntoView {
    use crate::payments::PaymentEntry;
    let save = ServerAction::<SaveExpress>::new();
    let feedback = Feedback::new(save.value());
    let card_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let was_saved = me.express.is_some();
    let before = me.express.clone();
    let saved = move || match save.value().get() {
        Some(Ok(r)) => r.express,
        _ => before.clone(),
    };
    let addresses = me.addresses.clone();
    let no_address = addresses.is_empty();
    let choose_address = move || view! {
        <label>"Ship to "
            <select name="shipping_address_id" required>
                {addresses.iter().map(|(id, line)| view! { <option value=*id>{line.clone()}</option> }).collect_view()}
            </select>
        </label>
    };
    let form = match me.card_saving.clone() {
        _ if no_address => view! {
            <p class="muted">"Add an address to " <a href="/account">"your account"</a> " first, then save it here."</p>
        }.into_any(),
        PaymentEntry::TestCards(cards) => view! {
            <ActionForm action=save attr:class="stack" attr:data-testid="express-form">
                <input type="hidden" name="sale_id" value=sale_id />
                {choose_address()}
                <TestCardPicker cards />
                <button type="submit" class="secondary" data-testid="save-express" disabled=move || save.pending().get()>"Save for express buy"</button>
            </ActionForm>
        }.into_any(),
        PaymentEntry::Card(entry) => {
            let on_submit = move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                if busy.get_untracked() {
                    return;
                }
                let form = event_target::<leptos::web_sys::HtmlFormElement>(&ev);
                let address = leptos::web_sys::FormData::new_with_form(&form).ok().and_then(|d| d.get("shipping_address_id").as_string());
                busy.set(true);
                card_error.set(None);
                leptos::task::spawn_local(async move {
                    let saved = match crate::payments::start_card_setup().await {
                        Ok(setup) => crate::payments::card::save_for_later(&setup.client_secret).await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    match saved {
                        Ok(pm) => {
                            save.dispatch(SaveExpress { sale_id, shipping_address_id: address, payment_method_id: Some(pm) });
                        }
                        Err(m) => card_error.set(Some(m)),
                    }
                    busy.set(false);
                });
            };
            view! {
                <form method="post" action="/api/fn/sale_express" class="stack" data-testid="express-form" on:submit=on_submit>
                    <input type="hidden" name="sale_id" value=sale_id />
                    {choose_address()}
                    <CardField entry error=card_error />
                    <button type="submit" class="secondary" data-testid="save-express" disabled=move || busy.get() || save.pending().get()>
                        {move || if busy.get() || save.pending().get() { "Saving…" } else { "Save for express buy" }}
                    </button>
                </form>
            }.into_any()
        }
        PaymentEntry::NotSetUp => view! { <p class="muted">"Express buy needs card payments, which are not set up on this shop."</p> }.into_any(),
    };
    view! {
        <details class="express" open=!was_saved data-testid="express">
            <summary>"Express buy: one step when it is your turn"</summary>
            {move || saved().map(|x| view! {
                <p class="notice" role="status" data-testid="express-saved">{format!("Express buy is on: when it is your turn, \"Buy\" places the order and pays with {}.", x.card)}</p>
            })}
            <p class="muted small">"Save an address and a card now; your card is only charged if you buy. Saving again replaces them."</p>
            <FormMessage feedback />
            {form}
        </details>
    }
}
