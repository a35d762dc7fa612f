//! The rate-limit port: one token bucket per key.

use std::time::Duration;

use super::{Decision, Rule};
use crate::store::StoreError;

/// Which of the buckets asked was empty, and when it has a token again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    /// The position of the empty bucket in the checks given.
    pub index: usize,
    pub retry_after: Duration,
}

#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Takes one token from each `(key, rule)` bucket in order, all in one step (one round trip
    /// to Redis), and stops at the first that is empty: the buckets before it keep the token
    /// they gave, the ones after it are not touched.
    async fn hit_all(&self, checks: &[(&str, Rule)]) -> Result<Option<Limited>, StoreError>;

    /// Takes one token from `key`'s bucket if there is one.
    async fn hit(&self, key: &str, rule: Rule) -> Result<Decision, StoreError> {
        Ok(match self.hit_all(&[(key, rule)]).await? {
            None => Decision::Allowed,
            Some(l) => Decision::Limited { retry_after: l.retry_after },
        })
    }
}
