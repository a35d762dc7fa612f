//! Checkout against localstripe through the real async-stripe client: authorization with manual
//! capture, a declined card, one PaymentIntent per attempt however often the request is sent,
//! and a cancel that cancels the intent.

use app::db::{order, payment};
use app::states::{OrderStatus, PaymentState};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use server::config::StripeSettings;

use crate::cart_api::in_stock_skus;
use crate::helpers::{Backend, TestApp, Visitor, env_url, fresh_database_url, spawn_app_with, test_config};

const SECRET: &str = "sk_test_sellout";

pub(crate) async fn spawn_app_with_stripe(backend: Backend) -> anyhow::Result<TestApp> {
    let mut cfg = test_config(fresh_database_url(backend).await?);
    cfg.stripe = Some(StripeSettings {
        secret_key: SECRET.into(),
        api_base: env_url("TEST_STRIPE_URL")?,
        publishable_key: Some("pk_test_sellout".into()),
        js_url: format!("{}js.stripe.com/v3/", env_url("TEST_STRIPE_URL")?),
        webhook_secret: Some("whsec_test".into()),
    });
    // localstripe is shared by every test: each app reconciles only its own intents.
    cfg.shop_id = crate::helpers::unique_name("shop");
    spawn_app_with(cfg).await
}

/// Calls localstripe directly, as Stripe.js (creating a card's payment method) or the
/// dashboard (reading intents) would.
pub(crate) async fn stripe(method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Value> {
    let base = env_url("TEST_STRIPE_URL")?;
    let res = reqwest::Client::new()
        .request(method, format!("{base}v1/{path}"))
        .basic_auth(SECRET, Some(""))
        .form(form)
        .send()
        .await?;
    Ok(res.json().await?)
}

pub(crate) async fn card(number: &str) -> anyhow::Result<String> {
    let pm = stripe(
        reqwest::Method::POST,
        "payment_methods",
        &[("type", "card"), ("card[number]", number), ("card[exp_month]", "12"), ("card[exp_year]", "2034"), ("card[cvc]", "123")],
    )
    .await?;
    Ok(pm["id"].as_str().unwrap().to_owned())
}

/// localstripe's PaymentIntents for one of our orders: those whose attempt key (in the
/// metadata) is one of this order's. localstripe is shared by every test, and test databases
/// reuse order ids, so the order id alone would not do.
pub(crate) async fn intents_of(app: &TestApp, order_id: i64) -> anyhow::Result<Vec<Value>> {
    let o = order::Entity::find_by_id(order_id).one(&app.db).await?.unwrap();
    let prefix = app::checkout::service::attempt_key(&o, 1).trim_end_matches("attempt-1").to_owned();
    Ok(all_intents().await?
        .into_iter()
        .filter(|pi| pi["metadata"]["attempt_key"].as_str().is_some_and(|k| k.starts_with(&prefix)))
        .collect())
}

/// Every intent localstripe holds (it lists oldest first, 100 a page).
pub async fn all_intents() -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("payment_intents?limit=100&starting_after={a}"),
            None => "payment_intents?limit=100".to_owned(),
        };
        let page = stripe(reqwest::Method::GET, &path, &[]).await?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        after = data.last().and_then(|i| i["id"].as_str()).map(str::to_owned);
        out.extend(data);
        if page["has_more"] != true || after.is_none() {
            return Ok(out);
        }
    }
}

fn body(pm: &str) -> Value {
    json!({
        "shipping_address": {"name": "Ann Lee", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "shipping_method": "express",
        "payment_method_id": pm
    })
}

async fn checkout(v: &Visitor, key: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    let res = v.client.post(format!("{}/api/v1/orders/checkout", v.address)).header("Idempotency-Key", key).json(&body).send().await?;
    Ok((res.status().as_u16(), res.json().await?))
}

async fn shopper(app: &TestApp, email: &str, sku: &str) -> anyhow::Result<Visitor> {
    let v = app.visitor();
    v.register(email, "long enough").await?;
    v.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 1})).await?;
    Ok(v)
}

