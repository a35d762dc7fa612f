//! The event bus of the embedded default: one process, one broadcast channel.

use tokio::sync::broadcast;

use super::ShopEvent;
use super::port::{EventBus, LOCAL_BUFFER};
use crate::store::StoreError;

/// One process, one broadcast channel.
pub struct LocalEventBus {
    tx: broadcast::Sender<ShopEvent>,
}

impl LocalEventBus {
    pub fn new() -> Self {
        Self { tx: broadcast::channel(LOCAL_BUFFER).0 }
    }
}

impl Default for LocalEventBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl EventBus for LocalEventBus {
    async fn publish(&self, event: ShopEvent) -> Result<(), StoreError> {
        // No receiver is not an error: nobody is listening yet.
        let _ = self.tx.send(event);
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<ShopEvent> {
        self.tx.subscribe()
    }
}

