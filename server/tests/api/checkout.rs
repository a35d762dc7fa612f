//! The checkout saga with the demo gateway: payment, idempotency keys, declines, stock that
//! cannot run out twice, expiry, and hundreds of buyers racing for the last units.

use std::sync::Arc;

use app::accounts::{CurrentUser, Role};
use app::states::{OrderStatus, PaymentState};
use app::cart::CartOwner;
use app::checkout::service as checkout;
use app::checkout::{CheckoutRequest, ShippingMethod};
use app::db::{inventory, order, payment, reservation, user, variant};
use app::error::AppError;
use app::money::Money;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::cart_api::in_stock_skus;
use crate::helpers::{Backend, TestApp, Visitor, spawn_app};

fn body(pm: &str) -> Value {
    json!({
        "shipping_address": {"name": "Ann Lee", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "shipping_method": "standard",
        "payment_method_id": pm
    })
}

async fn checkout_with(v: &Visitor, key: Option<&str>, body: Value) -> anyhow::Result<(u16, Value)> {
    let mut req = v.client.post(format!("{}/api/v1/orders/checkout", v.address)).json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await?;
    Ok((res.status().as_u16(), res.json().await?))
}

async fn stock(app: &TestApp, sku: &str) -> anyhow::Result<(i64, i64)> {
    let v = variant::Entity::find().filter(variant::Column::Sku.eq(sku)).one(&app.db).await?.unwrap();
    let rows = inventory::Entity::find().filter(inventory::Column::VariantId.eq(v.id)).all(&app.db).await?;
    Ok((rows.iter().map(|r| r.quantity).sum(), rows.iter().map(|r| r.reserved).sum()))
}

async fn shopper_with_cart(app: &TestApp, email: &str, lines: &[(&str, i64)]) -> anyhow::Result<Visitor> {
    let v = app.visitor();
    v.register(email, "long enough").await?;
    for (sku, q) in lines {
        let (status, cart) = v.post("/api/v1/cart/items", json!({"sku": sku, "quantity": q})).await?;
        anyhow::ensure!(status == 200 || status == 201, "adding {sku}: {status} {cart}");
    }
    Ok(v)
}

async fn a_checkout_pays_takes_the_stock_and_empties_the_cart(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let sku = in_stock_skus(&app, 5, 1).await?.remove(0);
    let price = variant::Entity::find().filter(variant::Column::Sku.eq(&sku)).one(&app.db).await?.unwrap().price_amount;
    let (on_hand, _) = stock(&app, &sku).await?;
    let ann = shopper_with_cart(&app, "ann@example.com", &[(&sku, 2)]).await?;

    let (status, res) = checkout_with(&ann, Some("key-ann-1"), body("pm_card_visa")).await?;
    assert_eq!(status, 201, "{res}");
    assert_eq!(res["status"], "paid");
    let shipping = ShippingMethod::Standard.price(2 * price);
    assert_eq!(res["total"]["amount"].as_i64(), Some(2 * price + shipping), "{res}");
    assert!(res["estimated_delivery"].as_str().unwrap().len() == 10);
    assert_eq!(stock(&app, &sku).await?, (on_hand - 2, 0), "sold: off the shelf, nothing left reserved");
    assert_eq!(ann.get("/api/v1/cart").await?.1["items"], json!([]), "the cart is cleared");

    let id = res["order_id"].as_i64().unwrap();
    let (status, o) = ann.get(&format!("/api/v1/orders/{id}")).await?;
    assert_eq!((status, o["lines"][0]["sku"].as_str(), o["lines"][0]["quantity"].as_i64()), (200, Some(sku.as_str()), Some(2)));
    assert_eq!(o["shipping_address"]["city"], "Berlin");
    let (_, list) = ann.get("/api/v1/orders").await?;
    assert_eq!(list[0]["order_id"].as_i64(), Some(id));
    let payments = payment::Entity::find().filter(payment::Column::OrderId.eq(id)).all(&app.db).await?;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].state, PaymentState::Authorized);
    let o = order::Entity::find_by_id(id).one(&app.db).await?.unwrap();
    assert_eq!(payments[0].idempotency_key, checkout::attempt_key(&o, 1), "derived from the order and the attempt");

    let bob = app.visitor();
    bob.register("bob@example.com", "long enough").await?;
    assert_eq!(bob.get(&format!("/api/v1/orders/{id}")).await?.0, 404, "another shopper's order does not exist for them");
    assert_eq!(app.visitor().get("/api/v1/orders").await?.0, 401);
    Ok(())
}

