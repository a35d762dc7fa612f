//! The seller's catalog over REST: create, edit, publish, archive, pictures, and who may do
//! what; the product-page cache and its invalidation across two server instances.

use std::time::{Duration, Instant};

use app::accounts::service;
use app::db::{category, inventory, product, product_image, variant};
use app::events::ShopEvent;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, Visitor, scratch_dir, spawn_app, spawn_app_with, spawn_app_with_redis};

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41,
    0x54, 0x78, 0x9C, 0x63, 0x90, 0x8F, 0xEF, 0x06, 0x00, 0x01, 0xAA, 0x01, 0x0A, 0x77, 0x85, 0x4A, 0xC2, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// CRC-32 (ISO-HDLC, as PNG chunks carry it), for a picture made by hand.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

pub async fn seller(app: &TestApp, email: &str, shop: &str) -> anyhow::Result<(Visitor, i64)> {
    let v = app.visitor();
    let (status, body) = v
        .post("/api/v1/auth/register", json!({"email": email, "password": "long enough", "role": "seller", "seller_name": shop}))
        .await?;
    anyhow::ensure!(status == 201, "registering seller {email}: {status} {body}");
    Ok((v, body["user"]["seller"]["seller_id"].as_i64().unwrap()))
}

pub async fn admin(app: &TestApp) -> anyhow::Result<Visitor> {
    service::create_admin(&app.db, "root@example.com", "admin password").await?;
    let v = app.visitor();
    anyhow::ensure!(v.login("root@example.com", "admin password").await?.0 == 200);
    Ok(v)
}

async fn leaf_category(app: &TestApp) -> anyhow::Result<String> {
    let c = category::Entity::find().filter(category::Column::ParentId.is_not_null()).one(&app.db).await?.unwrap();
    Ok(c.slug)
}

fn lamp(category: &str, sku: &str) -> Value {
    json!({
        "title": "Zephyrine Desk Lamp",
        "description": "A warm brass lamp for late reading.",
        "brand": "Lumo",
        "category": category,
        "tags": ["lamp", "Desk"],
        "variants": [
            {"sku": sku, "attributes": {"finish": "brass"}, "price": {"amount": 4999, "currency": "EUR"}, "stock": 7},
            {"sku": format!("{sku}-B"), "attributes": {"finish": "black"}, "price": {"amount": 4599, "currency": "EUR"}, "stock": 0}
        ]
    })
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let started = Instant::now();
    while !check().await? {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(1), "{what} did not happen within a second");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    Ok(())
}

async fn search_total(app: &TestApp, q: &str) -> anyhow::Result<u64> {
    Ok(app.get_json(&format!("/api/v1/search?q={q}")).await?.1["total"].as_u64().unwrap_or(0))
}

