//! Builds the state once (database, stores) and the router, then serves.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use app::cart::{CartTtl, RedisCartStore, SqlCartStore};
use app::catalog::port::PRODUCT_TTL;
use app::workers::Workers;
use app::catalog::{MemoryProductCache, RedisProductCache};
use app::events::{LocalEventBus, RedisEventBus};
use app::accounts::session::{AnySessionStore, SqlSessionStore};
use app::flash::{MemoryStockGate, RedisStockGate};
use app::ratelimit::{MemoryRateLimiter, RedisRateLimiter};
use app::state::{AppState, Stores};
use app::{App, shell};
use axum::Router;
use axum::routing::get;
use fred::prelude::{ClientLike, Config as RedisConfig, Builder};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use migrations::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_redis_store::RedisStore;

use crate::config::Config;
use crate::metrics::Metrics;

/// Opens the database and applies pending migrations.
pub async fn open_database(cfg: &Config) -> anyhow::Result<DatabaseConnection> {
    if cfg.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("creating the data directory {}", cfg.data_dir.display()))?;
    }
    let db = app::db::connect(&cfg.database_url)
        .await
        .with_context(|| format!("connecting to DATABASE_URL {}", redact(&cfg.database_url)))?;
    Migrator::up(&db, None).await.context("applying database migrations")?;
    Ok(db)
}

/// A URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub fn search_index_dir(cfg: &Config) -> std::path::PathBuf {
    cfg.data_dir.join("search-index")
}

/// The ports: Redis adapters when `REDIS_URL` is set, embedded ones otherwise; the search
/// index (tantivy, under the data dir) either way, kept current by the event bus.
/// `generation`: the state's `page_generation`, moved on after each index update.
pub async fn build_stores(cfg: &Config, db: &DatabaseConnection, prefix: &str, generation: Arc<std::sync::atomic::AtomicU64>) -> anyhow::Result<Stores> {
    let engine = app::search::service::open_current(db, Some(&search_index_dir(cfg)))
        .await
        .context("opening the search index")?;
    let search: Arc<dyn app::search::engine::SearchEngine> = Arc::new(engine.clone());
    let stores = match &cfg.redis_url {
        Some(url) => {
            let rc = RedisConfig::from_url(url).context("REDIS_URL is not a valid Redis URL")?;
            let pool = redis_pool(url).await?;
            let subscriber = redis_builder(rc).build_subscriber_client().context("creating the Redis subscriber")?;
            let events = RedisEventBus::connect(pool.clone(), subscriber, format!("{prefix}events")).await?;
            let gate = Arc::new(RedisStockGate::new(pool.clone(), prefix));
            Stores {
                carts: Arc::new(RedisCartStore::new(pool.clone(), prefix, CartTtl::default())),
                stock_gate: gate.clone(),
                waiting_room: gate,
                events: Arc::new(events),
                rate_limiter: Arc::new(RedisRateLimiter::new(pool.clone(), prefix)),
                search,
                product_cache: Arc::new(RedisProductCache::new(pool.clone(), prefix, PRODUCT_TTL)),
                payments: payment_gateway(cfg),
                redis: Some(pool),
            }
        }
        None => {
            let gate = Arc::new(MemoryStockGate::new());
            Stores {
            carts: Arc::new(SqlCartStore::new(db.clone(), CartTtl::default())),
            stock_gate: gate.clone(),
            waiting_room: gate,
            events: Arc::new(LocalEventBus::new()),
            rate_limiter: Arc::new(MemoryRateLimiter::new()),
            search,
            product_cache: Arc::new(MemoryProductCache::new(PRODUCT_TTL)),
            payments: payment_gateway(cfg),
            redis: None,
            }
        }
    };
    app::search::service::spawn_sync(db.clone(), engine, stores.events.clone(), generation);
    app::catalog::port::spawn_invalidation(stores.product_cache.clone(), stores.events.as_ref());
    Ok(stores)
}

/// The pool of Redis connections every Redis adapter shares (`REDIS_URL`).
pub async fn redis_pool(url: &str) -> anyhow::Result<fred::clients::Pool> {
    let rc = RedisConfig::from_url(url).context("REDIS_URL is not a valid Redis URL")?;
    let pool = redis_builder(rc).build_pool(8).context("creating the Redis pool")?;
    pool.init().await.with_context(|| format!("connecting to REDIS_URL {}", redact(url)))?;
    Ok(pool)
}

/// A Redis client that reconnects by itself (backing off up to 2 s) and gives up on a command
/// after `REDIS_COMMAND_TIMEOUT`, so a Redis outage is a quick error (the flash sale answers
/// 503) rather than a request that hangs.
fn redis_builder(rc: RedisConfig) -> Builder {
    let mut b = Builder::from_config(rc);
    b.set_policy(fred::types::config::ReconnectPolicy::new_exponential(0, 100, 2_000, 2));
    b.with_performance_config(|p| p.default_command_timeout = REDIS_COMMAND_TIMEOUT);
    b.with_connection_config(|c| c.max_command_attempts = 1);
    b
}

