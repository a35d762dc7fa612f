//! The seller fulfils orders: one order's buyer, address, lines and where to pick them; cancel
//! before shipping with a reason; refunds by line (back to stock, once) or by amount; what the
//! shopper sees of each; and that a seller never sees another seller's buyers.

use std::collections::HashMap;

use app::db::{inventory, payment, variant, warehouse};
use app::states::PaymentState;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, Visitor, mail_with, spawn_app, unique_name};

/// Ann's beanie in two colours, stocked in two warehouses, and Bob's lamp.
async fn two_sellers(app: &TestApp) -> anyhow::Result<(Visitor, Visitor)> {
    let ann = app.visitor();
    let (status, body) = ann
        .post("/api/v1/auth/register", json!({"email": format!("{}@example.com", unique_name("ann")), "password": "long enough", "role": "seller", "seller_name": "Ann's"}))
        .await?;
    anyhow::ensure!(status == 201, "{body}");
    let (status, p) = ann
        .post("/api/v1/seller/products", json!({"title": "Walkabout Merino Beanie", "brand": "Own", "status": "active", "variants": [
            {"sku": "BEANIE-RUST", "attributes": {"colour": "rust"}, "price": {"amount": 2500, "currency": "EUR"},
             "warehouse_stock": [{"warehouse": "BER", "quantity": 1}, {"warehouse": "RTM", "quantity": 6}]},
            {"sku": "BEANIE-NAVY", "attributes": {"colour": "navy"}, "price": {"amount": 2500, "currency": "EUR"}, "stock": 5}
        ]}))
        .await?;
    anyhow::ensure!(status == 201, "{p}");
    let bob = app.visitor();
    let (status, body) = bob
        .post("/api/v1/auth/register", json!({"email": format!("{}@example.com", unique_name("bob")), "password": "long enough", "role": "seller", "seller_name": "Bob's"}))
        .await?;
    anyhow::ensure!(status == 201, "{body}");
    let (status, p) = bob
        .post("/api/v1/seller/products", json!({"title": "Bob's Lamp", "brand": "Bob", "status": "active",
            "variants": [{"sku": "BOB-LAMP", "price": {"amount": 4000, "currency": "EUR"}, "stock": 5}]}))
        .await?;
    anyhow::ensure!(status == 201, "{p}");
    Ok((ann, bob))
}

