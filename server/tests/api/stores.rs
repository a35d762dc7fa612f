//! One contract suite per port (DESIGN §3), run against the embedded adapter and against Redis.

use std::sync::Arc;
use std::time::Duration;

use app::cart::{CartOwner, CartStore, CartTtl, RedisCartStore, SqlCartStore};
use app::catalog::port::{Lookup, ProductCache};
use app::catalog::{MemoryProductCache, RedisProductCache};
use app::catalog::{ProductDetail, SellerRef};
use app::events::{EventBus, LocalEventBus, RedisEventBus, ShopEvent};
use app::flash::{Hold, MemoryStockGate, Place, RedisStockGate, RoomAnswer, SaleTerms, StockGate, TakeOutcome, WaitingRoom, Warm, service};
use app::ids::HoldId;
use app::money::Money;
use app::ratelimit::{Decision, MemoryRateLimiter, RateLimiter, RedisRateLimiter, Rule};
use fred::prelude::{Builder, ClientLike, Config as RedisConfig};

use crate::helpers::{Backend, env_url, migrated_database, unique_name};

#[derive(Clone, Copy)]
enum Adapter {
    Embedded,
    Redis,
}

async fn redis_pool() -> anyhow::Result<fred::clients::Pool> {
    let url = env_url("TEST_REDIS_URL")?;
    let pool = Builder::from_config(RedisConfig::from_url(&url)?).build_pool(4)?;
    pool.init().await?;
    Ok(pool)
}

async fn cart_store(adapter: Adapter, ttl: CartTtl) -> anyhow::Result<Arc<dyn CartStore>> {
    Ok(match adapter {
        Adapter::Embedded => Arc::new(SqlCartStore::new(migrated_database(Backend::Sqlite).await?, ttl)),
        Adapter::Redis => Arc::new(RedisCartStore::new(redis_pool().await?, format!("{}:", unique_name("t")), ttl)),
    })
}

/// The stock gate and waiting room: one adapter holds both (a sale's state is shared).
#[derive(Clone)]
enum Flash {
    Memory(Arc<MemoryStockGate>),
    Redis(Arc<RedisStockGate>),
}

impl std::ops::Deref for Flash {
    type Target = dyn FlashStore;
    fn deref(&self) -> &Self::Target {
        match self {
            Flash::Memory(g) => g.as_ref(),
            Flash::Redis(g) => g.as_ref(),
        }
    }
}

trait FlashStore: StockGate + WaitingRoom {}
impl<T: StockGate + WaitingRoom> FlashStore for T {}

async fn flash(adapter: Adapter) -> anyhow::Result<Flash> {
    Ok(match adapter {
        Adapter::Embedded => Flash::Memory(Arc::new(MemoryStockGate::new())),
        Adapter::Redis => Flash::Redis(Arc::new(RedisStockGate::new(redis_pool().await?, format!("{}:", unique_name("t"))))),
    })
}

impl Adapter {
    fn name(self) -> &'static str {
        match self {
            Adapter::Embedded => "embedded",
            Adapter::Redis => "Redis",
        }
    }
}

/// Two handles on one bus, as two server nodes would have.
async fn event_buses(adapter: Adapter) -> anyhow::Result<(Arc<dyn EventBus>, Arc<dyn EventBus>)> {
    Ok(match adapter {
        Adapter::Embedded => {
            let bus: Arc<dyn EventBus> = Arc::new(LocalEventBus::new());
            (bus.clone(), bus)
        }
        Adapter::Redis => {
            let channel = unique_name("events");
            let url = env_url("TEST_REDIS_URL")?;
            let mut nodes = Vec::new();
            for _ in 0..2 {
                let sub = Builder::from_config(RedisConfig::from_url(&url)?).build_subscriber_client()?;
                nodes.push(Arc::new(RedisEventBus::connect(redis_pool().await?, sub, channel.clone()).await?) as Arc<dyn EventBus>);
            }
            (nodes.remove(0), nodes.remove(0))
        }
    })
}