async fn a_seller_creates_publishes_edits_and_archives_a_product(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, ann_id) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let cat = leaf_category(&app).await?;

    let (status, p) = ann.post("/api/v1/seller/products", lamp(&cat, "ZEPH-1")).await?;
    assert_eq!(status, 201, "{p}");
    let id = p["product_id"].as_i64().unwrap();
    assert_eq!(p["status"], "draft", "a new product is a draft");
    assert_eq!(p["seller"]["seller_id"].as_i64(), Some(ann_id));
    assert_eq!(p["tags"], json!(["lamp", "desk"]));
    assert_eq!(p["category"]["slug"], cat.as_str());
    assert_eq!(p["variants"][0]["price"], json!({"amount": 4999, "currency": "EUR"}));
    assert_eq!(p["variants"][0]["stock"], 7);
    assert_eq!(p["variants"][0]["warehouses"][0]["quantity"], 7);
    assert_eq!(p["variants"][1]["available"], 0);
    assert_eq!(app.get_json(&format!("/api/v1/products/{id}")).await?.0, 404, "shoppers do not see drafts");

    // Publish: in the storefront and, within a second, in search.
    let mut body = lamp(&cat, "ZEPH-1");
    body["status"] = json!("active");
    let (status, p) = ann.put(&format!("/api/v1/seller/products/{id}"), body.clone()).await?;
    assert_eq!((status, p["status"].as_str()), (200, Some("active")), "{p}");
    let (status, shown) = app.get_json(&format!("/api/v1/products/{id}")).await?;
    assert_eq!((status, shown["title"].as_str()), (200, Some("Zephyrine Desk Lamp")));
    wait_for("the new product showing in search", async || Ok(search_total(&app, "zephyrine").await? == 1)).await?;

    // Edit: a new price, stock per warehouse, one variant dropped, one added.
    body["variants"] = json!([
        {"sku": "ZEPH-1", "price": {"amount": 3999, "currency": "EUR"}, "warehouse_stock": [{"warehouse": "BER", "quantity": 2}, {"warehouse": "RTM", "quantity": 1}]},
        {"sku": "ZEPH-1-C", "attributes": {"finish": "chrome"}, "price": {"amount": 5299, "currency": "EUR"}}
    ]);
    body["title"] = json!("Zephyrine Reading Lamp");
    let (status, p) = ann.put(&format!("/api/v1/seller/products/{id}"), body).await?;
    assert_eq!(status, 200, "{p}");
    let skus: Vec<&str> = p["variants"].as_array().unwrap().iter().map(|v| v["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["ZEPH-1", "ZEPH-1-C"]);
    assert_eq!(p["variants"][0]["stock"], 3, "2 in one warehouse and 1 in the other: {p}");
    assert_eq!(p["variants"][1]["stock"], 0, "a new variant starts with nothing on hand");
    let (_, shown) = app.get_json(&format!("/api/v1/products/{id}")).await?;
    assert_eq!(shown["title"], "Zephyrine Reading Lamp", "the page cache was dropped on the edit");
    assert_eq!(shown["variants"][0]["stock"], "low");
    assert_eq!(shown["price"]["amount"], 3999);
    assert_eq!(variant::Entity::find().filter(variant::Column::Sku.eq("ZEPH-1-B")).count(&app.db).await?, 0);

    // The seller's list finds it by a word, a SKU and a status.
    for q in ["q=reading", "q=zeph-1-c", "status=active"] {
        let (_, list) = ann.get(&format!("/api/v1/seller/products?{q}")).await?;
        assert!(list["products"].as_array().unwrap().iter().any(|r| r["product_id"].as_i64() == Some(id)), "{q}: {list}");
    }
    let (_, drafts) = ann.get("/api/v1/seller/products?status=draft").await?;
    assert_eq!(drafts["total"], 0);

    // Archive: gone from the storefront and search, still in the seller's list.
    let (status, _) = ann.delete(&format!("/api/v1/seller/products/{id}")).await?;
    assert_eq!(status, 204);
    assert_eq!(app.get_json(&format!("/api/v1/products/{id}")).await?.0, 404);
    wait_for("the archived product leaving search", async || Ok(search_total(&app, "zephyrine").await? == 0)).await?;
    let (_, p) = ann.get(&format!("/api/v1/seller/products/{id}")).await?;
    assert_eq!(p["status"], "archived");
    Ok(())
}

async fn sellers_see_and_change_only_their_own_products(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, ann_id) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let (bob, _) = seller(&app, "bob@example.com", "Bob's Bikes").await?;
    let shopper = app.visitor();
    shopper.register("cy@example.com", "long enough").await?;
    let nobody = app.visitor();
    let root = admin(&app).await?;
    let cat = leaf_category(&app).await?;
    let (_, p) = ann.post("/api/v1/seller/products", lamp(&cat, "ANN-1")).await?;
    let id = p["product_id"].as_i64().unwrap();
    let path = format!("/api/v1/seller/products/{id}");
    let update = lamp(&cat, "ANN-1");

    // Nobody signed in: 401; a shopper: 403; another seller: 404 (ids do not leak).
    for (who, expected) in [(&nobody, 401), (&shopper, 403), (&bob, 404)] {
        assert_eq!(who.get(&path).await?.0, expected);
        assert_eq!(who.put(&path, update.clone()).await?.0, expected);
        assert_eq!(who.delete(&path).await?.0, expected);
        let status = who.client.post(format!("{}{path}/images", app.address)).header("content-type", "image/png").body(PNG.to_vec()).send().await?.status();
        assert_eq!(status.as_u16(), expected, "image upload");
    }
    assert_eq!(nobody.get("/api/v1/seller/products").await?.0, 401);
    assert_eq!(shopper.get("/api/v1/seller/products").await?.0, 403);
    assert_eq!(nobody.post("/api/v1/seller/products", lamp(&cat, "X-1")).await?.0, 401);
    assert_eq!(shopper.post("/api/v1/seller/products", lamp(&cat, "X-2")).await?.0, 403);
    let mut foreign = lamp(&cat, "BOB-1");
    foreign["seller_id"] = json!(ann_id);
    assert_eq!(bob.post("/api/v1/seller/products", foreign).await?.0, 403, "no adding to another seller's shop");
    let (_, bobs) = bob.get("/api/v1/seller/products").await?;
    assert_eq!(bobs["total"], 0, "Bob's list has none of Ann's products");
    assert_eq!(product::Entity::find_by_id(id).one(&app.db).await?.unwrap().status, app::states::ProductStatus::Draft, "nothing changed");

    // The admin sees and changes everyone's; a new product needs an owner.
    let (_, all) = root.get("/api/v1/seller/products").await?;
    assert!(all["total"].as_u64().unwrap() > 200, "the admin sees the whole catalog");
    let mut renamed = update.clone();
    renamed["title"] = json!("Renamed by the admin");
    let (status, p) = root.put(&path, renamed).await?;
    assert_eq!((status, p["title"].as_str(), p["seller"]["seller_id"].as_i64()), (200, Some("Renamed by the admin"), Some(ann_id)));
    let (status, body) = root.post("/api/v1/seller/products", lamp(&cat, "ROOT-1")).await?;
    assert_eq!((status, body["error"]["fields"]["seller_id"].is_string()), (400, true), "{body}");
    let mut owned = lamp(&cat, "ROOT-1");
    owned["seller_id"] = json!(ann_id);
    let (status, p) = root.post("/api/v1/seller/products", owned).await?;
    assert_eq!((status, p["seller"]["seller_id"].as_i64()), (201, Some(ann_id)));
    Ok(())
}