/// Cy buys `lines` with express shipping: (Cy, the order id).
async fn bought(app: &TestApp, lines: &[(&str, i64)]) -> anyhow::Result<(Visitor, i64)> {
    let cy = app.visitor();
    cy.register(&format!("{}@example.com", unique_name("cy")), "long enough").await?;
    for (sku, quantity) in lines {
        let (status, cart) = cy.post("/api/v1/cart/items", json!({"sku": sku, "quantity": quantity})).await?;
        anyhow::ensure!(status == 200 || status == 201, "{cart}");
    }
    let res = cy
        .client
        .post(app.url("/api/v1/orders/checkout"))
        .header("Idempotency-Key", unique_name("k"))
        .json(&json!({
            "shipping_address": {"name": "Cy Lee", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
            "shipping_method": "express", "payment_method_id": "pm_card_visa"
        }))
        .send()
        .await?;
    anyhow::ensure!(res.status().as_u16() == 201, "checkout: {}", res.status());
    let placed: Value = res.json().await?;
    Ok((cy, placed["order_id"].as_i64().unwrap()))
}

/// On hand of `sku` per warehouse code.
async fn shelves(app: &TestApp, sku: &str) -> anyhow::Result<HashMap<String, i64>> {
    let v = variant::Entity::find().filter(variant::Column::Sku.eq(sku)).one(&app.db).await?.unwrap();
    let codes: HashMap<i64, String> = warehouse::Entity::find().all(&app.db).await?.into_iter().map(|w| (w.id, w.code)).collect();
    Ok(inventory::Entity::find().filter(inventory::Column::VariantId.eq(v.id)).all(&app.db).await?.into_iter().map(|r| (codes[&r.warehouse_id].clone(), r.quantity)).collect())
}

fn total(shelves: &HashMap<String, i64>) -> i64 {
    shelves.values().sum()
}

async fn a_seller_sees_who_where_and_what_to_pack(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, bob) = two_sellers(&app).await?;
    let (cy, id) = bought(&app, &[("BEANIE-RUST", 2)]).await?;

    let (status, list) = ann.get("/api/v1/seller/orders").await?;
    assert_eq!(status, 200, "{list}");
    let row = list.as_array().unwrap().iter().find(|o| o["order_id"] == id).expect("listed");
    assert_eq!((row["buyer_name"].as_str(), row["ship_to"].as_str(), row["shipping_method"].as_str()), (Some("Cy Lee"), Some("Berlin, DE"), Some("express")), "{row}");
    assert_eq!((row["lines"][0]["sku"].as_str(), row["lines"][0]["options"].as_str()), (Some("BEANIE-RUST"), Some("rust")), "{row}");

    let (status, d) = ann.get(&format!("/api/v1/seller/orders/{id}")).await?;
    assert_eq!(status, 200, "{d}");
    assert!(d["buyer_email"].as_str().unwrap().starts_with("cy"), "{d}");
    assert_eq!(d["shipping_address"]["line1"], "Main St 1");
    assert_eq!(d["payment"], "authorized");
    let picks = d["picks"].as_array().unwrap();
    assert_eq!(picks.iter().map(|p| p["quantity"].as_i64().unwrap()).sum::<i64>(), 2, "every unit has a shelf: {d}");
    // The picks are the shelves the units left.
    let left = shelves(&app, "BEANIE-RUST").await?;
    for (code, before) in [("BER", 1), ("RTM", 6)] {
        let taken: i64 = picks.iter().filter(|p| p["warehouse"].as_str().unwrap().contains(&format!("({code})"))).map(|p| p["quantity"].as_i64().unwrap()).sum();
        assert_eq!(before - left[code], taken, "{code}: {d}");
    }
    let timeline: Vec<&str> = d["timeline"].as_array().unwrap().iter().map(|t| t["what"].as_str().unwrap()).collect();
    assert!(timeline[0] == "Placed" && timeline[1].starts_with("Paid"), "{timeline:?}");

    // By state: to ship until shipped, then shipped; a state we do not have is a 400.
    let ids = |v: Value| v.as_array().unwrap().iter().map(|o| o["order_id"].as_i64().unwrap()).collect::<Vec<_>>();
    assert!(ids(ann.get("/api/v1/seller/orders?state=to_ship").await?.1).contains(&id));
    assert!(!ids(ann.get("/api/v1/seller/orders?state=shipped").await?.1).contains(&id));
    let (status, body) = ann.get("/api/v1/seller/orders?state=lost").await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("to_ship"), "{body}");
    let (status, body) = ann.post(&format!("/api/v1/seller/orders/{id}/ship"), json!({"tracking_number": "JJD0001", "carrier": "pigeon"})).await?;
    assert_eq!(status, 400, "an unknown carrier: {body}");
    let (status, body) = ann.post(&format!("/api/v1/seller/orders/{id}/ship"), json!({"tracking_number": "JJD0001", "carrier": "dhl"})).await?;
    assert_eq!(status, 200, "{body}");
    assert!(ids(ann.get("/api/v1/seller/orders?state=shipped").await?.1).contains(&id));

    // The shopper sees the tracking number with the carrier's link, and the variant.
    let (_, view) = cy.get(&format!("/api/v1/orders/{id}")).await?;
    assert_eq!((view["tracking_number"].as_str(), view["carrier"].as_str()), (Some("JJD0001"), Some("DHL")), "{view}");
    assert!(view["tracking_url"].as_str().unwrap().starts_with("https://www.dhl.com/") && view["tracking_url"].as_str().unwrap().ends_with("JJD0001"), "{view}");
    assert_eq!(view["lines"][0]["options"], "rust");
    assert!(view["estimated_delivery"].is_string(), "{view}");

    // Another seller sees nothing of it: not listed, 404 for the order and every action.
    assert!(!ids(bob.get("/api/v1/seller/orders").await?.1).contains(&id));
    for (method, path, body) in [
        ("GET", format!("/api/v1/seller/orders/{id}"), None),
        ("POST", format!("/api/v1/seller/orders/{id}/cancel"), Some(json!({"reason": "mine now"}))),
        ("POST", format!("/api/v1/seller/orders/{id}/refund"), Some(json!({}))),
        ("POST", format!("/api/v1/seller/orders/{id}/deliver"), Some(json!({}))),
    ] {
        let (status, body) = bob.send(method.parse()?, &path, body).await?;
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert!(!body.to_string().contains("Cy Lee"), "{body}");
    }
    // A shopper is not a seller.
    assert_eq!(cy.get(&format!("/api/v1/seller/orders/{id}")).await?.0, 403);
    Ok(())
}

