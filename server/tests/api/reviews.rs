//! Reviews (one per shopper and product, aggregate kept exact, escaped on the page, verified
//! purchase) and the wishlist.

use app::db::{product, variant};
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app};

async fn active_product(app: &TestApp) -> anyhow::Result<product::Model> {
    Ok(product::Entity::find().filter(product::Column::Status.eq("active")).one(&app.db).await?.unwrap())
}

async fn aggregate(app: &TestApp, id: i64) -> anyhow::Result<(i64, i64)> {
    let p = product::Entity::find_by_id(id).one(&app.db).await?.unwrap();
    Ok((p.rating_sum, p.rating_count))
}

async fn one_review_per_shopper_keeps_the_rating_exact(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let p = active_product(&app).await?;
    let path = format!("/api/v1/products/{}/reviews", p.id);
    let (sum0, count0) = aggregate(&app, p.id).await?;

    let nobody = app.visitor();
    assert_eq!(nobody.post(&path, json!({"rating": 5, "body": "x"})).await?.0, 401);

    let ann = app.visitor();
    let uid = ann.register("ann.lee@example.com", "long enough").await?["user"]["user_id"].as_i64().unwrap();
    let (status, r) = ann.post(&path, json!({"rating": 1, "body": "Never bought it, hate it."})).await?;
    assert_eq!((status, r["author"].as_str(), r["verified_purchase"].as_bool()), (201, Some("Ann L."), Some(false)), "{r}");
    assert_eq!(aggregate(&app, p.id).await?, (sum0, count0), "a review without a purchase does not move the rating");
    let html = app.get(&format!("/p/{}", p.id)).await?.text().await?;
    assert!(html.contains("data-testid=\"other-reviews\"") && html.contains("not counted in the rating"), "it is shown apart");
    // Once Ann has bought it, her review counts.
    record_purchase(&app, uid, &p, 9100).await?;
    let (status, r) = ann.post(&path, json!({"rating": 4, "body": "Solid."})).await?;
    assert_eq!((status, r["verified_purchase"].as_bool()), (200, Some(true)), "{r}");
    assert_eq!(aggregate(&app, p.id).await?, (sum0 + 4, count0 + 1));
    // A second review by Ann replaces the first: count unchanged, sum moves by the difference.
    let (status, _) = ann.post(&path, json!({"rating": 2, "body": "Broke after a week."})).await?;
    assert_eq!(status, 200);
    assert_eq!(aggregate(&app, p.id).await?, (sum0 + 2, count0 + 1));
    let (_, list) = ann.get(&path).await?;
    assert_eq!(list["reviews"][0]["mine"], true, "the caller's review comes first: {list}");
    assert_eq!(list["reviews"][0]["body"], "Broke after a week.");
    assert_eq!(list["count"].as_i64(), Some(count0 + 1));
    let (_, shown) = app.get_json(&format!("/api/v1/products/{}", p.id)).await?;
    assert_eq!(shown["review_count"].as_i64(), Some(count0 + 1), "the cached page was dropped");

    for (body, field) in [(json!({"rating": 0}), "rating"), (json!({"rating": 6}), "rating"), (json!({"rating": "lots"}), "rating"), (json!({"rating": 3, "body": "x".repeat(5001)}), "body")] {
        let (status, res) = ann.post(&path, body.clone()).await?;
        assert_eq!(status, 400, "{body}");
        assert!(res["error"]["fields"][field].is_string(), "{body}: {res}");
    }
    assert_eq!(aggregate(&app, p.id).await?, (sum0 + 2, count0 + 1), "refused reviews change nothing");
    assert_eq!(ann.post("/api/v1/products/999999/reviews", json!({"rating": 3})).await?.0, 404);
    Ok(())
}

async fn review_text_is_escaped_on_the_page(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let p = active_product(&app).await?;
    let eve = app.visitor();
    eve.register("eve@example.com", "long enough").await?;
    let nasty = "<script>alert('owned')</script><img src=x onerror=alert(1)>";
    let (status, _) = eve.post(&format!("/api/v1/products/{}/reviews", p.id), json!({"rating": 1, "body": nasty})).await?;
    assert_eq!(status, 201);
    let html = app.get(&format!("/p/{}", p.id)).await?.text().await?;
    assert!(html.contains("&lt;script&gt;alert("), "the text is shown, escaped");
    assert!(!html.contains("<script>alert('owned')"), "the script is never markup");
    assert!(!html.contains("<img src=x onerror"), "nor is the image");
    Ok(())
}