fn eur(amount: i64) -> Money {
    Money::new(amount, "EUR")
}

fn guest(id: &str) -> CartOwner {
    CartOwner::Guest(format!("{id}-{}", unique_name("g")))
}

// ---- cart ----

async fn cart_set_quantity_is_idempotent_and_keeps_first_price(adapter: Adapter) -> anyhow::Result<()> {
    let carts = cart_store(adapter, CartTtl::default()).await?;
    let owner = guest("a");
    carts.set_quantity(&owner, "SKU-1", 2, &eur(1000)).await?;
    carts.set_quantity(&owner, "SKU-1", 2, &eur(1000)).await?;
    let lines = carts.lines(&owner).await?;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].quantity, 2, "set, not add");
    carts.set_quantity(&owner, "SKU-1", 5, &eur(1200)).await?;
    let lines = carts.lines(&owner).await?;
    assert_eq!(lines[0].quantity, 5);
    assert_eq!(lines[0].added_price, eur(1000), "the price when first added is kept");
    Ok(())
}

async fn cart_remove_zero_and_clear(adapter: Adapter) -> anyhow::Result<()> {
    let carts = cart_store(adapter, CartTtl::default()).await?;
    let owner = guest("b");
    for (sku, q) in [("SKU-B", 1), ("SKU-A", 3), ("SKU-C", 2)] {
        carts.set_quantity(&owner, sku, q, &eur(500)).await?;
    }
    let skus: Vec<String> = carts.lines(&owner).await?.into_iter().map(|l| l.sku).collect();
    assert_eq!(skus, ["SKU-A", "SKU-B", "SKU-C"], "lines are ordered by SKU");
    carts.remove(&owner, "SKU-B").await?;
    carts.set_quantity(&owner, "SKU-C", 0, &eur(500)).await?;
    let skus: Vec<String> = carts.lines(&owner).await?.into_iter().map(|l| l.sku).collect();
    assert_eq!(skus, ["SKU-A"]);
    carts.remove(&owner, "SKU-NOT-THERE").await?;
    carts.clear(&owner).await?;
    assert!(carts.lines(&owner).await?.is_empty());
    Ok(())
}

async fn carts_are_separate_per_owner(adapter: Adapter) -> anyhow::Result<()> {
    let carts = cart_store(adapter, CartTtl::default()).await?;
    let (a, b) = (guest("c"), CartOwner::User(i64::from(std::process::id())));
    carts.clear(&b).await?;
    carts.set_quantity(&a, "SKU-1", 1, &eur(100)).await?;
    carts.set_quantity(&b, "SKU-2", 4, &eur(100)).await?;
    assert_eq!(carts.lines(&a).await?.len(), 1);
    assert_eq!(carts.lines(&b).await?[0].sku, "SKU-2");
    carts.clear(&a).await?;
    assert_eq!(carts.lines(&b).await?.len(), 1, "clearing one cart leaves the other");
    carts.clear(&b).await?;
    Ok(())
}

async fn cart_expires_after_its_time_to_live(adapter: Adapter) -> anyhow::Result<()> {
    // Margins of ~700 ms either side keep this steady on a loaded machine.
    let ttl = CartTtl { guest: Duration::from_millis(2000), user: Duration::from_secs(60) };
    let carts = cart_store(adapter, ttl).await?;
    let owner = guest("d");
    carts.set_quantity(&owner, "SKU-1", 1, &eur(100)).await?;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    carts.set_quantity(&owner, "SKU-2", 1, &eur(100)).await?;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(carts.lines(&owner).await?.len(), 2, "a write renews the whole cart");
    tokio::time::sleep(Duration::from_millis(2700)).await;
    assert!(carts.lines(&owner).await?.is_empty(), "an untouched guest cart expires");
    Ok(())
}

// ---- stock gate and waiting room ----

const HOLD: Duration = Duration::from_secs(300);
const TOKEN: Duration = Duration::from_secs(300);