async fn a_seller_cancels_a_paid_order_before_it_ships(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = two_sellers(&app).await?;
    let before = shelves(&app, "BEANIE-RUST").await?;
    let (cy, id) = bought(&app, &[("BEANIE-RUST", 2)]).await?;
    assert_eq!(total(&shelves(&app, "BEANIE-RUST").await?), total(&before) - 2);

    let cancel = format!("/api/v1/seller/orders/{id}/cancel");
    let (status, body) = ann.post(&cancel, json!({"reason": "   "})).await?;
    assert_eq!(status, 400, "a reason is needed: {body}");
    assert_eq!(body["error"]["fields"]["reason"].as_str().map(|m| m.contains("why")), Some(true), "{body}");
    // Four cancels at once (a double click, two tabs): the stock comes back once.
    let reason = "The last rust one was damaged in the warehouse.";
    let sends = (0..4).map(|_| ann.post(&cancel, json!({"reason": reason})));
    for a in futures::future::join_all(sends).await {
        let (status, body) = a?;
        assert!(status == 200 || status == 409, "{status} {body}");
    }
    assert_eq!(shelves(&app, "BEANIE-RUST").await?, before, "every unit back on its shelf, once");
    // The shopper's cancel after it changes nothing.
    assert_eq!(cy.post(&format!("/api/v1/orders/{id}/cancel"), json!({})).await?.0, 200);
    let (status, again) = ann.post(&cancel, json!({"reason": reason})).await?;
    assert_eq!((status, again["status"].as_str()), (200, Some("cancelled")), "cancelling twice is cancelling once: {again}");
    assert_eq!(shelves(&app, "BEANIE-RUST").await?, before);
    let pay = payment::Entity::find().filter(payment::Column::OrderId.eq(id)).all(&app.db).await?;
    assert!(pay.iter().all(|p| p.state == PaymentState::Voided), "the authorization is voided: {pay:?}");

    // Still in the seller's list, under cancelled; the shopper sees why and no delivery date.
    let (_, cancelled) = ann.get("/api/v1/seller/orders?state=cancelled").await?;
    assert!(cancelled.as_array().unwrap().iter().any(|o| o["order_id"] == id), "{cancelled}");
    let (_, view) = cy.get(&format!("/api/v1/orders/{id}")).await?;
    assert_eq!(view["status"], "cancelled");
    assert_eq!(view["cancel_reason"], reason);
    let mail = mail_with(&app, reason).await;
    assert!(mail.contains(&format!("Subject: Your order #{id} is cancelled")) && mail.contains(reason), "{mail}");
    assert_eq!(mail.matches(&format!("Subject: Your order #{id} is cancelled")).count(), 1, "one mail: {mail}");
    assert!(view["estimated_delivery"].is_null(), "{view}");
    let (status, body) = ann.post(&format!("/api/v1/seller/orders/{id}/ship"), json!({"tracking_number": "JJD1"})).await?;
    assert_eq!(status, 409, "{body}");

    // A shipped order is refunded, not cancelled; an admin may cancel any paid order.
    let (_, shipped) = bought(&app, &[("BEANIE-NAVY", 1)]).await?;
    ann.post(&format!("/api/v1/seller/orders/{shipped}/ship"), json!({"tracking_number": "JJD2"})).await?;
    let (status, body) = ann.post(&format!("/api/v1/seller/orders/{shipped}/cancel"), json!({"reason": "too late"})).await?;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("refund it instead"), "{body}");
    let (_, paid) = bought(&app, &[("BEANIE-NAVY", 1)]).await?;
    app::accounts::service::create_admin(&app.db, "boss@example.com", "a long admin password").await?;
    let boss = app.visitor();
    assert_eq!(boss.login("boss@example.com", "a long admin password").await?.0, 200);
    let (status, body) = boss.post(&format!("/api/v1/seller/orders/{paid}/cancel"), json!({"reason": "Fraud check failed."})).await?;
    assert_eq!((status, body["status"].as_str()), (200, Some("cancelled")), "{body}");
    let (_, d) = boss.get(&format!("/api/v1/seller/orders/{paid}")).await?;
    assert_eq!((d["cancelled_by"].as_str(), d["cancel_reason"].as_str()), (Some("admin"), Some("Fraud check failed.")), "{d}");
    Ok(())
}