const REDIS_COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Stripe (real or localstripe) when a secret key is configured, else the demo gateway.
pub fn payment_gateway(cfg: &Config) -> Arc<dyn app::payments::PaymentGateway> {
    match &cfg.stripe {
        Some(s) => Arc::new(app::payments::stripe::StripeGateway::new(&s.api_base, &s.secret_key, &cfg.shop_id)),
        None => Arc::new(app::payments::DemoGateway::new()),
    }
}

pub async fn build_state(cfg: &Config) -> anyhow::Result<AppState> {
    let db = open_database(cfg).await?;
    if cfg.seed_demo && crate::seed::catalog_is_empty(&db).await? {
        tracing::info!("empty catalog: seeding the demo catalog");
        let report = crate::seed::seed(&db, crate::seed::SeedOptions::default(), |_, _| {}).await?;
        tracing::info!(products = report.products, variants = report.variants, "demo catalog seeded");
    }
    let page_generation = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stores = build_stores(cfg, &db, &cfg.redis_prefix, page_generation.clone()).await?;
    let leptos_options = LeptosOptions::builder()
        .output_name("sellout")
        .site_root(cfg.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(cfg.site_addr)
        .build();
    Ok(AppState {
        leptos_options,
        writer: app::db::Writer::new(db.clone()),
        db,
        stores,
        limits: cfg.rate_limits,
        media_dir: cfg.data_dir.join("media"),
        rules: app::checkout::rules::ShopRules {
            tax_rate_bps: cfg.tax_rate_bps,
            cancel_window_minutes: cfg.cancel_window_minutes,
            lease_seconds: cfg.checkout_lease_seconds,
            sale_hold_seconds: cfg.sale_hold_seconds,
            currency: cfg.currency,
            max_pending_orders: cfg.max_pending_orders,
            max_image_pixels: cfg.max_image_pixels,
        },
        card_entry: cfg.stripe.as_ref().and_then(|s| {
            if s.publishable_key.is_none() {
                tracing::warn!("STRIPE_SECRET_KEY is set but STRIPE_PUBLISHABLE_KEY is not: shoppers cannot enter a card (the REST API still takes payment method ids)");
            }
            s.publishable_key.clone().map(|publishable_key| app::payments::CardEntry { publishable_key, js_url: s.js_url.clone() })
        }),
        recent: app::state::Recently::default(),
        extras: app::breaker::Extras::default(),
        page_generation,
    })
}

/// Sessions in Redis when configured, else in the database (so a restart keeps them).
pub fn session_store(db: &DatabaseConnection, redis: Option<&fred::clients::Pool>) -> AnySessionStore {
    match redis {
        Some(pool) => AnySessionStore(Arc::new(RedisStore::new(pool.clone()))),
        None => AnySessionStore(Arc::new(SqlSessionStore::new(db.clone()))),
    }
}

fn session_layer(cfg: &Config, state: &AppState) -> SessionManagerLayer<AnySessionStore> {
    SessionManagerLayer::new(session_store(&state.db, state.stores.redis.as_ref()))
        .with_name("sellout_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(cfg.secure_cookies)
        .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::days(30)))
}

/// The app's routes, generated once per process. `generate_route_list` raises a process-wide
/// "suppress resource loading" flag while it runs, and a page whose resource first polls
/// meanwhile never finishes (leptos issue #4773): so no server may serve while another is
/// generating, which the lock guarantees. (Tests run several servers in one process.)
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::Mutex<Option<Vec<leptos_axum::AxumRouteListing>>> = std::sync::Mutex::new(None);
    let mut routes = ROUTES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    routes.get_or_insert_with(|| generate_route_list(App)).clone()
}

/// What each page's rendering adds to Leptos' own: the operator's page scripts, and the page's
/// Content-Security-Policy, which allows the nonce Leptos made for this rendering (its
/// hydration and resource scripts carry it, and the shell gives it to the page scripts).
fn page_context(policy: Arc<crate::headers::PagePolicy>, scripts: app::assets::PageScripts) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(scripts.clone());
        let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) else { return };
        if let Ok(value) = axum::http::HeaderValue::from_str(&policy.header(&nonce)) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