/// Records a paid order of one unit of the product for `uid`, as checkout writes it.
async fn record_purchase(app: &TestApp, uid: i64, p: &product::Model, order_id: i64) -> anyhow::Result<()> {
    let v = variant::Entity::find().filter(variant::Column::ProductId.eq(p.id)).one(&app.db).await?.unwrap();
    let pg = app.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    let ph = |n: usize| if pg { format!("${n}") } else { "?".to_owned() };
    let now = Utc::now();
    app.db
        .execute_raw(Statement::from_sql_and_values(
            app.db.get_database_backend(),
            format!(
                "INSERT INTO orders (id, user_id, status, currency, subtotal, shipping, tax, total, shipping_address, shipping_method, idempotency_key, request_hash, created_at, updated_at) \
                 VALUES ({order_id}, {}, 'paid', 'EUR', {}, 0, 0, {}, '{{}}', 'standard', 'k-{order_id}', 'h', {}, {})",
                ph(1), ph(2), ph(3), ph(4), ph(5)
            ),
            [uid.into(), v.price_amount.into(), v.price_amount.into(), now.into(), now.into()],
        ))
        .await?;
    app.db
        .execute_raw(Statement::from_sql_and_values(
            app.db.get_database_backend(),
            format!(
                "INSERT INTO order_items (order_id, variant_id, product_id, title, sku, unit_price, currency, quantity, line_total) \
                 VALUES ({order_id}, {}, {}, 't', {}, {}, 'EUR', 1, {})",
                ph(1), ph(2), ph(3), ph(4), ph(5)
            ),
            [v.id.into(), p.id.into(), v.sku.clone().into(), v.price_amount.into(), v.price_amount.into()],
        ))
        .await?;
    Ok(())
}

async fn a_buyer_s_review_is_a_verified_purchase(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let p = active_product(&app).await?;
    let bo = app.visitor();
    let me = bo.register("bo@example.com", "long enough").await?;
    record_purchase(&app, me["user"]["user_id"].as_i64().unwrap(), &p, 9001).await?;
    let (status, r) = bo.post(&format!("/api/v1/products/{}/reviews", p.id), json!({"rating": 5, "body": "Bought it, love it."})).await?;
    assert_eq!((status, r["verified_purchase"].as_bool()), (201, Some(true)), "{r}");
    let html = app.get(&format!("/p/{}", p.id)).await?.text().await?;
    assert!(html.contains("Verified purchase"));
    Ok(())
}

async fn a_seller_cannot_review_their_own_product(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = crate::seller::seller(&app, "ann.seller@example.com", "Ann's Tools").await?;
    let category = {
        let any = active_product(&app).await?;
        let (_, shown) = app.get_json(&format!("/api/v1/products/{}", any.id)).await?;
        shown["categories"].as_array().and_then(|c| c.last()).map(|c| c["slug"].as_str().unwrap_or("").to_owned()).unwrap_or_default()
    };
    let (status, created) = ann
        .post("/api/v1/seller/products", json!({"title": "Ann's hammer", "description": "Heavy.", "brand": "Ann", "category": category, "status": "active",
            "variants": [{"sku": "ANN-HAMMER", "price": {"amount": 1999, "currency": "EUR"}, "stock": 5}]}))
        .await?;
    assert_eq!(status, 201, "{created}");
    let id = created["product_id"].as_i64().unwrap();
    let path = format!("/api/v1/products/{id}/reviews");
    let (status, body) = ann.post(&path, json!({"rating": 5, "body": "The best hammer."})).await?;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("You sell this product")), "{body}");
    assert_eq!(aggregate(&app, id).await?, (0, 0), "nothing was counted");
    let (_, list) = ann.get(&path).await?;
    assert_eq!((list["can_review"].as_bool(), list["signed_in"].as_bool(), list["reviews"].as_array().map(Vec::len)), (Some(false), Some(true), Some(0)), "{list}");
    // Their page says why there is no form, and still offers the wishlist.
    let html = ann.client.get(app.url(&format!("/p/{id}"))).send().await?.text().await?;
    assert!(html.contains("data-testid=\"own-product\"") && !html.contains("review-form"), "no review form for the seller");
    // Another seller's product is theirs to review like anyone's.
    let other = active_product(&app).await?;
    assert_eq!(ann.post(&format!("/api/v1/products/{}/reviews", other.id), json!({"rating": 4})).await?.0, 201);
    Ok(())
}

async fn the_wishlist_saves_once_and_forgets_on_request(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let p = active_product(&app).await?;
    let cy = app.visitor();
    assert_eq!(cy.get("/api/v1/wishlist").await?.0, 401);
    cy.register("cy@example.com", "long enough").await?;
    for _ in 0..2 {
        assert_eq!(cy.put(&format!("/api/v1/wishlist/{}", p.id), json!({})).await?.0, 204);
    }
    let (_, list) = cy.get("/api/v1/wishlist").await?;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "saved twice is saved once: {list}");
    assert_eq!(list[0]["product_id"].as_i64(), Some(p.id));
    let (_, reviews) = cy.get(&format!("/api/v1/products/{}/reviews", p.id)).await?;
    assert_eq!(reviews["in_wishlist"], true);
    assert_eq!(cy.put("/api/v1/wishlist/999999", json!({})).await?.0, 404);
    assert_eq!(cy.delete(&format!("/api/v1/wishlist/{}", p.id)).await?.0, 204);
    let (_, list) = cy.get("/api/v1/wishlist").await?;
    assert_eq!(list, json!([]));
    // Another shopper's list is their own.
    let dee = app.visitor();
    dee.register("dee@example.com", "long enough").await?;
    cy.put(&format!("/api/v1/wishlist/{}", p.id), json!({})).await?;
    assert_eq!(dee.get("/api/v1/wishlist").await?.1, json!([]));
    Ok(())
}

crate::on_both_databases!(
    one_review_per_shopper_keeps_the_rating_exact,
    review_text_is_escaped_on_the_page,
    a_buyer_s_review_is_a_verified_purchase,
    a_seller_cannot_review_their_own_product,
    the_wishlist_saves_once_and_forgets_on_request,
);