async fn refunds_by_line_restock_once_and_by_amount_do_not(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = two_sellers(&app).await?;
    let before = shelves(&app, "BEANIE-RUST").await?;
    let navy_before = total(&shelves(&app, "BEANIE-NAVY").await?);
    let (cy, id) = bought(&app, &[("BEANIE-RUST", 2), ("BEANIE-NAVY", 1)]).await?;
    let (_, d) = ann.get(&format!("/api/v1/seller/orders/{id}")).await?;
    let (status, _) = ann.post(&format!("/api/v1/seller/orders/{id}/ship"), json!({"tracking_number": "1Z999AA10123456784"})).await?;
    assert_eq!(status, 200);
    let after_sale = shelves(&app, "BEANIE-RUST").await?;
    let refund = format!("/api/v1/seller/orders/{id}/refund");

    // Bad requests change nothing.
    for (body, field) in [
        (json!({"lines": [{"sku": "BEANIE-RUST", "quantity": 1}], "amount": 100}), "amount"),
        (json!({"amount": 0}), "amount"),
    ] {
        let (status, answer) = ann.post(&refund, body).await?;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"]["fields"][field].is_string(), "{answer}");
    }

    // Eight restocking refunds of one rust beanie at once: one refund, one unit back.
    let url = app.url(&refund);
    let sends = (0..8).map(|i| {
        let req = ann.client.post(&url).header("Idempotency-Key", format!("restock-{i}")).json(&json!({"lines": [{"sku": "BEANIE-RUST", "quantity": 1, "restock": true}]}));
        async move { Ok::<_, anyhow::Error>(req.send().await?.status().as_u16()) }
    });
    let statuses: Vec<u16> = futures::future::join_all(sends).await.into_iter().collect::<Result<_, _>>()?;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2, "two units to refund, each once: {statuses:?}");
    assert_eq!(total(&shelves(&app, "BEANIE-RUST").await?), total(&after_sale) + 2, "both back in stock, once each");
    // Each went back to the shelf it was picked from.
    assert_eq!(shelves(&app, "BEANIE-RUST").await?, before, "picked from {}", d["picks"]);

    // An amount: refunded, nothing restocked; more than is left is refused.
    let (status, body) = ann.post(&refund, json!({"amount": 500})).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["refunded"]["amount"], 2 * 2500 + 500);
    assert_eq!(total(&shelves(&app, "BEANIE-NAVY").await?), navy_before - 1, "an amount puts nothing back");
    let (status, body) = ann.post(&refund, json!({"amount": 1_000_000})).await?;
    assert_eq!(status, 409, "{body}");
    // A line refunded without restock stays sold.
    let (status, _) = ann.post(&refund, json!({"lines": [{"sku": "BEANIE-NAVY", "quantity": 1}]})).await?;
    assert_eq!(status, 200);
    assert_eq!(total(&shelves(&app, "BEANIE-NAVY").await?), navy_before - 1);

    // The shopper sees every refund, with what went back to stock, and gets a mail for each.
    let (_, view) = cy.get(&format!("/api/v1/orders/{id}")).await?;
    let refunds = view["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 4, "{view}");
    assert_eq!(refunds.iter().filter(|r| r["lines"][0]["restocked"] == true).count(), 2, "{view}");
    assert_eq!(view["refunded"]["amount"], 2 * 2500 + 500 + 2500);
    assert_eq!((view["carrier"].as_str(), view["tracking_url"].as_str().map(|u| u.contains("ups.com"))), (Some("UPS"), Some(true)), "a UPS number links to UPS: {view}");
    let mail = mail_with(&app, "A refund of €5.00").await;
    assert!(mail.contains(&format!("Subject: A refund of €5.00 for your order #{id}")), "{mail}");
    let (_, d) = ann.get(&format!("/api/v1/seller/orders/{id}")).await?;
    assert_eq!(d["refunds"].as_array().unwrap().len(), 4, "{d}");
    Ok(())
}

