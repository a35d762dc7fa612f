//! Rate limits of the embedded default: token buckets in a mutex-guarded map.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::Rule;
use super::port::{Limited, RateLimiter};
use crate::store::{StoreError, now_ms};

/// Past this many buckets the full ones are forgotten (a full bucket is the same as none).
const FORGET_FULL_PAST: usize = 100_000;

struct Bucket {
    tokens: f64,
    at_ms: i64,
    rule: Rule,
}

impl Bucket {
    fn refilled(&self, now: i64) -> f64 {
        (self.tokens + (now - self.at_ms).max(0) as f64 * self.rule.refill_per_ms()).min(self.rule.limit as f64)
    }
}

#[derive(Default)]
pub struct MemoryRateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl MemoryRateLimiter {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit_all(&self, checks: &[(&str, Rule)]) -> Result<Option<Limited>, StoreError> {
        let now = now_ms();
        let mut buckets = self.buckets.lock().expect("rate limiter mutex poisoned: a holder panicked");
        if buckets.len() > FORGET_FULL_PAST {
            buckets.retain(|_, b| b.refilled(now) < b.rule.limit as f64);
        }
        for (index, (key, rule)) in checks.iter().enumerate() {
            let bucket = buckets.entry((*key).to_owned()).or_insert(Bucket { tokens: rule.limit as f64, at_ms: now, rule: *rule });
            bucket.rule = *rule;
            bucket.tokens = bucket.refilled(now);
            bucket.at_ms = bucket.at_ms.max(now);
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
            } else {
                let wait_ms = ((1.0 - bucket.tokens) / rule.refill_per_ms()).ceil() as u64;
                return Ok(Some(Limited { index, retry_after: Duration::from_millis(wait_ms.max(1)) }));
            }
        }
        Ok(None)
    }
}