fn terms(starts_in_ms: i64, limit: i64) -> SaleTerms {
    let now = chrono::Utc::now().timestamp_millis();
    SaleTerms { starts_at_ms: now + starts_in_ms, ends_at_ms: now + 3_600_000, per_buyer_limit: limit, token_secret: "secret".into() }
}

/// A live sale with `remaining` units and no holds yet.
async fn live(gate: &Flash, sale_id: i64, remaining: i64, limit: i64) -> anyhow::Result<()> {
    assert!(gate.warm(sale_id, &Warm { terms: terms(-1000, limit), remaining, bought: vec![], holds: vec![] }, false).await?);
    Ok(())
}

/// Puts `buyers` in line and lets them all in (one round); their tokens.
async fn admitted(gate: &Flash, sale_id: i64, buyers: &[&str]) -> anyhow::Result<Vec<String>> {
    for b in buyers {
        gate.join(sale_id, b, &format!("ticket-{b}"), None).await?;
    }
    let round = gate.admit(sale_id, buyers.len() as i64, TOKEN).await?;
    assert!(round.ran);
    assert_eq!(round.admitted, buyers.len() as i64);
    let mut tokens = Vec::new();
    for b in buyers {
        match gate.place(sale_id, b).await? {
            RoomAnswer::Place(Place::Admitted { token, .. }) => tokens.push(token),
            other => panic!("{b} not admitted: {other:?}"),
        }
    }
    Ok(tokens)
}

async fn next_second() {
    let ms = chrono::Utc::now().timestamp_millis() % 1000;
    tokio::time::sleep(Duration::from_millis((1000 - ms + 20) as u64)).await;
}

async fn gate_sells_until_sold_out(adapter: Adapter) -> anyhow::Result<()> {
    let gate = flash(adapter).await?;
    assert_eq!(gate.try_take(1, "x", "t", 1, HOLD).await?, TakeOutcome::NotLoaded);
    live(&gate, 1, 3, 5).await?;
    assert!(!gate.warm(1, &Warm { terms: terms(0, 5), remaining: 99, bought: vec![], holds: vec![] }, false).await?, "a second warm changes nothing");
    let t = admitted(&gate, 1, &["a", "b", "c"]).await?;
    assert_eq!(gate.try_take(1, "a", "forged", 1, HOLD).await?, TakeOutcome::NotAdmitted, "the buy must carry the buyer's own token");
    assert_eq!(gate.try_take(1, "a", &t[1], 1, HOLD).await?, TakeOutcome::NotAdmitted, "another buyer's token is no token");
    let TakeOutcome::Held { remaining, hold } = gate.try_take(1, "a", &t[0], 2, HOLD).await? else { panic!("should hold") };
    assert_eq!((remaining, hold.quantity, hold.buyer.as_str()), (1, 2, "a"));
    assert_eq!(gate.try_take(1, "b", &t[1], 2, HOLD).await?, TakeOutcome::SoldOut { remaining: 1 });
    assert!(matches!(gate.try_take(1, "b", &t[1], 1, HOLD).await?, TakeOutcome::Held { remaining: 0, .. }));
    assert_eq!(gate.try_take(1, "c", &t[2], 1, HOLD).await?, TakeOutcome::SoldOut { remaining: 0 });
    assert_eq!(gate.remaining(1).await?, Some(0));
    assert_eq!(gate.remaining(2).await?, None);
    Ok(())
}

