//! Accounts and sessions over HTTP: registration, sign-in, sessions, limits, authorization.

use app::accounts::{AddressInput, service};
use app::db::{email_verification, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, Visitor, cookie_client, spawn_app, spawn_app_with, test_config, fresh_database_url};

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sellout_session="))
        .map(str::to_owned)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

async fn registration_signs_in_and_rejects_bad_input(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let ann = app.visitor();
    let body = ann.register("Ann@Example.com", "correct horse").await?;
    assert_eq!(body["user"]["email"], "ann@example.com", "emails are stored lower-case");
    assert_eq!(body["user"]["role"], "shopper");
    let (status, me) = ann.get("/api/v1/auth/me").await?;
    assert_eq!((status, me["email"].as_str()), (200, Some("ann@example.com")));

    let other = app.visitor();
    for (payload, field, words) in [
        (json!({"email": "not-an-email", "password": "long enough"}), "email", "not an email address"),
        (json!({"email": "bob@example.com", "password": "short"}), "password", "at least 8"),
        (json!({"email": "ann@example.com", "password": "another one"}), "email", "already registered"),
        (json!({"email": "seller@example.com", "password": "long enough", "role": "seller"}), "seller_name", "name of your shop"),
        (json!({"email": "root@example.com", "password": "long enough", "role": "admin"}), "role", "shopper or seller"),
    ] {
        let (status, body) = other.post("/api/v1/auth/register", payload.clone()).await?;
        assert_eq!(status, 400, "{payload}");
        let msg = body["error"]["fields"][field].as_str().unwrap_or_default();
        assert!(msg.contains(words), "{payload}: {field} says {msg:?}");
    }
    let (status, _) = other.get("/api/v1/auth/me").await?;
    assert_eq!(status, 401, "a failed registration signs nobody in");

    let seller = other
        .post("/api/v1/auth/register", json!({"email": "shop@example.com", "password": "long enough", "role": "seller", "seller_name": "Ann's Attic"}))
        .await?;
    assert_eq!(seller.0, 201);
    assert_eq!(seller.1["user"]["seller"]["slug"], "ann-s-attic");
    Ok(())
}

async fn sign_in_checks_the_password_and_rotates_the_session(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    app.visitor().register("cy@example.com", "right password").await?;

    let client = cookie_client();
    // A guest session first (a cart write creates it).
    let guest = client.post(app.url("/api/v1/cart/items")).json(&json!({"sku": any_sku(&app).await?, "quantity": 1})).send().await?;
    let guest_cookie = session_cookie(&guest).expect("a guest gets a session cookie");
    assert!(guest_cookie.contains("HttpOnly"), "{guest_cookie}");
    assert!(guest_cookie.contains("SameSite=Lax"), "{guest_cookie}");
    assert!(!guest_cookie.contains("Secure"), "not Secure unless SELLOUT_SECURE_COOKIES");

    let wrong = client.post(app.url("/api/v1/auth/login")).json(&json!({"email": "cy@example.com", "password": "wrong password"})).send().await?;
    assert_eq!(wrong.status().as_u16(), 401);
    let msg = wrong.json::<serde_json::Value>().await?["error"]["message"].as_str().unwrap_or_default().to_owned();
    let (_, unknown) = Visitor::with_client(&app.address, cookie_client()).login("nobody@example.com", "whatever1").await?;
    assert_eq!(unknown["error"]["message"].as_str(), Some(msg.as_str()), "unknown email and wrong password look the same");

    let ok = client.post(app.url("/api/v1/auth/login")).json(&json!({"email": "cy@example.com", "password": "right password"})).send().await?;
    assert_eq!(ok.status().as_u16(), 200);
    let signed_in = session_cookie(&ok).expect("sign-in sets a new cookie");
    assert_ne!(cookie_value(&signed_in), cookie_value(&guest_cookie), "the session id changes at sign-in");

    let out = client.post(app.url("/api/v1/auth/logout")).send().await?;
    assert_eq!(out.status().as_u16(), 204);
    let (status, _) = Visitor::with_client(&app.address, client.clone()).get("/api/v1/auth/me").await?;
    assert_eq!(status, 401, "signed out");
    // The old signed-in session id is dead even if replayed.
    let replay = reqwest::Client::new()
        .get(app.url("/api/v1/auth/me"))
        .header(reqwest::header::COOKIE, cookie_value(&signed_in))
        .send()
        .await?;
    assert_eq!(replay.status().as_u16(), 401);
    Ok(())
}

