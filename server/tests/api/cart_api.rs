//! The cart over HTTP with a cookie jar, on both databases, embedded stores and Redis.

use app::db::{inventory, variant};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, Visitor, cookie_client, spawn_app_with, spawn_app_with_redis, test_config};

/// SKUs of active products with at least `min` units available, lowest ids first.
pub async fn in_stock_skus(app: &TestApp, min: i64, n: usize) -> anyhow::Result<Vec<String>> {
    let variants = variant::Entity::find().order_by_asc(variant::Column::Id).all(&app.db).await?;
    let mut out = Vec::new();
    for v in variants {
        let stock = inventory::Entity::find().filter(inventory::Column::VariantId.eq(v.id)).all(&app.db).await?;
        if stock.iter().map(|s| s.quantity - s.reserved).sum::<i64>() >= min {
            out.push(v.sku);
            if out.len() == n {
                return Ok(out);
            }
        }
    }
    anyhow::bail!("the demo catalog has fewer than {n} SKUs with {min} in stock")
}

async fn set_stock(app: &TestApp, sku: &str, per_warehouse: i64) -> anyhow::Result<()> {
    let v = variant::Entity::find().filter(variant::Column::Sku.eq(sku)).one(&app.db).await?.unwrap();
    inventory::Entity::update_many()
        .col_expr(inventory::Column::Quantity, sea_orm::sea_query::Expr::value(per_warehouse))
        .filter(inventory::Column::VariantId.eq(v.id))
        .exec(&app.db)
        .await?;
    Ok(())
}

fn line<'a>(cart: &'a Value, sku: &str) -> Option<&'a Value> {
    cart["items"].as_array()?.iter().find(|i| i["sku"] == sku)
}

async fn guest_cart_merges_into_user_cart_on_login(app: &TestApp) -> anyhow::Result<()> {
    let skus = in_stock_skus(app, 20, 3).await?;
    let (a, b, c) = (&skus[0], &skus[1], &skus[2]);
    let user = app.visitor();
    user.register("merge@example.com", "long enough").await?;
    assert_eq!(user.put(&format!("/api/v1/cart/items/{a}"), json!({"quantity": 7})).await?.0, 200);
    assert_eq!(user.put(&format!("/api/v1/cart/items/{c}"), json!({"quantity": 1})).await?.0, 200);
    user.post("/api/v1/auth/logout", json!({})).await?;

    let guest = app.visitor();
    guest.post("/api/v1/cart/items", json!({"sku": a, "quantity": 5})).await?;
    guest.post("/api/v1/cart/items", json!({"sku": b, "quantity": 2})).await?;
    let (status, signed_in) = guest.login("merge@example.com", "long enough").await?;
    assert_eq!(status, 200);
    let notices: Vec<&str> = signed_in["notices"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(notices.len(), 1, "one line was capped: {notices:?}");
    assert!(notices[0].contains("10"), "{notices:?}");

    let (_, cart) = guest.get("/api/v1/cart").await?;
    assert_eq!(line(&cart, a).unwrap()["quantity"], 10, "7 + 5 capped at 10 per line");
    assert_eq!(line(&cart, b).unwrap()["quantity"], 2);
    assert_eq!(line(&cart, c).unwrap()["quantity"], 1, "the user's own lines stay");
    assert_eq!(cart["item_count"], 13);
    // The same cart from the user's other device.
    let other = app.visitor();
    other.login("merge@example.com", "long enough").await?;
    assert_eq!(other.get("/api/v1/cart").await?.1["item_count"], 13);
    Ok(())
}

async fn guest_cart_survives_registration(app: &TestApp) -> anyhow::Result<()> {
    let sku = in_stock_skus(app, 3, 1).await?.remove(0);
    let v = app.visitor();
    v.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 3})).await?;
    v.register("new@example.com", "long enough").await?;
    let (_, cart) = v.get("/api/v1/cart").await?;
    assert_eq!(line(&cart, &sku).unwrap()["quantity"], 3);
    Ok(())
}