async fn gate_enforces_the_limit_and_one_hold_each(adapter: Adapter) -> anyhow::Result<()> {
    let gate = flash(adapter).await?;
    live(&gate, 7, 100, 3).await?;
    let t = admitted(&gate, 7, &["alice", "bob"]).await?;
    let TakeOutcome::Held { hold, .. } = gate.try_take(7, "alice", &t[0], 2, HOLD).await? else { panic!() };
    assert_eq!(gate.try_take(7, "alice", &t[0], 1, HOLD).await?, TakeOutcome::AlreadyHolding { hold_id: hold.id.clone() }, "one live hold at a time");
    assert!(gate.commit(7, &hold.id).await?);
    assert_eq!(gate.try_take(7, "alice", &t[0], 2, HOLD).await?, TakeOutcome::LimitReached { limit: 3, already: 2 }, "bought units count");
    assert!(matches!(gate.try_take(7, "alice", &t[0], 1, HOLD).await?, TakeOutcome::Held { .. }));
    assert_eq!(gate.try_take(7, "bob", &t[1], 4, HOLD).await?, TakeOutcome::LimitReached { limit: 3, already: 0 });
    assert!(matches!(gate.try_take(7, "bob", &t[1], 3, HOLD).await?, TakeOutcome::Held { .. }));
    assert_eq!(gate.remaining(7).await?, Some(94));
    Ok(())
}

async fn gate_release_and_commit_happen_once(adapter: Adapter) -> anyhow::Result<()> {
    let gate = flash(adapter).await?;
    live(&gate, 3, 10, 4).await?;
    let t = admitted(&gate, 3, &["a", "b"]).await?;
    let TakeOutcome::Held { hold: h1, .. } = gate.try_take(3, "a", &t[0], 4, HOLD).await? else { panic!() };
    let TakeOutcome::Held { hold: h2, .. } = gate.try_take(3, "b", &t[1], 3, HOLD).await? else { panic!() };
    assert_eq!(gate.remaining(3).await?, Some(3));
    assert!(gate.release(3, &h1.id).await?);
    assert!(!gate.release(3, &h1.id).await?, "a second release gives nothing back");
    assert_eq!(gate.remaining(3).await?, Some(7));
    assert!(matches!(gate.try_take(3, "a", &t[0], 4, HOLD).await?, TakeOutcome::Held { .. }), "released units count again for the buyer's limit");
    assert!(gate.extend(3, &h2.id, chrono::Utc::now().timestamp_millis() + 600_000).await?);
    assert!(gate.commit(3, &h2.id).await?);
    assert!(!gate.commit(3, &h2.id).await?);
    assert!(!gate.release(3, &h2.id).await?, "a committed hold cannot be released");
    assert!(!gate.extend(3, &h2.id, 0).await?);
    assert_eq!(gate.remaining(3).await?, Some(3));
    Ok(())
}

async fn gate_takes_only_while_the_sale_is_live(adapter: Adapter) -> anyhow::Result<()> {
    let gate = flash(adapter).await?;
    assert!(gate.warm(5, &Warm { terms: terms(60_000, 1), remaining: 5, bought: vec![], holds: vec![] }, false).await?);
    gate.join(5, "a", "ticket-a", Some(10)).await?;
    assert_eq!(gate.admit(5, 10, TOKEN).await?.admitted, 0, "nobody is let in before the start");
    assert_eq!(gate.try_take(5, "a", "t", 1, HOLD).await?, TakeOutcome::NotLive);
    // Edited before the start: the new figures replace the old, the line stays.
    assert!(gate.warm(5, &Warm { terms: terms(-1000, 1), remaining: 3, bought: vec![], holds: vec![] }, true).await?);
    assert_eq!(gate.remaining(5).await?, Some(3));
    assert_eq!(gate.place(5, "a").await?, RoomAnswer::Place(Place::Waiting { position: 1 }));
    assert_eq!(gate.admit(5, 10, TOKEN).await?.admitted, 1, "started by the edit: let in");
    live(&gate, 6, 5, 1).await?;
    let t = admitted(&gate, 6, &["a"]).await?;
    gate.close(6).await?;
    assert_eq!(gate.try_take(6, "a", &t[0], 1, HOLD).await?, TakeOutcome::NotLive, "closed: nothing more is taken");
    assert_eq!(gate.join(6, "b", "ticket-b", None).await?, RoomAnswer::Closed);
    assert_eq!(gate.remaining(6).await?, Some(5));
    Ok(())
}