async fn any_sku(app: &crate::helpers::TestApp) -> anyhow::Result<String> {
    Ok(crate::cart_api::in_stock_skus(app, 1, 1).await?.remove(0))
}

async fn secure_cookies_when_configured(backend: Backend) -> anyhow::Result<()> {
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.secure_cookies = true;
    let app = spawn_app_with(cfg).await?;
    let res = app.client.post(app.url("/api/v1/auth/register")).json(&json!({"email": "d@example.com", "password": "long enough"})).send().await?;
    assert!(session_cookie(&res).is_some_and(|c| c.contains("Secure")));
    Ok(())
}

async fn sign_in_is_rate_limited_per_email_and_per_ip(backend: Backend) -> anyhow::Result<()> {
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.rate_limits.signin_per_email = app::ratelimit::Rule::parse("3/60s").map_err(anyhow::Error::msg)?;
    cfg.rate_limits.signin_per_ip = app::ratelimit::Rule::parse("6/60s").map_err(anyhow::Error::msg)?;
    let app = spawn_app_with(cfg).await?;
    app.visitor().register("eve@example.com", "the password").await?;
    let v = app.visitor();
    for _ in 0..3 {
        assert_eq!(v.login("eve@example.com", "bad guess!").await?.0, 401);
    }
    let res = v.client.post(app.url("/api/v1/auth/login")).json(&json!({"email": "eve@example.com", "password": "the password"})).send().await?;
    assert_eq!(res.status().as_u16(), 429, "the 4th attempt for one email within a minute");
    let retry: u64 = res.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // Other emails from the same address: 4 attempts spent of the per-IP 6, so 2 more pass.
    for i in 0..2 {
        assert_eq!(v.login(&format!("x{i}@example.com"), "whatever1").await?.0, 401);
    }
    assert_eq!(v.login("y@example.com", "whatever1").await?.0, 429);

    let mut off = test_config(fresh_database_url(backend).await?);
    off.rate_limits.enabled = false;
    off.rate_limits.signin_per_email = app::ratelimit::Rule::parse("1/60s").map_err(anyhow::Error::msg)?;
    let app = spawn_app_with(off).await?;
    let v = app.visitor();
    for _ in 0..5 {
        assert_eq!(v.login("z@example.com", "whatever1").await?.0, 401, "SELLOUT_RATE_LIMITS=off");
    }
    Ok(())
}

async fn cross_site_writes_are_refused(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let host = app.address.trim_start_matches("http://").to_owned();
    let post = |origin: Option<&str>, site: Option<&str>| {
        let mut req = app.client.post(app.url("/api/v1/auth/register")).json(&json!({"email": "f@example.com", "password": "x"}));
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        if let Some(s) = site {
            req = req.header("Sec-Fetch-Site", s);
        }
        req.send()
    };
    assert_eq!(post(Some("https://evil.example"), None).await?.status().as_u16(), 403);
    assert_eq!(post(None, Some("cross-site")).await?.status().as_u16(), 403);
    assert_eq!(post(Some("null"), None).await?.status().as_u16(), 403);
    assert_eq!(post(Some(&format!("http://{host}")), Some("same-origin")).await?.status().as_u16(), 400, "our own origin passes (then fails validation)");
    // Server functions are guarded the same way.
    let sf = app.client.post(app.url("/api/fn/logout")).header("Origin", "https://evil.example").send().await?;
    assert_eq!(sf.status().as_u16(), 403);
    Ok(())
}

