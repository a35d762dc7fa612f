//! The product-page cache port (DESIGN §3): a product's page data for up to five minutes, in
//! Redis (shared by every node) or in-process for the embedded default. Any change to the
//! product, its variants, prices or stock drops it on every node through the event bus.
//!
//! A reader that loaded the database just before a change must not put the old page back
//! after the change dropped it: every drop bumps the product's generation, and a put only
//! lands when the generation is still the one read before loading.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fred::clients::Pool;
use fred::interfaces::KeysInterface;
use fred::types::scripts::Script;

use super::ProductDetail;
use crate::events::{EventBus, ShopEvent};
use crate::store::StoreError;

pub const PRODUCT_TTL: Duration = Duration::from_secs(300);

/// What a lookup found: the page, or a miss with the generation to hand back to `put`.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Hit(ProductDetail),
    Miss { generation: u64 },
}

#[async_trait::async_trait]
pub trait ProductCache: Send + Sync + 'static {
    async fn get(&self, product_id: i64) -> Result<Lookup, StoreError>;
    /// Stores the page unless the product changed since the miss that gave `generation`.
    async fn put(&self, product_id: i64, generation: u64, detail: &ProductDetail) -> Result<(), StoreError>;
    async fn invalidate(&self, product_id: i64) -> Result<(), StoreError>;
    /// After missed events (a lagging listener): drop whatever this node holds.
    async fn invalidate_all(&self) -> Result<(), StoreError>;
}

/// In-process, for one node (the embedded default). Bounded: at the limit, expired pages go
/// first and then everything, which is only ever a cold cache.
pub struct MemoryProductCache {
    ttl: Duration,
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    pages: HashMap<i64, (Instant, ProductDetail)>,
    generations: HashMap<i64, u64>,
}

const MEMORY_LIMIT: usize = 20_000;

impl MemoryProductCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, inner: Mutex::new(MemoryInner::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl ProductCache for MemoryProductCache {
    async fn get(&self, product_id: i64) -> Result<Lookup, StoreError> {
        let inner = self.lock();
        match inner.pages.get(&product_id) {
            Some((at, page)) if at.elapsed() < self.ttl => Ok(Lookup::Hit(page.clone())),
            _ => Ok(Lookup::Miss { generation: inner.generations.get(&product_id).copied().unwrap_or(0) }),
        }
    }

    async fn put(&self, product_id: i64, generation: u64, detail: &ProductDetail) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.generations.get(&product_id).copied().unwrap_or(0) != generation {
            return Ok(());
        }
        if inner.pages.len() >= MEMORY_LIMIT {
            let ttl = self.ttl;
            inner.pages.retain(|_, (at, _)| at.elapsed() < ttl);
            if inner.pages.len() >= MEMORY_LIMIT {
                inner.pages.clear();
            }
        }
        inner.pages.insert(product_id, (Instant::now(), detail.clone()));
        Ok(())
    }

    async fn invalidate(&self, product_id: i64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.pages.remove(&product_id);
        *inner.generations.entry(product_id).or_insert(0) += 1;
        Ok(())
    }

    async fn invalidate_all(&self) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let ids: Vec<i64> = inner.pages.keys().copied().collect();
        inner.pages.clear();
        for id in ids {
            *inner.generations.entry(id).or_insert(0) += 1;
        }
        Ok(())
    }
}

/// Redis: `{prefix}product:{id}` holds the page as JSON with a TTL, `{prefix}product-gen:{id}`
/// its generation. Put and drop are Lua scripts, so the generation check and the write are
/// one step.
pub struct RedisProductCache {
    pool: Pool,
    prefix: String,
    ttl: Duration,
    put_script: Script,
    drop_script: Script,
}

const PUT_LUA: &str = r#"
local gen = redis.call('GET', KEYS[2]) or '0'
if gen ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"#;

// The generation outlives any page by far; if it expires it restarts at 0, and a reader
// holding an older number simply does not put.
const DROP_LUA: &str = r#"
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
"#;

impl RedisProductCache {
    pub fn new(pool: Pool, prefix: impl Into<String>, ttl: Duration) -> Self {
        Self { pool, prefix: prefix.into(), ttl, put_script: Script::from_lua(PUT_LUA), drop_script: Script::from_lua(DROP_LUA) }
    }

    fn keys(&self, id: i64) -> Vec<String> {
        vec![format!("{}product:{id}", self.prefix), format!("{}product-gen:{id}", self.prefix)]
    }
}

#[async_trait::async_trait]
impl ProductCache for RedisProductCache {
    async fn get(&self, product_id: i64) -> Result<Lookup, StoreError> {
        let (page, generation): (Option<String>, Option<u64>) = self.pool.next().mget(self.keys(product_id)).await?;
        if let Some(json) = page {
            match serde_json::from_str(&json) {
                Ok(detail) => return Ok(Lookup::Hit(detail)),
                // An older layout after an upgrade: a miss, and the next put replaces it.
                Err(e) => tracing::warn!(error = %e, product_id, "unreadable cached product page"),
            }
        }
        Ok(Lookup::Miss { generation: generation.unwrap_or(0) })
    }

    async fn put(&self, product_id: i64, generation: u64, detail: &ProductDetail) -> Result<(), StoreError> {
        let json = serde_json::to_string(detail).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let args = vec![generation.to_string(), json, self.ttl.as_secs().max(1).to_string()];
        let _: i64 = self.put_script.evalsha_with_reload(self.pool.next(), self.keys(product_id), args).await?;
        Ok(())
    }

    async fn invalidate(&self, product_id: i64) -> Result<(), StoreError> {
        let keep = (self.ttl.as_secs() * 24).max(3600).to_string();
        let _: i64 = self.drop_script.evalsha_with_reload(self.pool.next(), self.keys(product_id), vec![keep]).await?;
        Ok(())
    }

    async fn invalidate_all(&self) -> Result<(), StoreError> {
        // Shared by every node and dropped by whichever node heard the event; nothing is
        // held here. Missed drops expire with the TTL.
        Ok(())
    }
}

/// Drops cached pages as changes are announced, on this node (every node runs one).
pub fn spawn_invalidation(cache: Arc<dyn ProductCache>, events: &dyn EventBus) {
    let mut rx = events.subscribe();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            let result = match rx.recv().await {
                Ok(ShopEvent::ProductChanged { product_id }) | Ok(ShopEvent::StockChanged { product_id, .. }) => {
                    cache.invalidate(product_id).await
                }
                Ok(_) => Ok(()),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "product cache missed events; dropping this node's pages");
                    cache.invalidate_all().await
                }
                Err(RecvError::Closed) => break,
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "invalidating a cached product page");
            }
        }
    });
}
