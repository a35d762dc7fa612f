//! The stock gate in Redis: one Lua script per operation, keys of a sale on one cluster slot.

use std::time::Duration;

use fred::clients::Pool;
use fred::interfaces::KeysInterface;
use fred::types::scripts::Script;

use super::port::{Hold, StockGate, TakeOutcome, new_hold_id};
use crate::store::{StoreError, now_ms};

/// The Redis gate: one Lua script (run by EVALSHA, reloaded on NOSCRIPT) does each operation
/// atomically. All keys of a sale share the hash tag `{sale:N}` so they live on one cluster slot.
///
/// KEYS: remaining (string), buyers (hash buyer → units), holds (zset hold → expiry ms),
/// hold data (hash hold → "qty|buyer").
const GATE_LUA: &str = r#"
local op = ARGV[1]
local function give_back(hold_id)
  local data = redis.call('HGET', KEYS[4], hold_id)
  if not data then return 0 end
  local sep = string.find(data, '|', 1, true)
  local qty = tonumber(string.sub(data, 1, sep - 1))
  local buyer = string.sub(data, sep + 1)
  redis.call('HDEL', KEYS[4], hold_id)
  redis.call('ZREM', KEYS[3], hold_id)
  redis.call('INCRBY', KEYS[1], qty)
  if redis.call('HINCRBY', KEYS[2], buyer, -qty) <= 0 then redis.call('HDEL', KEYS[2], buyer) end
  return 1
end
if op == 'take' then
  local buyer, qty, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
  local remaining = redis.call('GET', KEYS[1])
  if not remaining then return {3, 0} end
  remaining = tonumber(remaining)
  local already = tonumber(redis.call('HGET', KEYS[2], buyer) or '0')
  if already + qty > limit then return {2, already} end
  if remaining < qty then return {1, remaining} end
  redis.call('DECRBY', KEYS[1], qty)
  redis.call('HINCRBY', KEYS[2], buyer, qty)
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])
  redis.call('HSET', KEYS[4], ARGV[5], qty .. '|' .. buyer)
  return {0, remaining - qty}
elseif op == 'release' then
  return give_back(ARGV[2])
elseif op == 'commit' then
  redis.call('ZREM', KEYS[3], ARGV[2])
  return redis.call('HDEL', KEYS[4], ARGV[2])
elseif op == 'expire' then
  local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[2], 'LIMIT', 0, 1000)
  local n = 0
  for _, id in ipairs(ids) do n = n + give_back(id) end
  return n
end
return redis.error_reply('unknown gate op ' .. tostring(op))
"#;

#[derive(Clone)]
pub struct RedisStockGate {
    pool: Pool,
    prefix: String,
    script: Script,
}

impl RedisStockGate {
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self { pool, prefix: prefix.into(), script: Script::from_lua(GATE_LUA) }
    }

    fn keys(&self, sale_id: i64) -> Vec<String> {
        let base = format!("{}{{sale:{sale_id}}}", self.prefix);
        vec![format!("{base}:remaining"), format!("{base}:buyers"), format!("{base}:holds"), format!("{base}:holddata")]
    }

    async fn run<R: fred::types::FromValue>(&self, sale_id: i64, args: Vec<String>) -> Result<R, StoreError> {
        Ok(self.script.evalsha_with_reload(self.pool.next(), self.keys(sale_id), args).await?)
    }
}

#[async_trait::async_trait]
impl StockGate for RedisStockGate {
    async fn load(&self, sale_id: i64, remaining: i64) -> Result<(), StoreError> {
        self.pool.set::<(), _, _>(&self.keys(sale_id)[0], remaining.max(0), None, None, false).await?;
        Ok(())
    }

    async fn remaining(&self, sale_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(self.pool.get::<Option<i64>, _>(&self.keys(sale_id)[0]).await?)
    }

    async fn try_take(
        &self,
        sale_id: i64,
        buyer: &str,
        quantity: i64,
        per_buyer_limit: i64,
        hold_for: Duration,
    ) -> Result<TakeOutcome, StoreError> {
        let id = new_hold_id();
        let expires_at_ms = now_ms() + hold_for.as_millis() as i64;
        let args = vec![
            "take".to_owned(),
            buyer.to_owned(),
            quantity.to_string(),
            per_buyer_limit.to_string(),
            id.clone(),
            expires_at_ms.to_string(),
        ];
        let (code, n): (i64, i64) = self.run(sale_id, args).await?;
        Ok(match code {
            0 => TakeOutcome::Held {
                hold: Hold { id, sale_id, buyer: buyer.to_owned(), quantity, expires_at_ms },
                remaining: n,
            },
            1 => TakeOutcome::SoldOut { remaining: n },
            2 => TakeOutcome::LimitReached { limit: per_buyer_limit, already: n },
            3 => TakeOutcome::NotLoaded,
            other => return Err(StoreError::Corrupt(format!("stock gate answered {other}"))),
        })
    }

    async fn release(&self, sale_id: i64, hold_id: &str) -> Result<bool, StoreError> {
        let n: i64 = self.run(sale_id, vec!["release".into(), hold_id.into()]).await?;
        Ok(n == 1)
    }

    async fn commit(&self, sale_id: i64, hold_id: &str) -> Result<bool, StoreError> {
        let n: i64 = self.run(sale_id, vec!["commit".into(), hold_id.into()]).await?;
        Ok(n == 1)
    }

    async fn release_expired(&self, sale_id: i64) -> Result<u64, StoreError> {
        let n: i64 = self.run(sale_id, vec!["expire".into(), now_ms().to_string()]).await?;
        Ok(n.max(0) as u64)
    }
}