async fn bad_product_input_names_each_field_and_writes_nothing(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let cat = leaf_category(&app).await?;
    let taken = variant::Entity::find().one(&app.db).await?.unwrap().sku;
    let before = product::Entity::find().count(&app.db).await?;

    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"title": "", "brand": "B", "variants": [{"sku": "A-1", "price": {"amount": 100, "currency": "EUR"}}]}), "title", "Enter a title"),
        (json!({"title": "T", "brand": "B", "variants": [{"sku": "A-1", "price": {"amount": 0, "currency": "EUR"}}]}), "variants[0].price", "more than 0"),
        (json!({"title": "T", "brand": "B", "variants": [{"sku": "A-1", "price": {"amount": -5, "currency": "EUR"}}]}), "variants[0].price", "more than 0"),
        (json!({"title": "T", "brand": "B", "variants": [{"sku": "A-1", "price": {"amount": 100, "currency": "EUR"}, "stock": -1}]}), "variants[0].stock", "negative"),
        (json!({"title": "T", "brand": "B", "variants": [{"sku": "A-1", "price": {"amount": 100, "currency": "EUR"}, "warehouse_stock": [{"warehouse": "BER", "quantity": -3}]}]}), "variants[0].stock.BER", "negative"),
        (json!({"title": "T", "brand": "B", "variants": [{"sku": taken, "price": {"amount": 100, "currency": "EUR"}}]}), "variants[0].sku", "already used"),
        (json!({"title": "T", "brand": "B", "category": "no-such-place", "variants": [{"sku": "A-1", "price": {"amount": 100, "currency": "EUR"}}]}), "category", "no category"),
        (json!({"title": "T", "brand": "B", "variants": []}), "variants", "at least one variant"),
        (json!({"title": "T", "brand": "B", "variants": [{"sku": "A-1", "price": {"amount": 100, "currency": "EUR"}}, {"sku": "A-2", "price": {"amount": 100, "currency": "USD"}}]}), "variants[1].price", "sells in EUR"),
    ];
    for (body, field, words) in cases {
        let (status, res) = ann.post("/api/v1/seller/products", body.clone()).await?;
        assert_eq!(status, 400, "{body}: {res}");
        let msg = res["error"]["fields"][field].as_str().unwrap_or_default();
        assert!(msg.contains(words), "{body}: {field} says {msg:?} in {res}");
    }
    // Shapes that are not a product at all.
    for raw in [r#"{"title": "T", "variants": [{"sku": "A", "price": {"amount": 1.5, "currency": "EUR"}}]}"#, "[]", "not json"] {
        let res = ann.client.post(format!("{}/api/v1/seller/products", app.address)).header("content-type", "application/json").body(raw).send().await?;
        assert_eq!(res.status().as_u16(), 400, "{raw}");
    }
    assert_eq!(product::Entity::find().count(&app.db).await?, before, "no product was half-written");

    // Stock never below what checkouts hold.
    let (_, p) = ann.post("/api/v1/seller/products", lamp(&cat, "HELD-1")).await?;
    let id = p["product_id"].as_i64().unwrap();
    let vid = p["variants"][0]["variant_id"].as_i64().unwrap();
    let row = inventory::Entity::find().filter(inventory::Column::VariantId.eq(vid)).one(&app.db).await?.unwrap();
    let mut held: inventory::ActiveModel = row.into();
    held.reserved = Set(5);
    held.update(&app.db).await?;
    let mut body = lamp(&cat, "HELD-1");
    body["variants"][0]["stock"] = json!(4);
    let (status, res) = ann.put(&format!("/api/v1/seller/products/{id}"), body).await?;
    assert_eq!(status, 400, "{res}");
    assert!(res["error"]["fields"]["variants[0].stock"].as_str().unwrap().contains("5 units are held"), "{res}");
    let row = inventory::Entity::find().filter(inventory::Column::VariantId.eq(vid)).one(&app.db).await?.unwrap();
    assert_eq!((row.quantity, row.reserved), (7, 5), "stock unchanged");
    Ok(())
}

