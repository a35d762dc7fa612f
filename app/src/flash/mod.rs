//! Flash sales. This slice holds the stock gate port (DESIGN §3, §5): the one place a buyer's
//! claim on sale stock is checked and taken atomically, with a per-buyer limit and a hold that
//! expires back into stock. The database's `sold <= allocated` stays the final word.

#[cfg(feature = "ssr")]
pub mod embedded;
#[cfg(feature = "ssr")]
pub mod port;
#[cfg(feature = "ssr")]
pub mod redis;

#[cfg(feature = "ssr")]
pub use embedded::MemoryStockGate;
#[cfg(feature = "ssr")]
pub use port::{Hold, StockGate, TakeOutcome};
#[cfg(feature = "ssr")]
pub use redis::RedisStockGate;