async fn a_card_is_authorized_for_manual_capture(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_stripe(backend).await?;
    let sku = in_stock_skus(&app, 3, 1).await?.remove(0);
    let ann = shopper(&app, "ann@example.com", &sku).await?;
    let (status, res) = checkout(&ann, "stripe-ok", body(&card("4242424242424242").await?)).await?;
    assert_eq!((status, res["status"].as_str()), (201, Some("paid")), "{res}");
    let id = res["order_id"].as_i64().unwrap();
    let p = payment::Entity::find().filter(payment::Column::OrderId.eq(id)).one(&app.db).await?.unwrap();
    assert_eq!((p.provider.as_str(), p.state.as_str()), ("stripe", "authorized"));
    let intents = intents_of(&app, id).await?;
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0]["id"].as_str(), p.intent_id.as_deref());
    assert_eq!(intents[0]["status"], "requires_capture", "authorized, not captured");
    assert_eq!(intents[0]["amount"].as_i64(), res["total"]["amount"].as_i64());

    // The card number went to the provider only: nothing of ours holds it.
    let mut dump = String::new();
    for table in ["orders", "order_items", "payments", "webhook_events", "outbox", "cart_lines", "sessions", "users"] {
        let rows = app.db.query_all_raw(sea_orm::Statement::from_string(app.db.get_database_backend(), format!("SELECT * FROM {table}"))).await?;
        for row in rows {
            for col in row.column_names() {
                if let Ok(Some(v)) = row.try_get::<Option<String>>("", &col) {
                    dump.push_str(&v);
                }
            }
        }
    }
    assert!(dump.contains(p.intent_id.as_deref().unwrap()), "the dump reads the tables");
    assert!(!dump.contains("4242424242424242") && !dump.contains("424242424242"), "no card number stored");
    Ok(())
}

async fn a_declined_card_then_a_good_one(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_stripe(backend).await?;
    let sku = in_stock_skus(&app, 3, 1).await?.remove(0);
    let ann = shopper(&app, "ann@example.com", &sku).await?;
    let (status, res) = checkout(&ann, "stripe-decline", body(&card("4000000000000341").await?)).await?;
    assert_eq!((status, res["error"]["code"].as_str()), (402, Some("card_declined")), "{res}");
    let o = order::Entity::find().one(&app.db).await?.unwrap();
    assert_eq!(o.status, OrderStatus::Pending, "the order waits for another card");
    let (status, res) = ann.post(&format!("/api/v1/orders/{}/pay", o.id), json!({"payment_method_id": card("4242424242424242").await?})).await?;
    assert_eq!((status, res["status"].as_str()), (200, Some("paid")), "{res}");
    let states: Vec<String> = payment::Entity::find().filter(payment::Column::OrderId.eq(o.id)).all(&app.db).await?.into_iter().map(|p| p.state.as_str().to_owned()).collect();
    assert_eq!(states, ["failed", "authorized"]);
    Ok(())
}

/// localstripe ignores idempotency keys, so this holds by our own records alone.
async fn a_double_submit_makes_one_payment_intent(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_stripe(backend).await?;
    let sku = in_stock_skus(&app, 3, 1).await?.remove(0);
    let ann = shopper(&app, "ann@example.com", &sku).await?;
    let pm = card("4242424242424242").await?;
    let (a, b) = tokio::join!(checkout(&ann, "double", body(&pm)), checkout(&ann, "double", body(&pm)));
    let (a, b) = (a?, b?);
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert!(statuses == [200, 201] || statuses == [201, 409], "one creates, the other replays or is told to wait: {a:?} {b:?}");
    let (status, again) = checkout(&ann, "double", body(&pm)).await?;
    assert_eq!(status, 200, "{again}");
    let id = again["order_id"].as_i64().unwrap();
    assert_eq!(order::Entity::find().count(&app.db).await?, 1);
    assert_eq!(intents_of(&app, id).await?.len(), 1, "exactly one PaymentIntent at the provider");
    Ok(())
}