fn media_files(app: &TestApp) -> usize {
    std::fs::read_dir(app.config.data_dir.join("media/products")).map(|d| d.count()).unwrap_or(0)
}

async fn pictures_are_checked_stored_and_served(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let cat = leaf_category(&app).await?;
    let mut body = lamp(&cat, "PIC-1");
    body["status"] = json!("active");
    let (_, p) = ann.post("/api/v1/seller/products", body).await?;
    let id = p["product_id"].as_i64().unwrap();
    let upload = format!("{}/api/v1/seller/products/{id}/images", app.address);

    // Multipart (as a browser sends it).
    let form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("lamp.png").mime_str("image/png")?);
    let res = ann.client.post(&upload).multipart(form).send().await?;
    assert_eq!(res.status().as_u16(), 201);
    let p: Value = res.json().await?;
    let url = p["images"][0]["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/media/products/") && url.ends_with(".png"), "{url}");
    // Asked with the encodings a browser takes: a PNG is compressed already, so sent as it is.
    let served = app.client.get(app.url(&url)).header("accept-encoding", "br, gzip").send().await?;
    assert_eq!(served.status().as_u16(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert!(served.headers().get("content-encoding").is_none(), "a picture is not compressed again");
    assert!(served.headers()["cache-control"].to_str()?.contains("immutable"));
    assert_eq!(served.bytes().await?.as_ref(), PNG);
    let (_, shown) = app.get_json(&format!("/api/v1/products/{id}")).await?;
    assert_eq!(shown["images"], json!([url]), "the storefront shows the upload");

    // Refused: not a picture (whatever it claims), SVG, and more than 5 MB. Nothing stored.
    let files = media_files(&app);
    let rows = product_image::Entity::find().count(&app.db).await?;
    for (content_type, bytes) in [
        ("image/png", b"this is a text file".to_vec()),
        ("image/svg+xml", b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec()),
    ] {
        let res = ann.client.post(&upload).header("content-type", content_type).body(bytes).send().await?;
        assert_eq!(res.status().as_u16(), 400);
        let err: Value = res.json().await?;
        assert!(err["error"]["message"].as_str().unwrap().contains("not a picture"), "{err}");
    }
    let mut big = PNG.to_vec();
    big.resize(6 * 1024 * 1024, 0);
    let res = ann.client.post(&upload).header("content-type", "image/png").body(big.clone()).send().await?;
    assert_eq!(res.status().as_u16(), 413);
    let err: Value = res.json().await?;
    assert!(err["error"]["message"].as_str().unwrap().contains("larger than 5 MB"), "{err}");
    let form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(big).file_name("big.png"));
    let res = ann.client.post(&upload).multipart(form).send().await?;
    assert_eq!(res.status().as_u16(), 413);
    // One byte over 5 MB is over, raw or in a form (the README's 413).
    let mut just_over = PNG.to_vec();
    just_over.resize(app::seller::MAX_IMAGE_BYTES + 1, 0);
    assert_eq!(ann.client.post(&upload).header("content-type", "image/png").body(just_over.clone()).send().await?.status().as_u16(), 413);
    let form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(just_over).file_name("over.png"));
    assert_eq!(ann.client.post(&upload).multipart(form).send().await?.status().as_u16(), 413);
    // Decoded, not sniffed: a signature alone, a GIF header in front of a page, and a small
    // PNG whose header claims 100,000 × 100,000 pixels.
    let mut huge = PNG.to_vec();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&huge[12..29]);
    huge[29..33].copy_from_slice(&crc.to_be_bytes());
    huge.resize(10 * 1024, 0);
    for (what, bytes, says) in [
        ("a PNG signature alone", b"\x89PNG\r\n\x1a\n".to_vec(), "not a picture"),
        ("a GIF header before HTML", b"GIF89a\x01\x00\x01\x00\x00\x00\x00<html><script>alert(1)</script></html>".to_vec(), "not a picture"),
        ("100,000 x 100,000 pixels", huge, "100000 × 100000 pixels"),
    ] {
        let res = ann.client.post(&upload).header("content-type", "image/png").body(bytes).send().await?;
        assert_eq!(res.status().as_u16(), 400, "{what}");
        let err: Value = res.json().await?;
        assert!(err["error"]["fields"]["image"].as_str().is_some_and(|m| m.contains(says)), "{what}: {err}");
    }
    assert_eq!((media_files(&app), product_image::Entity::find().count(&app.db).await?), (files, rows), "nothing stored");

    // A plain HTML form gets its page back with the problem, not JSON.
    let form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(b"nope".to_vec()).file_name("x.png"));
    let res = ann.client.post(&upload).header("accept", "text/html").multipart(form).send().await?;
    assert_eq!(res.status().as_u16(), 303);
    let to = res.headers()["location"].to_str()?;
    assert!(to.starts_with(&format!("/seller/products/{id}?image_error=")), "{to}");

    // Removing a picture removes its file too.
    let image_id = p["images"][0]["image_id"].as_i64().unwrap();
    let (status, p) = ann.delete(&format!("/api/v1/seller/products/{id}/images/{image_id}")).await?;
    assert_eq!((status, p["images"].as_array().map(Vec::len)), (200, Some(0)));
    assert_eq!(app.get(&url).await?.status().as_u16(), 404);
    Ok(())
}

