#![recursion_limit = "256"]

//! The `sellout` server: configuration, wiring of stores and routes, the REST API, and the
//! command line. `main.rs` is only the CLI entry; tests start the same `Application` in-process.

pub mod api;
pub mod client;
pub mod config;
pub mod headers;
pub mod images;
pub mod mail;
pub mod metrics;
pub mod page_fns;
pub mod page_cache;
pub mod personal;
pub mod push;
pub mod seed;
pub mod shoppers;
pub mod startup;
