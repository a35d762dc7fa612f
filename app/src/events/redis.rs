//! The event bus across nodes: Redis pub/sub forwarded into a local broadcast channel.

use fred::clients::{Pool, SubscriberClient};
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use tokio::sync::broadcast;

use super::ShopEvent;
use super::port::{EventBus, LOCAL_BUFFER};
use crate::store::StoreError;

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
        // fred resolves SUBSCRIBE once it is written, not when Redis has applied it, so an
        // event published right after `connect` could be missed. Redis answers a connection's
        // commands in order: the PING's reply means the subscription is live.
        subscriber.ping::<fred::types::Value>(None).await?;
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