async fn cancelling_cancels_the_intent(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_stripe(backend).await?;
    let sku = in_stock_skus(&app, 3, 1).await?.remove(0);
    let ann = shopper(&app, "ann@example.com", &sku).await?;
    let (_, res) = checkout(&ann, "stripe-cancel", body(&card("4242424242424242").await?)).await?;
    let id = res["order_id"].as_i64().unwrap();
    let (status, o) = ann.post(&format!("/api/v1/orders/{id}/cancel"), json!({})).await?;
    assert_eq!((status, o["status"].as_str()), (200, Some("cancelled")), "{o}");
    let intents = intents_of(&app, id).await?;
    assert_eq!(intents[0]["status"], "canceled", "the authorization is released at the provider");
    assert_eq!(payment::Entity::find().filter(payment::Column::OrderId.eq(id)).one(&app.db).await?.unwrap().state, PaymentState::Voided);
    Ok(())
}


async fn post_webhook(app: &TestApp, payload: &str, signature: &str) -> anyhow::Result<(u16, Value)> {
    let res = app.client.post(app.url("/webhooks/stripe")).header("stripe-signature", signature).header("content-type", "application/json").body(payload.to_owned()).send().await?;
    Ok((res.status().as_u16(), res.json().await?))
}

/// 3-D Secure finished outside our request: the authorization webhook pays the order, once,
/// whatever the order and number of deliveries; forged events are refused.
async fn webhooks_finish_an_authorization_once(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_stripe(backend).await?;
    let sku = in_stock_skus(&app, 3, 1).await?.remove(0);
    let (on_hand, reserved0) = {
        let v = app::db::variant::Entity::find().filter(app::db::variant::Column::Sku.eq(&sku)).one(&app.db).await?.unwrap();
        let rows = app::db::inventory::Entity::find().filter(app::db::inventory::Column::VariantId.eq(v.id)).all(&app.db).await?;
        (rows.iter().map(|r| r.quantity).sum::<i64>(), rows.iter().map(|r| r.reserved).sum::<i64>())
    };
    let ann = shopper(&app, "ann@example.com", &sku).await?;
    let (status, res) = checkout(&ann, "three-ds", body(&card("4000002500003155").await?)).await?;
    assert_eq!((status, res["status"].as_str()), (201, Some("pending")), "waits for the browser's 3-D Secure step: {res}");
    let o = order::Entity::find().one(&app.db).await?.unwrap();
    let p = payment::Entity::find().filter(payment::Column::OrderId.eq(o.id)).one(&app.db).await?.unwrap();
    let intent = p.intent_id.clone().expect("the intent is recorded");
    assert_eq!((o.status.as_str(), p.state.as_str()), ("pending", "created"));

    let now = chrono::Utc::now().timestamp();
    let event = |id: &str, kind: &str| json!({"id": id, "type": kind, "data": {"object": {"id": intent, "object": "payment_intent"}}}).to_string();
    let forged = event("evt_forged", "payment_intent.amount_capturable_updated");
    let (status, _) = post_webhook(&app, &forged, &app::payments::webhooks::sign("whsec_wrong", forged.as_bytes(), now)).await?;
    assert_eq!(status, 400, "a wrong signature is refused");
    assert_eq!(order::Entity::find_by_id(o.id).one(&app.db).await?.unwrap().status, OrderStatus::Pending);

    // Delivered out of order (capture first) and twice each.
    let succeeded = event("evt_2", "payment_intent.succeeded");
    let capturable = event("evt_1", "payment_intent.amount_capturable_updated");
    for payload in [&succeeded, &succeeded, &capturable, &capturable] {
        let (status, res) = post_webhook(&app, payload, &app::payments::webhooks::sign("whsec_test", payload.as_bytes(), now)).await?;
        assert_eq!(status, 200, "{res}");
    }
    let o = order::Entity::find_by_id(o.id).one(&app.db).await?.unwrap();
    assert_eq!(o.status, OrderStatus::Paid);
    let p = payment::Entity::find_by_id(p.id).one(&app.db).await?.unwrap();
    assert_eq!(p.state, PaymentState::Captured, "never moved back by the late event");
    let v = app::db::variant::Entity::find().filter(app::db::variant::Column::Sku.eq(&sku)).one(&app.db).await?.unwrap();
    let rows = app::db::inventory::Entity::find().filter(app::db::inventory::Column::VariantId.eq(v.id)).all(&app.db).await?;
    assert_eq!((rows.iter().map(|r| r.quantity).sum::<i64>(), rows.iter().map(|r| r.reserved).sum::<i64>()), (on_hand - 1, reserved0), "sold once");
    assert_eq!(app::db::webhook_event::Entity::find().count(&app.db).await?, 2, "each event recorded once");
    Ok(())
}