/// An order with both sellers' items: each sees their own lines and what they come to, never
/// the other's items, amounts or refunds; an admin sees the whole order.
async fn each_seller_sees_only_their_share_of_a_shared_order(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, bob) = two_sellers(&app).await?;
    let (_, id) = bought(&app, &[("BEANIE-RUST", 2), ("BOB-LAMP", 1)]).await?;
    for (seller, sku, share, other) in [(&ann, "BEANIE-RUST", 2 * 2500, "BOB-LAMP"), (&bob, "BOB-LAMP", 4000, "BEANIE-RUST")] {
        let (status, list) = seller.get("/api/v1/seller/orders").await?;
        assert_eq!(status, 200, "{list}");
        let row = list.as_array().unwrap().iter().find(|o| o["order_id"] == id).expect("listed");
        assert_eq!((row["shared"].as_bool(), row["total"]["amount"].as_i64()), (Some(true), Some(share)), "{row}");
        let (status, d) = seller.get(&format!("/api/v1/seller/orders/{id}")).await?;
        assert_eq!(status, 200, "{d}");
        assert_eq!((d["order"]["total"]["amount"].as_i64(), d["subtotal"]["amount"].as_i64(), d["shipping"]["amount"].as_i64()), (Some(share), Some(share), Some(0)), "{d}");
        assert_eq!(d["order"]["lines"].as_array().unwrap().len(), 1, "{d}");
        assert_eq!(d["order"]["lines"][0]["sku"], sku);
        assert!(!d.to_string().contains(other), "the other seller's item is not shown: {d}");
        assert!(d["picks"].as_array().unwrap().iter().all(|p| p["sku"] == sku), "{d}");
        // The other seller's lines cannot be refunded (nor are they named).
        let (status, body) = seller.post(&format!("/api/v1/seller/orders/{id}/refund"), json!({"lines": [{"sku": other, "quantity": 1}]})).await?;
        assert_eq!(status, 409, "not shipped yet: {body}");
    }
    app::accounts::service::create_admin(&app.db, "boss@example.com", "a long admin password").await?;
    let boss = app.visitor();
    assert_eq!(boss.login("boss@example.com", "a long admin password").await?.0, 200);
    let (_, d) = boss.get(&format!("/api/v1/seller/orders/{id}")).await?;
    assert_eq!(d["order"]["lines"].as_array().unwrap().len(), 2, "{d}");
    assert_eq!(d["order"]["shared"], false, "an admin acts on the whole order");
    assert!(d["order"]["total"]["amount"].as_i64().unwrap() > 2 * 2500 + 4000, "the whole order, shipping included: {d}");
    // The admin ships (every share, as one parcel) and refunds Bob's lamp: Bob sees that
    // refund, Ann sees none.
    assert_eq!(boss.post(&format!("/api/v1/seller/orders/{id}/ship"), json!({"tracking_number": "JJD9"})).await?.0, 200);
    let (status, body) = boss.post(&format!("/api/v1/seller/orders/{id}/refund"), json!({"lines": [{"sku": "BOB-LAMP", "quantity": 1}]})).await?;
    assert_eq!(status, 200, "{body}");
    let (_, b) = bob.get(&format!("/api/v1/seller/orders/{id}")).await?;
    assert_eq!((b["order"]["refunded"]["amount"].as_i64(), b["refunds"].as_array().unwrap().len()), (Some(4000), 1), "{b}");
    let (_, a) = ann.get(&format!("/api/v1/seller/orders/{id}")).await?;
    assert_eq!((a["order"]["refunded"]["amount"].as_i64(), a["refunds"].as_array().unwrap().len()), (Some(0), 0), "{a}");
    Ok(())
}

