//! Hostile text: one list of strings (`end2end/tests/hostile-strings.json`, which the browser
//! test reads too) put through the API into every field a person types, then every page that
//! shows them fetched as server HTML: no injected element, no script, exactly one `<title>`,
//! never a 500. Plus the redirect after signing in, which takes `next` from the form.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, Visitor, spawn_app, unique_name};
use crate::seller::seller;

/// The one list of hostile strings.
pub fn hostile_strings() -> Vec<String> {
    serde_json::from_str(include_str!("../../../end2end/tests/hostile-strings.json")).expect("the hostile-strings list is a JSON array of strings")
}

/// What must never appear raw in a page: each is the start of an element or a link that a
/// hostile string would have made had it reached the HTML unescaped.
const INJECTED: [&str; 4] = ["<script>alert(", "<img src=x", "href=\"javascript:", "X-Injected: 4\r\n"];

fn assert_inert(what: &str, html: &str) {
    for marker in INJECTED {
        if let Some(at) = html.find(marker) {
            let around: String = html[html.floor_char_boundary(at.saturating_sub(200))..].chars().take(400).collect();
            panic!("{what}: the page carries {marker:?} unescaped: …{around}…");
        }
    }
    let titles = html.matches("<title>").count();
    assert_eq!(titles, 1, "{what}: one <title>, found {titles}");
    let title = html.split("<title>").nth(1).and_then(|rest| rest.split("</title>").next()).unwrap_or("");
    assert!(!title.contains('<'), "{what}: markup inside the title: {title:?}");
    assert!(html.contains("</html>"), "{what}: the page was cut off");
}

async fn fetch(app: &TestApp, who: &Visitor, path: &str) -> anyhow::Result<String> {
    let res = who.client.get(app.url(path)).send().await?;
    let status = res.status().as_u16();
    let html = res.text().await?;
    anyhow::ensure!(status < 500, "{path}: {status}");
    Ok(html)
}

async fn hostile_text_is_shown_as_text_on_every_page(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let strings = hostile_strings();
    let (ann, _) = seller(&app, &format!("{}@example.com", unique_name("ann")), &strings[0]).await?;
    let shopper = app.visitor();
    shopper.register(&format!("{}@example.com", unique_name("dee")), "a long enough password").await?;
    let category = {
        let (_, list) = app.get_json("/api/v1/products?limit=1").await?;
        let id = list["products"][0]["product_id"].as_i64().unwrap();
        let (_, p) = app.get_json(&format!("/api/v1/products/{id}")).await?;
        p["categories"].as_array().and_then(|c| c.last()).map(|c| c["slug"].as_str().unwrap_or("").to_owned()).unwrap_or_default()
    };
    let anyone = app.visitor();
    let at = |h: i64| (Utc::now() + Duration::hours(h)).to_rfc3339();

    let mut shown = 0;
    for (i, text) in strings.iter().enumerate() {
        let sku = format!("HOSTILE-{i}");
        let product = json!({
            "title": format!("Hostile {i} {text}"), "description": text, "brand": text, "category": category,
            "tags": [text], "status": "active",
            "variants": [{"sku": sku, "attributes": {"finish": text}, "price": {"amount": 1999, "currency": "EUR"}, "stock": 9}],
        });
        let (status, p) = ann.post("/api/v1/seller/products", product).await?;
        if app::text::unwanted_char(text, false).is_some() || text.chars().count() > 200 {
            // Control characters and direction overrides (and a title too long) are refused,
            // naming the field; nothing is stored.
            assert_eq!(status, 400, "{i}: {p}");
            assert!(p["error"]["fields"]["title"].as_str().is_some_and(|m| !m.is_empty()), "{i}: the title is named: {p}");
            continue;
        }
        assert_eq!(status, 201, "{i}: {p}");
        shown += 1;
        let id = p["product_id"].as_i64().unwrap();

        // A shopper orders it to an address of hostile text, and reviews it.
        let (status, body) = shopper.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 1})).await?;
        assert!(status == 200 || status == 201, "{i}: {status} {body}");
        let address = json!({"name": text, "line1": text, "city": text, "postal_code": "10115", "country": "DE"});
        let res = shopper
            .client
            .post(app.url("/api/v1/orders/checkout"))
            .header("Idempotency-Key", format!("hostile-{i}"))
            .json(&json!({"shipping_address": address, "shipping_method": "standard", "payment_method_id": "pm_card_visa"}))
            .send()
            .await?;
        let status = res.status().as_u16();
        let order: Value = res.json().await?;
        assert!(status == 201 || status == 400, "{i}: checkout {status} {order}");
        let (status, body) = shopper.post(&format!("/api/v1/products/{id}/reviews"), json!({"rating": 4, "body": text})).await?;
        assert!(status == 201 || status == 400, "{i}: review {status} {body}");

        // A sale of it.
        let (status, sale) = ann
            .post("/api/v1/seller/sales", json!({"sku": sku, "price": {"amount": 999, "currency": "EUR"}, "starts_at": at(1), "ends_at": at(2), "allocation": 2}))
            .await?;
        assert_eq!(status, 201, "{i}: {sale}");
        let sale_id = sale["sale_id"].as_i64().unwrap();

        let mut pages = vec![
            (&anyone, format!("/p/{id}")),
            (&anyone, format!("/sales/{sale_id}")),
            (&anyone, format!("/search?q=Hostile+{i}")),
            (&anyone, format!("/c/{category}")),
            (&shopper, format!("/p/{id}")),
            (&ann, format!("/seller/products/{id}")),
            (&ann, "/seller/products".to_owned()),
            (&ann, format!("/seller/sales/{sale_id}")),
        ];
        if let Some(order_id) = order["order_id"].as_i64() {
            pages.push((&shopper, format!("/orders/{order_id}")));
            pages.push((&ann, "/seller/orders".to_owned()));
            pages.push((&ann, format!("/seller/orders/{order_id}")));
            pages.push((&ann, format!("/seller/orders/{order_id}/slip")));
            pages.push((&ann, format!("/seller/orders/{order_id}?confirm=cancel&reason={}", app::ui::forms::url_encode(text))));
        }
        for (who, path) in pages {
            let html = fetch(&app, who, &path).await?;
            assert_inert(&format!("string {i} on {path}"), &html);
        }
    }
    assert!(shown > 0, "no hostile string was stored: the pages were never tried");

    // Search words come straight from the address bar: on the results page, kept for everyone.
    for (i, text) in strings.iter().enumerate() {
        for _ in 0..2 {
            let html = fetch(&app, &anyone, &format!("/search?q={}", app::ui::forms::url_encode(text))).await?;
            assert_inert(&format!("search words {i}"), &html);
        }
    }
    Ok(())
}