/// What Stripe.js does in the browser for 3-D Secure: localstripe's check passes or fails.
pub(crate) async fn authenticate(client_secret: &str, success: bool) -> anyhow::Result<Value> {
    let intent = client_secret.split("_secret_").next().unwrap_or_default();
    let res = reqwest::Client::new()
        .post(format!("{}v1/payment_intents/{intent}/_authenticate?success={success}", env_url("TEST_STRIPE_URL")?))
        .body(json!({"key": "pk_test_sellout", "client_secret": client_secret}).to_string())
        .send()
        .await?;
    Ok(res.json().await?)
}

async fn stock_of(app: &TestApp, sku: &str) -> anyhow::Result<(i64, i64)> {
    let v = app::db::variant::Entity::find().filter(app::db::variant::Column::Sku.eq(sku)).one(&app.db).await?.unwrap();
    let rows = app::db::inventory::Entity::find().filter(app::db::inventory::Column::VariantId.eq(v.id)).all(&app.db).await?;
    Ok((rows.iter().map(|r| r.quantity).sum(), rows.iter().map(|r| r.reserved).sum()))
}

async fn payment_states(app: &TestApp, order_id: i64) -> anyhow::Result<Vec<String>> {
    let mut rows = payment::Entity::find().filter(payment::Column::OrderId.eq(order_id)).all(&app.db).await?;
    rows.sort_by_key(|p| p.attempt);
    Ok(rows.into_iter().map(|p| p.state.as_str().to_owned()).collect())
}