async fn cart_api_has_set_semantics_and_live_prices(app: &TestApp) -> anyhow::Result<()> {
    let skus = in_stock_skus(app, 6, 2).await?;
    let v = app.visitor();
    let (status, empty) = v.get("/api/v1/cart").await?;
    assert_eq!((status, empty["item_count"].as_i64()), (200, Some(0)));
    assert_eq!(empty["items"], json!([]));

    let (status, cart) = v.post("/api/v1/cart/items", json!({"sku": skus[0], "quantity": 2})).await?;
    assert_eq!(status, 200);
    let l = line(&cart, &skus[0]).unwrap();
    for field in ["sku", "product_id", "title", "quantity", "unit_price", "line_total", "available"] {
        assert!(!l[field].is_null(), "cart line lacks {field}");
    }
    assert_eq!(l["line_total"]["amount"].as_i64(), Some(l["unit_price"]["amount"].as_i64().unwrap() * 2));
    v.post("/api/v1/cart/items", json!({"sku": skus[0], "quantity": 1})).await?;
    let (_, cart) = v.post("/api/v1/cart/items", json!({"sku": skus[0], "quantity": 4, "mode": "set"})).await?;
    assert_eq!(line(&cart, &skus[0]).unwrap()["quantity"], 4, "add, add, then set");
    for _ in 0..2 {
        let (_, cart) = v.put(&format!("/api/v1/cart/items/{}", skus[1]), json!({"quantity": 3})).await?;
        assert_eq!(line(&cart, &skus[1]).unwrap()["quantity"], 3, "PUT is idempotent");
    }
    let (_, cart) = v.get("/api/v1/cart").await?;
    let subtotal: i64 = cart["items"].as_array().unwrap().iter().map(|i| i["line_total"]["amount"].as_i64().unwrap()).sum();
    assert_eq!(cart["subtotal"]["amount"].as_i64(), Some(subtotal));
    assert_eq!(cart["item_count"], 7);

    // A price change since the line was added is shown; the current price is charged.
    let var = variant::Entity::find().filter(variant::Column::Sku.eq(&skus[0])).one(&app.db).await?.unwrap();
    variant::Entity::update_many()
        .col_expr(variant::Column::PriceAmount, sea_orm::sea_query::Expr::value(var.price_amount + 500))
        .filter(variant::Column::Id.eq(var.id))
        .exec(&app.db)
        .await?;
    let (_, cart) = v.get("/api/v1/cart").await?;
    let l = line(&cart, &skus[0]).unwrap();
    assert_eq!(l["unit_price"]["amount"].as_i64(), Some(var.price_amount + 500));
    assert_eq!(l["price_was"]["amount"].as_i64(), Some(var.price_amount));

    // Stock drops below the line: marked, left out of the subtotal.
    set_stock(app, &skus[1], 0).await?;
    let (_, cart) = v.get("/api/v1/cart").await?;
    let l = line(&cart, &skus[1]).unwrap();
    assert_eq!((l["purchasable"].as_bool(), l["available"].as_i64()), (Some(false), Some(0)));
    assert_eq!(cart["subtotal"]["amount"], line(&cart, &skus[0]).unwrap()["line_total"]["amount"]);
    let (status, body) = v.post("/api/v1/cart/items", json!({"sku": skus[1], "quantity": 1})).await?;
    assert_eq!(status, 409, "adding an out-of-stock item: {body}");

    // Zero removes; DELETE removes.
    let (_, cart) = v.put(&format!("/api/v1/cart/items/{}", skus[1]), json!({"quantity": 0})).await?;
    assert!(line(&cart, &skus[1]).is_none());
    let (status, cart) = v.delete(&format!("/api/v1/cart/items/{}", skus[0])).await?;
    assert_eq!((status, cart["item_count"].as_i64()), (200, Some(0)));
    Ok(())
}

async fn quantities_are_capped_by_stock_with_a_notice(app: &TestApp) -> anyhow::Result<()> {
    let sku = in_stock_skus(app, 1, 1).await?.remove(0);
    set_stock(app, &sku, 2).await?; // 2 per warehouse, 4 in all
    let v = app.visitor();
    let (status, cart) = v.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 9})).await?;
    assert_eq!(status, 200);
    assert_eq!(line(&cart, &sku).unwrap()["quantity"], 4);
    assert!(cart["notices"][0].as_str().unwrap().contains("Only 4"), "{cart}");
    // By product id: the first variant with stock.
    let (_, list) = v.get("/api/v1/products?limit=1").await?;
    let pid = list["products"][0]["product_id"].as_i64().unwrap();
    let (status, cart) = v.post("/api/v1/cart/items", json!({"product_id": pid})).await?;
    assert_eq!(status, 200, "{cart}");
    assert!(cart["items"].as_array().unwrap().iter().any(|i| i["product_id"] == pid));
    Ok(())
}