pub fn router(cfg: &Config, state: AppState) -> Router {
    let metrics = Metrics::new();
    let sessions = session_layer(cfg, &state);
    let pages = crate::page_cache::PageCache::new(state.page_generation.clone());
    pages.follow(state.stores.events.as_ref());
    let routes = route_list();
    let leptos_options = state.leptos_options.clone();
    let page_policy = Arc::new(crate::headers::PagePolicy::new(state.card_entry.as_ref().map(|c| c.js_url.as_str()), &cfg.page_scripts, &cfg.csp_connect));
    let page_scripts = app::assets::PageScripts(cfg.page_scripts.clone().into());
    let edge = crate::headers::EdgeRules {
        hsts: cfg.secure_cookies,
        permissions: axum::http::HeaderValue::from_str(&page_policy.permissions()).expect("the permissions policy is plain ASCII"),
    };
    Router::new()
        .merge(crate::api::router())
        .route("/img/products/{id}/{file}", get(crate::images::product_image))
        .nest_service("/media", crate::images::media_service(&state.media_dir))
        .nest("/pkg", crate::headers::pkg_files(&cfg.site_root.join("pkg")))
        .route_service("/favicon.ico", crate::headers::favicon(&cfg.site_root))
        .route("/metrics", get(crate::metrics::render))
        .route("/ws", get(crate::push::ws))
        .leptos_routes_with_context(&state, routes, page_context(page_policy.clone(), page_scripts.clone()), move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(page_context(page_policy, page_scripts), shell))
        // Page functions' errors get their REST status (inside compression: it reads the body).
        .layer(axum::middleware::from_fn(crate::page_fns::answer_like_rest))
        .layer(axum::middleware::from_fn(crate::api::guard::refuse_cross_site_writes))
        // Who is looking at a page, read once before it renders (`app::frame::Viewer`).
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::personal::attach_viewer))
        .layer(sessions)
        // Outside the sessions: a page kept for anonymous visitors loads no session at all.
        .layer(axum::middleware::from_fn_with_state(pages, crate::page_cache::serve))
        // Outside the page cache: its pages come compressed already and pass through.
        .layer(crate::headers::compression())
        // Outside compression: a HEAD's length is the one its GET would send.
        .layer(axum::middleware::from_fn(crate::headers::head_as_get))
        .layer(axum::middleware::from_fn_with_state(edge, crate::headers::secure))
        .layer(axum::middleware::from_fn_with_state(metrics.clone(), crate::metrics::track))
        .layer(axum::Extension(metrics))
        .layer(axum::Extension(crate::api::webhooks::WebhookSecret(cfg.stripe.as_ref().and_then(|s| s.webhook_secret.clone()))))
        // Inside the request's span, outside everything that limits by address.
        .layer(axum::middleware::from_fn_with_state(Arc::new(cfg.trusted_proxies.clone()), crate::client::resolve))
        .layer(TraceLayer::new_for_http().make_span_with(crate::client::request_span::<axum::body::Body>))
        .with_state(state)
}

/// A bound, not yet serving, server. Tests bind port 0 and read `port()`.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    workers: Workers,
}

/// How long a node waits at shutdown for worker rounds in progress.
const WORKER_GRACE: Duration = Duration::from_secs(10);

impl Application {
    pub async fn build(cfg: &Config) -> anyhow::Result<Self> {
        let state = build_state(cfg).await?;
        let listener = TcpListener::bind(cfg.site_addr)
            .await
            .with_context(|| format!("binding LEPTOS_SITE_ADDR {}", cfg.site_addr))?;
        let workers = Workers::new();
        app::checkout::service::spawn_sweeper(&workers, state.clone(), Duration::from_secs(cfg.sweep_seconds));
        app::flash::service::spawn_transitions(&workers, state.clone(), Duration::from_secs(1));
        app::checkout::service::spawn_hold_sweeper(&workers, state.clone(), Duration::from_secs(1));
        // Order mail: over SMTP when configured, else into the data dir's mail log.
        let mailer: Arc<dyn app::checkout::notify::Mailer> = match &cfg.smtp_url {
            Some(url) => Arc::new(crate::mail::SmtpMailer::new(url, &cfg.mail_from)?),
            None => Arc::new(app::checkout::notify::MailLog::new(cfg.data_dir.join("mail.log"))),
        };
        app::checkout::notify::spawn_outbox_worker(&workers, state.db.clone(), mailer, cfg.public_url.clone(), Duration::from_secs(2));
        app::recommend::service::spawn_worker(&workers, state.clone(), app::recommend::service::EVERY);
        app::payments::reconcile::spawn_daily(&workers, state.db.clone(), state.stores.payments.clone());
        if state.stores.redis.is_none() {
            // The embedded default's session table: Redis expires its own keys.
            let sessions = SqlSessionStore::new(state.db.clone());
            workers.every("sessions", Duration::from_secs(600), move || {
                let sessions = sessions.clone();
                async move {
                    if let Err(e) = sessions.delete_expired().await {
                        tracing::warn!(error = %e, "deleting expired sessions");
                    }
                }
            });
        }
        Ok(Self { listener, router: router(cfg, state.clone()), state, workers })
    }

    /// The state the server runs with (tests publish events and read stores through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until SIGTERM or Ctrl-C; then stops accepting, finishes the requests in flight,
    /// lets worker rounds in progress end and returns.
    pub async fn run(self) -> anyhow::Result<()> {
        let service = self.router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(self.listener, service).with_graceful_shutdown(shutdown_signal()).await?;
        if self.workers.shutdown(WORKER_GRACE).await {
            tracing::info!("requests and workers finished");
        }
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
    tokio::time::sleep(Duration::from_millis(10)).await;
}
