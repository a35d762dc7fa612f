//! Configuration from the environment (and `.env`), DESIGN §8. Nothing is required: with no
//! variables set the shop runs on SQLite under `./data` with embedded stores. A bad value
//! stops start-up with a message that names the variable.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so several shops can share one Redis.
    pub redis_prefix: String,
    pub site_addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Where the built wasm, CSS and public assets are (`pkg/` lives below it).
    pub site_root: PathBuf,
    /// Seed the demo catalog when the database has no products.
    pub seed_demo: bool,
    pub log_filter: String,
    /// Mark the session cookie `Secure` (set when the shop is served over HTTPS).
    pub secure_cookies: bool,
    pub rate_limits: app::ratelimit::RateLimits,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` name the client (`SELLOUT_TRUSTED_PROXIES`,
    /// default none: the socket's peer is the client).
    pub trusted_proxies: app::ratelimit::TrustedProxies,
    /// Tax added at checkout on goods and shipping, in basis points (19% = 1900).
    pub tax_rate_bps: i64,
    /// Minutes after ordering in which a shopper may cancel a paid order.
    pub cancel_window_minutes: i64,
    /// Checkout lease, seconds (see `ShopRules::lease_seconds`).
    pub checkout_lease_seconds: i64,
    /// How long a flash-sale hold lasts (`SELLOUT_SALE_HOLD_SECONDS`, default 300).
    pub sale_hold_seconds: i64,
    /// The shop's one currency (`SELLOUT_CURRENCY`, default EUR).
    pub currency: app::money::Currency,
    /// Unpaid orders one shopper may have at once (`SELLOUT_MAX_PENDING_ORDERS`, default 3).
    pub max_pending_orders: i64,
    /// The largest uploaded picture in pixels (`SELLOUT_MAX_IMAGE_PIXELS`, default 40000000).
    pub max_image_pixels: u64,
    /// How often the sweeper releases expired stock and recovers cut-off payments.
    pub sweep_seconds: u64,
    /// This shop's name in payment metadata (`SELLOUT_SHOP_ID`), for reconciliation.
    pub shop_id: String,
    /// Stripe, when `STRIPE_SECRET_KEY` is set; otherwise the demo gateway.
    pub stripe: Option<StripeSettings>,
    /// Order mail over SMTP (`SMTP_URL`); otherwise written to `<data dir>/mail.log`.
    pub smtp_url: Option<String>,
    /// The sender of order mail (`SMTP_FROM`).
    pub mail_from: String,
    /// Where shoppers reach the shop, for links in mail (`SELLOUT_PUBLIC_URL`, no trailing `/`).
    pub public_url: String,
    /// Scripts every page loads, e.g. an analytics script (`SELLOUT_PAGE_SCRIPTS`, URLs separated
    /// by spaces or commas): each is sent with the page's nonce, and its origin is allowed to
    /// load scripts, connect and show images.
    pub page_scripts: Vec<String>,
    /// More origins those scripts may connect to and load images from (`SELLOUT_CSP_CONNECT`).
    pub csp_connect: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct StripeSettings {
    pub secret_key: String,
    /// `https://api.stripe.com/` or a localstripe URL.
    pub api_base: String,
    pub publishable_key: Option<String>,
    pub js_url: String,
    pub webhook_secret: Option<String>,
}

/// "19", "7.5" or "0" (percent) → basis points.
fn percent_bps(var: &'static str, v: &str) -> Result<i64, ConfigError> {
    let msg = || bad(var, format!("must be a percentage from 0 to 100 with at most two decimals, e.g. 19 or 7.5 (got \"{v}\")"));
    let bps = app::seller::parse_price(v.trim_end_matches('%'), "EUR").map_err(|_| msg())?;
    if bps > 10_000 {
        return Err(msg());
    }
    Ok(bps)
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { var, message: message.into() }
}

/// URLs separated by spaces or commas, each `https://` (or `http://` to this machine, for a
/// test): they go into a page's `<script src>` and, by origin, into its security policy, so a
/// quote, a semicolon or anything else that could change the policy's meaning is refused.
fn web_addresses(var: &'static str, value: Option<String>) -> Result<Vec<String>, ConfigError> {
    let value = value.unwrap_or_default();
    value
        .split([' ', ',', '\t', '\n'])
        .filter(|u| !u.is_empty())
        .map(|u| {
            let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|p| u.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/'])));
            let (_, rest) = u.split_once("://").unwrap_or_default();
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let plain = |c: char| c.is_ascii_alphanumeric() || "-._~/?#[]@!$&()*+=:%".contains(c);
            if (u.starts_with("https://") || local) && !host.is_empty() && u.chars().all(plain) && !u.contains("'") {
                Ok(u.to_owned())
            } else {
                Err(bad(var, format!("must be https:// URLs separated by spaces or commas, e.g. https://stats.example.com/script.js (got \"{u}\")")))
            }
        })
        .collect()
}

