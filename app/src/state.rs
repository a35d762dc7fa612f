//! The server's shared state, built once by the `server` crate and handed to server functions
//! through Leptos' context (and to axum handlers through `State`). It names only the ports
//! (`port.rs`, `engine.rs`) and rules of the areas, never their services, so every area may
//! depend on it without a circle.

use std::sync::Arc;

use leptos::prelude::*;
use sea_orm::DatabaseConnection;

use crate::cart::port::CartStore;
use crate::catalog::port::ProductCache;
use crate::checkout::rules::ShopRules;
use crate::error::AppError;
use crate::events::port::EventBus;
use crate::flash::port::{ExpressBuy, StockGate, WaitingRoom};
use crate::payments::CardEntry;
use crate::payments::port::PaymentGateway;
use crate::ratelimit::RateLimits;
use crate::ratelimit::port::RateLimiter;
use crate::search::engine::SearchEngine;

#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub stores: Stores,
    pub limits: RateLimits,
    /// Where uploaded pictures live (`<data dir>/media`), served under `/media`.
    pub media_dir: std::path::PathBuf,
    pub rules: ShopRules,
    /// Where write transactions begin (one at a time on SQLite, free on PostgreSQL).
    pub writer: crate::db::Writer,
    /// Stripe.js card entry in the browser (Stripe with a publishable key); none for the demo.
    pub card_entry: Option<CardEntry>,
    /// The express buy of a flash sale (checkout's, reached by the sale through this port).
    pub express: Arc<dyn ExpressBuy<AppState>>,
}

/// The ports of DESIGN §3, each backed by Redis or by the embedded adapter.
#[derive(Clone)]
pub struct Stores {
    pub carts: Arc<dyn CartStore>,
    pub stock_gate: Arc<dyn StockGate>,
    /// The same adapter as `stock_gate` (they share a sale's state).
    pub waiting_room: Arc<dyn WaitingRoom>,
    pub events: Arc<dyn EventBus>,
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub search: Arc<dyn SearchEngine>,
    pub product_cache: Arc<dyn ProductCache>,
    pub payments: Arc<dyn PaymentGateway>,
    pub redis: Option<fred::clients::Pool>,
}

/// The state inside a server function; missing context is a wiring bug, reported as internal.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}