async fn gate_warms_with_the_holds_and_buyers_it_had(adapter: Adapter) -> anyhow::Result<()> {
    let gate = flash(adapter).await?;
    let h1 = Hold { id: HoldId("h1".into()), sale_id: 8, buyer: "a".into(), quantity: 2, expires_at_ms: chrono::Utc::now().timestamp_millis() + 60_000 };
    let warm = Warm { terms: terms(-1000, 2), remaining: 5, bought: vec![("a".into(), 2), ("b".into(), 1)], holds: vec![h1] };
    assert!(gate.warm(8, &warm, false).await?);
    let t = admitted(&gate, 8, &["a", "b"]).await?;
    assert_eq!(gate.try_take(8, "a", &t[0], 1, HOLD).await?, TakeOutcome::AlreadyHolding { hold_id: HoldId("h1".into()) });
    assert!(gate.release(8, &HoldId("h1".into())).await?, "a warmed hold can be released");
    assert_eq!(gate.remaining(8).await?, Some(7));
    assert_eq!(gate.try_take(8, "b", &t[1], 2, HOLD).await?, TakeOutcome::LimitReached { limit: 2, already: 1 }, "bought before the restart counts");
    Ok(())
}

async fn gate_never_oversells_under_two_thousand_racing_buyers(adapter: Adapter) -> anyhow::Result<()> {
    let gate = flash(adapter).await?;
    live(&gate, 42, 100, 1).await?;
    let buyers: Vec<String> = (0..2000).map(|i| format!("buyer-{i}")).collect();
    let names: Vec<&str> = buyers.iter().map(String::as_str).collect();
    let tokens = admitted(&gate, 42, &names).await?;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for (b, t) in buyers.into_iter().zip(tokens) {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move { gate.try_take(42, &b, &t, 1, HOLD).await }));
    }
    let (mut held, mut sold_out) = (0, 0);
    for t in tasks {
        match t.await?? {
            TakeOutcome::Held { .. } => held += 1,
            TakeOutcome::SoldOut { remaining: 0 } => sold_out += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    eprintln!("2,000 racing buys on the {} gate: {:?}", adapter.name(), started.elapsed());
    assert_eq!(held, 100, "exactly the stock is held");
    assert_eq!(sold_out, 1900);
    assert_eq!(gate.remaining(42).await?, Some(0));
    Ok(())
}

/// One shopper firing many buys at once (tabs, a script) gets one hold, never over the limit.
async fn gate_holds_the_limit_for_one_buyer_racing_themself(adapter: Adapter) -> anyhow::Result<()> {
    let gate = flash(adapter).await?;
    live(&gate, 14, 100, 3).await?;
    let token = admitted(&gate, 14, &["eve"]).await?.remove(0);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (gate, token) = (gate.clone(), token.clone());
            tokio::spawn(async move { gate.try_take(14, "eve", &token, 1 + i % 3, HOLD).await })
        })
        .collect();
    let mut held = Vec::new();
    for t in tasks {
        match t.await?? {
            TakeOutcome::Held { hold, .. } => held.push(hold),
            TakeOutcome::AlreadyHolding { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(held.len(), 1, "one live hold at a time");
    assert_eq!(gate.remaining(14).await?, Some(100 - held[0].quantity));
    assert!(gate.commit(14, &held[0].id).await?);
    let left = 3 - held[0].quantity;
    let again = gate.try_take(14, "eve", &token, left + 1, HOLD).await?;
    assert_eq!(again, TakeOutcome::LimitReached { limit: 3, already: held[0].quantity }, "what was bought counts");
    Ok(())
}

async fn room_draw_is_a_shuffle_and_later_joins_queue_behind(adapter: Adapter) -> anyhow::Result<()> {
    let gate = flash(adapter).await?;
    assert!(gate.warm(9, &Warm { terms: terms(60_000, 1), remaining: 10, bought: vec![], holds: vec![] }, false).await?);
    let seed = "a-secret-seed";
    let mut places = Vec::new();
    for user in 1..=50_i64 {
        let ticket = service::ticket_of(seed, user);
        let RoomAnswer::Place(Place::Waiting { .. }) = gate.join(9, &user.to_string(), &ticket, Some(service::draw_score(&ticket))).await? else { panic!() };
    }
    for user in 1..=50_i64 {
        let RoomAnswer::Place(Place::Waiting { position }) = gate.place(9, &user.to_string()).await? else { panic!() };
        places.push(position);
    }
    let mut sorted = places.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=50).collect::<Vec<i64>>(), "every joiner has one place, no gap, no duplicate");
    assert_ne!(places, sorted, "the pre-start order is not the order of arrival");
    let ticket7 = service::ticket_of(seed, 7);
    assert_eq!(gate.join(9, "7", &ticket7, Some(service::draw_score(&ticket7))).await?, gate.place(9, "7").await?, "joining again is the same place");
    let mut expected: Vec<String> = (1..=50).map(|u| service::ticket_of(seed, u)).collect();
    expected.sort_by_key(|t| (service::draw_score(t), t.clone()));
    assert_eq!(gate.draw(9).await?, expected, "the draw lists the tickets in the order drawn");
    let first = expected.iter().position(|t| *t == service::ticket_of(seed, 1)).unwrap() as i64 + 1;
    assert_eq!(places[0], first, "a shopper's place is their ticket's place in the draw");
    assert_eq!(gate.join(9, "late", "ticket-late", None).await?, RoomAnswer::Place(Place::Waiting { position: 51 }), "after the draw, arrival order");
    assert_eq!(gate.waiting(9).await?, 51);
    Ok(())
}