async fn bad_cart_input_is_a_clear_4xx(app: &TestApp) -> anyhow::Result<()> {
    let sku = in_stock_skus(app, 1, 1).await?.remove(0);
    let v = app.visitor();
    for q in [json!(-1), json!(1.5), json!("3"), json!(100), json!(100000)] {
        let (status, body) = v.put(&format!("/api/v1/cart/items/{sku}"), json!({"quantity": q})).await?;
        assert_eq!(status, 400, "quantity {q}");
        assert!(body["error"]["fields"]["quantity"].as_str().unwrap().contains("quantity"), "{q}: {body}");
    }
    let (status, body) = v.post("/api/v1/cart/items", json!({"sku": sku, "quantity": -2})).await?;
    assert_eq!(status, 400, "{body}");
    let (status, _) = v.put(&format!("/api/v1/cart/items/{sku}"), json!({})).await?;
    assert_eq!(status, 400, "quantity is required for PUT");
    let (status, body) = v.put(&format!("/api/v1/cart/items/{sku}"), json!({"quantity": null})).await?;
    assert_eq!((status, body["error"]["fields"]["quantity"].as_str()), (400, Some("quantity is required")), "null is no quantity");
    let (status, body) = v.post("/api/v1/cart/items", json!({"sku": "NO-SUCH-SKU"})).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    assert_eq!(v.put("/api/v1/cart/items/NO-SUCH-SKU", json!({"quantity": 1})).await?.0, 404);
    assert_eq!(v.delete("/api/v1/cart/items/NO-SUCH-SKU").await?.0, 404);
    let (status, body) = v.post("/api/v1/cart/items", json!({"quantity": 1})).await?;
    assert_eq!(status, 400, "{body}");
    let (status, body) = v.post("/api/v1/cart/items", json!({"sku": sku, "mode": "double"})).await?;
    assert_eq!((status, body["error"]["fields"]["mode"].as_str()), (400, Some("mode must be add or set (got \"double\")")), "{body}");

    let big = json!({"sku": sku, "note": "x".repeat(70 * 1024)});
    let (status, body) = v.post("/api/v1/cart/items", big).await?;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("64 KB"));
    let res = v.client.post(format!("{}/api/v1/cart/items", app.address)).body("sku=x").send().await?;
    assert_eq!(res.status().as_u16(), 415);
    let res = v.client.post(format!("{}/api/v1/cart/items", app.address)).header("content-type", "application/json").body("{not json").send().await?;
    assert_eq!(res.status().as_u16(), 400);
    // Nothing of the bad requests reached the cart.
    assert_eq!(v.get("/api/v1/cart").await?.1["item_count"], 0);
    Ok(())
}

crate::per_backend!(2; [
    embedded_sqlite => &crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await?,
    embedded_postgres => &crate::helpers::spawn_app(crate::helpers::Backend::Postgres).await?,
    redis_postgres => &crate::helpers::spawn_app_with_redis(crate::helpers::Backend::Postgres).await?
] [
    guest_cart_merges_into_user_cart_on_login,
    guest_cart_survives_registration,
    cart_api_has_set_semantics_and_live_prices,
    quantities_are_capped_by_stock_with_a_notice,
    bad_cart_input_is_a_clear_4xx,
]);

/// The embedded default keeps sessions and carts in the database: a restart loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_cart_survives_a_restart() -> anyhow::Result<()> {
    let url = crate::helpers::fresh_database_url(Backend::Sqlite).await?;
    let first = spawn_app_with(test_config(url.clone())).await?;
    let sku = in_stock_skus(&first, 2, 1).await?.remove(0);
    let client = cookie_client();
    let v = Visitor::with_client(&first.address, client.clone());
    v.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 2})).await?;
    // A second server on the same database, as after a restart; the browser keeps its cookie.
    let second = spawn_app_with(test_config(url)).await?;
    // Cookies belong to the host, not the port: the jar sends the session to the second server.
    let res = client.get(format!("{}/api/v1/cart", second.address)).send().await?;
    let cart: Value = res.json().await?;
    assert_eq!(line(&cart, &sku).map(|l| l["quantity"].clone()), Some(json!(2)), "{cart}");
    Ok(())
}

/// With Redis, a second node sees the same session and cart (stateless servers, DESIGN §7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sessions_and_carts_are_shared_by_nodes() -> anyhow::Result<()> {
    let node_a = spawn_app_with_redis(Backend::Postgres).await?;
    let mut cfg = test_config(node_a.config.database_url.clone());
    cfg.redis_url = node_a.config.redis_url.clone();
    cfg.redis_prefix = node_a.config.redis_prefix.clone();
    let node_b = spawn_app_with(cfg).await?;
    let sku = in_stock_skus(&node_a, 1, 1).await?.remove(0);
    let client = cookie_client();
    Visitor::with_client(&node_a.address, client.clone()).post("/api/v1/cart/items", json!({"sku": sku, "quantity": 1})).await?;
    let res = client.get(format!("{}/api/v1/cart", node_b.address)).send().await?;
    let cart: Value = res.json().await?;
    assert_eq!(cart["item_count"], 1, "{cart}");
    Ok(())
}
