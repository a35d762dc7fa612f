//! Whole rendered pages for anonymous visitors: the home, category, product and search pages
//! are the same HTML for everyone without a cookie, so a node renders each once and then
//! serves the bytes (the profile showed every view repeating the same reads and rendering).
//!
//! Only a `GET` with no `Cookie` and no `Authorization` header is served from or put into the
//! cache as it is, and only a 200 HTML answer that sets no cookie is kept. A `GET` with a
//! cookie (a signed-in shopper, or a guest with a cart) of the same pages but a sale's gets the
//! kept page with its own parts put in (`personal.rs`): at a sale every shopper is signed in. A page lives `PAGE_TTL` at
//! most, a sale's page (`/sales…`: its countdown and units left) `SALE_PAGE_TTL`, the moment
//! a crowd opens it; any change to a product, its stock or a sale's start or end (the event bus, so on
//! every node) moves the generation on and every kept page becomes a miss. A page rendered
//! while a change happened keeps the generation it began with, so it is never served after.
//!
//! A kept page is compressed once (brotli and gzip) and sent as the browser asks; it is marked
//! `public` for shared caches for as long as a node keeps it, with `Vary: cookie,
//! authorization` so a CDN never hands it to a visitor who sends either.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use app::events::ShopEvent;
use app::events::port::EventBus;
use app::store::Recent;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long a page is served without rendering it again, whatever happens.
pub const PAGE_TTL: Duration = Duration::from_secs(30);
/// A sale's page: the figures on it may be this old (the websocket brings them live after).
pub const SALE_PAGE_TTL: Duration = Duration::from_secs(1);
/// Pages a node keeps (past this it starts afresh).
const MAX_PAGES: usize = 4_096;
/// A page larger than this is not kept (it is sent whole, and rendered each time).
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// Paths whose pages are the same for every anonymous visitor (and `/`).
const CACHED_PREFIXES: [&str; 3] = ["/p/", "/c/", "/search"];
const SALE_PREFIX: &str = "/sales";

struct Page {
    generation: u64,
    headers: HeaderMap,
    body: Bytes,
    /// The body compressed once, when kept, so a hit only copies bytes.
    br: Bytes,
    gzip: Bytes,
}

impl Page {
    fn new(generation: u64, mut headers: HeaderMap, body: Bytes, sale: bool) -> Self {
        // A shared cache (a CDN) may keep it as long as we do: it is the same for everyone
        // without a cookie, and `Vary` keeps it from anyone who sends one.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(if sale { SALE_PAGE_CACHE_CONTROL } else { PAGE_CACHE_CONTROL }));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding, cookie, authorization"));
        let (br, gzip) = if body.len() > MAX_PAGE_BYTES { (Bytes::new(), Bytes::new()) } else { (compress_br(&body), compress_gzip(&body)) };
        Self { generation, headers, body, br, gzip }
    }
}

/// What a shared cache is told of a kept page: fresh for as long as a node keeps it.
pub const PAGE_CACHE_CONTROL: &str = "public, max-age=0, s-maxage=30";
pub const SALE_PAGE_CACHE_CONTROL: &str = "public, max-age=0, s-maxage=1";

/// Brotli's window for `len` bytes: the smallest that holds the whole page (a window is
/// `2^lgwin - 16` bytes), so the output is the same as with the default 4 MiB window, but not
/// under 2^17: at quality 5 a window of 2^16 or less switches brotli to a hasher whose tables
/// cost tens of times more to set up (14 ms against 0.4 ms a page, measured).
///
/// Why: `perf record` of cache misses showed 5.8 % of the shop's time in `memset` under
/// `brotli::enc::encode::RingBufferInitBuffer`, and more in malloc: the default window is
/// 4 MiB, allocated and cleared for every page of 10 to 20 KiB. Counted by callgrind, a
/// product page took 11.8 million instructions to compress, 3.8 million with this window.
fn brotli_window(len: usize) -> i32 {
    let bits = usize::BITS - len.saturating_add(16).leading_zeros();
    bits.clamp(17, 22) as i32
}

