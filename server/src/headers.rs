//! What every response carries on its way out: security headers, a cache rule and compression,
//! and the storefront's built files (`/pkg`), precompressed and kept for a year by name.
//!
//! The cache rule: the storefront's files are named by a hash of their content, so they are
//! `public, max-age=31536000, immutable`; a page kept for anonymous visitors is public for a
//! shared cache for as long as this node keeps it (`page_cache`, which sets that and
//! `Vary: Cookie, Authorization`); every other answer without a rule of its own (pages of a
//! signed-in shopper or one with a cart, the REST API, errors) is `private, no-store`, so no
//! shared cache ever keeps what one person sees.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower::Layer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};

/// A file named by its content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// What may hold one person's data: the browser only, and not even kept there.
pub const PRIVATE: &str = "private, no-store";
/// A file under a plain name: may be kept, but asked about again before each use.
const REVALIDATE: &str = "public, no-cache";
/// The site's frame rules: no plugins, no `<base>` from elsewhere, never inside a frame (what
/// an HTML answer that is not a rendered page gets; pages get `PagePolicy`, which ends with it).
const CSP: &str = "object-src 'none'; base-uri 'self'; frame-ancestors 'none'";
const HSTS: &str = "max-age=31536000; includeSubDomains";
const COOP: header::HeaderName = header::HeaderName::from_static("cross-origin-opener-policy");
const PERMISSIONS_POLICY: header::HeaderName = header::HeaderName::from_static("permissions-policy");

/// The Content-Security-Policy of the pages. Scripts run only when they carry the nonce Leptos
/// gives each rendering (its hydration and resource scripts, the preload of the storefront's
/// module, the operator's page scripts) or were loaded by one that does (`'strict-dynamic'`:
/// the storefront's module, Stripe.js); `'self'` and the origins beside it are for browsers too
/// old for `'strict-dynamic'`, which ignore it, and newer ones ignore them. `startup::page_context`
/// puts nonce and policy together. A page kept for anonymous visitors keeps its nonce with its
/// policy: its bytes never change, so no script that is not in them can carry it.
#[derive(Clone, Debug, Default)]
pub struct PagePolicy {
    /// What Stripe.js needs, only when card entry is configured: for Stripe's own, what its
    /// security guide lists (scripts from `js.stripe.com` and `*.js.stripe.com`, frames from
    /// those and `hooks.stripe.com` for 3-D Secure, calls to `api.stripe.com`; not
    /// `maps.googleapis.com`, which only its address element uses); for another Stripe.js (the
    /// tests' localstripe), its origin for all three.
    stripe: Stripe,
    /// The origins of the operator's page scripts (`SELLOUT_PAGE_SCRIPTS`).
    scripts: Vec<String>,
    /// Where those scripts may send what they collect (`SELLOUT_CSP_CONNECT`), besides their
    /// own origins.
    connect: Vec<String>,
}

#[derive(Clone, Debug, Default)]
struct Stripe {
    scripts: Vec<String>,
    frames: Vec<String>,
    connect: Vec<String>,
}

impl PagePolicy {
    /// `stripe_js`: the Stripe.js URL when shoppers enter cards with it; `page_scripts`: the
    /// URLs of scripts every page loads; `connect`: more origins they may send to.
    pub fn new(stripe_js: Option<&str>, page_scripts: &[String], connect: &[String]) -> Self {
        let owned = |list: &[&str]| list.iter().map(|o| o.to_string()).collect::<Vec<_>>();
        let stripe = match stripe_js.and_then(origin_of) {
            Some(o) if o == "https://js.stripe.com" => Stripe {
                scripts: owned(&["https://js.stripe.com", "https://*.js.stripe.com"]),
                frames: owned(&["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"]),
                connect: owned(&["https://api.stripe.com"]),
            },
            Some(o) => Stripe { scripts: vec![o.clone()], frames: vec![o.clone()], connect: vec![o] },
            None => Stripe::default(),
        };
        let mut scripts: Vec<String> = page_scripts.iter().filter_map(|u| origin_of(u)).collect();
        scripts.dedup();
        let mut connect: Vec<String> = connect.iter().filter_map(|u| origin_of(u)).filter(|o| !scripts.contains(o)).collect();
        connect.dedup();
        Self { stripe, scripts, connect }
    }

