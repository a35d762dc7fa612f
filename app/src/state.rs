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
use crate::flash::port::{StockGate, WaitingRoom};
use crate::payments::CardEntry;
use crate::payments::port::PaymentGateway;
use crate::ratelimit::RateLimits;
use crate::ratelimit::port::RateLimiter;
use crate::search::engine::SearchEngine;
use crate::store::Recent;

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
    pub recent: Recently,
    /// The breakers of what a page can do without (recommendations, reviews, wishlist).
    pub extras: crate::breaker::Extras,
    /// The generation of the pages this node keeps for anonymous visitors (the server's page
    /// cache): a change announced here moves it on at once, other nodes' through the event bus.
    pub page_generation: Arc<std::sync::atomic::AtomicU64>,
}

/// What the hot paths read on every request and may see a moment late (`Recent`): without
/// these a buy attempt made four database round trips before it reached the gate.
#[derive(Clone)]
pub struct Recently {
    /// Signed-in users by id (role, seller profile) with their session epoch, for 5 s; sign-in
    /// and a password change refresh their user.
    pub users: Recent<i64, (crate::accounts::CurrentUser, i64)>,
    /// Flash sales by id, for 1 s (a buy's price and variant; the gate decides the rest).
    pub sales: Recent<i64, Arc<crate::db::flash_sale::Model>>,
    /// Variant SKUs by variant id (they never change).
    pub skus: Recent<i64, String>,
    /// Whether a sale has any express-buy registration, for 1 s; registering forgets it.
    pub sale_has_express: Recent<i64, bool>,
    /// "Customers also bought" by product, for a minute (the worker counts every ten).
    pub also_bought: Recent<i64, Arc<Vec<crate::catalog::ProductSummary>>>,
    /// Whether a live sale has the extras switched off, for 1 s; the switch forgets it.
    pub extras_paused: Recent<(), bool>,
    /// Search answers by (page generation, as-you-type, query), for 30 s at most
    /// (`search::service::search`).
    pub searches: Recent<(u64, bool, String), Arc<crate::search::SearchResults>>,
}

impl Default for Recently {
    fn default() -> Self {
        use std::time::Duration;
        Self {
            users: Recent::new(Duration::from_secs(5), 200_000),
            sales: Recent::new(Duration::from_secs(1), 10_000),
            skus: Recent::new(Duration::from_secs(3600), 100_000),
            sale_has_express: Recent::new(Duration::from_secs(1), 10_000),
            also_bought: Recent::new(Duration::from_secs(60), 100_000),
            extras_paused: Recent::new(Duration::from_secs(1), 1),
            searches: Recent::new(Duration::from_secs(30), 1_000),
        }
    }
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