/// Proves the cache serves (a change nobody announced is not seen) and that an announced
/// change is seen at once on every node.
async fn assert_cache_follows_events(a: &TestApp, b: &TestApp, id: i64) -> anyhow::Result<()> {
    let path = format!("/api/v1/products/{id}");
    let (_, before) = a.get_json(&path).await?;
    let title = before["title"].as_str().unwrap().to_owned();
    let mut quiet: product::ActiveModel = product::Entity::find_by_id(id).one(&a.db).await?.unwrap().into();
    quiet.title = Set("Changed behind the cache's back".into());
    quiet.update(&a.db).await?;
    assert_eq!(a.get_json(&path).await?.1["title"], title.as_str(), "node A serves its cached page");
    b.state.stores.events.publish(ShopEvent::ProductChanged { product_id: id }).await?;
    for node in [a, b] {
        wait_for("the changed title on every node", async || {
            Ok(node.get_json(&path).await?.1["title"] == "Changed behind the cache's back")
        })
        .await?;
    }
    Ok(())
}

async fn an_announced_change_drops_the_cached_page(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let p = product::Entity::find().filter(product::Column::Status.eq("active")).one(&app.db).await?.unwrap();
    assert_cache_follows_events(&app, &app, p.id).await
}

async fn two_instances_sharing_redis_drop_the_page_together(backend: Backend) -> anyhow::Result<()> {
    let a = spawn_app_with_redis(backend).await?;
    let mut cfg = a.config.clone();
    cfg.data_dir = scratch_dir();
    let b = spawn_app_with(cfg).await?;
    let p = product::Entity::find().filter(product::Column::Status.eq("active")).one(&a.db).await?.unwrap();
    assert_cache_follows_events(&a, &b, p.id).await?;

    // A seller's stock change through node B shows on node A's page.
    let (ann, ann_id) = seller(&b, "ann@example.com", "Ann's Lamps").await?;
    let cat = leaf_category(&a).await?;
    let mut body = lamp(&cat, "TWO-1");
    body["status"] = json!("active");
    let (_, created) = ann.post("/api/v1/seller/products", body.clone()).await?;
    let id = created["product_id"].as_i64().unwrap();
    assert_eq!(created["seller"]["seller_id"].as_i64(), Some(ann_id));
    let (_, page) = a.get_json(&format!("/api/v1/products/{id}")).await?;
    assert_eq!(page["variants"][0]["stock"], "in_stock");
    body["variants"][0]["stock"] = json!(0);
    assert_eq!(ann.put(&format!("/api/v1/seller/products/{id}"), body).await?.0, 200);
    wait_for("out of stock on the other node", async || {
        Ok(a.get_json(&format!("/api/v1/products/{id}")).await?.1["variants"][0]["stock"] == "out")
    })
    .await
}