/// 3-D Secure: checkout answers with the intent's client secret, the browser runs the check with
/// Stripe.js, then `POST /orders/{id}/confirm` asks localstripe for the outcome. Passed → paid
/// once; failed → 402 and payable with another card; a new card, expiry or cancel cancels a
/// check still waiting, so it cannot authorize money later.
async fn three_d_secure_is_completed_in_the_browser(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_stripe(backend).await?;
    let skus = in_stock_skus(&app, 3, 4).await?;

    // Passed.
    let before = stock_of(&app, &skus[0]).await?;
    let ann = shopper(&app, "ann@example.com", &skus[0]).await?;
    let (status, res) = checkout(&ann, "3ds-pass", body(&card("4000002500003155").await?)).await?;
    assert_eq!((status, res["status"].as_str()), (201, Some("pending")), "{res}");
    let id = res["order_id"].as_i64().unwrap();
    let secret = res["client_secret"].as_str().expect("the browser needs the client secret").to_owned();
    let intents = intents_of(&app, id).await?;
    assert_eq!((intents.len(), intents[0]["status"].as_str()), (1, Some("requires_action")));
    assert!(secret.starts_with(intents[0]["id"].as_str().unwrap()));
    let confirm = format!("/api/v1/orders/{id}/confirm");
    let (status, res) = ann.post(&confirm, json!({})).await?;
    assert_eq!(status, 409, "the check is not done yet: {res}");
    assert!(res["error"]["message"].as_str().unwrap().contains("3-D Secure"), "{res}");
    assert_eq!(authenticate(&secret, true).await?["status"], "requires_capture");
    let (status, res) = ann.post(&confirm, json!({})).await?;
    assert_eq!((status, res["status"].as_str()), (200, Some("paid")), "{res}");
    let (status, res) = ann.post(&confirm, json!({})).await?;
    assert_eq!((status, res["status"].as_str()), (200, Some("paid")), "confirming twice changes nothing: {res}");
    assert_eq!(payment_states(&app, id).await?, ["authorized"]);
    assert_eq!(stock_of(&app, &skus[0]).await?, (before.0 - 1, before.1), "sold once, nothing left reserved");
    assert_eq!(intents_of(&app, id).await?[0]["status"], "requires_capture", "held, captured at shipping");
    let bob = app.visitor();
    bob.register("bob@example.com", "long enough").await?;
    assert_eq!(bob.post(&confirm, json!({})).await?.0, 404, "someone else's order");

    // Failed, then another card.
    let cy = shopper(&app, "cy@example.com", &skus[1]).await?;
    let (_, res) = checkout(&cy, "3ds-fail", body(&card("4000002500003155").await?)).await?;
    let id = res["order_id"].as_i64().unwrap();
    authenticate(res["client_secret"].as_str().unwrap(), false).await?;
    let (status, res) = cy.post(&format!("/api/v1/orders/{id}/confirm"), json!({})).await?;
    assert_eq!((status, res["error"]["code"].as_str()), (402, Some("card_declined")), "{res}");
    assert!(res["error"]["message"].as_str().unwrap().contains("authentication"), "{res}");
    assert_eq!(payment_states(&app, id).await?, ["failed"]);
    let (status, res) = cy.post(&format!("/api/v1/orders/{id}/pay"), json!({"payment_method_id": card("4242424242424242").await?})).await?;
    assert_eq!((status, res["status"].as_str()), (200, Some("paid")), "{res}");

    // Abandoned, then another card: the waiting check is cancelled at the provider.
    let di = shopper(&app, "di@example.com", &skus[2]).await?;
    let (_, res) = checkout(&di, "3ds-abandon", body(&card("4000002500003155").await?)).await?;
    let id = res["order_id"].as_i64().unwrap();
    let waiting = intents_of(&app, id).await?[0]["id"].as_str().unwrap().to_owned();
    let (status, res) = di.post(&format!("/api/v1/orders/{id}/pay"), json!({"payment_method_id": card("4242424242424242").await?})).await?;
    assert_eq!((status, res["status"].as_str()), (200, Some("paid")), "{res}");
    assert_eq!(payment_states(&app, id).await?, ["voided", "authorized"]);
    let by_id: Vec<Value> = intents_of(&app, id).await?;
    assert_eq!(by_id.iter().find(|i| i["id"] == waiting.as_str()).unwrap()["status"], "canceled");

    // Abandoned until the reservation ran out: expiry cancels the waiting check too.
    let ed = shopper(&app, "ed@example.com", &skus[3]).await?;
    let (_, res) = checkout(&ed, "3ds-expire", body(&card("4000002500003155").await?)).await?;
    let id = res["order_id"].as_i64().unwrap();
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    use sea_orm::sea_query::Expr;
    app::db::reservation::Entity::update_many()
        .col_expr(app::db::reservation::Column::ExpiresAt, Expr::value(past))
        .filter(app::db::reservation::Column::OrderId.eq(id))
        .exec(&app.db)
        .await?;
    app::checkout::service::release_expired(&app.state).await?;
    assert_eq!(order::Entity::find_by_id(id).one(&app.db).await?.unwrap().status, OrderStatus::Expired);
    assert_eq!(payment_states(&app, id).await?, ["voided"]);
    assert_eq!(intents_of(&app, id).await?[0]["status"], "canceled");
    Ok(())
}

