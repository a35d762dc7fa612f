//! Pages kept for anonymous visitors: served again without rendering, to a visitor with a
//! cookie only with their own parts put in (and then exactly the page rendered for them), and
//! never after a change to what they show.

use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app};

async fn anonymous(app: &TestApp, path: &str) -> anyhow::Result<(u16, Option<String>, String)> {
    // A client without a cookie jar: every request is a first visit.
    let res = reqwest::Client::new().get(app.url(path)).send().await?;
    let cache = res.headers().get("x-sellout-page-cache").and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok((res.status().as_u16(), cache, res.text().await?))
}

async fn anonymous_pages_are_kept_until_what_they_show_changes(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = crate::seller::seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let mut body = json!({"title": "Zephyrine Desk Lamp", "brand": "Lumo", "status": "active", "variants": [{"sku": "ZEPH-9", "price": {"amount": 4999, "currency": "EUR"}, "stock": 7}]});
    let (status, made) = ann.post("/api/v1/seller/products", body.clone()).await?;
    assert_eq!(status, 201, "{made}");
    let id = made["product_id"].as_i64().unwrap();
    let path = format!("/p/{id}");

    let (status, first, html) = anonymous(&app, &path).await?;
    assert_eq!((status, first.as_deref()), (200, Some("miss")));
    assert!(html.contains("€49.99"), "the price is on the page");
    let (status, second, again) = anonymous(&app, &path).await?;
    assert_eq!((status, second.as_deref()), (200, Some("hit")), "the second visitor gets the kept page");
    assert_eq!(again, html, "the same bytes");

    // A visitor with a cookie (signed in, a cart) gets the kept page with their own parts.
    let res = ann.client.get(app.url(&path)).send().await?;
    assert_eq!(res.headers().get("x-sellout-page-cache").and_then(|v| v.to_str().ok()), Some("own-parts"));
    assert_eq!(res.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("private, no-store"), "no cache keeps it");
    let own = res.text().await?;
    assert!(own.contains("ann@example.com") && own.contains("€49.99"), "her header on the kept page");
    let (_, state, again) = anonymous(&app, &path).await?;
    assert_eq!((state.as_deref(), again == html), (Some("hit"), true), "the kept page is untouched");

    // The seller changes the price: the very next anonymous view shows it.
    body["variants"][0]["price"]["amount"] = json!(3999);
    let (status, p) = ann.put(&format!("/api/v1/seller/products/{id}"), body).await?;
    assert_eq!(status, 200, "{p}");
    let (_, state, html) = anonymous(&app, &path).await?;
    assert_eq!(state.as_deref(), Some("miss"), "the change made the kept page stale");
    assert!(html.contains("€39.99") && !html.contains("€49.99"), "the new price, not the old one");

    // Only 200s are kept: a missing product is rendered each time.
    let (status, state, _) = anonymous(&app, "/p/999999").await?;
    assert_eq!((status, state.as_deref()), (404, None));
    Ok(())
}

