//! A signed-in shopper's page from the kept one: the home, category, search and product pages
//! are the same for everyone but for the viewer's own parts (`app::frame::Viewer`: the header's
//! account links and cart count, a product page's wishlist button and review form). The page
//! cache (`page_cache.rs`) keeps the page as an anonymous visitor gets it, renders only those
//! parts for the viewer (`/_personal…`, the header and the product's part around an empty
//! page) and puts them in place of the anonymous ones.
//!
//! Why: the profile of a signed-in product page (`perf record --call-graph dwarf`, embedded,
//! release) spent its time in the reads and the rendering of the whole page, every view
//! alike; an anonymous view of the same page is a copy of kept bytes.
//!
//! What is put in is whole elements between markers that the components write on both sides
//! (`REGIONS`); when a marker is missing on either side the viewer gets the page rendered for
//! them instead, so a change to a component can make a page slower, never wrong.

use app::frame::{VIEWER_SCRIPT_ID, viewer_for};
use app::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// A part of the page that belongs to its viewer: from `start` up to and including `end`
/// (looked for after `after`, itself looked for after `start`), or with `inner` only what lies
/// between `after` and `end`.
struct Region {
    start: &'static str,
    after: &'static str,
    end: &'static str,
    inner: bool,
    /// Every page has it; else a page has it on both sides or on neither.
    always: bool,
}

const REGIONS: [Region; 3] = [
    // The viewer as data for the browser (`app::frame::ViewerScript`): its text only, the
    // element keeps the kept page's nonce (the one its policy allows).
    Region { start: "<script id=\"sellout-viewer\"", after: ">", end: "</script>", inner: true, always: true },
    // The header (`app::frame::Header`): it holds no other header element.
    Region { start: "<header class=\"site-header\"", after: "", end: "</header>", inner: false, always: true },
    // A product page's part (`app::reviews::pages::MyReviewBlock`), closed after its marker
    // (Leptos writes `class` after the other attributes).
    Region { start: "<div data-personal=\"product\"", after: "data-personal-end", end: "</div>", inner: false, always: false },
];

/// Where `region` lies in `html`, as a byte range.
fn find(html: &str, region: &Region) -> Option<std::ops::Range<usize>> {
    let start = html.find(region.start)?;
    let from = start + html[start..].find(region.after)? + region.after.len();
    let end = from + html[from..].find(region.end)?;
    Some(if region.inner { from..end } else { start..end + region.end.len() })
}

/// The kept page `shared` with each of the viewer's parts taken from `own` (the `/_personal`
/// rendering); None when a part cannot be found on both sides.
pub fn splice(shared: &str, own: &str) -> Option<String> {
    debug_assert!(REGIONS[0].start.contains(VIEWER_SCRIPT_ID));
    let mut parts: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
    for region in &REGIONS {
        match (find(shared, region), find(own, region)) {
            (Some(theirs), Some(mine)) => parts.push((theirs, &own[mine])),
            (None, None) if !region.always => {}
            // On one side only: the two renderings are not of the same page.
            _ => return None,
        }
    }
    parts.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(shared.len() + 1024);
    let mut at = 0;
    for (range, mine) in parts {
        if range.start < at {
            return None;
        }
        out.push_str(&shared[at..range.start]);
        out.push_str(mine);
        at = range.end;
    }
    out.push_str(&shared[at..]);
    Some(out)
}

/// The page and its Content-Security-Policy with a new nonce in place of the kept page's, so
/// that a shopper's page never carries a nonce another page was sent with (a kept anonymous
/// page is the same bytes for everyone, its nonce too). None when the policy names no nonce.
pub fn with_new_nonce(html: &str, policy: &str) -> Option<(String, String)> {
    let start = policy.find("'nonce-")? + "'nonce-".len();
    let old = &policy[start..start + policy[start..].find('\'')?];
    if old.is_empty() {
        return None;
    }
    let new = leptos::nonce::Nonce::new().to_string();
    Some((html.replace(&format!("nonce=\"{old}\""), &format!("nonce=\"{new}\"")), policy.replace(&format!("'nonce-{old}'"), &format!("'nonce-{new}'"))))
}

/// The path that renders only the viewer's parts of the page at `path`.
pub fn own_parts_path(path: &str) -> String {
    match path.strip_prefix("/p/") {
        Some(id) => format!("/_personal/p/{id}"),
        None => "/_personal".to_owned(),
    }
}

