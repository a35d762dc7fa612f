//! `spawn_app`: a real server on port 0 with a fresh database of its own.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use server::config::Config;
use server::startup::{Application, open_database};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed test body (an `async fn(X) -> anyhow::Result<()>` in the same module) once
/// per backend, as a test in a module of that backend's name that passes it its value:
/// `per_backend!(workers; [module => value, …] [test, …])`. The value is an expression
/// evaluated in the test (it may `.await?`).
#[macro_export]
macro_rules! per_backend {
    ($workers:literal; [] [$($name:ident),*]) => {};
    ($workers:literal; [$module:ident => $arg:expr $(, $more:ident => $more_arg:expr)*] [$($name:ident),* $(,)?]) => {
        mod $module {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
            async fn $name() -> anyhow::Result<()> { super::$name($arg).await })*
        }
        $crate::per_backend!($workers; [$($more => $more_arg),*] [$($name),*]);
    };
}

/// Runs each listed test body (an `async fn(Backend) -> anyhow::Result<()>` in the same module)
/// once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $crate::per_backend!(2; [sqlite => $crate::helpers::Backend::Sqlite, postgres => $crate::helpers::Backend::Postgres] [$($name),*]);
    };
}

pub fn unique_name(prefix: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}_{}_{}_{}", std::process::id(), nanos % 1_000_000_000, SEQ.fetch_add(1, Ordering::Relaxed))
}

pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name("sellout_test"));
    std::fs::create_dir_all(&dir).expect("creating a scratch directory under the temp dir");
    dir
}

pub fn env_url(var: &str) -> anyhow::Result<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty()).with_context(|| {
        format!("{var} is not set: run the tests with `make test`, which starts throw-away services, or set {var}")
    })
}

/// A new, empty database URL for one test.
pub async fn fresh_database_url(backend: Backend) -> anyhow::Result<String> {
    match backend {
        Backend::Sqlite => Ok(format!("sqlite://{}/test.db?mode=rwc", scratch_dir().display())),
        Backend::Postgres => {
            let base = env_url("TEST_DATABASE_URL")?;
            let name = unique_name("sellout_t");
            let admin = sea_orm::Database::connect(&base).await.context("connecting to TEST_DATABASE_URL")?;
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
            admin.close().await?;
            let (prefix, _) = base.rsplit_once('/').context("TEST_DATABASE_URL has no database name")?;
            Ok(format!("{prefix}/{name}"))
        }
    }
}

pub fn test_config(database_url: String) -> Config {
    let data_dir = scratch_dir();
    let mut cfg = Config::from_lookup(|_| None).expect("the default configuration is valid");
    cfg.database_url = database_url;
    cfg.data_dir = data_dir;
    cfg.site_addr = "127.0.0.1:0".parse().expect("a literal address");
    cfg.site_root = std::env::var("SELLOUT_SITE_ROOT").map(PathBuf::from).unwrap_or_else(|_| "target/site".into());
    // Every test's shoppers sign up and check out from 127.0.0.1, as a whole office behind one
    // address would: the per-address and per-shopper allowances of a real shop are tested on
    // their own (`accounts::sign_up_and_checkout_have_allowances`).
    let plenty = app::ratelimit::Rule { limit: 100_000, per: std::time::Duration::from_secs(3600) };
    cfg.rate_limits.signup_per_ip = plenty;
    cfg.rate_limits.checkout_per_user = plenty;
    cfg.rate_limits.checkout_per_ip = plenty;
    cfg
}

/// A migrated database with nothing in it, for schema tests.
pub async fn migrated_database(backend: Backend) -> anyhow::Result<DatabaseConnection> {
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.seed_demo = false;
    open_database(&cfg).await
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub config: Config,
    pub state: app::state::AppState,
}

/// A browser-like client: keeps cookies, follows no redirects.
pub fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("building a reqwest client")
}

impl TestApp {
    /// Another visitor with their own cookie jar.
    pub fn visitor(&self) -> Visitor {
        Visitor { address: self.address.clone(), client: cookie_client() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.client.get(self.url(path)).send().await?)
    }

    pub async fn get_json(&self, path: &str) -> anyhow::Result<(u16, serde_json::Value)> {
        let res = self.get(path).await?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.with_context(|| format!("GET {path} did not return JSON"))?))
    }
}

/// The server with the demo catalog seeded, on its own database, with embedded stores.
pub async fn spawn_app(backend: Backend) -> anyhow::Result<TestApp> {
    spawn_app_with(test_config(fresh_database_url(backend).await?)).await
}

/// As `spawn_app`, with the Redis adapters on `TEST_REDIS_URL`.
pub async fn spawn_app_with_redis(backend: Backend) -> anyhow::Result<TestApp> {
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.redis_url = Some(env_url("TEST_REDIS_URL")?);
    // Test databases reuse ids, so each app gets its own keys.
    cfg.redis_prefix = format!("{}:", unique_name("t"));
    spawn_app_with(cfg).await
}

pub async fn spawn_app_with(cfg: Config) -> anyhow::Result<TestApp> {
    let app = Application::build(&cfg).await?;
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run());
    let db = app::db::connect(&cfg.database_url).await?;
    Ok(TestApp { address, client: cookie_client(), db, config: cfg, state })
}

/// One browser session against a test app.
pub struct Visitor {
    pub address: String,
    pub client: reqwest::Client,
}

impl Visitor {
    pub fn with_client(address: &str, client: reqwest::Client) -> Self {
        Visitor { address: address.to_owned(), client }
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> anyhow::Result<(u16, serde_json::Value)> {
        let mut req = self.client.request(method, format!("{}{path}", self.address));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        let json = if text.is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text).with_context(|| format!("{path}: {text}"))? };
        Ok((status, json))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, serde_json::Value)> {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> anyhow::Result<(u16, serde_json::Value)> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: serde_json::Value) -> anyhow::Result<(u16, serde_json::Value)> {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<(u16, serde_json::Value)> {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    pub async fn register(&self, email: &str, password: &str) -> anyhow::Result<serde_json::Value> {
        let (status, body) = self.post("/api/v1/auth/register", serde_json::json!({"email": email, "password": password})).await?;
        anyhow::ensure!(status == 201, "register {email}: {status} {body}");
        Ok(body)
    }

    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<(u16, serde_json::Value)> {
        self.post("/api/v1/auth/login", serde_json::json!({"email": email, "password": password})).await
    }
}

/// The mail log once it holds `needle` (the outbox worker sends in the background), within 10 s.
pub async fn mail_with(app: &TestApp, needle: &str) -> String {
    mails_with(app, needle, 1).await
}

/// The mail log once it holds `needle` at least `times` times, within 10 s (as it is then).
pub async fn mails_with(app: &TestApp, needle: &str, times: usize) -> String {
    let log = app.config.data_dir.join("mail.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.matches(needle).count() >= times || std::time::Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The secret of the `nth` (from 1) link mailed to `email` to confirm it.
pub async fn confirm_link(app: &TestApp, email: &str, nth: usize) -> anyhow::Result<String> {
    let needle = format!("To: {email}\nSubject: Confirm your email address");
    let text = mails_with(app, &needle, nth).await;
    let mail = text.split(&needle).nth(nth).with_context(|| format!("no link number {nth} to {email} in: {text}"))?;
    let start = mail.find("/account/verify?token=").context("a link")? + "/account/verify?token=".len();
    Ok(mail[start..].chars().take_while(char::is_ascii_hexdigit).collect())
}