fn compress_br(body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(body.len() / 4);
    let params = brotli::enc::BrotliEncoderParams { quality: 5, lgwin: brotli_window(body.len()), size_hint: body.len(), ..Default::default() };
    match brotli::BrotliCompress(&mut &body[..], &mut out, &params) {
        Ok(_) => out.into(),
        Err(_) => Bytes::new(),
    }
}

fn compress_gzip(body: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::new(6));
    match encoder.write_all(body).and_then(|_| encoder.finish()) {
        Ok(out) => out.into(),
        Err(_) => Bytes::new(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Br,
    Gzip,
    Identity,
}

/// Brotli when the browser takes it, else gzip, else none (`q=0` refuses one).
fn accepted(headers: &HeaderMap) -> Encoding {
    let mut br = false;
    let mut gzip = false;
    for value in headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()) {
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()) == Some(0.0));
            if refused {
                continue;
            }
            match name {
                n if n.eq_ignore_ascii_case("br") => br = true,
                n if n.eq_ignore_ascii_case("gzip") => gzip = true,
                "*" => {
                    br = true;
                    gzip = true;
                }
                _ => {}
            }
        }
    }
    if br {
        Encoding::Br
    } else if gzip {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

#[derive(Clone)]
pub struct PageCache {
    pages: Recent<String, Arc<Page>>,
    sale_pages: Recent<String, Arc<Page>>,
    generation: Arc<AtomicU64>,
}

impl PageCache {
    /// `generation`: the state's `page_generation`, which this node's writers move on.
    pub fn new(generation: Arc<AtomicU64>) -> Self {
        Self { pages: Recent::new(PAGE_TTL, MAX_PAGES), sale_pages: Recent::new(SALE_PAGE_TTL, 1_024), generation }
    }

    /// Every page kept so far is stale from now on.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Moves the generation on whenever what a page shows changes, on this node.
    pub fn follow(&self, events: &dyn EventBus) {
        let mut rx = events.subscribe();
        let cache = self.clone();
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match rx.recv().await {
                    Ok(ShopEvent::ProductChanged { .. } | ShopEvent::StockChanged { .. } | ShopEvent::SaleStarted { .. } | ShopEvent::SaleEnded { .. }) => cache.invalidate_all(),
                    // A sale's own live figures reach its page over the websocket.
                    Ok(ShopEvent::SaleStock { .. } | ShopEvent::QueueMoved { .. }) => {}
                    Err(RecvError::Lagged(_)) => cache.invalidate_all(),
                    Err(RecvError::Closed) => break,
                }
            }
        });
    }
}

/// The key of a request whose page may be shared, if it is one, and whether it is a sale's.
fn shared_key(req: &Request) -> Option<(String, bool)> {
    if req.method() != Method::GET || req.headers().contains_key(header::COOKIE) || req.headers().contains_key(header::AUTHORIZATION) {
        return None;
    }
    let uri = req.uri();
    let path = uri.path();
    let sale = path.starts_with(SALE_PREFIX);
    if path != "/" && !sale && !CACHED_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return None;
    }
    let key = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    Some((key, sale))
}

fn served(page: &Page, state: &'static str, encoding: Encoding) -> Response {
    let (body, name) = match encoding {
        Encoding::Br if !page.br.is_empty() => (page.br.clone(), Some("br")),
        Encoding::Gzip | Encoding::Br if !page.gzip.is_empty() => (page.gzip.clone(), Some("gzip")),
        _ => (page.body.clone(), None),
    };
    let mut response = Response::new(Body::from(body));
    *response.headers_mut() = page.headers.clone();
    let headers = response.headers_mut();
    if let Some(name) = name {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    }
    headers.insert("x-sellout-page-cache", HeaderValue::from_static(state));
    response
}

