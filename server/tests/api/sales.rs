//! Scheduling flash sales: the allocation leaves ordinary stock in the same transaction that
//! creates the sale, bad input is refused naming the field with nothing written, who may see
//! and schedule what, and what is unsold goes back once at the end (cancelled, ended, the clock).

use app::db::{flash_sale, inventory, sale_allocation, variant};
use app::events::ShopEvent;
use app::states::SaleStatus;
use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, Visitor, spawn_app};
use crate::seller::{admin, seller};

/// A product of `v`'s shop with one variant `sku`: 7 units at 49.99 EUR.
async fn product_with_stock(v: &Visitor, sku: &str) -> anyhow::Result<()> {
    let (status, body) = v
        .post("/api/v1/seller/products", json!({"title": "Zephyrine Desk Lamp", "brand": "Lumo", "status": "active", "variants": [{"sku": sku, "price": {"amount": 4999, "currency": "EUR"}, "stock": 7}]}))
        .await?;
    anyhow::ensure!(status == 201, "creating the product: {status} {body}");
    Ok(())
}

async fn free_stock(db: &DatabaseConnection, sku: &str) -> anyhow::Result<i64> {
    let v = variant::Entity::find().filter(variant::Column::Sku.eq(sku)).one(db).await?.unwrap();
    let rows = inventory::Entity::find().filter(inventory::Column::VariantId.eq(v.id)).all(db).await?;
    Ok(rows.iter().map(|r| r.quantity - r.reserved).sum())
}

/// What the product editor says flash sales set aside of `sku`: (sale id, units) each.
async fn set_aside(v: &Visitor, db: &DatabaseConnection, sku: &str) -> anyhow::Result<Vec<(i64, i64)>> {
    let product_id = variant::Entity::find().filter(variant::Column::Sku.eq(sku)).one(db).await?.unwrap().product_id;
    let (status, p) = v.get(&format!("/api/v1/seller/products/{product_id}")).await?;
    anyhow::ensure!(status == 200, "{status} {p}");
    let variant = p["variants"].as_array().unwrap().iter().find(|x| x["sku"] == sku).unwrap().clone();
    Ok(variant["set_aside"].as_array().unwrap().iter().map(|a| (a["sale_id"].as_i64().unwrap(), a["units"].as_i64().unwrap())).collect())
}

fn sale(sku: &str, amount: i64, allocation: i64) -> Value {
    let at = |hours: i64| (Utc::now() + Duration::hours(hours)).to_rfc3339();
    json!({"sku": sku, "price": {"amount": amount, "currency": "EUR"}, "starts_at": at(1), "ends_at": at(2), "allocation": allocation, "per_buyer_limit": 2})
}

async fn scheduling_moves_the_allocation_out_of_ordinary_stock(backend: Backend) -> anyhow::Result<()> {
    let app: TestApp = spawn_app(backend).await?;
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    product_with_stock(&ann, "FS-1").await?;

    let (status, s) = ann.post("/api/v1/seller/sales", sale("FS-1", 2999, 5)).await?;
    assert_eq!(status, 201, "{s}");
    let id = s["sale_id"].as_i64().unwrap();
    assert_eq!((s["state"].as_str(), s["allocated"].as_i64(), s["remaining"].as_i64(), s["sold"].as_i64()), (Some("upcoming"), Some(5), Some(5), Some(0)), "{s}");
    assert_eq!((s["per_buyer_limit"].as_i64(), s["admission_rate"].as_i64()), (Some(2), Some(50)), "the rate defaults to 50 a second");
    assert_eq!(free_stock(&app.db, "FS-1").await?, 2, "5 of the 7 units moved into the sale");
    let moved: i64 = sale_allocation::Entity::find().filter(sale_allocation::Column::SaleId.eq(id)).all(&app.db).await?.iter().map(|a| a.quantity).sum();
    assert_eq!(moved, 5, "where the units came from is recorded");

    // Shoppers see it, with the sale price beside the regular one and the server's clock.
    let shopper = app.visitor();
    let (status, one) = shopper.get(&format!("/api/v1/sales/{id}")).await?;
    assert_eq!(status, 200);
    assert_eq!((one["price"]["amount"].as_i64(), one["regular_price"]["amount"].as_i64(), one["sku"].as_str()), (Some(2999), Some(4999), Some("FS-1")));
    assert!(one["server_time"].as_str().unwrap().ends_with('Z') && one.get("sold").is_none(), "{one}");
    let (_, all) = shopper.get("/api/v1/sales").await?;
    assert!(all.as_array().unwrap().iter().any(|s| s["sale_id"] == id), "{all}");
    assert_eq!(shopper.get("/api/v1/sales/424242").await?.0, 404);
    assert_eq!(shopper.get("/api/v1/sales/not-a-sale").await?.0, 404);

    // Never more than is free: the 2 left cannot become a sale of 3, and nothing is written.
    let (status, body) = ann.post("/api/v1/seller/sales", sale("FS-1", 2999, 3)).await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["fields"]["allocation"].as_str().unwrap().contains("Only 2"), "{body}");
    assert_eq!(flash_sale::Entity::find().count(&app.db).await?, 1);
    assert_eq!(free_stock(&app.db, "FS-1").await?, 2);
    Ok(())
}