async fn room_admits_a_batch_a_second_while_units_last(adapter: Adapter) -> anyhow::Result<()> {
    let gate = flash(adapter).await?;
    live(&gate, 11, 2, 1).await?;
    for i in 1..=10 {
        gate.join(11, &format!("s{i}"), &format!("t{i}"), None).await?;
    }
    next_second().await;
    let round = gate.admit(11, 3, TOKEN).await?;
    assert_eq!((round.ran, round.admitted, round.waiting, round.remaining), (true, 3, 7, 2));
    assert!(!gate.admit(11, 3, TOKEN).await?.ran, "one round a second, whichever node asks");
    assert_eq!(gate.place(11, "s4").await?, RoomAnswer::Place(Place::Waiting { position: 1 }), "the line moved up");
    assert!(gate.leave(11, "s4").await?);
    assert!(!gate.leave(11, "s4").await?);
    assert_eq!(gate.place(11, "s5").await?, RoomAnswer::Place(Place::Waiting { position: 1 }), "leaving frees the place");
    assert_eq!(gate.place(11, "s4").await?, RoomAnswer::NotInLine);
    for b in ["s1", "s2"] {
        let RoomAnswer::Place(Place::Admitted { token, .. }) = gate.place(11, b).await? else { panic!() };
        assert!(matches!(gate.try_take(11, b, &token, 1, HOLD).await?, TakeOutcome::Held { .. }));
    }
    next_second().await;
    let round = gate.admit(11, 3, TOKEN).await?;
    assert_eq!((round.admitted, round.remaining), (0, 0), "sold out: the room stops letting people in");
    Ok(())
}

async fn room_tokens_lapse(adapter: Adapter) -> anyhow::Result<()> {
    let gate = flash(adapter).await?;
    live(&gate, 12, 5, 1).await?;
    gate.join(12, "a", "ticket-a", None).await?;
    assert_eq!(gate.admit(12, 1, Duration::from_millis(300)).await?.admitted, 1);
    let RoomAnswer::Place(Place::Admitted { token, .. }) = gate.join(12, "a", "ticket-a", None).await? else { panic!() };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(gate.place(12, "a").await?, RoomAnswer::NotInLine, "a lapsed token frees the place");
    assert_eq!(gate.try_take(12, "a", &token, 1, HOLD).await?, TakeOutcome::NotAdmitted);
    assert_eq!(gate.refusals(12).await?, 0);
    gate.note_refusal(12).await?;
    gate.note_refusal(12).await?;
    assert_eq!((gate.refusals(12).await?, gate.refusals(13).await?), (2, 0), "refusals are counted per sale");
    Ok(())
}

