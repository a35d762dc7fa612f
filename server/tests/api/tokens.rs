//! API tokens: made once and kept hashed, scoped, sent as `Authorization: Bearer`, free of the
//! cross-site guard, rate limited per token, revoked at once, and never a way around the cookie.

use app::db::api_token;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cart_api::in_stock_skus;
use crate::helpers::{Backend, TestApp, Visitor, fresh_database_url, spawn_app, spawn_app_with, test_config};
use crate::seller::{admin, seller};

/// A program with `token`: no cookies at all.
fn program(app: &TestApp, token: &str) -> Visitor {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    let client = reqwest::Client::builder().default_headers(headers).build().unwrap();
    Visitor::with_client(&app.address, client)
}

async fn make(v: &Visitor, name: &str, scopes: &[&str]) -> anyhow::Result<Value> {
    let (status, body) = v.post("/api/v1/tokens", json!({"name": name, "scopes": scopes})).await?;
    anyhow::ensure!(status == 201, "making token {name}: {status} {body}");
    Ok(body)
}

fn product(sku: &str) -> Value {
    json!({"title": "Token Lamp", "brand": "Lumo", "variants": [{"sku": sku, "price": {"amount": 1999, "currency": "EUR"}, "stock": 3}]})
}

async fn a_seller_makes_uses_and_revokes_a_scoped_token(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (shop, _) = seller(&app, "tok-seller@example.com", "Token Shop").await?;
    let made = make(&shop, "  stock sync ", &["catalog:write", "catalog:read"]).await?;
    let secret = made["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("so_") && secret.len() == 67, "so_ and 64 hex digits: {secret}");
    assert_eq!(made["name"], "stock sync");
    assert_eq!(made["scopes"], json!(["catalog:read", "catalog:write"]));
    assert!(secret.starts_with(made["prefix"].as_str().unwrap()));

    // Kept as a hash only; the list never shows the secret.
    let id = made["token_id"].as_i64().unwrap();
    let row = api_token::Entity::find_by_id(id).one(&app.db).await?.unwrap();
    let hash: String = Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(row.token_hash, hash);
    assert!(row.last_used_at.is_none());
    let (status, list) = shop.get("/api/v1/tokens").await?;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("token").is_none() && !list.to_string().contains(&secret), "{list}");

    // The token reads and writes the catalog with no cookie, and a write from "another site"
    // passes: a form elsewhere cannot send this header.
    let bot = program(&app, &secret);
    assert_eq!(bot.get("/api/v1/seller/products").await?.0, 200);
    let res = bot
        .client
        .post(format!("{}/api/v1/seller/products", app.address))
        .header("origin", "https://elsewhere.example")
        .header("sec-fetch-site", "cross-site")
        .json(&product("TOK-1"))
        .send()
        .await?;
    assert_eq!(res.status().as_u16(), 201, "{}", res.text().await?);
    let res = shop
        .client
        .post(format!("{}/api/v1/seller/products", app.address))
        .header("origin", "https://elsewhere.example")
        .header("sec-fetch-site", "cross-site")
        .json(&product("TOK-2"))
        .send()
        .await?;
    assert_eq!(res.status().as_u16(), 403, "the same write riding on the cookie is refused");
    let used = api_token::Entity::find_by_id(id).one(&app.db).await?.unwrap();
    assert!(used.last_used_at.is_some(), "the token's last use is recorded");

    // Outside its scopes: a 403 naming the scope it lacks.
    let (status, body) = bot.get("/api/v1/seller/orders").await?;
    assert_eq!(status, 403);
    assert!(body["error"]["message"].as_str().unwrap().contains("orders scope"), "{body}");
    // A token gives a new token only what it has.
    let (status, body) = bot.post("/api/v1/tokens", json!({"name": "more", "scopes": ["orders"]})).await?;
    assert_eq!(status, 403, "{body}");
    assert_eq!(bot.post("/api/v1/tokens", json!({"name": "narrower", "scopes": ["catalog:read"]})).await?.0, 201);

    // Revoked: refused from the next request on, still listed as revoked.
    let (status, revoked) = shop.delete(&format!("/api/v1/tokens/{id}")).await?;
    assert_eq!(status, 200);
    assert!(revoked["revoked_at"].is_string());
    let (status, body) = bot.get("/api/v1/seller/products").await?;
    assert_eq!(status, 401);
    assert!(body["error"]["message"].as_str().unwrap().contains("revoked"), "{body}");
    let (_, list) = shop.get("/api/v1/tokens").await?;
    assert!(list.as_array().unwrap().iter().any(|t| t["token_id"] == id && t["revoked_at"].is_string()));
    assert_eq!(shop.delete("/api/v1/tokens/999999").await?.0, 404, "another account's or no token: 404");
    Ok(())
}