/// A seller's own product, published with `stock` units.
async fn sellers_product(seller: &Visitor, sku: &str, stock: i64) -> anyhow::Result<()> {
    let (status, p) = seller
        .post(
            "/api/v1/seller/products",
            json!({"title": format!("Fulfil {sku}"), "brand": "Own", "status": "active",
                   "variants": [{"sku": sku, "price": {"amount": 2500, "currency": "EUR"}, "stock": stock}]}),
        )
        .await?;
    anyhow::ensure!(status == 201, "{p}");
    Ok(())
}

async fn a_seller_ships_captures_and_refunds(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_stripe(backend).await?;
    let ann = app.visitor();
    ann.post("/api/v1/auth/register", json!({"email": "ann@shop.example", "password": "long enough", "role": "seller", "seller_name": "Ann's"})).await?;
    let bob = app.visitor();
    bob.post("/api/v1/auth/register", json!({"email": "bob@shop.example", "password": "long enough", "role": "seller", "seller_name": "Bob's"})).await?;
    sellers_product(&ann, "FUL-1", 10).await?;
    let cy = app.visitor();
    cy.register("cy@example.com", "long enough").await?;
    cy.post("/api/v1/cart/items", json!({"sku": "FUL-1", "quantity": 2})).await?;
    let (status, res) = checkout(&cy, "fulfil-1", body(&card("4242424242424242").await?)).await?;
    assert_eq!(status, 201, "{res}");
    let id = res["order_id"].as_i64().unwrap();
    let total = res["total"]["amount"].as_i64().unwrap();

    let (_, queue) = ann.get("/api/v1/seller/orders").await?;
    assert_eq!(queue[0]["order_id"].as_i64(), Some(id), "{queue}");
    assert_eq!(queue[0]["shared"], false);
    assert_eq!(bob.get("/api/v1/seller/orders").await?.1, json!([]), "Bob's queue has none of Ann's orders");
    let ship = format!("/api/v1/seller/orders/{id}/ship");
    assert_eq!(bob.post(&ship, json!({"tracking_number": "X1"})).await?.0, 404);
    assert_eq!(cy.post(&ship, json!({"tracking_number": "X1"})).await?.0, 403);
    assert_eq!(ann.post(&format!("/api/v1/seller/orders/{id}/refund"), json!({})).await?.0, 409, "not shipped: cancel instead");
    let (status, res) = ann.post(&ship, json!({"tracking_number": ""})).await?;
    assert_eq!((status, res["error"]["fields"]["tracking_number"].is_string()), (400, true));

    let (status, shipped) = ann.post(&ship, json!({"tracking_number": "DHL 0034 5678"})).await?;
    assert_eq!((status, shipped["status"].as_str(), shipped["tracking_number"].as_str()), (200, Some("shipped"), Some("DHL 0034 5678")), "{shipped}");
    assert_eq!(intents_of(&app, id).await?[0]["status"], "succeeded", "captured at shipping");
    assert_eq!(payment::Entity::find().filter(payment::Column::OrderId.eq(id)).one(&app.db).await?.unwrap().state, PaymentState::Captured);
    assert_eq!(cy.get(&format!("/api/v1/orders/{id}")).await?.1["status"], "shipped");
    assert_eq!(ann.post(&format!("/api/v1/seller/orders/{id}/deliver"), json!({})).await?.1["status"], "delivered");

    // One of the two units back, twice with one key: one refund.
    let refund = |key: &'static str, body: Value| {
        let client = ann.client.clone();
        let url = format!("{}/api/v1/seller/orders/{id}/refund", app.address);
        async move {
            let res = client.post(url).header("Idempotency-Key", key).json(&body).send().await?;
            Ok::<_, anyhow::Error>((res.status().as_u16(), res.json::<Value>().await?))
        }
    };
    for _ in 0..2 {
        let (status, o) = refund("r-1", json!({"lines": [{"sku": "FUL-1", "quantity": 1}]})).await?;
        assert_eq!((status, o["refunded"]["amount"].as_i64()), (200, Some(2500)), "{o}");
    }
    let (status, o) = refund("r-2", json!({"lines": [{"sku": "FUL-1", "quantity": 3}]})).await?;
    assert_eq!(status, 400, "more than was bought: {o}");
    let (status, o) = refund("r-3", json!({})).await?;
    assert_eq!((status, o["status"].as_str(), o["refunded"]["amount"].as_i64()), (200, Some("refunded"), Some(total)), "{o}");
    assert_eq!(app::db::refund::Entity::find().count(&app.db).await?, 2);
    Ok(())
}

