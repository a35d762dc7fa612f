//! Rate limits in Redis: the token bucket as one Lua script, shared by every node.

use std::time::Duration;

use fred::clients::Pool;
use fred::types::scripts::Script;

use super::port::RateLimiter;
use super::{Decision, Rule};
use crate::store::{StoreError, now_ms};

const BUCKET_LUA: &str = r#"
local capacity, rate, now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
if now > ts then tokens = math.min(capacity, tokens + (now - ts) * rate) end
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(math.max(now, ts)))
redis.call('PEXPIRE', KEYS[1], ttl)
if allowed == 1 then return {1, 0} end
return {0, math.ceil((1 - tokens) / rate)}
"#;

pub struct RedisRateLimiter {
    pool: Pool,
    prefix: String,
    script: Script,
}

impl RedisRateLimiter {
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self { pool, prefix: prefix.into(), script: Script::from_lua(BUCKET_LUA) }
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, rule: Rule) -> Result<Decision, StoreError> {
        let args = vec![
            rule.limit.to_string(),
            format!("{:.12}", rule.refill_per_ms()),
            now_ms().to_string(),
            (rule.per.as_millis() as u64 + 1000).to_string(),
        ];
        let (allowed, wait_ms): (i64, i64) =
            self.script.evalsha_with_reload(self.pool.next(), vec![format!("{}rl:{key}", self.prefix)], args).await?;
        Ok(if allowed == 1 {
            Decision::Allowed
        } else {
            Decision::Limited { retry_after: Duration::from_millis(wait_ms.max(1) as u64) }
        })
    }
}
