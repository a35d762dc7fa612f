//! Express buy: a shopper registering for a sale saves an address and a card; once admitted,
//! one buy makes the order and authorizes the saved card off-session, one payment attempt per
//! hold however often the buy is sent. On the demo gateway (both databases) and through the
//! real async-stripe client against localstripe (a SetupIntent confirmed as Stripe.js would).

use app::accounts::AddressInput;
use app::db::{order, payment, payment_customer, sale_hold, sale_registration};
use app::ids::HoldId;
use app::states::{HoldState, OrderStatus, PaymentState};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::helpers::{Backend, TestApp, Visitor, spawn_app};
use crate::sale_buy::{admitted, form, page, scheduled, start, user_id};
use crate::stripe::{authenticate, intents_of, spawn_app_with_stripe, stripe};

/// A signed-in shopper with one address in their book; its id.
async fn shopper(app: &TestApp, email: &str) -> anyhow::Result<(Visitor, i64)> {
    let v = app.visitor();
    v.register(email, "long enough").await?;
    let uid = user_id(&app.db, email).await?;
    let home = AddressInput { name: "Sam Lee".into(), line1: "Main St 1".into(), line2: None, city: "Berlin".into(), region: None, postal_code: "10115".into(), country: "DE".into() };
    let a = app::accounts::service::save_address(&app.db, uid, None, &home, true).await?;
    Ok((v, a.address_id))
}

async fn payments_of(app: &TestApp, order_id: i64) -> anyhow::Result<Vec<PaymentState>> {
    Ok(payment::Entity::find().filter(payment::Column::OrderId.eq(order_id)).all(&app.db).await?.into_iter().map(|p| p.state).collect())
}

async fn order_status(app: &TestApp, order_id: i64) -> anyhow::Result<OrderStatus> {
    Ok(order::Entity::find_by_id(order_id).one(&app.db).await?.unwrap().status)
}

async fn registrations(app: &TestApp, sale: i64) -> anyhow::Result<u64> {
    Ok(sale_registration::Entity::find().filter(sale_registration::Column::SaleId.eq(sale)).count(&app.db).await?)
}

async fn express_buy_on_the_demo_gateway(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let id = scheduled(&app, "EX-1", 3, 1).await?;
    let register = format!("/api/v1/sales/{id}/register");
    let (sam, home) = shopper(&app, "sam@example.com").await?;
    let (_, other_home) = shopper(&app, "eve@example.com").await?;

    // Bad details: a 400 naming the field, and nothing saved.
    let (status, body) = sam.post(&register, json!({"shipping_address_id": home})).await?;
    assert_eq!((status, body["error"]["fields"]["payment_method_id"].is_string()), (400, true), "{body}");
    let (status, body) = sam.post(&register, json!({"shipping_address_id": other_home, "payment_method_id": "pm_card_visa"})).await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["fields"]["shipping_address_id"].as_str().unwrap().contains("address book"), "someone else's address: {body}");
    let (status, body) = sam.post(&register, json!({"shipping_address_id": home, "payment_method_id": "pm_not_a_card"})).await?;
    assert_eq!((status, body["error"]["fields"]["payment_method_id"].is_string()), (400, true), "{body}");
    assert_eq!(registrations(&app, id).await?, 0, "nothing half-saved");

    // Saved: the reminder and the express buy in one registration.
    let (status, reg) = sam.post(&register, json!({"shipping_address_id": home, "payment_method_id": "pm_card_visa"})).await?;
    assert_eq!((status, reg["express"]["shipping_address_id"].as_i64()), (201, Some(home)), "{reg}");
    assert_eq!(reg["express"]["card"], "Visa, succeeds");
    // A plain "Remind me" keeps the details; a second shopper's card will be declined.
    let (status, reg) = sam.send(reqwest::Method::POST, &register, None).await?;
    assert_eq!((status, reg["express"]["card"].as_str()), (200, Some("Visa, succeeds")), "{reg}");
    let (dee, dee_home) = shopper(&app, "dee@example.com").await?;
    let (status, _) = dee.post(&register, json!({"shipping_address_id": dee_home, "payment_method_id": "pm_card_visa_chargeDeclined"})).await?;
    assert_eq!(status, 201);

    // Admitted, one buy: the order is made and paid.
    start(&app, id).await?;
    let buy = format!("/api/v1/sales/{id}/buy");
    let token = admitted(&app, &sam, id).await?;
    let (status, hold) = sam.post(&buy, json!({"token": token})).await?;
    assert_eq!((status, hold["order_status"].as_str()), (201, Some("paid")), "{hold}");
    let order_id = hold["order_id"].as_i64().expect("an express buy answers with its order");
    assert_eq!(order_status(&app, order_id).await?, OrderStatus::Paid);
    let o = order::Entity::find_by_id(order_id).one(&app.db).await?.unwrap();
    assert!(o.shipping_address.contains("Main St 1") && o.total > 2999, "the saved address, the sale price plus shipping and tax: {o:?}");
    let row = sale_hold::Entity::find_by_id(HoldId(hold["hold_id"].as_str().unwrap().to_owned())).one(&app.db).await?.unwrap();
    assert_eq!((row.state, row.order_id), (HoldState::Paid, Some(order_id)));
    // Sent again (a retry, a second tab): the unit is bought, so it counts for the limit, and
    // no second order or payment attempt is made.
    let (status, again) = sam.post(&buy, json!({"token": token})).await?;
    assert_eq!((status, again["error"]["code"].as_str()), (422, Some("limit_exceeded")), "{again}");
    assert_eq!(payments_of(&app, order_id).await?, [PaymentState::Authorized], "one attempt per hold");
    assert_eq!(order::Entity::find().count(&app.db).await?, 1);

    // Declined off-session: the order waits on the order page while the hold lasts.
    let token = admitted(&app, &dee, id).await?;
    let (status, hold) = dee.post(&buy, json!({"token": token})).await?;
    assert_eq!((status, hold["order_status"].as_str()), (201, Some("pending")), "{hold}");
    assert!(hold["message"].as_str().unwrap().contains("declined"), "{hold}");
    let declined = hold["order_id"].as_i64().unwrap();
    let page = dee.client.get(format!("{}/orders/{declined}", dee.address)).send().await?.text().await?;
    assert!(page.contains("data-testid=\"pay-saved-card\""), "the order page offers the saved card again");
    let (status, res) = dee.post(&format!("/api/v1/orders/{declined}/pay"), json!({"saved_card": true})).await?;
    assert_eq!((status, res["error"]["code"].as_str()), (402, Some("card_declined")), "{res}");
    let (status, res) = dee.post(&format!("/api/v1/orders/{declined}/pay"), json!({"payment_method_id": "pm_card_visa"})).await?;
    assert_eq!((status, res["status"].as_str()), (200, Some("paid")), "another card pays it: {res}");
    assert_eq!(crate::sale_buy::sold(&app.db, id).await?, 2);
    // Sam's order has no saved-card payment to offer any more, and Eve's has none at all.
    let (status, res) = sam.post(&format!("/api/v1/orders/{order_id}/pay"), json!({"saved_card": true})).await?;
    assert_eq!(status, 409, "a paid order is not paid twice: {res}");
    Ok(())
}