async fn idempotency_keys_make_retries_safe(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let sku = in_stock_skus(&app, 5, 1).await?.remove(0);
    let ann = shopper_with_cart(&app, "ann@example.com", &[(&sku, 1)]).await?;

    let (status, res) = checkout_with(&ann, None, body("pm_card_visa")).await?;
    assert_eq!(status, 400);
    assert!(res["error"]["message"].as_str().unwrap().contains("Idempotency-Key"));

    let (status, first) = checkout_with(&ann, Some("same-key"), body("pm_card_visa")).await?;
    assert_eq!(status, 201);
    let (status, again) = checkout_with(&ann, Some("same-key"), body("pm_card_visa")).await?;
    assert_eq!((status, again["order_id"].clone()), (200, first["order_id"].clone()), "the same order, not a second one");
    assert_eq!(order::Entity::find().count(&app.db).await?, 1);
    assert_eq!(payment::Entity::find().count(&app.db).await?, 1, "one payment attempt, one intent");

    let mut other = body("pm_card_visa");
    other["shipping_method"] = json!("express");
    let (status, res) = checkout_with(&ann, Some("same-key"), other).await?;
    assert_eq!(status, 422, "{res}");

    let (status, res) = checkout_with(&ann, Some("new-key"), body("pm_card_visa")).await?;
    assert_eq!(status, 400);
    assert!(res["error"]["message"].as_str().unwrap().contains("cart is empty"), "{res}");

    // Bad fields are named; nothing is written.
    let ann2 = shopper_with_cart(&app, "ann2@example.com", &[(&sku, 1)]).await?;
    let (status, res) = checkout_with(&ann2, Some("k2"), json!({"shipping_address": {"name": "", "line1": "x", "city": "y", "postal_code": "1", "country": "Germany"}, "shipping_method": "rocket", "payment_method_id": ""})).await?;
    assert_eq!(status, 400);
    for field in ["shipping_address.name", "shipping_address.country", "shipping_method", "payment_method_id"] {
        assert!(res["error"]["fields"][field].is_string(), "{field} in {res}");
    }
    let (status, res) = checkout_with(&ann2, Some("k3"), json!({"shipping_address_id": 424242, "shipping_method": "standard", "payment_method_id": "pm_card_visa"})).await?;
    assert_eq!((status, res["error"]["fields"]["shipping_address_id"].is_string()), (400, true), "{res}");
    assert_eq!(order::Entity::find().count(&app.db).await?, 1);
    Ok(())
}

async fn a_declined_card_keeps_the_order_payable(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let sku = in_stock_skus(&app, 5, 1).await?.remove(0);
    let (on_hand, _) = stock(&app, &sku).await?;
    let ann = shopper_with_cart(&app, "ann@example.com", &[(&sku, 3)]).await?;

    let (status, res) = checkout_with(&ann, Some("k-decline"), body("pm_card_visa_chargeDeclined")).await?;
    assert_eq!((status, res["error"]["code"].as_str()), (402, Some("card_declined")), "{res}");
    assert!(res["error"]["message"].as_str().unwrap().contains("declined"));
    let o = order::Entity::find().one(&app.db).await?.unwrap();
    assert_eq!(o.status, OrderStatus::Pending);
    assert_eq!(stock(&app, &sku).await?, (on_hand, 3), "the stock stays reserved for another card");

    let (status, res) = ann.post(&format!("/api/v1/orders/{}/pay", o.id), json!({"payment_method_id": "pm_card_visa"})).await?;
    assert_eq!((status, res["status"].as_str()), (200, Some("paid")), "{res}");
    assert_eq!(stock(&app, &sku).await?, (on_hand - 3, 0));
    let states: Vec<String> = payment::Entity::find().filter(payment::Column::OrderId.eq(o.id)).all(&app.db).await?.into_iter().map(|p| p.state.as_str().to_owned()).collect();
    assert_eq!(states, ["failed", "authorized"]);
    let (status, _) = ann.post(&format!("/api/v1/orders/{}/pay", o.id), json!({"payment_method_id": "pm_card_visa"})).await?;
    assert_eq!(status, 409, "a paid order is not paid twice");
    Ok(())
}

