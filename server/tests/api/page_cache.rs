//! Pages kept for anonymous visitors: served again without rendering, never to a visitor with
//! a cookie, and never after a change to what they show.

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

    // A visitor with a cookie (signed in, a cart) gets their own page, never a shared one.
    let res = ann.client.get(app.url(&path)).send().await?;
    assert!(res.headers().get("x-sellout-page-cache").is_none(), "a signed-in visitor's page is not shared");

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

crate::on_both_databases!(anonymous_pages_are_kept_until_what_they_show_changes);