/// An order of two sellers' items has one payment, which Stripe captures once: when one seller
/// cancels their share before anything shipped, the payment is captured and their share
/// refunded from it; the other seller's shipment then captures nothing more.
async fn a_shared_order_is_captured_once_and_a_cancelled_share_refunded(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_stripe(backend).await?;
    let ann = app.visitor();
    ann.post("/api/v1/auth/register", json!({"email": "ann@shop.example", "password": "long enough", "role": "seller", "seller_name": "Ann's"})).await?;
    let bob = app.visitor();
    bob.post("/api/v1/auth/register", json!({"email": "bob@shop.example", "password": "long enough", "role": "seller", "seller_name": "Bob's"})).await?;
    sellers_product(&ann, "SHARE-A", 5).await?;
    sellers_product(&bob, "SHARE-B", 5).await?;
    let cy = app.visitor();
    cy.register("cy@example.com", "long enough").await?;
    for sku in ["SHARE-A", "SHARE-B"] {
        cy.post("/api/v1/cart/items", json!({"sku": sku, "quantity": 1})).await?;
    }
    let (status, res) = checkout(&cy, "share-1", body(&card("4242424242424242").await?)).await?;
    assert_eq!(status, 201, "{res}");
    let id = res["order_id"].as_i64().unwrap();
    assert_eq!(intents_of(&app, id).await?[0]["status"], "requires_capture");

    let (status, b) = bob.post(&format!("/api/v1/seller/orders/{id}/cancel"), json!({"reason": "Sold out at the fair."})).await?;
    assert_eq!((status, b["status"].as_str(), b["refunded"]["amount"].as_i64()), (200, Some("cancelled"), Some(2500)), "{b}");
    assert_eq!(intents_of(&app, id).await?[0]["status"], "succeeded", "captured to refund Bob's share from it");
    let refunds = app::db::refund::Entity::find().filter(app::db::refund::Column::OrderId.eq(id)).all(&app.db).await?;
    assert_eq!(refunds.len(), 1);
    assert!(refunds[0].provider_refund_id.as_deref().is_some_and(|r| r.starts_with("re_")), "Stripe refunded it: {refunds:?}");

    let (status, a) = ann.post(&format!("/api/v1/seller/orders/{id}/ship"), json!({"tracking_number": "DHL 77"})).await?;
    assert_eq!((status, a["status"].as_str()), (200, Some("shipped")), "{a}");
    let (_, view) = cy.get(&format!("/api/v1/orders/{id}")).await?;
    assert_eq!((view["status"].as_str(), view["refunded"]["amount"].as_i64()), (Some("shipped"), Some(2500)), "{view}");
    Ok(())
}