pub async fn serve(State(cache): State<PageCache>, req: Request, next: Next) -> Response {
    if let Some(key) = own_key(&req) {
        return with_own_parts(&cache, key, req, next).await;
    }
    let Some((key, sale)) = shared_key(&req) else { return next.run(req).await };
    let encoding = accepted(req.headers());
    let pages = if sale { &cache.sale_pages } else { &cache.pages };
    let generation = cache.generation.load(Ordering::SeqCst);
    if let Some(page) = pages.get(&key).filter(|p| p.generation == generation) {
        return served(&page, "hit", encoding);
    }
    match render_to_keep(pages, generation, key, sale, req, next).await {
        Ok((page, state)) => served(&page, state, encoding),
        Err(response) => response,
    }
}

/// Renders the page of an anonymous request and keeps it when it may be shared: `Err` is an
/// answer to send as it is (not a 200 HTML page, or one that sets a cookie).
async fn render_to_keep(pages: &Recent<String, Arc<Page>>, generation: u64, key: String, sale: bool, req: Request, next: Next) -> Result<(Arc<Page>, &'static str), Response> {
    let response = next.run(req).await;
    let html = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if response.status() != StatusCode::OK || !html || response.headers().contains_key(header::SET_COOKIE) {
        return Err(response);
    }
    let (parts, body) = response.into_parts();
    // Our own rendering, read whole: only its size decides whether it is kept.
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            // Rendering failed half-way: the visitor gets a clear answer to retry.
            tracing::warn!(error = %e, page = %key, "reading a rendered page to keep it");
            return Err((StatusCode::SERVICE_UNAVAILABLE, "This page could not be sent just now. Please reload.").into_response());
        }
    };
    let mut headers = parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    let page = Arc::new(Page::new(generation, headers, body, sale));
    if page.body.len() > MAX_PAGE_BYTES {
        return Ok((page, "too-large"));
    }
    pages.put(key, page.clone());
    Ok((page, "miss"))
}

/// The key of a signed-in (or guest-with-a-cart) request for a page that is the same for
/// everyone but the viewer's own parts (`personal.rs`): a `GET` with a cookie and no
/// `Authorization`, not a sale's page (its queue panel is the viewer's), not a form sent back
/// with what was typed (`?error=`), and not a reload that asks for no cached copy
/// (`Cache-Control: no-cache`, which a browser's hard reload sends).
fn own_key(req: &Request) -> Option<String> {
    let headers = req.headers();
    if req.method() != Method::GET || !headers.contains_key(header::COOKIE) || headers.contains_key(header::AUTHORIZATION) {
        return None;
    }
    let no_cache = headers.get_all(header::CACHE_CONTROL).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("no-cache") || v.contains("no-store"));
    let uri = req.uri();
    let path = uri.path();
    let query = uri.query();
    if no_cache || query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("error=") || kv.starts_with("err_"))) {
        return None;
    }
    if path != "/" && !CACHED_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return None;
    }
    Some(match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    })
}

/// A copy of the `GET` `parts` asks for, to `uri`, with or without its cookies.
fn request_like(parts: &axum::http::request::Parts, uri: axum::http::Uri, cookies: bool) -> Request {
    let mut req = Request::new(Body::empty());
    *req.method_mut() = Method::GET;
    *req.uri_mut() = uri;
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    if !cookies {
        req.headers_mut().remove(header::COOKIE);
    }
    *req.extensions_mut() = parts.extensions.clone();
    req
}