async fn a_line_out_of_stock_is_named_and_nothing_is_reserved(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let skus = in_stock_skus(&app, 5, 2).await?;
    let ann = shopper_with_cart(&app, "ann@example.com", &[(&skus[0], 1), (&skus[1], 4)]).await?;
    // Someone bought the second product meanwhile: 2 left.
    let v = variant::Entity::find().filter(variant::Column::Sku.eq(&skus[1])).one(&app.db).await?.unwrap();
    let rows = inventory::Entity::find().filter(inventory::Column::VariantId.eq(v.id)).all(&app.db).await?;
    for (i, r) in rows.into_iter().enumerate() {
        let mut m: inventory::ActiveModel = r.into();
        m.quantity = Set(if i == 0 { 2 } else { 0 });
        m.update(&app.db).await?;
    }
    let before = stock(&app, &skus[0]).await?;
    let (status, res) = checkout_with(&ann, Some("k-oos"), body("pm_card_visa")).await?;
    assert_eq!(status, 409, "{res}");
    let title = app::db::product::Entity::find_by_id(v.product_id).one(&app.db).await?.unwrap().title;
    assert!(res["error"]["message"].as_str().unwrap().contains(&title), "names the product: {res}");
    assert_eq!(stock(&app, &skus[0]).await?, before, "the other line reserved nothing");
    assert_eq!(order::Entity::find().count(&app.db).await?, 0, "no half-written order");
    assert_eq!(reservation::Entity::find().count(&app.db).await?, 0);
    Ok(())
}

async fn expired_reservations_return_to_stock_exactly_once(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let sku = in_stock_skus(&app, 5, 1).await?.remove(0);
    let (on_hand, _) = stock(&app, &sku).await?;
    let ann = shopper_with_cart(&app, "ann@example.com", &[(&sku, 2)]).await?;
    assert_eq!(checkout_with(&ann, Some("k-exp"), body("pm_card_visa_chargeDeclined")).await?.0, 402);
    assert_eq!(stock(&app, &sku).await?, (on_hand, 2));
    // Time passes: the reservation is due.
    let past = Utc::now() - chrono::Duration::minutes(1);
    reservation::Entity::update_many().col_expr(reservation::Column::ExpiresAt, Expr::value(past)).exec(&app.db).await?;
    order::Entity::update_many().col_expr(order::Column::ExpiresAt, Expr::value(past)).exec(&app.db).await?;
    // Two sweepers at once (two nodes): each reservation is released by one of them.
    let (a, b) = tokio::join!(checkout::release_expired(&app.state), checkout::release_expired(&app.state));
    let held = reservation::Entity::find().count(&app.db).await?;
    assert_eq!(a? + b?, held, "every reservation released once");
    assert_eq!(checkout::release_expired(&app.state).await?, 0, "and never again");
    assert_eq!(stock(&app, &sku).await?, (on_hand, 0), "all back in stock, not more");
    let o = order::Entity::find().one(&app.db).await?.unwrap();
    assert_eq!(o.status, OrderStatus::Expired);
    let (status, _) = ann.post(&format!("/api/v1/orders/{}/pay", o.id), json!({"payment_method_id": "pm_card_visa"})).await?;
    assert_eq!(status, 409, "an expired order cannot be paid");
    Ok(())
}

