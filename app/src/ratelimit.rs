//! Rate limits (DESIGN §3): a token bucket per key. `limit` requests may burst, then one more
//! each `per / limit`. Redis runs the bucket as one Lua script; the embedded adapter keeps it
//! in a mutex-guarded map.

use std::time::Duration;

/// `limit` requests per `per`, e.g. 10 per minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub limit: u32,
    pub per: Duration,
}

impl Rule {
    /// Parses `N/30s`, `N/5m`, `N/1h` (or a bare number of seconds).
    pub fn parse(s: &str) -> Result<Rule, String> {
        let bad = || format!("expected a limit such as 10/60s, 20/5m or 100/1h (got \"{s}\")");
        let (n, per) = s.trim().split_once('/').ok_or_else(bad)?;
        let limit: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = per.trim();
        let (digits, unit) = per.split_at(per.find(|c: char| !c.is_ascii_digit()).unwrap_or(per.len()));
        let amount: u64 = digits.parse().map_err(|_| bad())?;
        let secs = match unit {
            "" | "s" => amount,
            "m" => amount * 60,
            "h" => amount * 3600,
            _ => return Err(bad()),
        };
        if limit == 0 || secs == 0 {
            return Err(bad());
        }
        Ok(Rule { limit, per: Duration::from_secs(secs) })
    }

    #[cfg(feature = "ssr")]
    fn refill_per_ms(&self) -> f64 {
        self.limit as f64 / self.per.as_millis() as f64
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; a token will be there after `retry_after`.
    Limited { retry_after: Duration },
}

/// The limits the shop applies, from `SELLOUT_RATE_*` (README). `enabled = false`
/// (`SELLOUT_RATE_LIMITS=off`) turns every limit off, for loopback load tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub enabled: bool,
    pub signin_per_ip: Rule,
    pub signin_per_email: Rule,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            signin_per_ip: Rule { limit: 30, per: Duration::from_secs(300) },
            signin_per_email: Rule { limit: 10, per: Duration::from_secs(300) },
        }
    }
}

#[cfg(feature = "ssr")]
pub use ports::*;

#[cfg(feature = "ssr")]
mod ports {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Duration;

    use fred::clients::Pool;
    use fred::types::scripts::Script;

    use super::{Decision, Rule};
    use crate::store::{StoreError, now_ms};

    #[async_trait::async_trait]
    pub trait RateLimiter: Send + Sync + 'static {
        /// Takes one token from `key`'s bucket if there is one.
        async fn hit(&self, key: &str, rule: Rule) -> Result<Decision, StoreError>;
    }

    #[derive(Default)]
    pub struct MemoryRateLimiter {
        buckets: Mutex<HashMap<String, (f64, i64)>>,
    }

    impl MemoryRateLimiter {
        pub fn new() -> Self {
            Self::default()
        }
    }

    #[async_trait::async_trait]
    impl RateLimiter for MemoryRateLimiter {
        async fn hit(&self, key: &str, rule: Rule) -> Result<Decision, StoreError> {
            let now = now_ms();
            let rate = rule.refill_per_ms();
            let mut buckets = self.buckets.lock().expect("rate limiter mutex poisoned: a holder panicked");
            if buckets.len() > 100_000 {
                // Forget full buckets so the map cannot grow without end.
                let cap = rule.limit as f64;
                buckets.retain(|_, (tokens, ts)| *tokens + (now - *ts) as f64 * rate < cap);
            }
            let (tokens, ts) = buckets.entry(key.to_owned()).or_insert((rule.limit as f64, now));
            *tokens = (*tokens + (now - *ts).max(0) as f64 * rate).min(rule.limit as f64);
            *ts = now;
            if *tokens >= 1.0 {
                *tokens -= 1.0;
                Ok(Decision::Allowed)
            } else {
                let wait_ms = ((1.0 - *tokens) / rate).ceil() as u64;
                Ok(Decision::Limited { retry_after: Duration::from_millis(wait_ms.max(1)) })
            }
        }
    }

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_units() {
        assert_eq!(Rule::parse("10/60s").unwrap(), Rule { limit: 10, per: Duration::from_secs(60) });
        assert_eq!(Rule::parse(" 5 / 5m ").unwrap(), Rule { limit: 5, per: Duration::from_secs(300) });
        assert_eq!(Rule::parse("100/1h").unwrap().per, Duration::from_secs(3600));
        assert_eq!(Rule::parse("3/30").unwrap().per, Duration::from_secs(30));
        for bad in ["", "10", "0/60s", "10/0s", "x/60s", "10/5d", "-1/60s"] {
            assert!(Rule::parse(bad).is_err(), "{bad:?}");
        }
    }
}