/// The first string of the list, in a page title, reads back as the text it was.
async fn a_title_of_markup_is_its_text(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let html = fetch(&app, &app.visitor(), "/search?q=%3C%2Ftitle%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E").await?;
    assert!(html.contains("<title>Search: &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; · Sellout</title>"), "{}", html.split("<title>").nth(1).unwrap_or(""));
    Ok(())
}

/// `next` after signing in or registering: a same-site path only; anything else goes to `/`.
/// A control character never reaches a header (it used to panic the server).
async fn sign_in_goes_only_to_a_path_of_this_shop(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build()?;
    let cases = [
        ("/orders", "/orders"),
        ("/p/3?sku=A-1#reviews", "/p/3?sku=A-1#reviews"),
        ("/\r\nX-Injected: 1", "/"),
        ("/%0D%0AX-Injected:%201", "/"),
        ("/\t/evil.example", "/"),
        ("/%09/evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        (" /orders", "/"),
        ("/%2F%2Fevil.example", "/"),
        ("/a b", "/"),
    ];
    for (i, (next, expected)) in cases.iter().enumerate() {
        let email = format!("{}@example.com", unique_name(&format!("next{i}")));
        let form = [("email", email.as_str()), ("password", "a long enough password"), ("next", next)];
        let res = no_redirects
            .post(app.url("/api/fn/register"))
            .header("accept", "text/html")
            .header("origin", app.address.as_str())
            .form(&form)
            .send()
            .await?;
        assert_eq!(res.status().as_u16(), 302, "register with next={next:?}");
        assert_eq!(res.headers()["location"], *expected, "register with next={next:?}");
        let res = no_redirects.post(app.url("/api/fn/logout")).header("accept", "text/html").header("origin", app.address.as_str()).send().await?;
        assert!(res.status().as_u16() < 500);
        let res = no_redirects
            .post(app.url("/api/fn/login"))
            .header("accept", "text/html")
            .header("origin", app.address.as_str())
            .form(&[("email", email.as_str()), ("password", "a long enough password"), ("next", next)])
            .send()
            .await?;
        assert_eq!(res.status().as_u16(), 302, "sign in with next={next:?}");
        assert_eq!(res.headers()["location"], *expected, "sign in with next={next:?}");
    }
    Ok(())
}

/// NUL, BEL and a right-to-left override in a shop name, a review and a shipping name: each
/// refused with a 400 naming the field, nothing stored.
async fn control_characters_are_refused_naming_the_field(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (_, list) = app.get_json("/api/v1/products?limit=1").await?;
    let product = list["products"][0]["product_id"].as_i64().unwrap();
    let shopper = app.visitor();
    shopper.register("ed@example.com", "a long enough password").await?;
    let sku = crate::cart_api::in_stock_skus(&app, 2, 1).await?.remove(0);
    assert_eq!(shopper.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 1})).await?.0, 200);
    for (i, bad) in ["Ann\u{0}s", "Ring\u{7}bell", "evil\u{202E}gnp.exe"].into_iter().enumerate() {
        let (status, body) = app
            .visitor()
            .post("/api/v1/auth/register", json!({"email": format!("shop{i}@example.com"), "password": "long enough", "role": "seller", "seller_name": bad}))
            .await?;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body["error"]["fields"]["seller_name"].is_string(), "{bad:?}: {body}");
        let (status, body) = shopper.post(&format!("/api/v1/products/{product}/reviews"), json!({"rating": 3, "body": bad})).await?;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body["error"]["fields"]["body"].is_string(), "{bad:?}: {body}");
        let res = shopper
            .client
            .post(app.url("/api/v1/orders/checkout"))
            .header("Idempotency-Key", format!("ctl-{i}"))
            .json(&json!({"shipping_address": {"name": bad, "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}, "shipping_method": "standard", "payment_method_id": "pm_card_visa"}))
            .send()
            .await?;
        assert_eq!(res.status().as_u16(), 400, "{bad:?}");
        let body: Value = res.json().await?;
        assert!(body["error"]["fields"]["shipping_address.name"].is_string(), "{bad:?}: {body}");
    }
    let (_, reviews) = shopper.get(&format!("/api/v1/products/{product}/reviews")).await?;
    assert!(!reviews["reviews"].as_array().unwrap().iter().any(|r| r["mine"] == true), "no review stored: {reviews}");
    let (_, orders) = shopper.get("/api/v1/orders").await?;
    assert_eq!(orders, json!([]), "no order stored");
    Ok(())
}

crate::on_both_databases!(
    hostile_text_is_shown_as_text_on_every_page,
    a_title_of_markup_is_its_text,
    sign_in_goes_only_to_a_path_of_this_shop,
    control_characters_are_refused_naming_the_field,
);