async fn bad_sales_are_refused_naming_the_field(backend: Backend) -> anyhow::Result<()> {
    let app: TestApp = spawn_app(backend).await?;
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let (bob, _) = seller(&app, "bob@example.com", "Bob's Bulbs").await?;
    product_with_stock(&ann, "FS-2").await?;
    let past = (Utc::now() - Duration::hours(1)).to_rfc3339();
    let mut cases = Vec::new();
    let mut b = sale("FS-2", 2999, 5);
    b["starts_at"] = json!(past);
    cases.push((b, "starts_at", "The start must be in the future: it is"));
    let mut b = sale("FS-2", 2999, 5);
    b["ends_at"] = b["starts_at"].clone();
    cases.push((b, "ends_at", "The end must be after the start."));
    cases.push((sale("FS-2", 0, 5), "price", "more than 0"));
    cases.push((sale("FS-2", 4999, 5), "price", "below the regular price"));
    let mut b = sale("FS-2", 2999, 5);
    b["price"]["currency"] = json!("USD");
    cases.push((b, "price", "EUR"));
    cases.push((sale("FS-2", 2999, 0), "allocation", "from 1"));
    cases.push((sale("FS-2", 2999, 8), "allocation", "Only 7"));
    let mut b = sale("FS-2", 2999, 5);
    b["starts_at"] = json!("tomorrow at noon");
    cases.push((b, "starts_at", "2026-12-24T12:00:00Z"));
    let mut b = sale("FS-2", 2999, 5);
    b.as_object_mut().unwrap().remove("sku");
    cases.push((b, "sku", "required"));
    // A draft product: shoppers could not open it from the sale.
    let (status, body) = ann
        .post("/api/v1/seller/products", json!({"title": "Unfinished Lamp", "brand": "Lumo", "status": "draft", "variants": [{"sku": "FS-DRAFT", "price": {"amount": 4999, "currency": "EUR"}, "stock": 7}]}))
        .await?;
    assert_eq!(status, 201, "{body}");
    cases.push((sale("FS-DRAFT", 2999, 5), "sku", "\"Unfinished Lamp\" is a draft, so shoppers cannot see it. Publish the product first"));
    for (body, field, words) in cases {
        let (status, res) = ann.post("/api/v1/seller/sales", body.clone()).await?;
        assert_eq!(status, 400, "{body}: {res}");
        let msg = res["error"]["fields"][field].as_str().unwrap_or_default();
        assert!(msg.contains(words), "{field} says {msg:?} in {res}");
    }
    // Another seller's SKU and an unknown one look the same; a shopper may not; a guest must sign in.
    assert_eq!(bob.post("/api/v1/seller/sales", sale("FS-2", 2999, 5)).await?.0, 404);
    assert_eq!(ann.post("/api/v1/seller/sales", sale("NO-SUCH", 2999, 5)).await?.0, 404);
    let shopper = app.visitor();
    shopper.register("sam@example.com", "long enough").await?;
    assert_eq!(shopper.post("/api/v1/seller/sales", sale("FS-2", 2999, 5)).await?.0, 403);
    assert_eq!(app.visitor().post("/api/v1/seller/sales", sale("FS-2", 2999, 5)).await?.0, 401);
    assert_eq!(flash_sale::Entity::find().count(&app.db).await?, 0, "nothing half-created");
    assert_eq!(free_stock(&app.db, "FS-2").await?, 7, "no stock moved");
    assert_eq!(free_stock(&app.db, "FS-DRAFT").await?, 7, "none of the draft's either");

    // An admin schedules for any seller; the seller sees it, another seller does not.
    let root = admin(&app).await?;
    let (status, s) = root.post("/api/v1/seller/sales", sale("FS-2", 2999, 7)).await?;
    assert_eq!(status, 201, "{s}");
    let path = format!("/api/v1/seller/sales/{}", s["sale_id"]);
    assert_eq!(ann.get(&path).await?.0, 200);
    assert_eq!(bob.get(&path).await?.0, 404);
    assert_eq!(free_stock(&app.db, "FS-2").await?, 0);
    Ok(())
}