crate::on_both_databases!(
    a_seller_creates_publishes_edits_and_archives_a_product,
    sellers_see_and_change_only_their_own_products,
    bad_product_input_names_each_field_and_writes_nothing,
    pictures_are_checked_stored_and_served,
    an_announced_change_drops_the_cached_page,
    one_currency_per_shop,
    a_product_on_sale_stays_published_until_its_sale_is_over,
);

async fn a_product_on_sale_stays_published_until_its_sale_is_over(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let cat = leaf_category(&app).await?;
    let mut body = lamp(&cat, "ONSALE-1");
    body["status"] = json!("active");
    let (_, p) = ann.post("/api/v1/seller/products", body.clone()).await?;
    let id = p["product_id"].as_i64().unwrap();
    let at = |h: i64| (chrono::Utc::now() + chrono::Duration::hours(h)).to_rfc3339();
    let (status, sale) = ann
        .post("/api/v1/seller/sales", json!({"sku": "ONSALE-1", "price": {"amount": 999, "currency": "EUR"}, "starts_at": at(1), "ends_at": at(2), "allocation": 2}))
        .await?;
    assert_eq!(status, 201, "{sale}");
    let sale_id = sale["sale_id"].as_i64().unwrap();
    // Archiving, unpublishing in the editor, or an edit to draft: each refused, saying which sale.
    let (status, err) = ann.delete(&format!("/api/v1/seller/products/{id}")).await?;
    assert_eq!(status, 409, "{err}");
    assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains(&format!("scheduled flash sale (sale {sale_id}")) && m.contains("Cancel it first")), "{err}");
    let res = ann
        .client
        .post(app.url("/api/fn/seller_set_status"))
        .header("origin", app.address.as_str())
        .form(&[("id", id.to_string()), ("status", "draft".to_owned())])
        .send()
        .await?;
    assert_eq!(res.status().as_u16(), 409, "{}", res.text().await?);
    body["status"] = json!("draft");
    assert_eq!(ann.put(&format!("/api/v1/seller/products/{id}"), body.clone()).await?.0, 409);
    let (_, shown) = app.get_json(&format!("/api/v1/products/{id}")).await?;
    assert_eq!(shown["product_id"].as_i64(), Some(id), "still for sale in the shop");
    // Once the sale is cancelled, it may go.
    assert_eq!(ann.post(&format!("/api/v1/seller/sales/{sale_id}/cancel"), json!({})).await?.0, 200);
    assert_eq!(ann.put(&format!("/api/v1/seller/products/{id}"), body).await?.0, 200);
    assert_eq!(app.get_json(&format!("/api/v1/products/{id}")).await?.0, 404);
    Ok(())
}

