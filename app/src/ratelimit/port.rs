//! The rate-limit port: one token bucket per key.

use super::{Decision, Rule};
use crate::store::StoreError;

#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Takes one token from `key`'s bucket if there is one.
    async fn hit(&self, key: &str, rule: Rule) -> Result<Decision, StoreError>;
}