/// Moves a sale's times as if the clock had run on (the test cannot wait an hour).
async fn shift(db: &DatabaseConnection, id: i64, starts: Duration, ends: Duration) -> anyhow::Result<()> {
    let now = Utc::now();
    flash_sale::Entity::update_many()
        .col_expr(flash_sale::Column::StartsAt, Expr::value(now + starts))
        .col_expr(flash_sale::Column::EndsAt, Expr::value(now + ends))
        .filter(flash_sale::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

async fn status_of(db: &DatabaseConnection, id: i64) -> anyhow::Result<SaleStatus> {
    Ok(flash_sale::Entity::find_by_id(id).one(db).await?.unwrap().status)
}

async fn cancel_before_the_start_end_after_it_and_stock_returns_once(backend: Backend) -> anyhow::Result<()> {
    let app: TestApp = spawn_app(backend).await?;
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let (bob, _) = seller(&app, "bob@example.com", "Bob's Bulbs").await?;
    product_with_stock(&ann, "FS-3").await?;

    // Before the start: end-now is refused, cancel returns the whole allocation, once.
    let (_, s) = ann.post("/api/v1/seller/sales", sale("FS-3", 2999, 4)).await?;
    let id = s["sale_id"].as_i64().unwrap();
    assert_eq!(free_stock(&app.db, "FS-3").await?, 3);
    assert_eq!(set_aside(&ann, &app.db, "FS-3").await?, [(id, 4)], "the editor says where the 4 units went");
    assert_eq!(bob.post(&format!("/api/v1/seller/sales/{id}/cancel"), json!({})).await?.0, 404, "not Bob's sale");
    let (status, body) = ann.post(&format!("/api/v1/seller/sales/{id}/end"), json!({})).await?;
    assert_eq!(status, 409, "{body}");
    let (status, body) = ann.post(&format!("/api/v1/seller/sales/{id}/cancel"), json!({})).await?;
    assert_eq!((status, body["state"].as_str()), (200, Some("cancelled")), "{body}");
    assert_eq!(free_stock(&app.db, "FS-3").await?, 7, "all 4 units back");
    assert_eq!(set_aside(&ann, &app.db, "FS-3").await?, Vec::<(i64, i64)>::new(), "and no longer says they are set aside");
    assert_eq!(ann.post(&format!("/api/v1/seller/sales/{id}/cancel"), json!({})).await?.0, 409);
    assert_eq!(free_stock(&app.db, "FS-3").await?, 7, "and only once");
    let (_, listed) = app.visitor().get("/api/v1/sales").await?;
    assert!(!listed.as_array().unwrap().iter().any(|s| s["sale_id"] == id), "a cancelled sale is not listed");

    // After the start: cancel is refused; ending it returns what is unsold, once.
    let (_, s) = ann.post("/api/v1/seller/sales", sale("FS-3", 2999, 5)).await?;
    let id = s["sale_id"].as_i64().unwrap();
    shift(&app.db, id, Duration::minutes(-1), Duration::hours(1)).await?;
    flash_sale::Entity::update_many().col_expr(flash_sale::Column::Sold, Expr::value(2)).filter(flash_sale::Column::Id.eq(id)).exec(&app.db).await?;
    assert_eq!(app.visitor().get(&format!("/api/v1/sales/{id}")).await?.1["state"], "live");
    assert_eq!(set_aside(&ann, &app.db, "FS-3").await?, [(id, 3)], "the 3 of 5 not sold yet");
    assert_eq!(ann.post(&format!("/api/v1/seller/sales/{id}/cancel"), json!({})).await?.0, 409);
    let (status, body) = ann.post(&format!("/api/v1/seller/sales/{id}/end"), json!({})).await?;
    assert_eq!((status, body["state"].as_str(), body["sold"].as_i64()), (200, Some("ended"), Some(2)), "{body}");
    assert_eq!(free_stock(&app.db, "FS-3").await?, 2 + 3, "the 3 unsold units are back, the 2 sold are not");
    assert_eq!(set_aside(&ann, &app.db, "FS-3").await?, Vec::<(i64, i64)>::new());
    assert_eq!(ann.post(&format!("/api/v1/seller/sales/{id}/end"), json!({})).await?.0, 409);
    app::flash::service::transitions(&app.state).await?;
    assert_eq!(free_stock(&app.db, "FS-3").await?, 5, "ending again (or the clock) returns nothing more");
    Ok(())
}

async fn the_clock_starts_and_ends_sales_once_on_every_node(backend: Backend) -> anyhow::Result<()> {
    let app: TestApp = spawn_app(backend).await?;
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    product_with_stock(&ann, "FS-4").await?;
    let (_, s) = ann.post("/api/v1/seller/sales", sale("FS-4", 2999, 6)).await?;
    let id = s["sale_id"].as_i64().unwrap();
    let mut events = app.state.stores.events.subscribe();

    // Its start comes: it turns active and the bus says so, once, however many rounds run at once
    // (the node's own worker runs too).
    shift(&app.db, id, Duration::seconds(-1), Duration::hours(1)).await?;
    let rounds = futures::future::join_all((0..4).map(|_| app::flash::service::transitions(&app.state))).await;
    assert!(rounds.iter().all(|r| r.is_ok()), "{rounds:?}");
    assert_eq!(status_of(&app.db, id).await?, SaleStatus::Active);
    let started = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if let Ok(ShopEvent::SaleStarted { sale_id }) = events.recv().await {
                if sale_id == id {
                    return;
                }
            }
        }
    })
    .await;
    assert!(started.is_ok(), "SaleStarted was published");
    let starts = rounds.iter().map(|r| r.as_ref().unwrap().0).sum::<u64>();
    assert!(starts <= 1, "started at most once by these rounds ({starts}); the worker may have been first");

    // Its end comes: ended, the 6 unsold units back once, whoever runs the round.
    shift(&app.db, id, Duration::hours(-1), Duration::seconds(-1)).await?;
    let rounds = futures::future::join_all((0..4).map(|_| app::flash::service::transitions(&app.state))).await;
    assert!(rounds.iter().all(|r| r.is_ok()), "{rounds:?}");
    assert_eq!(status_of(&app.db, id).await?, SaleStatus::Ended);
    assert_eq!(free_stock(&app.db, "FS-4").await?, 7, "all 6 back, exactly once");
    Ok(())
}