/// 200 buyers, 50 units over two warehouses: exactly 50 paid orders, the rest told it sold out.
async fn two_hundred_buyers_for_fifty_units_never_oversell(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let sku = in_stock_skus(&app, 1, 1).await?.remove(0);
    let v = variant::Entity::find().filter(variant::Column::Sku.eq(&sku)).one(&app.db).await?.unwrap();
    let rows = inventory::Entity::find().filter(inventory::Column::VariantId.eq(v.id)).all(&app.db).await?;
    assert_eq!(rows.len(), 2, "the demo keeps stock in two warehouses");
    for (r, q) in rows.into_iter().zip([30, 20]) {
        let mut m: inventory::ActiveModel = r.into();
        m.quantity = Set(q);
        m.reserved = Set(0);
        m.update(&app.db).await?;
    }
    let mut buyers = Vec::new();
    for i in 0..200 {
        let u = user::ActiveModel {
            email: Set(format!("buyer{i}@example.com")),
            password_hash: Set("not-a-real-hash".into()),
            role: Set(app::states::Role::Shopper),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&app.db)
        .await?;
        app.state.stores.carts.set_quantity(&CartOwner::User(u.id), &sku, 1, &Money::new(v.price_amount, &v.currency)).await?;
        buyers.push(CurrentUser { user_id: u.id, email: u.email, role: Role::Shopper, seller: None });
    }
    let req: CheckoutRequest = serde_json::from_value(body("pm_card_visa"))?;
    let state = Arc::new(app.state.clone());
    let tasks: Vec<_> = buyers
        .into_iter()
        .map(|b| {
            let (state, req) = (state.clone(), req.clone());
            tokio::spawn(async move { checkout::checkout(&state, &b, &format!("race-{}", b.user_id), &req).await })
        })
        .collect();
    let (mut paid, mut sold_out) = (0, 0);
    for t in tasks {
        match t.await? {
            Ok((r, _)) if r.status == OrderStatus::Paid => paid += 1,
            Err(AppError::Conflict(m)) if m.contains("does not have") => sold_out += 1,
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!((paid, sold_out), (50, 150));
    assert_eq!(stock(&app, &sku).await?, (0, 0), "all 50 sold, none left reserved, never below zero");
    assert_eq!(order::Entity::find().filter(order::Column::Status.eq("paid")).count(&app.db).await?, 50);
    Ok(())
}

/// Order mail goes through the outbox into the embedded default's mail log, once per event.
async fn order_mail_is_sent_through_the_outbox(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let sku = in_stock_skus(&app, 3, 1).await?.remove(0);
    let ann = shopper_with_cart(&app, "ann.mail@example.com", &[(&sku, 1)]).await?;
    let (_, res) = checkout_with(&ann, Some("k-mail"), body("pm_card_visa")).await?;
    let id = res["order_id"].as_i64().unwrap();
    assert_eq!(ann.post(&format!("/api/v1/orders/{id}/cancel"), json!({})).await?.0, 200);
    let log = app.config.data_dir.join("mail.log");
    let started = std::time::Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains(&format!("Your order #{id} is cancelled")) || started.elapsed() > std::time::Duration::from_secs(10) {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(text.contains("To: ann.mail@example.com"), "{text}");
    assert!(text.contains(&format!("See it at {}/orders/{id}", app.config.public_url)) && app.config.public_url.starts_with("http://"), "{text}");
    assert_eq!(text.matches(&format!("Subject: Your order #{id} is confirmed")).count(), 1, "{text}");
    assert_eq!(text.matches(&format!("Subject: Your order #{id} is cancelled")).count(), 1, "{text}");
    // Nothing is sent twice, however often the worker runs.
    let mail_log = app::checkout::notify::MailLog::new(log.clone());
    assert_eq!(app::checkout::notify::deliver_outbox(&app.db, &mail_log, &app.config.public_url).await?, 0);
    Ok(())
}

/// A minimal SMTP server: accepts every mail and sends each message's text down the channel.
/// The first `refuse` connections are turned away with 421, as a busy server does.
async fn smtp_sink(refuse: usize) -> anyhow::Result<(u16, tokio::sync::mpsc::UnboundedReceiver<String>)> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut turned_away = 0;
        while let Ok((socket, _)) = listener.accept().await {
            let (read, mut write) = socket.into_split();
            if turned_away < refuse {
                turned_away += 1;
                let _ = write.write_all(b"421 sink.test busy, try again later\r\n").await;
                continue;
            }
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
                let (mut in_data, mut message) = (false, String::new());
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            let _ = tx.send(std::mem::take(&mut message));
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            message.push_str(&line);
                            message.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink.test\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    Ok((port, rx))
}

/// With `SMTP_URL` the order mail goes to the SMTP server (lettre); a server that is busy at
/// first gets the mail on a later round, once. Nothing goes to the mail log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_mail_goes_out_over_smtp() -> anyhow::Result<()> {
    let (port, mut inbox) = smtp_sink(1).await?;
    let mut cfg = crate::helpers::test_config(crate::helpers::fresh_database_url(Backend::Sqlite).await?);
    cfg.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    cfg.mail_from = "Sellout Orders <orders@sellout.test>".into();
    let app = crate::helpers::spawn_app_with(cfg).await?;
    let sku = in_stock_skus(&app, 3, 1).await?.remove(0);
    let ann = shopper_with_cart(&app, "ann.smtp@example.com", &[(&sku, 1)]).await?;
    let (status, res) = checkout_with(&ann, Some("k-smtp"), body("pm_card_visa")).await?;
    assert_eq!(status, 201, "{res}");
    let id = res["order_id"].as_i64().unwrap();
    // Two mails, in either order: sign-up's link to confirm the address, and the order's.
    let mut mails = Vec::new();
    for _ in 0..2 {
        mails.push(tokio::time::timeout(std::time::Duration::from_secs(30), inbox.recv()).await?.expect("a mail arrives"));
    }
    let (mail, link) = if mails[0].contains("Your order") { (&mails[0], &mails[1]) } else { (&mails[1], &mails[0]) };
    assert!(link.contains("Subject: Confirm your email address") && link.contains("To: ann.smtp@example.com"), "{link}");
    assert!(mail.contains("To: ann.smtp@example.com"), "{mail}");
    assert!(mail.contains("orders@sellout.test"), "{mail}");
    assert!(mail.contains(&format!("Subject: Your order #{id} is confirmed")), "{mail}");
    assert!(mail.contains("Thank you for your order"), "{mail}");
    // Sent once: the outbox has nothing left for any mailer.
    let log = app::checkout::notify::MailLog::new(app.config.data_dir.join("check.log"));
    assert_eq!(app::checkout::notify::deliver_outbox(&app.db, &log, &app.config.public_url).await?, 0);
    assert!(!app.config.data_dir.join("mail.log").exists(), "SMTP replaces the mail log");
    assert!(inbox.try_recv().is_err(), "each mail once");
    Ok(())
}

crate::on_both_databases!(
    order_mail_is_sent_through_the_outbox,
    a_checkout_pays_takes_the_stock_and_empties_the_cart,
    idempotency_keys_make_retries_safe,
    a_declined_card_keeps_the_order_payable,
    a_line_out_of_stock_is_named_and_nothing_is_reserved,
    expired_reservations_return_to_stock_exactly_once,
    two_hundred_buyers_for_fifty_units_never_oversell,
    cancelling_returns_stock_once_and_voids_the_payment,
    a_refused_card_holds_nothing,
    unpaid_orders_are_capped_even_when_sent_at_once,
);

async fn orders_of(app: &TestApp, email: &str) -> anyhow::Result<Vec<order::Model>> {
    let u = user::Entity::find().filter(user::Column::Email.eq(email)).one(&app.db).await?.unwrap();
    Ok(order::Entity::find().filter(order::Column::UserId.eq(u.id)).all(&app.db).await?)
}

async fn a_refused_card_holds_nothing(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let sku = in_stock_skus(&app, 5, 1).await?.remove(0);
    let before = stock(&app, &sku).await?;
    let ann = shopper_with_cart(&app, "ann@example.com", &[(&sku, 2)]).await?;
    let (status, res) = checkout_with(&ann, Some("k-refused"), body("pm_not_a_card")).await?;
    assert_eq!(status, 400, "{res}");
    assert!(res["error"]["fields"]["payment_method_id"].is_string(), "the field is named: {res}");
    assert_eq!(stock(&app, &sku).await?, before, "nothing stays reserved, at once");
    assert!(orders_of(&app, "ann@example.com").await?.is_empty(), "no half-made order");
    assert_eq!(reservation::Entity::find().count(&app.db).await?, 0);
    assert_eq!(ann.get("/api/v1/cart").await?.1["items"][0]["quantity"].as_i64(), Some(2), "the cart is as it was");
    // The same request again is refused the same way; then the key works with a real card.
    assert_eq!(checkout_with(&ann, Some("k-refused"), body("pm_not_a_card")).await?.0, 400);
    let (status, res) = checkout_with(&ann, Some("k-refused"), body("pm_card_visa")).await?;
    assert_eq!((status, res["status"].as_str()), (201, Some("paid")), "{res}");
    assert_eq!(stock(&app, &sku).await?, (before.0 - 2, before.1));
    Ok(())
}

async fn unpaid_orders_are_capped_even_when_sent_at_once(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let cap = app.state.rules.max_pending_orders;
    assert_eq!(cap, 3, "the default");
    let sku = in_stock_skus(&app, 10, 1).await?.remove(0);
    let before = stock(&app, &sku).await?;
    let bo = shopper_with_cart(&app, "bo@example.com", &[(&sku, 1)]).await?;
    // Declined cards leave orders pending (payable with another card), each holding a unit.
    let tries: Vec<_> = (0..8).map(|i| {
        let key = format!("k-cap-{i}");
        let bo = &bo;
        async move { checkout_with(bo, Some(&key), body("pm_card_visa_chargeDeclined")).await }
    }).collect();
    let answers = futures::future::join_all(tries).await;
    let mut declined = 0;
    for a in answers {
        let (status, res) = a?;
        match status {
            402 => declined += 1,
            409 => assert!(res["error"]["message"].as_str().is_some_and(|m| m.contains("unpaid order")), "{res}"),
            other => panic!("{other}: {res}"),
        }
    }
    assert_eq!(declined, cap, "exactly the cap of orders was opened");
    let pending = orders_of(&app, "bo@example.com").await?.into_iter().filter(|o| o.status == OrderStatus::Pending).count() as i64;
    assert_eq!(pending, cap);
    assert_eq!(stock(&app, &sku).await?, (before.0, before.1 + cap), "only they hold stock");
    // Cancelling one makes room for one more.
    let first = orders_of(&app, "bo@example.com").await?[0].id;
    assert_eq!(bo.post(&format!("/api/v1/orders/{first}/cancel"), json!({})).await?.0, 200);
    assert_eq!(checkout_with(&bo, Some("k-cap-after"), body("pm_card_visa")).await?.0, 201);
    Ok(())
}

async fn cancelling_returns_stock_once_and_voids_the_payment(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let skus = in_stock_skus(&app, 5, 2).await?;
    let (on_hand, _) = stock(&app, &skus[0]).await?;
    let ann = shopper_with_cart(&app, "ann@example.com", &[(&skus[0], 2)]).await?;
    let (_, res) = checkout_with(&ann, Some("k-cancel"), body("pm_card_visa")).await?;
    let id = res["order_id"].as_i64().unwrap();
    assert_eq!(stock(&app, &skus[0]).await?, (on_hand - 2, 0));
    let (_, o) = ann.get(&format!("/api/v1/orders/{id}")).await?;
    assert!(o["cancellable_until"].is_string(), "{o}");

    // Two cancels at once: one takes effect, both see the cancelled order, stock comes back once.
    let path = format!("/api/v1/orders/{id}/cancel");
    let (a, b) = tokio::join!(ann.post(&path, json!({})), ann.post(&path, json!({})));
    let (a, b) = (a?, b?);
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    assert_eq!(a.1["status"], "cancelled");
    assert_eq!(stock(&app, &skus[0]).await?, (on_hand, 0), "all back, exactly once");
    let p = payment::Entity::find().filter(payment::Column::OrderId.eq(id)).one(&app.db).await?.unwrap();
    assert_eq!(p.state, PaymentState::Voided);
    assert_eq!(ann.post(&path, json!({})).await?.0, 200, "cancelling again changes nothing");
    assert_eq!(stock(&app, &skus[0]).await?, (on_hand, 0));

    // Someone else's order does not exist for them; an old order is past the window.
    let bob = shopper_with_cart(&app, "bob@example.com", &[(&skus[1], 1)]).await?;
    assert_eq!(bob.post(&path, json!({})).await?.0, 404);
    let (_, res) = checkout_with(&bob, Some("k-old"), body("pm_card_visa")).await?;
    let old = res["order_id"].as_i64().unwrap();
    order::Entity::update_many()
        .col_expr(order::Column::CreatedAt, Expr::value(Utc::now() - chrono::Duration::minutes(31)))
        .filter(order::Column::Id.eq(old))
        .exec(&app.db)
        .await?;
    let (status, res) = bob.post(&format!("/api/v1/orders/{old}/cancel"), json!({})).await?;
    assert_eq!(status, 409, "{res}");
    assert!(res["error"]["message"].as_str().unwrap().contains("30 minutes"));

    // An unpaid order gives its held stock back.
    let (before_q, _) = stock(&app, &skus[1]).await?;
    let cy = shopper_with_cart(&app, "cy@example.com", &[(&skus[1], 1)]).await?;
    let (_, _) = checkout_with(&cy, Some("k-cy"), body("pm_card_visa_chargeDeclined")).await?;
    let pending = order::Entity::find().filter(order::Column::IdempotencyKey.eq("k-cy")).one(&app.db).await?.unwrap();
    assert_eq!(stock(&app, &skus[1]).await?, (before_q, 1));
    assert_eq!(cy.post(&format!("/api/v1/orders/{}/cancel", pending.id), json!({})).await?.0, 200);
    assert_eq!(stock(&app, &skus[1]).await?, (before_q, 0));
    Ok(())
}