// ---- event bus ----

async fn events_reach_every_node(adapter: Adapter) -> anyhow::Result<()> {
    let (node_a, node_b) = event_buses(adapter).await?;
    let mut on_a = node_a.subscribe();
    let mut on_b = node_b.subscribe();
    let event = ShopEvent::StockChanged { product_id: 9, sku: "SKU-9".into(), available: 3 };
    node_a.publish(event.clone()).await?;
    node_a.publish(ShopEvent::SaleStarted { sale_id: 1 }).await?;
    for rx in [&mut on_a, &mut on_b] {
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await??;
        assert_eq!(got, event);
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await??;
        assert_eq!(got, ShopEvent::SaleStarted { sale_id: 1 }, "in order");
    }
    Ok(())
}

// ---- product-page cache ----

async fn product_cache(adapter: Adapter, ttl: Duration) -> anyhow::Result<Arc<dyn ProductCache>> {
    Ok(match adapter {
        Adapter::Embedded => Arc::new(MemoryProductCache::new(ttl)),
        Adapter::Redis => Arc::new(RedisProductCache::new(redis_pool().await?, format!("{}:", unique_name("t")), ttl)),
    })
}

fn page(title: &str) -> ProductDetail {
    ProductDetail {
        product_id: 7,
        title: title.into(),
        description: String::new(),
        brand: "B".into(),
        tags: vec![],
        price: eur(100),
        rating: None,
        review_count: 0,
        in_stock: true,
        images: vec![],
        seller: SellerRef { seller_id: 1, name: "S".into() },
        categories: vec![],
        variants: vec![],
    }
}

async fn cache_hits_until_dropped_or_expired(adapter: Adapter) -> anyhow::Result<()> {
    let cache = product_cache(adapter, Duration::from_secs(1)).await?;
    let Lookup::Miss { generation } = cache.get(7).await? else { panic!("an empty cache hits") };
    cache.put(7, generation, &page("v1")).await?;
    assert_eq!(cache.get(7).await?, Lookup::Hit(page("v1")));
    assert!(matches!(cache.get(8).await?, Lookup::Miss { .. }), "pages are per product");
    cache.invalidate(7).await?;
    let Lookup::Miss { generation } = cache.get(7).await? else { panic!("a dropped page still hits") };
    cache.put(7, generation, &page("v2")).await?;
    assert_eq!(cache.get(7).await?, Lookup::Hit(page("v2")));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(matches!(cache.get(7).await?, Lookup::Miss { .. }), "the page outlived its time to live");
    Ok(())
}

/// A reader that loaded the old page before a change must not put it back after the drop.
async fn cache_refuses_a_page_loaded_before_a_change(adapter: Adapter) -> anyhow::Result<()> {
    let cache = product_cache(adapter, Duration::from_secs(300)).await?;
    let Lookup::Miss { generation: before } = cache.get(7).await? else { panic!() };
    cache.invalidate(7).await?;
    cache.put(7, before, &page("stale")).await?;
    let Lookup::Miss { generation: after } = cache.get(7).await? else { panic!("the stale page was stored") };
    assert_ne!(before, after);
    cache.put(7, after, &page("fresh")).await?;
    assert_eq!(cache.get(7).await?, Lookup::Hit(page("fresh")));
    Ok(())
}

async fn started(adapter: Adapter) -> anyhow::Result<Arc<dyn RateLimiter>> {
    Ok(match adapter {
        Adapter::Embedded => Arc::new(MemoryRateLimiter::new()),
        Adapter::Redis => Arc::new(RedisRateLimiter::new(redis_pool().await?, format!("{}:", unique_name("t")))),
    })
}