/// Each seller ships their own items of a shared order, with their own tracking number; the
/// order is shipped once both are, delivered once both are; neither can touch the other's
/// lines; a refund by one leaves the other's share as it was.
async fn each_seller_ships_and_refunds_their_own_share(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, bob) = two_sellers(&app).await?;
    let (cy, id) = bought(&app, &[("BEANIE-RUST", 2), ("BOB-LAMP", 1)]).await?;
    let ship = format!("/api/v1/seller/orders/{id}/ship");
    let (status, body) = ann.post(&ship, json!({"tracking_number": "JJD-ANN-1", "carrier": "dhl"})).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), body["tracking_number"].as_str()), (Some("shipped"), Some("JJD-ANN-1")), "Ann's share shipped: {body}");
    // The first shipment captured the order's one payment.
    let p = payment::Entity::find().filter(payment::Column::OrderId.eq(id)).one(&app.db).await?.unwrap();
    assert_eq!(p.state, PaymentState::Captured);
    let (status, body) = ann.post(&ship, json!({"tracking_number": "JJD-ANN-2"})).await?;
    assert_eq!(status, 409, "Ann's share has shipped already: {body}");
    // Bob still has his to ship, and does not see Ann's parcel.
    let (_, b) = bob.get(&format!("/api/v1/seller/orders/{id}")).await?;
    assert_eq!(b["order"]["status"], "paid", "{b}");
    assert!(!b.to_string().contains("JJD-ANN"), "Bob does not see Ann's tracking number: {b}");
    let (_, to_ship) = bob.get("/api/v1/seller/orders?state=to_ship").await?;
    assert!(to_ship.as_array().unwrap().iter().any(|o| o["order_id"] == id), "{to_ship}");
    let (_, to_ship) = ann.get("/api/v1/seller/orders?state=to_ship").await?;
    assert!(!to_ship.as_array().unwrap().iter().any(|o| o["order_id"] == id), "{to_ship}");
    // The shopper: one parcel on its way, one being packed, the order not shipped yet.
    let (_, view) = cy.get(&format!("/api/v1/orders/{id}")).await?;
    assert_eq!(view["status"], "paid", "{view}");
    let states: Vec<(&str, &str)> = view["shipments"].as_array().unwrap().iter().map(|s| (s["seller"].as_str().unwrap(), s["state"].as_str().unwrap())).collect();
    assert_eq!(states, [("Ann's", "shipped"), ("Bob's", "to_ship")], "{view}");
    // Part of it has shipped: the shopper's own cancel (which voids an authorization) is over.
    assert!(view["cancellable_until"].is_null(), "{view}");
    let (status, body) = cy.post(&format!("/api/v1/orders/{id}/cancel"), json!({})).await?;
    assert_eq!(status, 409, "{body}");
    assert!(mail_with(&app, "Part of order").await.contains(&format!("Part of order #{id} has shipped. Tracking number: JJD-ANN-1")));

    let (status, body) = bob.post(&ship, json!({"tracking_number": "1Z999AA10123456784"})).await?;
    assert_eq!((status, body["status"].as_str()), (200, Some("shipped")), "{body}");
    let (_, view) = cy.get(&format!("/api/v1/orders/{id}")).await?;
    assert_eq!(view["status"], "shipped", "both shares shipped: {view}");
    let numbers: Vec<&str> = view["shipments"].as_array().unwrap().iter().map(|s| s["tracking_number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["JJD-ANN-1", "1Z999AA10123456784"], "the shopper sees two tracking numbers: {view}");
    assert_eq!(view["shipments"][1]["carrier"], "UPS", "{view}");
    let (_, a) = ann.get(&format!("/api/v1/seller/orders/{id}")).await?;
    assert!(!a.to_string().contains("1Z999AA"), "Ann does not see Bob's tracking number: {a}");

    // Delivered share by share; the order once both are.
    let deliver = format!("/api/v1/seller/orders/{id}/deliver");
    let (status, body) = ann.post(&deliver, json!({})).await?;
    assert_eq!((status, body["status"].as_str()), (200, Some("delivered")), "{body}");
    assert_eq!(cy.get(&format!("/api/v1/orders/{id}")).await?.1["status"], "shipped");
    assert_eq!(bob.post(&deliver, json!({})).await?.0, 200);
    assert_eq!(cy.get(&format!("/api/v1/orders/{id}")).await?.1["status"], "delivered");

    // Each refunds only their own lines; an amount is not split between sellers.
    let refund = format!("/api/v1/seller/orders/{id}/refund");
    let (status, body) = bob.post(&refund, json!({"lines": [{"sku": "BEANIE-RUST", "quantity": 1}]})).await?;
    assert_eq!((status, body["error"]["fields"]["lines[0].sku"].is_string()), (400, true), "{body}");
    let (status, body) = bob.post(&refund, json!({"amount": 100})).await?;
    assert_eq!((status, body["error"]["fields"]["amount"].is_string()), (400, true), "{body}");
    let rust_before = total(&shelves(&app, "BEANIE-RUST").await?);
    let (status, body) = ann.post(&refund, json!({"lines": [{"sku": "BEANIE-RUST", "quantity": 1, "restock": true}]})).await?;
    assert_eq!((status, body["refunded"]["amount"].as_i64()), (200, Some(2500)), "{body}");
    assert_eq!(total(&shelves(&app, "BEANIE-RUST").await?), rust_before + 1);
    let (_, b) = bob.get(&format!("/api/v1/seller/orders/{id}")).await?;
    assert_eq!((b["order"]["refunded"]["amount"].as_i64(), b["refunds"].as_array().unwrap().len(), b["order"]["status"].as_str()), (Some(0), 0, Some("delivered")), "{b}");
    // "Everything" for a share is its own lines: Ann's last beanie, not Bob's lamp or the shipping.
    let (status, body) = ann.post(&refund, json!({})).await?;
    assert_eq!((status, body["refunded"]["amount"].as_i64()), (200, Some(2 * 2500)), "{body}");
    let (_, view) = cy.get(&format!("/api/v1/orders/{id}")).await?;
    assert_eq!((view["status"].as_str(), view["refunded"]["amount"].as_i64()), (Some("delivered"), Some(2 * 2500)), "{view}");
    Ok(())
}

/// A seller cancels their share before shipping it: their lines are refunded and back in
/// stock once, however many clicks; the other seller's share ships and the order follows it;
/// when every share is cancelled, everything (shipping too) goes back.
async fn a_seller_cancels_their_share_and_the_rest_still_ships(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, bob) = two_sellers(&app).await?;
    let lamps = total(&shelves(&app, "BOB-LAMP").await?);
    let (cy, id) = bought(&app, &[("BEANIE-NAVY", 1), ("BOB-LAMP", 2)]).await?;
    assert_eq!(total(&shelves(&app, "BOB-LAMP").await?), lamps - 2);
    let cancel = format!("/api/v1/seller/orders/{id}/cancel");
    let (status, body) = bob.post(&cancel, json!({"reason": ""})).await?;
    assert_eq!(status, 400, "a reason is needed: {body}");
    // Five clicks at once: one cancel, one refund, the lamps back once.
    let url = app.url(&cancel);
    let sends = (0..5).map(|_| {
        let req = bob.client.post(&url).json(&json!({"reason": "The lamps broke in the warehouse."}));
        async move { Ok::<_, anyhow::Error>(req.send().await?.status().as_u16()) }
    });
    let statuses: Vec<u16> = futures::future::join_all(sends).await.into_iter().collect::<Result<_, _>>()?;
    assert!(statuses.iter().all(|s| *s == 200), "cancelling twice is cancelling once: {statuses:?}");
    let (_, b) = bob.get(&format!("/api/v1/seller/orders/{id}")).await?;
    assert_eq!((b["order"]["status"].as_str(), b["order"]["refunded"]["amount"].as_i64()), (Some("cancelled"), Some(2 * 4000)), "{b}");
    assert_eq!(b["refunds"].as_array().unwrap().len(), 1, "one refund: {b}");
    assert_eq!(total(&shelves(&app, "BOB-LAMP").await?), lamps, "both lamps back, once");
    // Ann's share is untouched and still to ship; the shopper reads why Bob's went.
    let (_, a) = ann.get(&format!("/api/v1/seller/orders/{id}")).await?;
    assert_eq!((a["order"]["status"].as_str(), a["order"]["refunded"]["amount"].as_i64(), a["refunds"].as_array().unwrap().len()), (Some("paid"), Some(0), 0), "{a}");
    assert!(!a.to_string().contains("broke"), "Ann does not see Bob's reason: {a}");
    let (_, view) = cy.get(&format!("/api/v1/orders/{id}")).await?;
    assert_eq!((view["status"].as_str(), view["refunded"]["amount"].as_i64()), (Some("paid"), Some(2 * 4000)), "{view}");
    assert_eq!((view["shipments"][1]["state"].as_str(), view["shipments"][1]["cancel_reason"].as_str()), (Some("cancelled"), Some("The lamps broke in the warehouse.")), "{view}");
    let mail = mail_with(&app, "Some items of your order").await;
    assert!(mail.contains("Their reason: The lamps broke in the warehouse."), "{mail}");
    // Ann ships hers: the order has shipped (Bob's cancelled share left out).
    let (status, body) = ann.post(&format!("/api/v1/seller/orders/{id}/ship"), json!({"tracking_number": "JJD5"})).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cy.get(&format!("/api/v1/orders/{id}")).await?.1["status"], "shipped");
    let (status, body) = bob.post(&format!("/api/v1/seller/orders/{id}/ship"), json!({"tracking_number": "JJD6"})).await?;
    assert_eq!(status, 409, "a cancelled share does not ship: {body}");

    // Both cancel: the whole order, shipping and tax included, goes back.
    let (cy, id) = bought(&app, &[("BEANIE-NAVY", 1), ("BOB-LAMP", 1)]).await?;
    for seller in [&ann, &bob] {
        let (status, body) = seller.post(&format!("/api/v1/seller/orders/{id}/cancel"), json!({"reason": "Closed for the holidays."})).await?;
        assert_eq!(status, 200, "{body}");
    }
    let (_, view) = cy.get(&format!("/api/v1/orders/{id}")).await?;
    assert_eq!(view["refunded"], view["total"], "{view}");
    assert_eq!(view["status"], "refunded", "{view}");
    Ok(())
}

