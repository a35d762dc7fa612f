//! Flash sales. This slice holds the stock gate port (DESIGN §3, §5): the one place a buyer's
//! claim on sale stock is checked and taken atomically, with a per-buyer limit and a hold that
//! expires back into stock. The database's `sold <= allocated` stays the final word.

#[cfg(feature = "ssr")]
mod gate;
#[cfg(feature = "ssr")]
pub use gate::*;