/// Without JavaScript: the sale page offers the express buy with the demo's test cards, a plain
/// form saves it (a refused one comes back with why), and the plain buy form lands on the paid
/// order.
async fn express_buy_without_javascript(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let id = scheduled(&app, "EX-F", 2, 1).await?;
    let path = format!("/sales/{id}");
    let (sam, home) = shopper(&app, "sam@example.com").await?;
    let html = page(&app, &sam, &path).await?;
    assert!(html.contains("data-testid=\"express-form\"") && html.contains("Visa, succeeds") && html.contains("Main St 1"), "the express form with the book's address and the test cards");
    let sale = id.to_string();
    let (status, to) = form(&app, &sam, "/api/fn/sale_express", &[("sale_id", &sale), ("shipping_address_id", &home.to_string()), ("payment_method_id", "pm_nope")]).await?;
    assert!(status / 100 == 3 && to.starts_with(&format!("{path}?error=")), "refused, back with why: {to}");
    assert_eq!(registrations(&app, id).await?, 0);
    let (status, to) = form(&app, &sam, "/api/fn/sale_express", &[("sale_id", &sale), ("shipping_address_id", &home.to_string()), ("payment_method_id", "pm_card_visa")]).await?;
    assert_eq!((status / 100, to.as_str()), (3, path.as_str()));
    assert!(page(&app, &sam, &path).await?.contains("data-testid=\"express-saved\""), "the page says the express buy is on");

    start(&app, id).await?;
    let token = admitted(&app, &sam, id).await?;
    let (status, to) = form(&app, &sam, "/api/fn/sale_buy", &[("sale_id", &sale), ("token", &token)]).await?;
    assert!(status / 100 == 3 && to.starts_with("/orders/") && to.ends_with("?placed=1"), "straight to the paid order: {status} {to}");
    let order_page = page(&app, &sam, &to).await?;
    assert!(order_page.contains("data-testid=\"order-placed\""), "placed and paid");
    Ok(())
}