async fn protected_routes_follow_the_authorization_matrix(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let anon = app.visitor();
    let shopper = app.visitor();
    shopper.register("shopper@example.com", "long enough").await?;
    let seller_a = app.visitor();
    let (_, a) = seller_a.post("/api/v1/auth/register", json!({"email": "a@example.com", "password": "long enough", "role": "seller", "seller_name": "Shop A"})).await?;
    let seller_b = app.visitor();
    let (_, b) = seller_b.post("/api/v1/auth/register", json!({"email": "b@example.com", "password": "long enough", "role": "seller", "seller_name": "Shop B"})).await?;
    service::create_admin(&app.db, "admin@example.com", "admin password").await?;
    let admin = app.visitor();
    assert_eq!(admin.login("admin@example.com", "admin password").await?.0, 200);

    let a_id = a["user"]["seller"]["seller_id"].as_i64().unwrap();
    let b_id = b["user"]["seller"]["seller_id"].as_i64().unwrap();
    let routes = [
        "/api/v1/account".to_owned(),
        format!("/api/v1/sellers/{a_id}"),
        format!("/api/v1/sellers/{b_id}"),
        "/api/v1/admin/users".to_owned(),
    ];
    // Rows: anonymous, shopper, seller A, seller B, admin. Columns: the routes above.
    let expected: [(&Visitor, [u16; 4]); 5] = [
        (&anon, [401, 401, 401, 401]),
        (&shopper, [200, 403, 403, 403]),
        (&seller_a, [200, 200, 403, 403]),
        (&seller_b, [200, 403, 200, 403]),
        (&admin, [200, 200, 200, 200]),
    ];
    for (who, (visitor, statuses)) in ["anonymous", "shopper", "seller A", "seller B", "admin"].iter().zip(expected) {
        for (route, want) in routes.iter().zip(statuses) {
            let (got, body) = visitor.send(Method::GET, route, None).await?;
            assert_eq!(got, want, "{who} GET {route}: {body}");
        }
    }
    Ok(())
}

async fn address_book_keeps_one_default(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let body = app.visitor().register("g@example.com", "long enough").await?;
    let uid = body["user"]["user_id"].as_i64().unwrap();
    let home = AddressInput { name: "Gina".into(), line1: "Main St 1".into(), line2: None, city: "Berlin".into(), region: None, postal_code: "10115".into(), country: "de".into() };
    let first = service::save_address(&app.db, uid, None, &home, false).await?;
    assert!(first.is_default, "the first address becomes the default");
    let work = AddressInput { line1: "Work Rd 5".into(), ..home.clone() };
    let second = service::save_address(&app.db, uid, None, &work, true).await?;
    let list = service::list_addresses(&app.db, uid).await?;
    assert_eq!(list.iter().filter(|a| a.is_default).count(), 1);
    assert_eq!(list[0].address_id, second.address_id, "the default comes first");
    service::delete_address(&app.db, uid, second.address_id).await?;
    let list = service::list_addresses(&app.db, uid).await?;
    assert_eq!((list.len(), list[0].is_default), (1, true), "deleting the default promotes the other");
    let bad = AddressInput { country: "Germany".into(), postal_code: "".into(), ..home };
    let err = service::save_address(&app.db, uid, None, &bad, false).await.unwrap_err();
    assert_eq!(err.fields().keys().collect::<Vec<_>>(), ["country", "postal_code"]);
    // Someone else's address is not found for them.
    let other = app.visitor().register("h@example.com", "long enough").await?["user"]["user_id"].as_i64().unwrap();
    assert_eq!(service::delete_address(&app.db, other, first.address_id).await.unwrap_err().status(), 404);
    Ok(())
}

