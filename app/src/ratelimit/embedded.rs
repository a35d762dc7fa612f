//! Rate limits of the embedded default: token buckets in a mutex-guarded map.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::port::RateLimiter;
use super::{Decision, Rule};
use crate::store::{StoreError, now_ms};

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
