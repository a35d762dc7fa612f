//! Shopper pages of flash sales: `/sales` (upcoming, live, recently ended) and `/sales/{id}`.
//! Both render on the server with the server's clock; times to the start and end come from it,
//! not from the browser's.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

use super::*;
use crate::checkout::{BuySale, after_buy_path};
use crate::ui::forms::{Feedback, FormMessage};
use crate::ui::{ErrorPanel, LocalTime, Loading};

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
        SaleState::Upcoming => format!("Starts in {} ({})", wait_text(sale.seconds_to_start), crate::ui::utc_text(&sale.starts_at, false)),
        SaleState::Live => format!("Ends in {}", wait_text(sale.seconds_to_end)),
        SaleState::SoldOut => "Every unit is taken.".to_owned(),
        SaleState::Ended => format!("Ended {}", crate::ui::utc_text(&sale.ends_at, false)),
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
                                        <p class="muted small">{match s.state {
                                            SaleState::Upcoming => view! { "Starts " <LocalTime at=s.starts_at.clone() /> }.into_any(),
                                            SaleState::Ended => view! { "Ended " <LocalTime at=s.ends_at.clone() /> }.into_any(),
                                            _ => view! { {when} }.into_any(),
                                        }}</p>
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
    let live = Live::default();
    provide_context(live);
    // Owned here, above what a push re-renders: the sale selling out (often by this very buy)
    // reloads the panel while the buy's answer is on its way, and the answer must still land.
    let buy = ServerAction::<BuySale>::new();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(h)) = buy.value().get() {
            navigate(&after_buy_path(&h), Default::default());
        }
    });
    let sale = Resource::new(move || (id(), live.refresh.get()), |(id, _)| async move {
        match id.parse::<i64>() {
            Ok(n) => get_sale(n).await,
            Err(_) => Err(crate::error::AppError::not_found(format!("There is no sale \"{id}\"."))),
        }
    });
    // After hydration: follow the sale over the websocket (no polling).
    Effect::new(move |_| {
        let Ok(sale_id) = id().parse::<i64>() else { return };
        #[cfg(feature = "hydrate")]
        super::live::follow(sale_id, move |event| live.apply(&event));
        #[cfg(not(feature = "hydrate"))]
        let _ = sale_id;
    });
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match sale.await {
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(s) => {
                        live.remaining.set(None);
                        let when = timing(&s);
                        let (remaining, allocated, limit) = (s.remaining, s.allocated, s.per_buyer_limit);
                        view! {
                            <Title text=format!("{} — flash sale", s.title) />
                            <Meta name="description" content=format!("{} at {} instead of {}: {} units, {}.", s.title, s.price.display(), s.regular_price.display(), s.allocated, when) />
                            <article class="sale" data-testid="sale" data-state=format!("{:?}", s.state).to_lowercase()>
                                <p><span class="badge" data-testid="sale-state">{s.state.label()}</span></p>
                                <h1>{s.title.clone()}</h1>
                                <SalePrice sale=s.clone() />
                                <p data-testid="sale-timing">{match s.state {
                                    SaleState::Upcoming => view! { <Countdown seconds=s.seconds_to_start starts_at=s.starts_at.clone() /> }.into_any(),
                                    SaleState::Ended => view! { "Ended " <LocalTime at=s.ends_at.clone() /> }.into_any(),
                                    _ => view! { {when} }.into_any(),
                                }}</p>
                                <p data-testid="sale-remaining" aria-live="polite">{move || format!("{} of {allocated} left · at most {limit} per shopper", live.remaining.get().unwrap_or(remaining))}</p>
                                {s.existing_accounts_only.then(|| view! {
                                    <p class="notice" data-testid="sale-eligibility">
                                        "Only accounts that existed when this sale was announced (" <LocalTime at=s.announced_at.clone() /> ") can join its line."
                                    </p>
                                })}
                                {s.verified_email_only.then(|| view! {
                                    <p class="notice" data-testid="sale-eligibility-email">"Only shoppers who confirmed their email address can join its line."</p>
                                })}
                                <QueuePanel sale=s.clone() buy />
                                <p><a href=crate::catalog::product_path(s.product_id)>"See the product"</a></p>
                                <details class="muted small">
                                    <summary>"How the line is drawn"</summary>
                                    <p>"Everyone who joins before the start gets a random place, not a place by speed: each ticket is SHA-256 of a secret seed and the shopper's number, and the line sorts the tickets. This is the SHA-256 of the seed, fixed before the start:"</p>
                                    <p><code data-testid="seed-hash">{s.draw_seed_sha256.clone()}</code></p>
                                    {s.draw_seed.clone().map(|seed| view! { <p>"The seed, revealed at the start: " <code data-testid="seed">{seed}</code></p> })}
                                    <p><a href=format!("/api/v1/sales/{}/draw", s.sale_id)>"Check the draw (your ticket and every pre-start ticket in order)"</a></p>
                                </details>
                            </article>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Joining, the place in line with the units left beside it, and the buy once let in. Plain
/// forms, so it works before the wasm has loaded.
#[component]
fn QueuePanel(sale: SaleView, buy: ServerAction<BuySale>) -> impl IntoView {
    let id = sale.sale_id;
    let join = ServerAction::<JoinQueue>::new();
    let leave = ServerAction::<LeaveQueue>::new();
    let remind = ServerAction::<RemindMe>::new();
    let live = expect_context::<Live>();
    let mine = Resource::new(move || (join.version().get(), leave.version().get(), remind.version().get(), live.place.get()), move |_| get_my_place(id));
    let upcoming = sale.state == SaleState::Upcoming;
    let feedback = Feedback::new(buy.value());
    let join_feedback = Feedback::new(join.value());
    let open = matches!(sale.state, SaleState::Upcoming | SaleState::Live | SaleState::SoldOut);
    let next = format!("/sales/{id}");
    view! {
        <section class="panel queue" aria-labelledby="queue-heading" data-testid="queue">
            <h2 id="queue-heading">"Your place"</h2>
            <Suspense fallback=Loading>
                {move || {
                    let next = next.clone();
                    Suspend::new(async move {
                        let me = match mine.await {
                            Ok(m) => m,
                            Err(e) => return view! { <ErrorPanel error=e /> }.into_any(),
                        };
                        if !open {
                            return view! { <p class="muted">"This sale is over."</p> }.into_any();
                        }
                        let express = (upcoming && me.signed_in).then(|| view! { <crate::checkout::pages::ExpressPanel sale_id=id me=me.clone() /> });
                        let reminder = (upcoming && me.signed_in).then(|| view! { <RemindForm sale_id=id registered=me.registered remind /> });
                        if !me.signed_in {
                            return view! {
                                <p>"Sign in to join the queue; you come back here after."</p>
                                <a class="button" href=format!("/signin?next={}", crate::ui::forms::url_encode(&next))>"Sign in to join"</a>
                            }.into_any();
                        }
                        if let Some(got) = me.got {
                            return view! { <GotYoursNote got /> }.into_any();
                        }
                        let place = match (me.place, me.not_eligible) {
                            (None, Some(why)) => {
                                view! {
                                    <p class="notice" role="status" data-testid="not-eligible">{why.message()}</p>
                                    {match why {
                                        Ineligible::EmailNotConfirmed { .. } => Some(view! { <crate::accounts::pages::SendLinkAgain back=next.clone() /> }),
                                        Ineligible::AccountTooNew { .. } => None,
                                    }}
                                }.into_any()
                            }
                            (None, None) => view! {
                                <FormMessage feedback=join_feedback />
                                <ActionForm action=join>
                                    <input type="hidden" name="sale_id" value=id />
                                    <button type="submit" data-testid="join">"Join the queue"</button>
                                </ActionForm>
                                <p class="muted small">"Joining before the start gives you a random place among everyone who joined before it; after the start, places go in order of arrival."</p>
                            }.into_any(),
                            (Some(q), _) if q.admitted => view! { <YourTurn sale_id=id limit=sale.per_buyer_limit q buy feedback /> }.into_any(),
                            (Some(q), _) => view! { <InLine sale_id=id q leave /> }.into_any(),
                        };
                        view! { {place} {reminder} {express} }.into_any()
                    })
                }}
            </Suspense>
        </section>
    }
}

/// "Remind me" before the start, or "Unregister" once registered.
#[component]
fn RemindForm(sale_id: i64, registered: bool, remind: ServerAction<RemindMe>) -> impl IntoView {
    view! {
        <ActionForm action=remind>
            <input type="hidden" name="sale_id" value=sale_id />
            <input type="hidden" name="remind" value=(!registered).to_string() />
            {if registered {
                view! { <p class="muted small" data-testid="reminded">"We will mail you at the start. " <button type="submit" class="link">"Unregister"</button></p> }.into_any()
            } else {
                view! { <button type="submit" class="secondary" data-testid="remind">"Remind me"</button> }.into_any()
            }}
        </ActionForm>
    }
}

/// The shopper has their limit of the sale: where their units are.
#[component]
fn GotYoursNote(got: GotYours) -> impl IntoView {
    let (detail, label) = match got.order_id {
        Some(order) if got.paid => (format!("Order #{order} is paid."), format!("See order #{order}")),
        Some(order) => (format!("Order #{order} waits for your payment."), format!("Pay for order #{order}")),
        None => ("Your units are held for you: check out before the hold ends.".to_owned(), "Check out".to_owned()),
    };
    view! {
        <p class="notice" role="status" data-testid="got-yours"><strong>"You got yours."</strong> " " {detail}</p>
        <a class="button" href=got.path() data-testid="got-yours-link">{label}</a>
    }
}

/// Let in: the buy, before the turn lapses.
#[component]
fn YourTurn(sale_id: i64, limit: i64, q: QueueView, buy: ServerAction<BuySale>, feedback: Feedback) -> impl IntoView {
    view! {
        <p class="notice" role="status" data-testid="admitted">{format!("It is your turn: {} left. Buy before your turn lapses at ", q.remaining)} <LocalTime at=q.token_expires_at.clone().unwrap_or_default() time_only=true /> "."</p>
        <FormMessage feedback />
        <ActionForm action=buy>
            <input type="hidden" name="sale_id" value=sale_id />
            <input type="hidden" name="token" value=q.token.clone().unwrap_or_default() />
            {(limit > 1).then(|| view! {
                <label>"Quantity " <input type="number" name="quantity" min="1" max=limit value="1" /></label>
            })}
            <button type="submit" data-testid="buy" disabled=move || buy.pending().get()>
                {move || if buy.pending().get() { "Taking your unit…" } else { "Buy" }}
            </button>
        </ActionForm>
    }
}

/// In line: the place, moving up as rounds let shoppers in, and leaving.
#[component]
fn InLine(sale_id: i64, q: QueueView, leave: ServerAction<LeaveQueue>) -> impl IntoView {
    let live = expect_context::<Live>();
    // Each round lets `admitted` in from the front: this place moves up as many. The estimate
    // can be behind (a round between the server's answer and this render, shoppers ahead who
    // left), so after a round the page asks for its real place whenever it may be next (within
    // one round of the front) or the estimate is impossible (more than are waiting): never
    // more than one ask per round and shopper.
    let seen = live.admitted.get_untracked();
    let position = move || q.position - (live.admitted.get() - seen);
    Effect::new(move |_| {
        let moved = live.admitted.get() > seen;
        let round = live.last_round.get().max(1);
        if moved && (position() <= round || position() > live.waiting.get()) {
            live.place.update(|n| *n += 1);
        }
    });
    let left = move || live.remaining.get().unwrap_or(q.remaining);
    view! {
        <p data-testid="position" role="status">
            {move || if left() > 0 {
                format!("#{} in line, {} left", position().max(1), left())
            } else {
                format!("#{} in line. Sold out for now: units that come back are offered to the next in line.", position().max(1))
            }}
        </p>
        {(q.remaining > 0).then(|| view! { <p class="muted">{format!("Your turn in about {}.", wait_text(q.eta_seconds))}</p> })}
        <ActionForm action=leave>
            <input type="hidden" name="sale_id" value=sale_id />
            <button type="submit" class="secondary" data-testid="leave">"Leave the queue"</button>
        </ActionForm>
    }
}

/// What the websocket says while the sale page is open.
#[derive(Clone, Copy, Default)]
struct Live {
    /// Bumped to reload the sale (start, end, a reconnection).
    refresh: RwSignal<u32>,
    /// Units left as last pushed (`None`: as loaded).
    remaining: RwSignal<Option<i64>>,
    /// Shoppers let in since the page loaded.
    admitted: RwSignal<i64>,
    /// Shoppers still waiting after the last round, and how many it let in.
    waiting: RwSignal<i64>,
    last_round: RwSignal<i64>,
    /// Bumped to reload the shopper's place.
    place: RwSignal<u32>,
}

impl Live {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn apply(self, event: &serde_json::Value) {
        let n = |k: &str| event.get(k).and_then(serde_json::Value::as_i64);
        match event.get("type").and_then(serde_json::Value::as_str).unwrap_or_default() {
            "sale_started" | "sale_ended" | "resync" => {
                self.refresh.try_update(|n| *n += 1);
                self.place.try_update(|n| *n += 1);
            }
            // Reloads happen when the sale turns sold out, not on every round after.
            "sale_stock" => {
                let sold_out_now = n("remaining") == Some(0) && self.remaining.get_untracked() != Some(0);
                self.remaining.try_set(n("remaining"));
                if sold_out_now {
                    self.refresh.try_update(|n| *n += 1); // the badge says sold out
                }
            }
            "queue_moved" => {
                let sold_out_now = n("remaining") == Some(0) && self.remaining.get_untracked() != Some(0);
                self.remaining.try_set(n("remaining"));
                self.waiting.try_set(n("waiting").unwrap_or(i64::MAX));
                self.last_round.try_set(n("admitted").unwrap_or(0));
                self.admitted.try_update(|a| *a += n("admitted").unwrap_or(0));
                if sold_out_now {
                    self.place.try_update(|n| *n += 1); // everyone in line is told at once
                }
            }
            _ => {}
        }
    }
}

/// "Starts in 2 h 05 min", counting down each second from the server's figure (so the
/// browser's clock does not matter); at zero the sale is reloaded once, in case the websocket
/// is down at that moment.
#[component]
fn Countdown(seconds: i64, starts_at: String) -> impl IntoView {
    let left = RwSignal::new(seconds);
    let live = expect_context::<Live>();
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                left.update(|s| *s -= 1);
                if left.get_untracked() == 0 {
                    live.refresh.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! { <span data-testid="countdown">{move || format!("Starts in {} (", wait_text(left.get()))} <LocalTime at=starts_at /> ")"</span> }
}