async fn change_password_needs_the_current_one(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let v = app.visitor();
    let uid = v.register("i@example.com", "first password").await?["user"]["user_id"].as_i64().unwrap();
    let err = service::change_password(&app.db, uid, "wrong one!", "second password").await.unwrap_err();
    assert!(err.field("current_password").is_some());
    let err = service::change_password(&app.db, uid, "first password", "short").await.unwrap_err();
    assert!(err.field("new_password").is_some());
    service::change_password(&app.db, uid, "first password", "second password").await?;
    let fresh = app.visitor();
    assert_eq!(fresh.login("i@example.com", "first password").await?.0, 401);
    assert_eq!(fresh.login("i@example.com", "second password").await?.0, 200);
    Ok(())
}

/// A page function called as the browser's JavaScript calls it; the status, `Retry-After` and body.
async fn page_fn(app: &crate::helpers::TestApp, who: &crate::helpers::Visitor, name: &str, form: &[(&str, &str)]) -> anyhow::Result<(u16, Option<String>, String)> {
    let res = who.client.post(app.url(&format!("/api/fn/{name}"))).header("origin", app.address.as_str()).form(form).send().await?;
    let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok((res.status().as_u16(), retry, res.text().await?))
}

async fn a_password_change_ends_the_other_sessions(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let email = "jo@example.com";
    let here = app.visitor();
    here.register(email, "first password").await?;
    let phone = app.visitor();
    assert_eq!(phone.login(email, "first password").await?.0, 200);
    let laptop = app.visitor();
    assert_eq!(laptop.login(email, "first password").await?.0, 200);
    for who in [&here, &phone, &laptop] {
        assert_eq!(who.get("/api/v1/auth/me").await?.0, 200);
    }
    let sku = crate::cart_api::in_stock_skus(&app, 1, 1).await?.remove(0);
    assert_eq!(here.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 1})).await?.0, 200);
    assert_eq!(laptop.get("/api/v1/cart").await?.1["item_count"], 1, "the account's cart, from any of its sessions");
    let (status, _, body) = page_fn(&app, &here, "change_password", &[("current_password", "first password"), ("new_password", "second password")]).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(here.get("/api/v1/auth/me").await?.0, 200, "the session that changed it stays signed in");
    // The laptop asks for the cart first, the phone who it is: both are nobody now.
    assert_eq!(laptop.get("/api/v1/cart").await?.1["item_count"], 0, "the account's cart is out of reach");
    assert_eq!(here.get("/api/v1/cart").await?.1["item_count"], 1, "and still there for the session that stayed");
    for who in [&phone, &laptop] {
        assert_eq!(who.get("/api/v1/auth/me").await?.0, 401, "every other session is over");
    }
    assert_eq!(phone.login(email, "first password").await?.0, 401);
    assert_eq!(phone.login(email, "second password").await?.0, 200, "signing in again with the new password works");
    assert_eq!(phone.get("/api/v1/auth/me").await?.0, 200);
    Ok(())
}

async fn guessing_the_current_password_counts_as_signing_in(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let email = "kai@example.com";
    let kai = app.visitor();
    kai.register(email, "first password").await?;
    let mut limited = None;
    for i in 0..40 {
        let guess = format!("guess number {i}");
        let (status, retry, body) = page_fn(&app, &kai, "change_password", &[("current_password", guess.as_str()), ("new_password", "second password")]).await?;
        match status {
            400 => assert!(body.contains("not your current password"), "{i}: {body}"),
            429 => {
                limited = Some((i, retry));
                break;
            }
            other => panic!("{i}: {other} {body}"),
        }
    }
    let (tries, retry) = limited.expect("wrong current passwords are limited like sign-ins");
    assert!(tries <= 10, "within the per-email sign-in limit (10): {tries}");
    assert!(retry.as_deref().and_then(|r| r.parse::<u64>().ok()).is_some_and(|s| s > 0), "with Retry-After: {retry:?}");
    // The same limit: the right password waits too, and so does a sign-in to the account.
    let (status, _, _) = page_fn(&app, &kai, "change_password", &[("current_password", "first password"), ("new_password", "second password")]).await?;
    assert_eq!(status, 429);
    assert_eq!(app.visitor().login(email, "first password").await?.0, 429);
    assert_eq!(kai.get("/api/v1/auth/me").await?.0, 200, "nothing changed: still signed in");
    Ok(())
}

