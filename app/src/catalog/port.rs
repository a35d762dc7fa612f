//! The product-page cache port (DESIGN §3): a product's page data for up to five minutes, in
//! Redis (shared by every node) or in-process for the embedded default. Any change to the
//! product, its variants, prices or stock drops it on every node through the event bus.
//!
//! A reader that loaded the database just before a change must not put the old page back
//! after the change dropped it: every drop bumps the product's generation, and a put only
//! lands when the generation is still the one read before loading.

use std::sync::Arc;
use std::time::Duration;

use super::ProductDetail;
use crate::events::port::EventBus;
use crate::events::ShopEvent;
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
