//! The event bus port: publish to every node, subscribe on this one.

use tokio::sync::broadcast;

use super::ShopEvent;
use crate::store::StoreError;

/// How many events a slow local receiver may fall behind before it lags.
pub const LOCAL_BUFFER: usize = 1024;

#[async_trait::async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Delivers to every subscriber on every node, this one included.
    async fn publish(&self, event: ShopEvent) -> Result<(), StoreError>;
    /// Events published after this call. A slow receiver may lag and miss old events
    /// (`RecvError::Lagged`), never block publishers.
    fn subscribe(&self) -> broadcast::Receiver<ShopEvent>;
}