async fn a_sale_may_be_changed_until_it_starts(backend: Backend) -> anyhow::Result<()> {
    let app: TestApp = spawn_app(backend).await?;
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    product_with_stock(&ann, "FS-5").await?;
    let (_, s) = ann.post("/api/v1/seller/sales", sale("FS-5", 2999, 3)).await?;
    let path = format!("/api/v1/seller/sales/{}", s["sale_id"]);

    // More allocation takes more stock, less gives it back; the price and limits follow.
    let (status, body) = ann.put(&path, sale("FS-5", 2499, 6)).await?;
    assert_eq!((status, body["allocated"].as_i64(), body["price"]["amount"].as_i64()), (200, Some(6), Some(2499)), "{body}");
    assert_eq!(free_stock(&app.db, "FS-5").await?, 1);
    let (status, body) = ann.put(&path, sale("FS-5", 2499, 8)).await?;
    assert!(status == 400 && body["error"]["fields"]["allocation"].as_str().unwrap().contains("Only 1"), "{status} {body}");
    assert_eq!(free_stock(&app.db, "FS-5").await?, 1, "a refused change moves nothing");
    let (status, body) = ann.put(&path, sale("FS-5", 2499, 2)).await?;
    assert_eq!((status, body["allocated"].as_i64()), (200, Some(2)), "{body}");
    assert_eq!(free_stock(&app.db, "FS-5").await?, 5);
    let shares: i64 = sale_allocation::Entity::find().filter(sale_allocation::Column::SaleId.eq(s["sale_id"].as_i64().unwrap())).all(&app.db).await?.iter().map(|a| a.quantity).sum();
    assert_eq!(shares, 2, "the record of where the units came from follows");
    let (status, body) = ann.put(&path, sale("FS-5-OTHER", 2499, 2)).await?;
    assert_eq!((status, body["error"]["fields"]["sku"].is_string()), (400, true), "{body}");

    // Once it has started, only "end now".
    shift(&app.db, s["sale_id"].as_i64().unwrap(), Duration::seconds(-1), Duration::hours(1)).await?;
    assert_eq!(ann.put(&path, sale("FS-5", 2499, 3)).await?.0, 409);
    assert_eq!(free_stock(&app.db, "FS-5").await?, 5);
    Ok(())
}