fn flag(var: &'static str, value: Option<&str>, default: bool) -> Result<bool, ConfigError> {
    match value {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(bad(var, format!("must be true or false (got \"{other}\")"))),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get`, so tests can pass their own values.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&get);
        let data_dir = PathBuf::from(vars.get("SELLOUT_DATA_DIR").unwrap_or_else(|| "data".to_owned()));
        let (database_url, redis_url, redis_prefix) = stores(&vars, &data_dir)?;
        let site_addr = match vars.get("LEPTOS_SITE_ADDR") {
            Some(v) => v.parse().map_err(|_| {
                bad("LEPTOS_SITE_ADDR", format!("must be an address and port such as 127.0.0.1:3000 (got \"{v}\")"))
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let site_root = PathBuf::from(
            vars.get("SELLOUT_SITE_ROOT").or_else(|| vars.get("LEPTOS_SITE_ROOT")).unwrap_or_else(|| "target/site".to_owned()),
        );
        let trusted_proxies =
            app::ratelimit::TrustedProxies::parse(&vars.get("SELLOUT_TRUSTED_PROXIES").unwrap_or_default()).map_err(|e| bad("SELLOUT_TRUSTED_PROXIES", e))?;
        let tax_rate_bps = match vars.get("SELLOUT_TAX_RATE") {
            Some(v) => percent_bps("SELLOUT_TAX_RATE", &v)?,
            None => 0,
        };
        let stripe = match vars.get("STRIPE_SECRET_KEY") {
            Some(secret_key) => Some(StripeSettings {
                secret_key,
                api_base: vars.url("STRIPE_API_BASE", "https://api.stripe.com/")?,
                publishable_key: vars.get("STRIPE_PUBLISHABLE_KEY"),
                js_url: vars.url("STRIPE_JS_URL", "https://js.stripe.com/v3/")?,
                webhook_secret: vars.get("STRIPE_WEBHOOK_SECRET"),
            }),
            None => None,
        };
        let currency = match vars.get("SELLOUT_CURRENCY") {
            None => app::money::Currency::EUR,
            Some(v) => app::money::Currency::parse(&v).ok_or_else(|| bad("SELLOUT_CURRENCY", format!("must be a three-letter ISO 4217 code such as EUR (got \"{v}\")")))?,
        };
        let shop_id = vars.get("SELLOUT_SHOP_ID").unwrap_or_else(|| "sellout".to_owned());
        if shop_id.len() > 64 || !shop_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(bad("SELLOUT_SHOP_ID", format!("must be up to 64 letters, digits, - or _ (got \"{shop_id}\")")));
        }
        let smtp_url = vars.get("SMTP_URL");
        if let Some(u) = &smtp_url {
            if !(u.starts_with("smtp://") || u.starts_with("smtps://")) || u.contains(char::is_whitespace) {
                return Err(bad("SMTP_URL", "must be an smtp:// or smtps:// URL, e.g. smtp://mail.example.com:587?tls=required".to_owned()));
            }
        }
        Ok(Config {
            public_url: vars.url("SELLOUT_PUBLIC_URL", &format!("http://{site_addr}"))?.trim_end_matches('/').to_owned(),
            page_scripts: web_addresses("SELLOUT_PAGE_SCRIPTS", vars.get("SELLOUT_PAGE_SCRIPTS"))?,
            csp_connect: web_addresses("SELLOUT_CSP_CONNECT", vars.get("SELLOUT_CSP_CONNECT"))?,
            smtp_url,
            mail_from: vars.get("SMTP_FROM").unwrap_or_else(|| "Sellout <shop@localhost>".to_owned()),
            shop_id,
            checkout_lease_seconds: vars.seconds("SELLOUT_CHECKOUT_LEASE_SECONDS", app::checkout::LEASE_SECONDS, 3600)?,
            sale_hold_seconds: vars.seconds("SELLOUT_SALE_HOLD_SECONDS", app::flash::HOLD_SECONDS, 3600)?,
            currency,
            max_pending_orders: vars.whole("SELLOUT_MAX_PENDING_ORDERS", app::checkout::rules::DEFAULT_MAX_PENDING_ORDERS, 1, 1000, "a whole number")?,
            max_image_pixels: vars.whole("SELLOUT_MAX_IMAGE_PIXELS", app::checkout::rules::DEFAULT_MAX_IMAGE_PIXELS as i64, 1, 1_000_000_000, "a whole number of pixels")? as u64,
            sweep_seconds: vars.seconds("SELLOUT_SWEEP_SECONDS", 15, 3600)? as u64,
            stripe,
            cancel_window_minutes: vars.whole("SELLOUT_CANCEL_WINDOW_MINUTES", app::checkout::rules::DEFAULT_CANCEL_WINDOW_MINUTES, 0, 10_080, "whole minutes")?,
            tax_rate_bps,
            database_url,
            redis_url,
            redis_prefix,
            site_addr,
            data_dir,
            site_root,
            seed_demo: vars.flag("SELLOUT_SEED_DEMO", true)?,
            secure_cookies: vars.flag("SELLOUT_SECURE_COOKIES", false)?,
            rate_limits: rate_limits(&vars)?,
            trusted_proxies,
            log_filter: vars.get("SELLOUT_LOG").or_else(|| vars.get("RUST_LOG")).unwrap_or_else(|| "info,sqlx=warn".to_owned()),
        })
    }
}

/// The environment as configuration reads it: a variable's value trimmed, and an empty one as
/// not set; each reader below names the variable in its error.
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        flag(var, self.get(var).as_deref(), default)
    }

    fn url(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let v = self.get(var).unwrap_or_else(|| default.to_owned());
        if !(v.starts_with("http://") || v.starts_with("https://")) || v.contains(char::is_whitespace) {
            return Err(bad(var, format!("must be an http:// or https:// URL (got \"{v}\")")));
        }
        Ok(v)
    }

    fn seconds(&self, var: &'static str, default: i64, max: i64) -> Result<i64, ConfigError> {
        self.whole(var, default, 1, max, "whole seconds")
    }

    /// A whole number from `min` to `max` (`_` may group digits); `what` says what it counts.
    fn whole(&self, var: &'static str, default: i64, min: i64, max: i64, what: &str) -> Result<i64, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => match v.replace('_', "").parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(bad(var, format!("must be {what} from {min} to {max} (got \"{v}\")"))),
            },
        }
    }
}

/// Where the shop keeps its data: the database (SQLite in the data directory unless told),
/// Redis if any, and the prefix of its Redis keys.
fn stores(vars: &Vars<'_>, data_dir: &std::path::Path) -> Result<(String, Option<String>, String), ConfigError> {
    let database_url = match vars.get("DATABASE_URL") {
        Some(url) => {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:")) {
                return Err(bad("DATABASE_URL", format!("must start with postgres://, postgresql:// or sqlite: (got \"{url}\")")));
            }
            url
        }
        None => format!("sqlite://{}/sellout.db?mode=rwc", data_dir.display()),
    };
    let redis_url = match vars.get("REDIS_URL") {
        Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => Some(url),
        Some(url) => return Err(bad("REDIS_URL", format!("must start with redis:// or rediss:// (got \"{url}\")"))),
        None => None,
    };
    let redis_prefix = vars.get("SELLOUT_REDIS_PREFIX").unwrap_or_else(|| "sellout:".to_owned());
    if redis_prefix.contains(['{', '}', ' ']) {
        return Err(bad("SELLOUT_REDIS_PREFIX", format!("must not contain braces or spaces (got \"{redis_prefix}\")")));
    }
    Ok((database_url, redis_url, redis_prefix))
}

/// The rate limits: on unless `SELLOUT_RATE_LIMITS` is false, each rule replaceable by its
/// variable (`10/60s`).
fn rate_limits(vars: &Vars<'_>) -> Result<app::ratelimit::RateLimits, ConfigError> {
    let mut limits = app::ratelimit::RateLimits { enabled: vars.flag("SELLOUT_RATE_LIMITS", true)?, ..Default::default() };
    for (var, slot) in [
        ("SELLOUT_RATE_SIGNIN_PER_IP", &mut limits.signin_per_ip),
        ("SELLOUT_RATE_SIGNIN_PER_EMAIL", &mut limits.signin_per_email),
        ("SELLOUT_RATE_SALE_JOIN_PER_USER", &mut limits.sale_join_per_user),
        ("SELLOUT_RATE_SALE_JOIN_PER_IP", &mut limits.sale_join_per_ip),
        ("SELLOUT_RATE_SALE_BUY_PER_USER", &mut limits.sale_buy_per_user),
        ("SELLOUT_RATE_SALE_BUY_PER_IP", &mut limits.sale_buy_per_ip),
        ("SELLOUT_RATE_API_TOKEN", &mut limits.api_token),
        ("SELLOUT_RATE_SIGNUP_PER_IP", &mut limits.signup_per_ip),
        ("SELLOUT_RATE_CHECKOUT_PER_USER", &mut limits.checkout_per_user),
        ("SELLOUT_RATE_CHECKOUT_PER_IP", &mut limits.checkout_per_ip),
        ("SELLOUT_RATE_VERIFY_MAIL_PER_USER", &mut limits.verify_mail_per_user),
    ] {
        if let Some(v) = vars.get(var) {
            *slot = app::ratelimit::Rule::parse(&v).map_err(|e| bad(var, e.to_string()))?;
        }
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |k| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_need_no_variables() {
        let c = with(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://data/sellout.db?mode=rwc");
        assert!(c.redis_url.is_none());
        assert_eq!(c.site_addr.to_string(), "127.0.0.1:3000");
        assert!(c.seed_demo);
        assert!(c.rate_limits.enabled);
        assert_eq!(c.tax_rate_bps, 0);
        assert_eq!(with(&[("SELLOUT_TAX_RATE", "7.5")]).unwrap().tax_rate_bps, 750);
    }

    #[test]
    fn page_scripts_are_web_addresses_that_cannot_change_the_policy() {
        assert!(with(&[]).unwrap().page_scripts.is_empty());
        let c = with(&[("SELLOUT_PAGE_SCRIPTS", "https://stats.example.com/s.js, http://127.0.0.1:9/t.js"), ("SELLOUT_CSP_CONNECT", "https://collect.example.net")]).unwrap();
        assert_eq!(c.page_scripts, ["https://stats.example.com/s.js", "http://127.0.0.1:9/t.js"]);
        assert_eq!(c.csp_connect, ["https://collect.example.net"]);
        for bad in ["http://stats.example.com/s.js", "https://x.example;script-src*", "https://x.example/'unsafe-inline'", "stats.example.com", "https://", "http://localhost.evil.example/"] {
            let e = with(&[("SELLOUT_PAGE_SCRIPTS", bad)]).unwrap_err().to_string();
            assert!(e.contains("SELLOUT_PAGE_SCRIPTS"), "{bad}: {e}");
        }
    }

    #[test]
    fn trusted_proxies_come_from_the_environment() {
        assert!(with(&[]).unwrap().trusted_proxies.is_empty(), "no proxy is trusted by default");
        let c = with(&[("SELLOUT_TRUSTED_PROXIES", "10.0.0.0/8, ::1")]).unwrap();
        assert!(c.trusted_proxies.trusts("10.1.2.3".parse().unwrap()) && c.trusted_proxies.trusts("::1".parse().unwrap()));
        let e = with(&[("SELLOUT_TRUSTED_PROXIES", "10.0.0.0/8, the balancer")]).unwrap_err().to_string();
        assert!(e.contains("SELLOUT_TRUSTED_PROXIES") && e.contains("the balancer"), "{e}");
    }

    #[test]
    fn rate_limits_come_from_the_environment() {
        let c = with(&[("SELLOUT_RATE_LIMITS", "off"), ("SELLOUT_RATE_SIGNIN_PER_EMAIL", "3/1m")]).unwrap();
        assert!(!c.rate_limits.enabled);
        assert_eq!(c.rate_limits.signin_per_email.limit, 3);
        assert_eq!(c.rate_limits.signin_per_email.per.as_secs(), 60);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://x"),
            ("REDIS_URL", "localhost:6379"),
            ("LEPTOS_SITE_ADDR", "not-an-address"),
            ("SELLOUT_SEED_DEMO", "maybe"),
            ("SELLOUT_RATE_LIMITS", "sometimes"),
            ("SELLOUT_RATE_SIGNIN_PER_IP", "lots"),
            ("SELLOUT_RATE_SIGNIN_PER_EMAIL", "5/1d"),
            ("SELLOUT_RATE_SALE_BUY_PER_USER", "many"),
            ("SELLOUT_SECURE_COOKIES", "2"),
            ("SELLOUT_TAX_RATE", "101"),
            ("SELLOUT_TAX_RATE", "nineteen"),
            ("SELLOUT_CANCEL_WINDOW_MINUTES", "soon"),
            ("SELLOUT_CHECKOUT_LEASE_SECONDS", "0"),
            ("SELLOUT_SWEEP_SECONDS", "often"),
            ("SELLOUT_SALE_HOLD_SECONDS", "0"),
            ("SELLOUT_SHOP_ID", "my shop"),
            ("SELLOUT_CURRENCY", "euro"),
            ("SELLOUT_MAX_PENDING_ORDERS", "0"),
            ("SELLOUT_MAX_IMAGE_PIXELS", "lots"),
            ("SMTP_URL", "mail.example.com:25"),
            ("SELLOUT_PUBLIC_URL", "shop.example.com"),
        ] {
            let err = with(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().contains(var), "{err}");
        }
        for (var, value) in [("STRIPE_API_BASE", "localhost:12111"), ("STRIPE_JS_URL", "js.stripe.com")] {
            let err = with(&[("STRIPE_SECRET_KEY", "sk_test_x"), (var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().contains(var), "{err}");
        }
    }
}