/// Sign-ups are limited per client address and checkouts per shopper: 429 with `Retry-After`
/// and a sentence, in JSON and on the form without JavaScript (which keeps what was typed,
/// never the password); a refused form costs nothing; another client has their own allowance.
async fn sign_up_and_checkout_have_allowances(backend: Backend) -> anyhow::Result<()> {
    let rule = |s: &str| app::ratelimit::Rule::parse(s).map_err(anyhow::Error::msg);
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.rate_limits.signup_per_ip = rule("2/1h")?;
    cfg.rate_limits.checkout_per_user = rule("2/1h")?;
    cfg.trusted_proxies = app::ratelimit::TrustedProxies::parse("127.0.0.1").map_err(anyhow::Error::msg)?;
    let app = spawn_app_with(cfg).await?;
    let sign_up = |email: &str, from: &str| {
        let req = cookie_client().post(app.url("/api/v1/auth/register")).header("x-forwarded-for", from).json(&json!({"email": email, "password": "long enough"}));
        async move {
            let res = req.send().await?;
            let retry = res.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
            Ok::<_, anyhow::Error>((res.status().as_u16(), retry, res.json::<serde_json::Value>().await?))
        }
    };
    assert_eq!(sign_up("one@example.com", "198.51.100.1").await?.0, 201);
    assert_eq!(sign_up("not an email", "198.51.100.1").await?.0, 400, "a refused form is not a sign-up");
    assert_eq!(sign_up("two@example.com", "198.51.100.1").await?.0, 201);
    let (status, retry, body) = sign_up("three@example.com", "198.51.100.1").await?;
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some_and(|r| (1..=3600).contains(&r)), "Retry-After {retry:?}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("Please wait")), "{body}");
    assert_eq!(sign_up("four@example.com", "198.51.100.2").await?.0, 201, "another client");
    // Without JavaScript: back on the form with the reason and the email kept, not the password.
    let res = cookie_client()
        .post(app.url("/api/fn/register"))
        .header("accept", "text/html")
        .header("origin", app.address.as_str())
        .header("x-forwarded-for", "198.51.100.1")
        .form(&[("email", "five@example.com"), ("password", "my secret words")])
        .send()
        .await?;
    assert_eq!(res.status().as_u16(), 302);
    let to = res.headers()["location"].to_str()?.to_owned();
    assert!(to.starts_with("/register?") && to.contains("five%40example.com") && to.contains("wait"), "{to}");
    assert!(!to.contains("secret"), "the password is never put in a link: {to}");

    // Checkout: a shopper's third attempt within the hour is turned away before anything is reserved.
    let cy = app.visitor();
    cy.register("cy@example.com", "long enough").await?;
    let sku = crate::cart_api::in_stock_skus(&app, 1, 1).await?.remove(0);
    cy.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 1})).await?;
    let checkout = |key: &'static str| {
        let req = cy.client.post(app.url("/api/v1/orders/checkout")).header("Idempotency-Key", key).json(&json!({
            "shipping_address": {"name": "Cy Lee", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
            "shipping_method": "standard", "payment_method_id": "pm_card_visa_chargeDeclined"
        }));
        async move { Ok::<u16, anyhow::Error>(req.send().await?.status().as_u16()) }
    };
    assert_eq!(checkout("declined-1").await?, 402);
    assert_ne!(checkout("declined-1").await?, 429, "the second attempt within the hour");
    assert_eq!(checkout("declined-2").await?, 429, "a third attempt within the hour");
    Ok(())
}

/// A wrong sign-in sent with `X-Forwarded-For: forwarded_for`: its status.
async fn sign_in_from(app: &crate::helpers::TestApp, forwarded_for: &str) -> anyhow::Result<u16> {
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": "nobody@example.com", "password": "a wrong one"}))
        .send()
        .await?;
    Ok(res.status().as_u16())
}

