//! One contract suite per port (DESIGN §3), run against the embedded adapter and against Redis.

use std::sync::Arc;
use std::time::Duration;

use app::cart::{CartOwner, CartStore, CartTtl, RedisCartStore, SqlCartStore};
use app::catalog::port::{Lookup, ProductCache};
use app::catalog::{MemoryProductCache, RedisProductCache};
use app::catalog::{ProductDetail, SellerRef};
use app::events::{EventBus, LocalEventBus, RedisEventBus, ShopEvent};
use app::flash::{MemoryStockGate, RedisStockGate, StockGate, TakeOutcome};
use app::money::Money;
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

async fn stock_gate(adapter: Adapter) -> anyhow::Result<Arc<dyn StockGate>> {
    Ok(match adapter {
        Adapter::Embedded => Arc::new(MemoryStockGate::new()),
        Adapter::Redis => Arc::new(RedisStockGate::new(redis_pool().await?, format!("{}:", unique_name("t")))),
    })
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

// ---- stock gate ----

const HOLD: Duration = Duration::from_secs(300);

async fn gate_sells_until_sold_out(adapter: Adapter) -> anyhow::Result<()> {
    let gate = stock_gate(adapter).await?;
    assert_eq!(gate.try_take(1, "x", 1, 5, HOLD).await?, TakeOutcome::NotLoaded);
    gate.load(1, 3).await?;
    let TakeOutcome::Held { remaining, .. } = gate.try_take(1, "a", 2, 5, HOLD).await? else { panic!("should hold") };
    assert_eq!(remaining, 1);
    assert_eq!(gate.try_take(1, "b", 2, 5, HOLD).await?, TakeOutcome::SoldOut { remaining: 1 });
    assert!(matches!(gate.try_take(1, "b", 1, 5, HOLD).await?, TakeOutcome::Held { remaining: 0, .. }));
    assert_eq!(gate.try_take(1, "c", 1, 5, HOLD).await?, TakeOutcome::SoldOut { remaining: 0 });
    assert_eq!(gate.remaining(1).await?, Some(0));
    assert_eq!(gate.remaining(2).await?, None);
    Ok(())
}

async fn gate_enforces_the_per_buyer_limit(adapter: Adapter) -> anyhow::Result<()> {
    let gate = stock_gate(adapter).await?;
    gate.load(7, 100).await?;
    assert!(matches!(gate.try_take(7, "alice", 2, 3, HOLD).await?, TakeOutcome::Held { .. }));
    assert_eq!(gate.try_take(7, "alice", 2, 3, HOLD).await?, TakeOutcome::LimitReached { limit: 3, already: 2 });
    assert!(matches!(gate.try_take(7, "alice", 1, 3, HOLD).await?, TakeOutcome::Held { .. }));
    assert!(matches!(gate.try_take(7, "bob", 3, 3, HOLD).await?, TakeOutcome::Held { .. }));
    assert_eq!(gate.remaining(7).await?, Some(94));
    Ok(())
}

async fn gate_release_and_commit_happen_once(adapter: Adapter) -> anyhow::Result<()> {
    let gate = stock_gate(adapter).await?;
    gate.load(3, 10).await?;
    let TakeOutcome::Held { hold: h1, .. } = gate.try_take(3, "a", 4, 4, HOLD).await? else { panic!() };
    let TakeOutcome::Held { hold: h2, .. } = gate.try_take(3, "b", 3, 4, HOLD).await? else { panic!() };
    assert_eq!(gate.remaining(3).await?, Some(3));
    assert!(gate.release(3, &h1.id).await?);
    assert!(!gate.release(3, &h1.id).await?, "a second release gives nothing back");
    assert_eq!(gate.remaining(3).await?, Some(7));
    assert!(matches!(gate.try_take(3, "a", 4, 4, HOLD).await?, TakeOutcome::Held { .. }), "released units count again for the buyer's limit");
    assert!(gate.commit(3, &h2.id).await?);
    assert!(!gate.commit(3, &h2.id).await?);
    assert!(!gate.release(3, &h2.id).await?, "a committed hold cannot be released");
    assert_eq!(gate.remaining(3).await?, Some(3));
    Ok(())
}

async fn gate_expired_holds_return_to_stock(adapter: Adapter) -> anyhow::Result<()> {
    let gate = stock_gate(adapter).await?;
    gate.load(4, 5).await?;
    let TakeOutcome::Held { hold: short, .. } = gate.try_take(4, "a", 2, 5, Duration::from_millis(50)).await? else { panic!() };
    assert!(matches!(gate.try_take(4, "b", 1, 5, HOLD).await?, TakeOutcome::Held { .. }));
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(gate.release_expired(4).await?, 1);
    assert_eq!(gate.release_expired(4).await?, 0, "released once");
    assert_eq!(gate.remaining(4).await?, Some(4));
    assert!(!gate.commit(4, &short.id).await?, "an expired hold can no longer become an order");
    Ok(())
}

async fn gate_never_oversells_under_a_thousand_racing_buyers(adapter: Adapter) -> anyhow::Result<()> {
    let gate = stock_gate(adapter).await?;
    gate.load(42, 100).await?;
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move { gate.try_take(42, &format!("buyer-{i}"), 1, 1, HOLD).await }));
    }
    let (mut held, mut sold_out) = (0, 0);
    for t in tasks {
        match t.await?? {
            TakeOutcome::Held { .. } => held += 1,
            TakeOutcome::SoldOut { remaining: 0 } => sold_out += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(held, 100, "exactly the stock is sold");
    assert_eq!(sold_out, 900);
    assert_eq!(gate.remaining(42).await?, Some(0));
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

macro_rules! contract_suite {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() -> anyhow::Result<()> { super::$name(super::Adapter::Embedded).await })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() -> anyhow::Result<()> { super::$name(super::Adapter::Redis).await })*
        }
    };
}

contract_suite!(
    cart_set_quantity_is_idempotent_and_keeps_first_price,
    cart_remove_zero_and_clear,
    carts_are_separate_per_owner,
    cart_expires_after_its_time_to_live,
    gate_sells_until_sold_out,
    gate_enforces_the_per_buyer_limit,
    gate_release_and_commit_happen_once,
    gate_expired_holds_return_to_stock,
    gate_never_oversells_under_a_thousand_racing_buyers,
    events_reach_every_node,
    cache_hits_until_dropped_or_expired,
    cache_refuses_a_page_loaded_before_a_change,
);