async fn a_token_does_no_more_than_its_owner_and_never_falls_back_to_the_cookie(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let shopper = app.visitor();
    shopper.register("tok-shopper@example.com", "long enough").await?;
    let (status, body) = shopper.post("/api/v1/tokens", json!({"name": "bot", "scopes": ["catalog:write"]})).await?;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["fields"]["scopes"], "A shopper account cannot give a token the catalog:write scope.");
    let (status, body) = shopper.post("/api/v1/tokens", json!({"name": "", "scopes": []})).await?;
    assert_eq!(status, 400);
    assert!(body["error"]["fields"]["name"].is_string() && body["error"]["fields"]["scopes"].is_string(), "{body}");
    assert_eq!(app.visitor().post("/api/v1/tokens", json!({"name": "x", "scopes": ["orders"]})).await?.0, 401);

    // The shopper's token fills the shopper's own cart (the one the browser sees).
    let secret = make(&shopper, "cart bot", &["orders"]).await?["token"].as_str().unwrap().to_owned();
    let sku = in_stock_skus(&app, 2, 1).await?.remove(0);
    let bot = program(&app, &secret);
    let (status, body) = bot.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 2})).await?;
    assert_eq!(status, 200, "{body}");
    let (_, cart) = shopper.get("/api/v1/cart").await?;
    assert_eq!(cart["items"][0]["sku"], sku.as_str(), "{cart}");
    assert_eq!(bot.get("/api/v1/account").await?.1["user"]["email"], "tok-shopper@example.com");
    assert_eq!(bot.post("/api/v1/sales/1/queue", json!({})).await?.0, 403, "no sales scope");

    // With an Authorization header the cookie is not read: a bad token is a 401 even for a
    // signed-in browser, and only Bearer is understood.
    for value in ["Bearer so_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer"] {
        let res = shopper.client.get(format!("{}/api/v1/account", app.address)).header("authorization", value).send().await?;
        assert_eq!(res.status().as_u16(), 401, "{value}");
        let body: Value = res.json().await?;
        assert!(body["error"]["message"].as_str().unwrap().contains("Authorization: Bearer"), "{value}: {body}");
    }

    // An admin's token reaches the admin routes; a seller's cannot be given the scope.
    let root = admin(&app).await?;
    let secret = make(&root, "audit", &["admin"]).await?["token"].as_str().unwrap().to_owned();
    assert_eq!(program(&app, &secret).get("/api/v1/admin/users").await?.0, 200);
    let (shop, _) = seller(&app, "tok-seller2@example.com", "Token Shop 2").await?;
    assert_eq!(shop.post("/api/v1/tokens", json!({"name": "x", "scopes": ["admin"]})).await?.0, 400);
    Ok(())
}

async fn each_token_has_its_own_rate_limit(backend: Backend) -> anyhow::Result<()> {
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.rate_limits.api_token = app::ratelimit::Rule::parse("3/60s")?;
    let app = spawn_app_with(cfg).await?;
    let shopper = app.visitor();
    shopper.register("tok-limit@example.com", "long enough").await?;
    let one = program(&app, make(&shopper, "one", &["orders"]).await?["token"].as_str().unwrap());
    let two = program(&app, make(&shopper, "two", &["orders"]).await?["token"].as_str().unwrap());
    for _ in 0..3 {
        assert_eq!(one.get("/api/v1/cart").await?.0, 200);
    }
    let res = one.client.get(format!("{}/api/v1/cart", app.address)).send().await?;
    assert_eq!(res.status().as_u16(), 429, "the fourth request of the minute");
    assert!(res.headers().get("retry-after").is_some());
    assert_eq!(two.get("/api/v1/cart").await?.0, 200, "another token has its own budget");
    assert_eq!(shopper.get("/api/v1/cart").await?.0, 200, "and the browser is not limited by them");
    Ok(())
}

crate::on_both_databases!(a_seller_makes_uses_and_revokes_a_scoped_token, a_token_does_no_more_than_its_owner_and_never_falls_back_to_the_cookie, each_token_has_its_own_rate_limit);