/// The kept page (rendered anonymously on a miss) with the viewer's own parts put in; the page
/// rendered for the viewer whenever that cannot be done.
async fn with_own_parts(cache: &PageCache, key: String, req: Request, next: Next) -> Response {
    let (parts, _) = req.into_parts();
    let whole = |next: Next| next.run(request_like(&parts, parts.uri.clone(), true));
    let generation = cache.generation.load(Ordering::SeqCst);
    let shared = match cache.pages.get(&key).filter(|p| p.generation == generation) {
        Some(page) => page,
        None => match render_to_keep(&cache.pages, generation, key, false, request_like(&parts, parts.uri.clone(), false), next.clone()).await {
            Ok((page, _)) => page,
            Err(_) => return whole(next).await,
        },
    };
    let own_uri = match crate::personal::own_parts_path(parts.uri.path()).parse() {
        Ok(uri) => uri,
        Err(_) => return whole(next).await,
    };
    let own = next.clone().run(request_like(&parts, own_uri, true)).await;
    if own.status() != StatusCode::OK {
        return whole(next).await;
    }
    let cookies: Vec<HeaderValue> = own.headers().get_all(header::SET_COOKIE).iter().cloned().collect();
    let own = match axum::body::to_bytes(own.into_body(), MAX_PAGE_BYTES).await {
        Ok(body) => body,
        Err(_) => return whole(next).await,
    };
    let page = std::str::from_utf8(&shared.body).ok().zip(std::str::from_utf8(&own).ok()).and_then(|(shared, own)| crate::personal::splice(shared, own));
    let Some(page) = page else {
        tracing::warn!(page = %parts.uri.path(), "a kept page lacks the viewer's parts: rendered for the viewer");
        return whole(next).await;
    };
    let mut headers = shared.headers.clone();
    let policy = headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let page = match policy.and_then(|p| crate::personal::with_new_nonce(&page, &p)) {
        Some((page, policy)) => match HeaderValue::from_str(&policy) {
            Ok(value) => {
                headers.insert(header::CONTENT_SECURITY_POLICY, value);
                page
            }
            Err(_) => return whole(next).await,
        },
        None => page,
    };
    let mut response = Response::new(Body::from(page));
    *response.headers_mut() = headers;
    let headers = response.headers_mut();
    // The viewer's own: no shared cache may keep it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(crate::headers::PRIVATE));
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
    headers.insert("x-sellout-page-cache", HeaderValue::from_static("own-parts"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(len: usize) -> Vec<u8> {
        // Page-like text: repeats at a distance, as markup does, with some variety.
        let mut out = Vec::with_capacity(len);
        let mut i = 0u64;
        while out.len() < len {
            out.extend_from_slice(format!("<li class=\"card\"><a href=\"/p/{i}\">Product {}</a></li>", i.wrapping_mul(2_654_435_761) % 100_000).as_bytes());
            i += 1;
        }
        out.truncate(len);
        out
    }

    fn unbrotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &data[..], &mut out).expect("a valid brotli stream");
        out
    }

    #[test]
    fn the_window_holds_the_whole_page_and_no_more_than_brotli_s_default() {
        assert_eq!(brotli_window(0), 17);
        assert_eq!(brotli_window(11_000), 17);
        assert_eq!(brotli_window((1 << 17) - 17), 17);
        assert_eq!(brotli_window((1 << 17) - 16), 18);
        assert_eq!(brotli_window(MAX_PAGE_BYTES), 22);
        assert_eq!(brotli_window(usize::MAX >> 8), 22);
        for len in [0, 1, 11_000, (1 << 17) - 16, 300_000, MAX_PAGE_BYTES] {
            assert!(len + 16 <= 1 << brotli_window(len) || brotli_window(len) == 22, "{len}");
        }
    }

    #[test]
    fn a_kept_page_compresses_to_what_the_default_window_gives_and_back() {
        for len in [0, 900, 11_000, 140_000] {
            let body = page(len);
            let sized = compress_br(&body);
            assert_eq!(unbrotli(&sized), body, "{len} bytes round trip");
            let mut default = Vec::new();
            brotli::BrotliCompress(&mut &body[..], &mut default, &brotli::enc::BrotliEncoderParams { quality: 5, ..Default::default() }).expect("compresses");
            // The stream's header names the window: 7 bits for 2^17 against 4 for 2^22.
            assert!(sized.len() <= default.len() + 1, "{len} bytes: the smaller window loses nothing ({} against {})", sized.len(), default.len());
        }
    }
}