async fn sale_pages_render_on_the_server(backend: Backend) -> anyhow::Result<()> {
    let app: TestApp = spawn_app(backend).await?;
    let v = app.visitor();
    let page = |path: &str| v.client.get(format!("{}{path}", app.address)).send();
    let empty = page("/sales").await?;
    assert_eq!(empty.status().as_u16(), 200);
    assert!(empty.text().await?.contains("data-testid=\"no-sales\""), "an empty state when there is no sale");

    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    product_with_stock(&ann, "FS-6").await?;
    let (_, s) = ann.post("/api/v1/seller/sales", sale("FS-6", 2999, 4)).await?;
    let id = s["sale_id"].as_i64().unwrap();
    let list = page("/sales").await?.text().await?;
    assert!(list.contains("Zephyrine Desk Lamp") && list.contains("Coming soon") && list.contains(&format!("/sales/{id}")), "the list shows the sale");
    let one = page(&format!("/sales/{id}")).await?;
    assert_eq!(one.status().as_u16(), 200);
    let html = one.text().await?;
    assert!(html.contains("data-state=\"upcoming\"") && (html.contains("Starts in 59 min") || html.contains("Starts in 1 h 00 min")), "a countdown by the server's clock: {}", &html[html.find("sale-timing").unwrap_or(0)..][..200.min(html.len())]);
    assert!(html.contains("29.99") && html.contains("49.99") && html.contains("4 of 4 left"), "sale price beside the regular one, units left");
    assert!(html.contains("<title>Zephyrine Desk Lamp — flash sale"), "a title of its own");

    shift(&app.db, id, Duration::seconds(-1), Duration::minutes(30)).await?;
    // Written behind the shop's back (no start event): the page kept for anonymous visitors
    // may be a second old (`page_cache::SALE_PAGE_TTL`).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let html = page(&format!("/sales/{id}")).await?.text().await?;
    assert!(html.contains("data-state=\"live\"") && html.contains("Live now") && html.contains("Ends in"), "live once the start has come");
    assert_eq!(page("/sales/424242").await?.status().as_u16(), 404);
    assert_eq!(page("/sales/not-a-sale").await?.status().as_u16(), 404);
    Ok(())
}

/// A sale "only for accounts that existed when it was announced": an older account joins the
/// line, one made after the sale was scheduled gets a 403 saying why; the sale says so.
async fn only_accounts_older_than_the_sale_may_join(app: TestApp) -> anyhow::Result<()> {
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    product_with_stock(&ann, "FS-OLD").await?;
    let old = app.visitor();
    old.register("old@example.com", "long enough").await?;
    let mut body = sale("FS-OLD", 2999, 3);
    body["existing_accounts_only"] = json!(true);
    let (status, s) = ann.post("/api/v1/seller/sales", body).await?;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["existing_accounts_only"], true, "{s}");
    let id = s["sale_id"].as_i64().unwrap();
    let new = app.visitor();
    new.register("new@example.com", "long enough").await?;

    let (status, q) = old.post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
    assert_eq!(status, 200, "an account older than the sale joins: {q}");
    let (status, q) = new.post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
    assert_eq!(status, 403, "{q}");
    assert!(q["error"]["message"].as_str().is_some_and(|m| m.contains("only for accounts that existed when it was announced")), "{q}");
    assert_eq!(new.get(&format!("/api/v1/sales/{id}/queue")).await?.0, 404, "not in the line");
    let (_, view) = app.get_json(&format!("/api/v1/sales/{id}")).await?;
    assert_eq!(view["existing_accounts_only"], true, "{view}");
    assert!(view["announced_at"].as_str().is_some_and(|a| !a.is_empty()), "{view}");
    let page = reqwest::get(app.url(&format!("/sales/{id}"))).await?.text().await?;
    assert!(page.contains("Only accounts that existed when this sale was announced"), "the sale page says so before anyone joins");
    Ok(())
}