/// A SetupIntent confirmed with a card as Stripe.js does (`confirmCardSetup`), then once more
/// when the bank asked for its check (localstripe's modal "Complete authentication").
async fn saved_card(v: &Visitor, number: &str) -> anyhow::Result<String> {
    let (status, setup) = v.post("/api/v1/payment-methods/setup", json!({})).await?;
    anyhow::ensure!(status == 201, "setup: {status} {setup}");
    let (seti, secret) = (setup["setup_intent_id"].as_str().unwrap(), setup["client_secret"].as_str().unwrap());
    anyhow::ensure!(secret.starts_with(seti), "{setup}");
    let path = format!("setup_intents/{seti}/confirm");
    let confirmed = stripe(reqwest::Method::POST, &path, &[
        ("client_secret", secret),
        ("payment_method_data[type]", "card"),
        ("payment_method_data[card][number]", number),
        ("payment_method_data[card][exp_month]", "12"),
        ("payment_method_data[card][exp_year]", "2034"),
        ("payment_method_data[card][cvc]", "123"),
    ])
    .await?;
    let confirmed = if confirmed["status"] == "requires_action" { stripe(reqwest::Method::POST, &path, &[("client_secret", secret)]).await? } else { confirmed };
    anyhow::ensure!(confirmed["status"] == "succeeded", "{confirmed}");
    Ok(confirmed["payment_method"].as_str().unwrap().to_owned())
}

async fn express_buy_with_stripe(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app_with_stripe(backend).await?;
    let id = scheduled(&app, "EX-S", 3, 1).await?;
    let register = format!("/api/v1/sales/{id}/register");
    let (ann, home) = shopper(&app, "ann@example.com").await?;
    let pm = saved_card(&ann, "4242424242424242").await?;
    let (status, reg) = ann.post(&register, json!({"shipping_address_id": home, "payment_method_id": pm})).await?;
    assert_eq!((status, reg["express"]["card"].as_str()), (201, Some("Visa •••• 4242")), "{reg}");
    let uid = user_id(&app.db, "ann@example.com").await?;
    let customer = payment_customer::Entity::find().filter(payment_customer::Column::UserId.eq(uid)).one(&app.db).await?.unwrap().customer_id;
    let method = stripe(reqwest::Method::GET, &format!("payment_methods/{pm}"), &[]).await?;
    assert_eq!(method["customer"].as_str(), Some(customer.as_str()), "the card is kept on the shopper's customer: {method}");
    // Someone else cannot save Ann's card.
    let (bo, bo_home) = shopper(&app, "bo@example.com").await?;
    let (status, body) = bo.post(&register, json!({"shipping_address_id": bo_home, "payment_method_id": pm})).await?;
    assert_eq!((status, body["error"]["fields"]["payment_method_id"].is_string()), (400, true), "{body}");
    // A card the bank wants to check: saved after its check, then off-session it asks again.
    let pm3 = saved_card(&bo, "4000002500003155").await?;
    assert_eq!(bo.post(&register, json!({"shipping_address_id": bo_home, "payment_method_id": pm3})).await?.0, 201);

    start(&app, id).await?;
    let buy = format!("/api/v1/sales/{id}/buy");
    let token = admitted(&app, &ann, id).await?;
    let (status, hold) = ann.post(&buy, json!({"token": token})).await?;
    assert_eq!((status, hold["order_status"].as_str()), (201, Some("paid")), "{hold}");
    let order_id = hold["order_id"].as_i64().unwrap();
    let intents = intents_of(&app, order_id).await?;
    assert_eq!(intents.len(), 1, "one PaymentIntent");
    assert_eq!((intents[0]["status"].as_str(), intents[0]["customer"].as_str()), (Some("requires_capture"), Some(customer.as_str())), "authorized on the saved card's customer: {}", intents[0]);
    assert_eq!(intents[0]["amount"].as_i64(), Some(order::Entity::find_by_id(order_id).one(&app.db).await?.unwrap().total));
    let (status, again) = ann.post(&buy, json!({"token": token})).await?;
    assert_eq!((status, again["error"]["code"].as_str()), (422, Some("limit_exceeded")), "bought already: {again}");
    assert_eq!(intents_of(&app, order_id).await?.len(), 1, "the retried buy made no second PaymentIntent");

    // 3-D Secure: the order is pending with the bank's check; the order page pays with the
    // saved card, the shopper passes the check, and the order is paid before the hold ends.
    let token = admitted(&app, &bo, id).await?;
    let (status, hold) = bo.post(&buy, json!({"token": token})).await?;
    assert_eq!((status, hold["order_status"].as_str()), (201, Some("pending")), "{hold}");
    assert!(hold["client_secret"].is_string(), "{hold}");
    let pending = hold["order_id"].as_i64().unwrap();
    let (status, res) = bo.post(&format!("/api/v1/orders/{pending}/pay"), json!({"saved_card": true})).await?;
    assert_eq!((status, res["status"].as_str()), (200, Some("pending")), "{res}");
    authenticate(res["client_secret"].as_str().unwrap(), true).await?;
    let (status, res) = bo.post(&format!("/api/v1/orders/{pending}/confirm"), json!({})).await?;
    assert_eq!((status, res["status"].as_str()), (200, Some("paid")), "{res}");
    let states = payments_of(&app, pending).await?;
    assert_eq!(states, [PaymentState::Voided, PaymentState::Authorized], "the off-session attempt is voided, the checked one holds the money");
    Ok(())
}

crate::on_both_databases!(express_buy_on_the_demo_gateway, express_buy_without_javascript, express_buy_with_stripe);
