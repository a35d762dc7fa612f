//! The wishlist: products a signed-in shopper saved for later. Its own area rather than part of
//! accounts: it lists catalog products, and accounts sits below the catalog (every area asks it
//! who the caller is), so accounts must not depend on catalog queries.

pub mod pages;
mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

pub use server_fns::*;
