//! The event bus port (DESIGN §3, §7): what happened in the shop, fanned out to every server
//! node (Redis pub/sub) and inside a node to whoever listens (caches, search, websockets).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ShopEvent {
    /// Title, description, price, images or status changed.
    ProductChanged { product_id: i64 },
    StockChanged { product_id: i64, sku: String, available: i64 },
    SaleStarted { sale_id: i64 },
    SaleStock { sale_id: i64, remaining: i64 },
}

#[cfg(feature = "ssr")]
pub use ports::*;

#[cfg(feature = "ssr")]
mod ports {
    use fred::clients::{Pool, SubscriberClient};
    use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
    use tokio::sync::broadcast;

    use super::ShopEvent;
    use crate::store::StoreError;

    const LOCAL_BUFFER: usize = 1024;

    #[async_trait::async_trait]
    pub trait EventBus: Send + Sync + 'static {
        /// Delivers to every subscriber on every node, this one included.
        async fn publish(&self, event: ShopEvent) -> Result<(), StoreError>;
        /// Events published after this call. A slow receiver may lag and miss old events
        /// (`RecvError::Lagged`), never block publishers.
        fn subscribe(&self) -> broadcast::Receiver<ShopEvent>;
    }

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

    /// Redis pub/sub: events go out with PUBLISH; a subscriber connection (resubscribed after
    /// reconnects by fred) forwards what arrives into a local broadcast channel.
    pub struct RedisEventBus {
        pool: Pool,
        channel: String,
        tx: broadcast::Sender<ShopEvent>,
        _subscriber: SubscriberClient,
    }

    impl RedisEventBus {
        pub async fn connect(pool: Pool, subscriber: SubscriberClient, channel: impl Into<String>) -> Result<Self, StoreError> {
            let channel = channel.into();
            let (tx, _) = broadcast::channel(LOCAL_BUFFER);
            subscriber.init().await?;
            let _ = subscriber.manage_subscriptions();
            let mut messages = subscriber.message_rx();
            subscriber.subscribe(channel.clone()).await?;
            let forward = tx.clone();
            tokio::spawn(async move {
                loop {
                    match messages.recv().await {
                        Ok(msg) => {
                            let Some(text) = msg.value.as_string() else { continue };
                            match serde_json::from_str::<ShopEvent>(&text) {
                                Ok(event) => {
                                    let _ = forward.send(event);
                                }
                                Err(e) => tracing::warn!(error = %e, "ignoring malformed event from redis"),
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "event bus subscriber lagged");
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
            Ok(Self { pool, channel, tx, _subscriber: subscriber })
        }
    }

    #[async_trait::async_trait]
    impl EventBus for RedisEventBus {
        async fn publish(&self, event: ShopEvent) -> Result<(), StoreError> {
            let json = serde_json::to_string(&event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            self.pool.next().publish::<(), _, _>(&self.channel, json).await?;
            Ok(())
        }

        fn subscribe(&self) -> broadcast::Receiver<ShopEvent> {
            self.tx.subscribe()
        }
    }
}