/// Behind a trusted proxy every client has their own sign-in allowance, read from the
/// right-most address the proxies did not add; what anyone else sends in the header is not
/// believed; IPv6 clients share one allowance per /64.
async fn the_client_behind_a_trusted_proxy_has_their_own_allowance(backend: Backend) -> anyhow::Result<()> {
    let rule = |s: &str| app::ratelimit::Rule::parse(s).map_err(anyhow::Error::msg);
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.rate_limits.signin_per_ip = rule("2/1h")?;
    cfg.rate_limits.signin_per_email = rule("100/1h")?;
    cfg.trusted_proxies = app::ratelimit::TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").map_err(anyhow::Error::msg)?;
    let app = spawn_app_with(cfg).await?;
    let login = |forwarded_for: &'static str| sign_in_from(&app, forwarded_for);
    for _ in 0..2 {
        assert_eq!(login("198.51.100.1").await?, 401);
    }
    assert_eq!(login("198.51.100.1").await?, 429, "the third try of one client within the hour");
    assert_eq!(login("198.51.100.2").await?, 401, "another client behind the same proxy has their own allowance");
    assert_eq!(login("198.51.100.3, 10.0.0.7").await?, 401, "behind two proxies");
    assert_eq!(login("203.0.113.99, 198.51.100.1").await?, 429, "a made-up first hop does not make a new client");
    for _ in 0..2 {
        assert_eq!(login("2001:db8:1:2::1").await?, 401);
    }
    assert_eq!(login("2001:db8:1:2:ffff::9").await?, 429, "the same /64");
    assert_eq!(login("2001:db8:1:3::1").await?, 401, "another /64");

    // Trusting no proxy (the default): the header is ignored, everyone here is the socket's peer.
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.rate_limits.signin_per_ip = rule("2/1h")?;
    cfg.rate_limits.signin_per_email = rule("100/1h")?;
    let app = spawn_app_with(cfg).await?;
    let mut statuses = Vec::new();
    for forged in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        statuses.push(sign_in_from(&app, forged).await?);
    }
    assert_eq!(statuses, [401, 401, 429], "forged addresses share the peer's allowance");
    Ok(())
}

