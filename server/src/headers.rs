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

/// The Content-Security-Policy of the pages: scripts only from this shop (and Stripe.js where
/// the shop takes cards with it), the inline hydration scripts only with the nonce Leptos gives
/// each rendering (`startup::page_context` puts the two together). A page kept for anonymous
/// visitors keeps its nonce with its policy: its bytes never change, so no script that is not
/// in them can carry it.
#[derive(Clone, Debug, Default)]
pub struct PagePolicy {
    /// Origins Stripe.js needs (`STRIPE_JS_URL`'s, and Stripe's API and 3-D Secure frames
    /// when it is Stripe's own), only when card entry is configured.
    stripe: Vec<String>,
}

impl PagePolicy {
    /// `stripe_js`: the Stripe.js URL when shoppers enter cards with it.
    pub fn new(stripe_js: Option<&str>) -> Self {
        let mut stripe = Vec::new();
        if let Some(origin) = stripe_js.and_then(origin_of) {
            if origin == "https://js.stripe.com" {
                stripe.extend(["https://api.stripe.com".to_owned(), "https://hooks.stripe.com".to_owned()]);
            }
            stripe.insert(0, origin);
        }
        Self { stripe }
    }

    pub fn header(&self, nonce: &str) -> String {
        let stripe = self.stripe.iter().fold(String::new(), |all, o| all + " " + o);
        let frames = if self.stripe.is_empty() { " 'none'".to_owned() } else { stripe.clone() };
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'{stripe}; connect-src 'self'{stripe}; \
             frame-src{frames}; img-src 'self' data:; style-src 'self'; form-action 'self'; {CSP}"
        )
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

#[derive(Clone, Copy)]
pub struct EdgeRules {
    /// `Strict-Transport-Security` (only when the shop is served over HTTPS: secure cookies on).
    pub hsts: bool,
}

/// Security headers on every response, and `private, no-store` where no other rule was set.
pub async fn secure(State(rules): State<EdgeRules>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let html = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    headers.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    if html {
        headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(CSP));
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
        let plain = PagePolicy::new(None).header("n0nce");
        assert!(plain.contains("script-src 'self' 'nonce-n0nce' 'wasm-unsafe-eval';"), "{plain}");
        assert!(plain.contains("frame-src 'none';") && !plain.contains("stripe"), "{plain}");
        for rule in ["object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'"] {
            assert!(plain.contains(rule), "{rule}: {plain}");
        }
        let stripe = PagePolicy::new(Some("https://js.stripe.com/v3/")).header("n");
        assert!(stripe.contains("script-src 'self' 'nonce-n' 'wasm-unsafe-eval' https://js.stripe.com https://api.stripe.com https://hooks.stripe.com;"), "{stripe}");
        assert!(stripe.contains("frame-src https://js.stripe.com https://api.stripe.com https://hooks.stripe.com;"), "{stripe}");
        let local = PagePolicy::new(Some("http://127.0.0.1:8420/js.stripe.com/v3/")).header("n");
        assert!(local.contains("connect-src 'self' http://127.0.0.1:8420;"), "{local}");
    }
}
