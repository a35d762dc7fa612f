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
    /// An admission round let `admitted` in: every place in line moved up by that many.
    QueueMoved { sale_id: i64, admitted: i64, waiting: i64, remaining: i64 },
    SaleEnded { sale_id: i64 },
}

#[cfg(feature = "ssr")]
pub mod embedded;
#[cfg(feature = "ssr")]
pub mod port;
#[cfg(feature = "ssr")]
pub mod redis;

#[cfg(feature = "ssr")]
pub use embedded::LocalEventBus;
#[cfg(feature = "ssr")]
pub use port::EventBus;
#[cfg(feature = "ssr")]
pub use redis::RedisEventBus;