/// The buckets of one request are taken in order and the first empty one answers; those after
/// it keep their tokens, and other keys are apart.
async fn limits_take_in_order_and_stop_at_the_first_empty(adapter: Adapter) -> anyhow::Result<()> {
    let rl = started(adapter).await?;
    let minute = Duration::from_secs(60);
    let (user, ip) = (Rule { limit: 3, per: minute }, Rule { limit: 1, per: minute });
    assert_eq!(rl.hit_all(&[("user:1", user), ("ip:1", ip)]).await?, None);
    let limited = rl.hit_all(&[("user:1", user), ("ip:1", ip)]).await?.expect("the address has had its one");
    assert_eq!(limited.index, 1);
    assert!(limited.retry_after > Duration::from_secs(50) && limited.retry_after <= minute, "{:?}", limited.retry_after);
    // user:1 gave two of its three tokens; the third goes now and then it is empty.
    assert_eq!(rl.hit("user:1", user).await?, Decision::Allowed);
    assert_eq!(rl.hit_all(&[("user:1", user), ("ip:2", ip)]).await?.map(|l| l.index), Some(0));
    assert_eq!(rl.hit("ip:2", ip).await?, Decision::Allowed, "a bucket after the empty one was not touched");
    assert_eq!(rl.hit("user:2", user).await?, Decision::Allowed, "another key has its own bucket");
    assert_eq!(rl.hit_all(&[]).await?, None);
    Ok(())
}

/// A token comes back each `per / limit`.
async fn limits_refill_over_time(adapter: Adapter) -> anyhow::Result<()> {
    let rl = started(adapter).await?;
    let rule = Rule { limit: 2, per: Duration::from_secs(1) };
    assert_eq!(rl.hit("k", rule).await?, Decision::Allowed);
    assert_eq!(rl.hit("k", rule).await?, Decision::Allowed);
    let Decision::Limited { retry_after } = rl.hit("k", rule).await? else { panic!("the bucket is empty") };
    assert!(retry_after <= Duration::from_millis(500), "one token in half a second (asked to wait {retry_after:?})");
    tokio::time::sleep(retry_after + Duration::from_millis(50)).await;
    assert_eq!(rl.hit("k", rule).await?, Decision::Allowed);
    Ok(())
}

/// Many requests at once get exactly the bucket's tokens, no more.
async fn limits_hold_under_racing_requests(adapter: Adapter) -> anyhow::Result<()> {
    let rl = started(adapter).await?;
    let rule = Rule { limit: 50, per: Duration::from_secs(3600) };
    let tries = (0..300).map(|_| {
        let rl = rl.clone();
        tokio::spawn(async move { rl.hit_all(&[("hot", rule)]).await })
    });
    let mut allowed = 0;
    for t in tries {
        if t.await??.is_none() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 50);
    Ok(())
}

crate::per_backend!(4; [embedded => super::Adapter::Embedded, redis => super::Adapter::Redis] [
    cart_set_quantity_is_idempotent_and_keeps_first_price,
    cart_remove_zero_and_clear,
    carts_are_separate_per_owner,
    cart_expires_after_its_time_to_live,
    gate_sells_until_sold_out,
    gate_enforces_the_limit_and_one_hold_each,
    gate_release_and_commit_happen_once,
    gate_takes_only_while_the_sale_is_live,
    gate_warms_with_the_holds_and_buyers_it_had,
    gate_never_oversells_under_two_thousand_racing_buyers,
    gate_holds_the_limit_for_one_buyer_racing_themself,
    room_draw_is_a_shuffle_and_later_joins_queue_behind,
    room_admits_a_batch_a_second_while_units_last,
    room_tokens_lapse,
    events_reach_every_node,
    cache_hits_until_dropped_or_expired,
    cache_refuses_a_page_loaded_before_a_change,
    limits_take_in_order_and_stop_at_the_first_empty,
    limits_refill_over_time,
    limits_hold_under_racing_requests,
]);