/// A sale "only for shoppers who confirmed their email address": an unconfirmed shopper is told
/// on the sale page before joining, with the link to ask again, and the join answers 403 saying
/// why; once they open the mailed link they join.
async fn only_confirmed_addresses_may_join(app: TestApp) -> anyhow::Result<()> {
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    product_with_stock(&ann, "FS-MAIL").await?;
    let mut body = sale("FS-MAIL", 2999, 3);
    body["verified_email_only"] = json!(true);
    let (status, s) = ann.post("/api/v1/seller/sales", body).await?;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["verified_email_only"], true, "{s}");
    let id = s["sale_id"].as_i64().unwrap();
    let cy = app.visitor();
    cy.register("cy@example.com", "long enough").await?;

    let html = cy.client.get(app.url(&format!("/sales/{id}"))).send().await?.text().await?;
    assert!(html.contains("data-testid=\"not-eligible\"") && html.contains("cy@example.com is not confirmed yet"), "told before joining");
    assert!(html.contains("data-testid=\"send-link\"") && !html.contains("data-testid=\"join\""), "the link offered again, no join button");
    let (status, q) = cy.post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
    assert_eq!(status, 403, "{q}");
    assert!(q["error"]["message"].as_str().is_some_and(|m| m.contains("only for shoppers who confirmed their email address")), "{q}");
    assert_eq!(cy.get(&format!("/api/v1/sales/{id}/queue")).await?.0, 404, "not in the line");

    let token = crate::helpers::confirm_link(&app, "cy@example.com", 1).await?;
    assert_eq!(cy.post("/api/v1/auth/verify-email", json!({"token": token})).await?.0, 200);
    let html = cy.client.get(app.url(&format!("/sales/{id}"))).send().await?.text().await?;
    assert!(html.contains("data-testid=\"join\"") && !html.contains("data-testid=\"not-eligible\""), "now the join button");
    let (status, q) = cy.post(&format!("/api/v1/sales/{id}/queue"), json!({})).await?;
    assert_eq!(status, 200, "a confirmed address joins: {q}");
    let page = reqwest::get(app.url(&format!("/sales/{id}"))).await?.text().await?;
    assert!(page.contains("Only shoppers who confirmed their email address can join"), "the sale says so to everyone");
    Ok(())
}

async fn only_confirmed_addresses_join_on_the_embedded_room(backend: Backend) -> anyhow::Result<()> {
    only_confirmed_addresses_may_join(spawn_app(backend).await?).await
}

async fn only_confirmed_addresses_join_on_the_redis_room(backend: Backend) -> anyhow::Result<()> {
    only_confirmed_addresses_may_join(crate::helpers::spawn_app_with_redis(backend).await?).await
}

async fn only_older_accounts_join_on_the_embedded_room(backend: Backend) -> anyhow::Result<()> {
    only_accounts_older_than_the_sale_may_join(spawn_app(backend).await?).await
}

async fn only_older_accounts_join_on_the_redis_room(backend: Backend) -> anyhow::Result<()> {
    only_accounts_older_than_the_sale_may_join(crate::helpers::spawn_app_with_redis(backend).await?).await
}

crate::on_both_databases!(
    only_confirmed_addresses_join_on_the_embedded_room,
    only_confirmed_addresses_join_on_the_redis_room,
    only_older_accounts_join_on_the_embedded_room,
    only_older_accounts_join_on_the_redis_room,
    sale_pages_render_on_the_server,
    a_sale_may_be_changed_until_it_starts,
    scheduling_moves_the_allocation_out_of_ordinary_stock,
    bad_sales_are_refused_naming_the_field,
    cancel_before_the_start_end_after_it_and_stock_returns_once,
    the_clock_starts_and_ends_sales_once_on_every_node
);
