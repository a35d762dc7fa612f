//! Page functions (`/api/fn/*`) answer errors as the REST edge does: 401 signed out, 403
//! forbidden, 404 not found, 400 naming the argument, 409 for a conflict; the body is still
//! the error the page shows. Sent through the real router as the browser's JavaScript sends
//! them (a form-encoded POST that does not ask for HTML).

use serde_json::Value;

use crate::helpers::{Backend, TestApp, Visitor, spawn_app, unique_name};
use crate::sale_buy::{scheduled, start};

async fn call(app: &TestApp, who: &Visitor, name: &str, form: &[(&str, &str)]) -> anyhow::Result<(u16, Value)> {
    let res = who.client.post(app.url(&format!("/api/fn/{name}"))).header("origin", app.address.as_str()).form(form).send().await?;
    let status = res.status().as_u16();
    let text = res.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

async fn page_functions_answer_with_the_status_of_their_error(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let nobody = app.visitor();
    let (status, body) = call(&app, &nobody, "orders", &[]).await?;
    assert_eq!(status, 401, "signed out: {body}");
    assert!(body.get("Unauthorized").is_some(), "the page still reads the error: {body}");

    let shopper = app.visitor();
    shopper.register(&format!("{}@example.com", unique_name("fn")), "a long enough password").await?;
    let (status, body) = call(&app, &shopper, "seller_dashboard", &[]).await?;
    assert_eq!(status, 403, "a shopper in the seller's admin: {body}");
    let (status, body) = call(&app, &shopper, "order", &[("order_id", "987654")]).await?;
    assert_eq!(status, 404, "no such order: {body}");
    for bad in [&[("order_id", "abc")][..], &[][..], &[("order_id", "1e99")][..]] {
        let (status, body) = call(&app, &shopper, "order", bad).await?;
        assert_eq!(status, 400, "{bad:?}: {body}");
        let message = body["BadRequest"]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "{bad:?}: a message for the form: {body}");
    }
    let (status, body) = call(&app, &shopper, "cart_update", &[("sku", "NO-SUCH-SKU"), ("quantity", "lots")]).await?;
    assert_eq!(status, 400, "a quantity that is not a number: {body}");

    let sale = scheduled(&app, &unique_name("FN").replace('_', "-"), 3, 1).await?;
    start(&app, sale).await?;
    let id = sale.to_string();
    let (status, body) = call(&app, &shopper, "sale_remind", &[("sale_id", id.as_str()), ("remind", "true")]).await?;
    assert_eq!(status, 409, "a reminder after the start: {body}");

    // The page functions that succeed are unchanged.
    let (status, _) = call(&app, &shopper, "orders", &[]).await?;
    assert_eq!(status, 200);
    Ok(())
}

/// A SKU another product uses: 400 naming the variant's SKU field on every path (REST and the
/// editor's page function), never a 500.
async fn a_taken_sku_is_a_400_on_every_path(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = crate::seller::seller(&app, &format!("{}@example.com", unique_name("ann")), "Ann's Lamps").await?;
    let product = |sku: &str| serde_json::json!({"title": "Lamp", "brand": "Lumo", "variants": [{"sku": sku, "price": {"amount": 1999, "currency": "EUR"}, "stock": 1}]});
    assert_eq!(ann.post("/api/v1/seller/products", product("TAKEN-1")).await?.0, 201);
    let (status, body) = ann.post("/api/v1/seller/products", product("TAKEN-1")).await?;
    assert_eq!(status, 400, "REST: {body}");
    assert!(body["error"]["fields"]["variants[0].sku"].as_str().is_some_and(|m| m.contains("already used")), "{body}");
    let res = ann
        .client
        .post(app.url("/api/fn/seller_create_product"))
        .header("origin", app.address.as_str())
        .json(&serde_json::json!({"input": product("TAKEN-1")}))
        .send()
        .await?;
    let status = res.status().as_u16();
    let text = res.text().await?;
    assert_eq!(status, 400, "the editor's page function: {text}");
    assert!(text.contains("already used"), "{text}");
    Ok(())
}

crate::on_both_databases!(page_functions_answer_with_the_status_of_their_error, a_taken_sku_is_a_400_on_every_path);
