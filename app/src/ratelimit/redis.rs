//! Rate limits in Redis: the token buckets as one Lua script, shared by every node. The buckets
//! of one request are taken in one call (the keys must live on one Redis: no cluster here).

use std::time::Duration;

use fred::clients::Pool;
use fred::types::scripts::Script;

use super::Rule;
use super::port::{Limited, RateLimiter};
use crate::store::{StoreError, now_ms};

/// ARGV: now, then capacity, refill per ms and time to live for each key in turn. Answers
/// `{0, 0}` when every bucket gave a token, else `{i, wait_ms}` for the first empty one (1-based).
const BUCKETS_LUA: &str = r#"
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local at = 2 + (i - 1) * 3
  local capacity, rate, ttl = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local b = redis.call('HMGET', key, 't', 'ts')
  local tokens = tonumber(b[1]) or capacity
  local ts = tonumber(b[2]) or now
  if now > ts then tokens = math.min(capacity, tokens + (now - ts) * rate) end
  local allowed = tokens >= 1
  if allowed then tokens = tokens - 1 end
  redis.call('HSET', key, 't', tostring(tokens), 'ts', tostring(math.max(now, ts)))
  redis.call('PEXPIRE', key, ttl)
  if not allowed then return {i, math.ceil((1 - tokens) / rate)} end
end
return {0, 0}
"#;

pub struct RedisRateLimiter {
    pool: Pool,
    prefix: String,
    script: Script,
}

impl RedisRateLimiter {
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self { pool, prefix: prefix.into(), script: Script::from_lua(BUCKETS_LUA) }
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit_all(&self, checks: &[(&str, Rule)]) -> Result<Option<Limited>, StoreError> {
        if checks.is_empty() {
            return Ok(None);
        }
        let keys: Vec<String> = checks.iter().map(|(key, _)| format!("{}rl:{key}", self.prefix)).collect();
        let mut args = Vec::with_capacity(1 + 3 * checks.len());
        args.push(now_ms().to_string());
        for (_, rule) in checks {
            args.push(rule.limit.to_string());
            args.push(format!("{:.12}", rule.refill_per_ms()));
            args.push((rule.per.as_millis() as u64 + 1000).to_string());
        }
        let (index, wait_ms): (i64, i64) = self.script.evalsha_with_reload(self.pool.next(), keys, args).await?;
        Ok((index > 0).then(|| Limited { index: index as usize - 1, retry_after: Duration::from_millis(wait_ms.max(1) as u64) }))
    }
}