    pub fn header(&self, nonce: &str) -> String {
        let list = |origins: &[&Vec<String>]| origins.iter().flat_map(|o| o.iter()).fold(String::new(), |all, o| all + " " + o);
        let scripts = list(&[&self.stripe.scripts, &self.scripts]);
        let connect = list(&[&self.stripe.connect, &self.scripts, &self.connect]);
        let images = list(&[&self.scripts, &self.connect]);
        let frames = if self.stripe.frames.is_empty() { " 'none'".to_owned() } else { list(&[&self.stripe.frames]) };
        format!(
            "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval' 'self'{scripts}; \
             connect-src 'self'{connect}; frame-src{frames}; img-src 'self' data:{images}; style-src 'self'; \
             worker-src 'none'; form-action 'self'; {CSP}"
        )
    }

    /// The `Permissions-Policy` of the pages: nothing the shop never uses, and the Payment
    /// Request API only for this shop and Stripe.js where cards are taken with it.
    pub fn permissions(&self) -> String {
        let payment = match self.stripe.scripts.first() {
            Some(stripe) => format!("(self \"{stripe}\")"),
            None => "()".to_owned(),
        };
        format!(
            "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), \
             magnetometer=(), microphone=(), midi=(), payment={payment}, publickey-credentials-get=(), \
             screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()"
        )
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

#[derive(Clone)]
pub struct EdgeRules {
    /// `Strict-Transport-Security` (only when the shop is served over HTTPS: secure cookies on).
    pub hsts: bool,
    /// The pages' `Permissions-Policy` (`PagePolicy::permissions`).
    pub permissions: HeaderValue,
}

/// Security headers on every response (on HTML, also the frame rules, `Cross-Origin-Opener-Policy`
/// and `Permissions-Policy`; a rendered page has its own CSP already), and `private, no-store`
/// where no other rule was set.
pub async fn secure(State(rules): State<EdgeRules>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let html = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    headers.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    if html {
        headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(CSP));
        headers.entry(COOP).or_insert(HeaderValue::from_static("same-origin"));
        headers.entry(PERMISSIONS_POLICY).or_insert(rules.permissions.clone());
    }
    if rules.hsts {
        headers.entry(header::STRICT_TRANSPORT_SECURITY).or_insert(HeaderValue::from_static(HSTS));
    }
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static(PRIVATE));
    response
}

/// Answers smaller than this go as they are: compressing them saves less than the work and
/// the coding's own framing cost (1 KiB, the floor CDNs use).
pub const COMPRESS_FROM_BYTES: u16 = 1024;

/// On the fly, for what is not compressed yet (HTML, JSON, CSS, JS): the coding the browser
/// takes with the highest `q` among zstd, brotli and gzip; identity when it takes none of them
/// (an unknown or malformed `Accept-Encoding` included: never an error). The quality is each
/// coding's default for on-the-fly work: brotli 4 (tower-http's choice, nginx's too: 11 costs
/// tens of times the CPU for a few percent), gzip 6, zstd 3. Not for pictures (compressed
/// already), wasm (sent precompressed from `/pkg`), event streams, nor answers under
/// `COMPRESS_FROM_BYTES`; a websocket upgrade (101, no body) passes untouched. Streamed pages
/// are not held back: the encoder flushes what it has whenever the page's stream waits
/// (`edge::a_streamed_answer_is_not_held_back_by_compression`).
pub fn compression() -> CompressionLayer<impl Predicate> {
    let what = SizeAbove::new(COMPRESS_FROM_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::const_new("application/wasm"));
    CompressionLayer::new().br(true).gzip(true).zstd(true).quality(CompressionLevel::Default).compress_when(what)
}

/// `/pkg`: the files `scripts/build-site.sh` wrote, with the `.br` / `.gz` beside each chosen
/// by the browser's `Accept-Encoding`.
pub fn pkg_files<S: Clone + Send + Sync + 'static>(dir: &Path) -> axum::Router<S> {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    axum::Router::new().fallback_service(files).layer(axum::middleware::from_fn(pkg_cache_rule))
}

async fn pkg_cache_rule(req: Request, next: Next) -> Response {
    let named_by_content = is_named_by_content(req.uri().path());
    let mut response = next.run(req).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(if named_by_content { IMMUTABLE } else { REVALIDATE }));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// True for a file name with a part of 16 or more hex digits (`sellout.3f9a…c2.js`).