/// An intent we never recorded (a crash before our bookkeeping) is cancelled; an amount that
/// disagrees is listed for admins, once.
async fn reconciliation_cancels_orphans_and_lists_mismatches(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_stripe(backend).await?;
    let sku = in_stock_skus(&app, 3, 1).await?.remove(0);
    let ann = shopper(&app, "ann@example.com", &sku).await?;
    let (_, res) = checkout(&ann, "reco-1", body(&card("4242424242424242").await?)).await?;
    let id = res["order_id"].as_i64().unwrap();
    // Our record says a cent less than the provider holds.
    let p = payment::Entity::find().filter(payment::Column::OrderId.eq(id)).one(&app.db).await?.unwrap();
    payment::Entity::update_many()
        .col_expr(payment::Column::Amount, sea_orm::sea_query::Expr::value(p.amount - 1))
        .filter(payment::Column::Id.eq(p.id))
        .exec(&app.db)
        .await?;
    // An orphan: authorized at the provider under this shop's name, unknown to us.
    let shop = app.config.shop_id.clone();
    let orphan = stripe(
        reqwest::Method::POST,
        "payment_intents",
        &[("amount", "777"), ("currency", "eur"), ("payment_method", &card("4242424242424242").await?), ("confirm", "true"),
          ("capture_method", "manual"), ("metadata[attempt_key]", "sellout-order-424242-0000000000-attempt-1"), ("metadata[shop]", &shop)],
    )
    .await?;
    let orphan_id = orphan["id"].as_str().unwrap().to_owned();

    // The operator's command, as a separate process on the same database and provider.
    let reconcile = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_sellout"))
            .arg("reconcile")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.config.database_url)
            .env("SELLOUT_DATA_DIR", &app.config.data_dir)
            .env("STRIPE_SECRET_KEY", SECRET)
            .env("STRIPE_API_BASE", env_url("TEST_STRIPE_URL").unwrap_or_default())
            .env("SELLOUT_SHOP_ID", &shop)
            .output()
    };
    let out = reconcile().await?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("cancelled 1 orphan") && stdout.contains("2 new findings"), "{stdout}");
    assert!(stdout.contains("orphan_cancelled") && stdout.contains(&orphan_id) && stdout.contains("amount_mismatch"), "{stdout}");
    let after = stripe(reqwest::Method::GET, &format!("payment_intents/{orphan_id}"), &[]).await?;
    assert_eq!(after["status"], "canceled");
    let again = String::from_utf8_lossy(&reconcile().await?.stdout).into_owned();
    assert!(again.contains("cancelled 0 orphans; 0 new findings"), "listed once: {again}");

    app::accounts::service::create_admin(&app.db, "root@example.com", "admin password").await?;
    let root = app.visitor();
    root.login("root@example.com", "admin password").await?;
    let (status, list) = root.get("/api/v1/admin/reconciliation").await?;
    assert_eq!(status, 200);
    assert!(list.as_array().unwrap().iter().any(|f| f["kind"] == "amount_mismatch" && f["order_id"].as_i64() == Some(id)), "{list}");
    assert_eq!(ann.get("/api/v1/admin/reconciliation").await?.0, 403);
    // And on the admin's page.
    let html = root.client.get(format!("{}/seller/payments", app.address)).send().await?.text().await?;
    assert!(html.contains("amount mismatch") && html.contains(p.intent_id.as_deref().unwrap()), "the admin page lists it");
    assert!(html.contains("Mark resolved"), "with a way to resolve it");

    // Resolving takes a finding off the open list, once; shoppers may not.
    let mismatch = list.as_array().unwrap().iter().find(|f| f["kind"] == "amount_mismatch").unwrap()["id"].as_i64().unwrap();
    let resolve = format!("/api/v1/admin/reconciliation/{mismatch}/resolve");
    assert_eq!(ann.post(&resolve, json!({})).await?.0, 403);
    for _ in 0..2 {
        let res = root.client.post(format!("{}{resolve}", app.address)).send().await?;
        assert_eq!(res.status().as_u16(), 204);
    }
    assert_eq!(root.post("/api/v1/admin/reconciliation/999999/resolve", json!({})).await?.0, 404);
    let (_, list) = root.get("/api/v1/admin/reconciliation").await?;
    let open: Vec<&str> = list.as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(open, ["orphan_cancelled"], "{list}");
    Ok(())
}

crate::on_both_databases!(
    a_card_is_authorized_for_manual_capture,
    a_declined_card_then_a_good_one,
    a_double_submit_makes_one_payment_intent,
    cancelling_cancels_the_intent,
    webhooks_finish_an_authorization_once,
    three_d_secure_is_completed_in_the_browser,
    a_seller_ships_captures_and_refunds,
    a_shared_order_is_captured_once_and_a_cancelled_share_refunded,
    reconciliation_cancels_orphans_and_lists_mismatches,
);