/// The page without its nonces (each rendering has its own).
fn without_nonces(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(" nonce=\"") {
        out.push_str(&rest[..at]);
        let value = &rest[at + 8..];
        rest = value.find('"').map_or("", |end| &value[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// What `visitor` gets for `path`: from the kept page (`own-parts`), and rendered for them
/// (a hard reload's `Cache-Control: no-cache`).
async fn kept_and_rendered(app: &TestApp, visitor: &crate::helpers::Visitor, path: &str) -> anyhow::Result<(String, String)> {
    let res = visitor.client.get(app.url(path)).send().await?;
    assert_eq!((res.status().as_u16(), res.headers().get("x-sellout-page-cache").and_then(|v| v.to_str().ok())), (200, Some("own-parts")), "{path}");
    let kept = res.text().await?;
    let res = visitor.client.get(app.url(path)).header("cache-control", "no-cache").send().await?;
    assert_eq!((res.status().as_u16(), res.headers().get("x-sellout-page-cache").is_none()), (200, true), "{path}: rendered");
    Ok((without_nonces(&kept), without_nonces(&res.text().await?)))
}

async fn a_signed_in_page_is_the_kept_one_with_the_viewer_s_own_parts(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = crate::seller::seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let body = json!({"title": "Zephyrine Desk Lamp", "brand": "Lumo", "status": "active", "variants": [{"sku": "ZEPH-9", "price": {"amount": 4999, "currency": "EUR"}, "stock": 7}]});
    let (status, made) = ann.post("/api/v1/seller/products", body).await?;
    assert_eq!(status, 201, "{made}");
    let id = made["product_id"].as_i64().unwrap();
    let path = format!("/p/{id}");
    let bob = app.visitor();
    bob.register("bob.stone@example.com", "long enough").await?;
    let carol = app.visitor();
    carol.register("carol@example.com", "long enough").await?;
    let (status, _) = bob.put(&format!("/api/v1/wishlist/{id}"), json!({})).await?;
    assert_eq!(status, 204);
    let (status, review) = bob.post(&format!("/api/v1/products/{id}/reviews"), json!({"rating": 4, "body": "Bright and steady."})).await?;
    assert!(status == 200 || status == 201, "{review}");

    // The search page below lists the lamp once the index has it (what it shows of the lamp
    // is the same before and after the index takes the review in).
    let started = std::time::Instant::now();
    while app.get_json("/api/v1/search?q=zephyrine").await?.1["total"] != 1 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the lamp never became searchable");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Each viewer's page from the kept one is exactly the page rendered for them.
    for (who, visitor) in [("bob", &bob), ("carol", &carol), ("ann", &ann)] {
        for page in [path.as_str(), "/", "/search?q=zephyrine"] {
            let (kept, rendered) = kept_and_rendered(&app, visitor, page).await?;
            let first = kept.bytes().zip(rendered.bytes()).position(|(a, b)| a != b).unwrap_or(kept.len().min(rendered.len()));
            let near = |s: &str| s.get(first.saturating_sub(200)..(first + 200).min(s.len())).unwrap_or_default().to_owned();
            assert!(kept == rendered, "{who} on {page}: from byte {first}, kept …{}… rendered …{}…", near(&kept), near(&rendered));
        }
    }
    let (bob_page, _) = kept_and_rendered(&app, &bob, &path).await?;
    assert!(bob_page.contains("bob.stone@example.com") && bob_page.contains("Saved to your wishlist") && bob_page.contains("Edit your review"), "his own parts");
    assert!(!bob_page.contains("carol@example.com") && !bob_page.contains("Sign in to save"), "nobody else's");
    let (carol_page, _) = kept_and_rendered(&app, &carol, &path).await?;
    assert!(carol_page.contains("carol@example.com") && carol_page.contains("Save to wishlist") && carol_page.contains("Write a review"), "hers");
    assert!(!carol_page.contains("bob.stone@example.com") && !carol_page.contains("Saved to your wishlist") && !carol_page.contains("Edit your review"), "not his");
    assert!(carol_page.contains("Bright and steady."), "his review is in the list everyone sees");
    let (ann_page, _) = kept_and_rendered(&app, &ann, &path).await?;
    assert!(ann_page.contains("You sell this product") && !ann_page.contains("Write a review"), "the seller cannot review her own");

    let (_, state, anonymous_page) = anonymous(&app, &path).await?;
    assert_eq!(state.as_deref(), Some("hit"));
    assert!(anonymous_page.contains("Sign in to save this to your wishlist"), "an anonymous visitor is asked to sign in");
    for email in ["ann@example.com", "bob.stone@example.com", "carol@example.com"] {
        assert!(!anonymous_page.contains(email), "the kept page holds no viewer's parts: {email}");
    }
    Ok(())
}

crate::on_both_databases!(anonymous_pages_are_kept_until_what_they_show_changes, a_signed_in_page_is_the_kept_one_with_the_viewer_s_own_parts);