fn is_named_by_content(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split(['.', '-', '_']).any(|part| part.len() >= 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The favicon, kept for a day.
pub fn favicon(site_root: &Path) -> SetResponseHeader<ServeFile, HeaderValue> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"))
        .layer(ServeFile::new(site_root.join("favicon.ico")))
}

/// The most of a page a `HEAD` renders to count its length.
const HEAD_PAGE_MAX_BYTES: usize = 16 * 1024 * 1024;

/// `HEAD` of a page answers as its `GET` would, with `Content-Length` and no body. A page is
/// rendered as a stream, and a `HEAD`'s body is dropped at once, which cut the rendering off
/// part-way (its server functions then found no session and logged an error) and left the
/// answer without a length. So the page is rendered whole, counted, and the body left out.
/// Files (`/pkg`, `/media`, images) and the REST API answer `HEAD` themselves.
pub async fn head_as_get(mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let answers_itself = ["/pkg/", "/media/", "/img/", "/api/", "/ws"].iter().any(|p| path.starts_with(p)) || path == "/favicon.ico";
    if req.method() != axum::http::Method::HEAD || answers_itself {
        return next.run(req).await;
    }
    *req.method_mut() = axum::http::Method::GET;
    let (mut parts, body) = next.run(req).await.into_parts();
    match axum::body::to_bytes(body, HEAD_PAGE_MAX_BYTES).await {
        Ok(bytes) => {
            parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        }
        Err(e) => tracing::warn!(error = %e, "HEAD: the page could not be rendered whole to count it"),
    }
    Response::from_parts(parts, axum::body::Body::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_told_from_plain_ones() {
        assert!(is_named_by_content("/sellout.0123456789abcdef.js"));
        assert!(is_named_by_content("sellout_bg.0123456789abcdef0123.wasm"));
        assert!(!is_named_by_content("/sellout.js"));
        assert!(!is_named_by_content("/sellout_bg.wasm"));
        assert!(!is_named_by_content("/snippets/leptos-abc/inline0.js"));
        // 15 digits are not enough, nor 16 characters that are not all hex.
        assert!(!is_named_by_content("/sellout.0123456789abcde.js"));
        assert!(!is_named_by_content("/sellout.0123456789abcdeg.js"));
    }

    #[test]
    fn stripe_is_allowed_only_where_cards_are_taken_with_it() {
        let plain = PagePolicy::new(None, &[], &[]).header("n0nce");
        assert!(plain.contains("script-src 'nonce-n0nce' 'strict-dynamic' 'wasm-unsafe-eval' 'self';"), "{plain}");
        assert!(plain.contains("frame-src 'none';") && !plain.contains("stripe"), "{plain}");
        for rule in ["object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'", "form-action 'self'", "connect-src 'self';"] {
            assert!(plain.contains(rule), "{rule}: {plain}");
        }
        let stripe = PagePolicy::new(Some("https://js.stripe.com/v3/"), &[], &[]).header("n");
        assert!(stripe.contains("'self' https://js.stripe.com https://*.js.stripe.com;"), "{stripe}");
        assert!(stripe.contains("frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com;"), "{stripe}");
        assert!(stripe.contains("connect-src 'self' https://api.stripe.com;"), "{stripe}");
        let local = PagePolicy::new(Some("http://127.0.0.1:8420/js.stripe.com/v3/"), &[], &[]).header("n");
        assert!(local.contains("connect-src 'self' http://127.0.0.1:8420;") && local.contains("frame-src http://127.0.0.1:8420;"), "{local}");
    }

    #[test]
    fn page_scripts_and_where_they_send_are_allowed_by_origin() {
        let scripts = ["https://stats.example.org/s.js".to_owned(), "https://stats.example.org/other.js".to_owned()];
        let policy = PagePolicy::new(None, &scripts, &["https://collect.example.net/event".to_owned()]).header("n");
        assert!(policy.contains("'self' https://stats.example.org;"), "{policy}");
        assert!(policy.contains("connect-src 'self' https://stats.example.org https://collect.example.net;"), "{policy}");
        assert!(policy.contains("img-src 'self' data: https://stats.example.org https://collect.example.net;"), "{policy}");
        assert!(policy.contains("frame-src 'none';"), "{policy}");
    }

    #[test]
    fn payment_is_allowed_only_to_stripe_where_cards_are_taken_with_it() {
        let plain = PagePolicy::new(None, &[], &[]).permissions();
        assert!(plain.contains("payment=()") && plain.contains("camera=()") && plain.contains("geolocation=()"), "{plain}");
        let stripe = PagePolicy::new(Some("https://js.stripe.com/v3/"), &[], &[]).permissions();
        assert!(stripe.contains("payment=(self \"https://js.stripe.com\")"), "{stripe}");
        assert!(HeaderValue::from_str(&stripe).is_ok());
    }
}