async fn one_currency_per_shop(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (ann, _) = seller(&app, "ann@example.com", "Ann's Lamps").await?;
    let cat = leaf_category(&app).await?;
    // A product priced in another currency than the shop's (EUR by default): 400 naming the price.
    let mut usd = lamp(&cat, "CUR-USD");
    usd["variants"][1]["price"]["currency"] = json!("USD");
    let (status, err) = ann.post("/api/v1/seller/products", usd).await?;
    assert_eq!(status, 400, "{err}");
    assert!(err["error"]["fields"]["variants[1].price"].as_str().is_some_and(|m| m.contains("sells in EUR")), "{err}");
    assert!(err["error"]["fields"].get("variants[0].price").is_none(), "the EUR variant is fine: {err}");
    assert_eq!(variant::Entity::find().filter(variant::Column::Sku.eq("CUR-USD")).count(&app.db).await?, 0, "nothing written");

    let mut body = lamp(&cat, "CUR-1");
    body["status"] = json!("active");
    body["variants"][1]["stock"] = json!(5);
    let (status, p) = ann.post("/api/v1/seller/products", body).await?;
    assert_eq!(status, 201, "{p}");
    // A sale in another currency: 400 naming the price.
    let at = |h: i64| (chrono::Utc::now() + chrono::Duration::hours(h)).to_rfc3339();
    let (status, err) = ann
        .post("/api/v1/seller/sales", json!({"sku": "CUR-1", "price": {"amount": 999, "currency": "USD"}, "starts_at": at(1), "ends_at": at(2), "allocation": 2}))
        .await?;
    assert_eq!(status, 400, "{err}");
    assert!(err["error"]["fields"]["price"].as_str().is_some_and(|m| m.contains("sells in EUR")), "{err}");

    // A variant left in another currency from before (written straight to the database): a
    // cart refuses it, and a cart that has it does not add it to the subtotal.
    let shopper = app.visitor();
    shopper.register("cy@example.com", "long enough").await?;
    assert_eq!(shopper.post("/api/v1/cart/items", json!({"sku": "CUR-1", "quantity": 1})).await?.0, 200);
    assert_eq!(shopper.post("/api/v1/cart/items", json!({"sku": "CUR-1-B", "quantity": 1})).await?.0, 200);
    let b = variant::Entity::find().filter(variant::Column::Sku.eq("CUR-1-B")).one(&app.db).await?.unwrap();
    let mut b: variant::ActiveModel = b.into();
    b.currency = Set("USD".to_owned());
    b.update(&app.db).await?;
    let (status, err) = shopper.post("/api/v1/cart/items", json!({"sku": "CUR-1-B", "quantity": 2})).await?;
    assert_eq!(status, 400, "{err}");
    assert!(err["error"]["fields"]["sku"].as_str().is_some_and(|m| m.contains("priced in USD")), "{err}");
    let (_, cart) = shopper.get("/api/v1/cart").await?;
    assert_eq!(cart["subtotal"], json!({"amount": 4999, "currency": "EUR"}), "only the EUR line adds up: {cart}");
    let line = cart["items"].as_array().unwrap().iter().find(|i| i["sku"] == "CUR-1-B").unwrap().clone();
    assert_eq!((line["purchasable"].as_bool(), line["quantity"].as_i64()), (Some(false), Some(1)), "kept as it was: {line}");
    let (status, err) = shopper
        .client
        .post(app.url("/api/v1/orders/checkout"))
        .header("Idempotency-Key", "k-currency")
        .json(&json!({"shipping_address": {"name": "Cy", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}, "shipping_method": "standard", "payment_method_id": "pm_card_visa"}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map(|s| (s, ()))?;
    assert_eq!((status, err), (400, ()), "checkout refuses a cart in two currencies");
    Ok(())
}

mod redis {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_sharing_redis_drop_the_page_together() -> anyhow::Result<()> {
        super::two_instances_sharing_redis_drop_the_page_together(crate::helpers::Backend::Postgres).await
    }
}