/// Sign-up mails a link through the outbox; opening it (the REST call or the page's button,
/// without JavaScript) confirms the address once; a wrong, cut or expired link is refused with
/// a sentence; a lost mail is sent again, a few times an hour.
async fn sign_up_mails_a_link_that_confirms_the_address_once(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let cy = app.visitor();
    cy.register("cy@example.com", "long enough").await?;
    assert_eq!(cy.get("/api/v1/auth/email").await?.1, json!({"email": "cy@example.com", "verified": false}));
    let token = crate::helpers::confirm_link(&app, "cy@example.com", 1).await?;
    assert_eq!(token.len(), 64, "256 random bits: {token}");
    let stored: Vec<String> = email_verification::Entity::find().all(&app.db).await?.into_iter().map(|v| v.token_hash).collect();
    assert!(!stored.contains(&token) && stored.len() == 1, "only a hash of the secret is kept");

    let anon = app.visitor();
    for (bad, says) in [("", "incomplete"), ("nope", "not a link we sent"), (&token[..40], "not a link we sent")] {
        let (status, body) = anon.post("/api/v1/auth/verify-email", json!({"token": bad})).await?;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains(says)), "{bad:?}: {body}");
    }
    assert_eq!(cy.get("/api/v1/auth/email").await?.1["verified"], false);
    // The same link opened in several tabs at once: one confirms, the others find it done.
    let opened = futures::future::join_all((0..6).map(|_| anon.post("/api/v1/auth/verify-email", json!({"token": token})))).await;
    let answers: Vec<String> = opened.into_iter().map(|r| r.map(|(status, body)| format!("{status} {}", body["confirmed"]))).collect::<anyhow::Result<_>>()?;
    assert_eq!(answers.iter().filter(|a| *a == "200 \"now\"").count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| *a == "200 \"already\"").count(), 5, "{answers:?}");
    let at = user::Entity::find().filter(user::Column::Email.eq("cy@example.com")).one(&app.db).await?.unwrap().email_verified_at;
    assert!(at.is_some());
    assert_eq!(cy.get("/api/v1/auth/email").await?.1["verified"], true);
    let (status, body) = cy.post("/api/v1/auth/email/send-link", json!({})).await?;
    assert_eq!(status, 409, "nothing to confirm: {body}");

    // An expired link, then the mail sent again: three times an hour, then 429.
    let dee = app.visitor();
    dee.register("dee@example.com", "long enough").await?;
    let old = crate::helpers::confirm_link(&app, "dee@example.com", 1).await?;
    let dee_id = user::Entity::find().filter(user::Column::Email.eq("dee@example.com")).one(&app.db).await?.unwrap().id;
    email_verification::Entity::update_many()
        .col_expr(email_verification::Column::ExpiresAt, sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)))
        .filter(email_verification::Column::UserId.eq(dee_id))
        .exec(&app.db)
        .await?;
    let (status, body) = anon.post("/api/v1/auth/verify-email", json!({"token": old})).await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("expired") && m.contains("ask for a new one")), "{body}");
    assert_eq!(anon.post("/api/v1/auth/email/send-link", json!({})).await?.0, 401, "signed in to ask");
    for _ in 0..3 {
        assert_eq!(dee.post("/api/v1/auth/email/send-link", json!({})).await?.0, 202);
    }
    let (status, retry, text) = page_fn(&app, &dee, "send_verification", &[]).await?;
    assert_eq!(status, 429, "{text}");
    assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| (1..=3600).contains(&s))), "Retry-After");
    let newest = crate::helpers::confirm_link(&app, "dee@example.com", 4).await?;
    assert_ne!(newest, old);

    // The page the mail leads to, without JavaScript: a button, then the answer.
    let html = dee.client.get(app.url(&format!("/account/verify?token={newest}"))).send().await?.text().await?;
    assert!(html.contains("data-testid=\"confirm-email\"") && html.contains(&newest), "a button, not a confirmation on GET");
    assert_eq!(dee.get("/api/v1/auth/email").await?.1["verified"], false, "opening the page confirms nothing");
    let res = cookie_client()
        .post(app.url("/api/fn/confirm_email"))
        .header("origin", app.address.as_str())
        .header("accept", "text/html")
        .form(&[("token", newest.as_str())])
        .send()
        .await?;
    assert_eq!(res.headers().get("location").and_then(|v| v.to_str().ok()), Some("/account/verify?confirmed=1"));
    assert_eq!(dee.get("/api/v1/auth/email").await?.1["verified"], true);
    let res = cookie_client()
        .post(app.url("/api/fn/confirm_email"))
        .header("origin", app.address.as_str())
        .header("accept", "text/html")
        .form(&[("token", "cut")])
        .send()
        .await?;
    let back = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(back.starts_with("/account/verify?token=cut&error="), "back to the page with the reason: {back}");
    Ok(())
}

crate::on_both_databases!(
    sign_up_mails_a_link_that_confirms_the_address_once,
    sign_up_and_checkout_have_allowances,
    the_client_behind_a_trusted_proxy_has_their_own_allowance,
    registration_signs_in_and_rejects_bad_input,
    sign_in_checks_the_password_and_rotates_the_session,
    secure_cookies_when_configured,
    sign_in_is_rate_limited_per_email_and_per_ip,
    cross_site_writes_are_refused,
    protected_routes_follow_the_authorization_matrix,
    address_book_keeps_one_default,
    change_password_needs_the_current_one,
    a_password_change_ends_the_other_sessions,
    guessing_the_current_password_counts_as_signing_in,
);
