//! The product-page cache in Redis, shared by every node.

use std::time::Duration;

use fred::clients::Pool;
use fred::interfaces::KeysInterface;
use fred::types::scripts::Script;

use super::ProductDetail;
use super::port::{Lookup, ProductCache};
use crate::store::StoreError;

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