/// Paths whose rendering draws a header (every page; not the API, files or sockets).
fn is_page(path: &str) -> bool {
    const NOT_PAGES: [&str; 8] = ["/api/", "/pkg/", "/img/", "/media/", "/ws", "/metrics", "/healthz", "/favicon.ico"];
    !NOT_PAGES.iter().any(|p| path.starts_with(p))
}

/// Inside the session layer: reads the viewer of a page request that carries a cookie (a
/// request without one is an anonymous visitor: the default `Viewer`), for `App` to draw
/// from (`app::frame::provide_viewer`).
pub async fn attach_viewer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let wanted = matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD)
        && req.headers().contains_key(axum::http::header::COOKIE)
        && is_page(req.uri().path());
    if wanted {
        if let Some(session) = req.extensions().get::<tower_sessions::Session>().cloned() {
            match viewer_for(&state, &session, req.uri().path()).await {
                Ok(viewer) => {
                    req.extensions_mut().insert(viewer);
                }
                Err(e) => tracing::warn!(error = %e, "reading the viewer of a page"),
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(viewer: &str, header: &str, mine: Option<&str>) -> String {
        let mine = mine.map(|m| format!("<div data-personal=\"product\" class=\"my-review\">{m}<span hidden data-personal-end=\"\"></span></div>")).unwrap_or_default();
        format!(
            "<html><head><script id=\"sellout-viewer\" type=\"application/json\">{viewer}</script></head><body><header class=\"site-header\"><nav>{header}</nav></header><main><h1>Lamp</h1>{mine}<section><div>reviews</div></section></main></body></html>"
        )
    }

    #[test]
    fn puts_each_own_part_in_place_and_keeps_the_rest() {
        let shared = page("{}", "Sign in", Some("<a>Sign in to review</a>"));
        let own = page("{\"user\":1}", "ann@example.com", Some("<form><div class=\"field\">Write a review</div></form>"));
        let out = splice(&shared, &own).unwrap();
        assert_eq!(out, page("{\"user\":1}", "ann@example.com", Some("<form><div class=\"field\">Write a review</div></form>")));
    }

    #[test]
    fn each_page_gets_its_own_nonce() {
        let html = "<script nonce=\"abc\">1</script><link nonce=\"abc\"><p>nonce=\"abc\" typed</p>";
        let (page, policy) = with_new_nonce(html, "script-src 'nonce-abc' 'strict-dynamic'; frame-src 'none'").unwrap();
        let new = &policy["script-src 'nonce-".len()..policy.find("' 'strict").unwrap()];
        assert!(new.len() >= 16 && new != "abc", "{policy}");
        assert_eq!(page, html.replace("abc", new));
        assert_eq!(with_new_nonce(html, "default-src 'self'"), None);
    }

    #[test]
    fn the_viewer_s_data_keeps_the_kept_page_s_nonce() {
        let shared = page("{}", "Sign in", None).replace("type=", "nonce=\"kept\" type=");
        let own = page("{\"user\":1}", "ann", None).replace("type=", "nonce=\"own\" type=");
        let out = splice(&shared, &own).unwrap();
        assert!(out.contains("<script id=\"sellout-viewer\" nonce=\"kept\" type=\"application/json\">{\"user\":1}</script>"), "{out}");
    }

    #[test]
    fn a_page_without_a_product_part_takes_only_the_header() {
        let shared = page("{}", "Sign in", None);
        let own = page("{\"user\":1}", "ann@example.com", None);
        assert_eq!(splice(&shared, &own).unwrap(), own);
    }

    #[test]
    fn a_missing_marker_on_either_side_gives_nothing() {
        let shared = page("{}", "Sign in", Some("<a>Sign in</a>"));
        assert_eq!(splice(&shared, &page("{}", "ann", None)), None, "the product part is missing from the viewer's");
        assert_eq!(splice(&page("{}", "Sign in", None), &page("{}", "ann", Some("<form>x</form>"))), None, "and from the kept page");
        assert_eq!(splice(&shared.replace("site-header", "top"), &page("{}", "ann", None)), None, "no header");
        assert_eq!(splice(&shared, "<html></html>"), None);
    }
}