/// The shopper cancels at the moment the seller ships: whichever wins, the money is right. A
/// shipped order is charged; a cancelled one has its authorization released or, if the
/// shipment's capture came first, everything refunded, once.
async fn a_cancel_crossing_a_shipment_never_keeps_the_money(backend: Backend) -> anyhow::Result<()> {
    use app::db::{order, refund};
    use app::states::OrderStatus;
    let app = spawn_app(backend).await?;
    let (ann, _) = two_sellers(&app).await?;
    for round in 0..8 {
        let (cy, id) = bought(&app, &[("BEANIE-NAVY", 1)]).await?;
        let (ship_url, cancel_url) = (format!("/api/v1/seller/orders/{id}/ship"), format!("/api/v1/orders/{id}/cancel"));
        let (ship, cancel) = futures::join!(ann.post(&ship_url, json!({"tracking_number": format!("JJD{round}")})), cy.post(&cancel_url, json!({})));
        let (ship, cancel) = (ship?, cancel?);
        assert!(ship.0 == 200 || ship.0 == 409, "round {round}: {ship:?}");
        assert!(cancel.0 == 200 || cancel.0 == 409, "round {round}: {cancel:?}");
        let o = order::Entity::find_by_id(id).one(&app.db).await?.unwrap();
        let p = payment::Entity::find().filter(payment::Column::OrderId.eq(id)).one(&app.db).await?.unwrap();
        let refunds = refund::Entity::find().filter(refund::Column::OrderId.eq(id)).all(&app.db).await?;
        match o.status {
            OrderStatus::Shipped => assert_eq!((p.state, o.refunded, refunds.len()), (PaymentState::Captured, 0, 0), "round {round}: shipped and charged"),
            OrderStatus::Cancelled => match p.state {
                PaymentState::Voided => assert!(refunds.is_empty(), "round {round}"),
                PaymentState::Refunded => {
                    assert_eq!((o.refunded, refunds.len()), (o.total, 1), "round {round}: captured first, all of it refunded once");
                    assert!(refunds[0].provider_refund_id.is_some(), "round {round}");
                }
                other => panic!("round {round}: a cancelled order's payment is {other:?}"),
            },
            other => panic!("round {round}: the order is {other:?}"),
        }
    }
    Ok(())
}

crate::on_both_databases!(
    a_cancel_crossing_a_shipment_never_keeps_the_money,
    each_seller_ships_and_refunds_their_own_share,
    a_seller_cancels_their_share_and_the_rest_still_ships,
    each_seller_sees_only_their_share_of_a_shared_order,
    a_seller_sees_who_where_and_what_to_pack,
    a_seller_cancels_a_paid_order_before_it_ships,
    refunds_by_line_restock_once_and_by_amount_do_not,
);
