//! The catalog over HTTP: listing, sorting, filtering, product detail, bad input and pages.

use std::collections::HashMap;

use app::db::{category, inventory, product, variant};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

use crate::helpers::{Backend, spawn_app};

async fn products_are_listed_in_pages(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let active = product::Entity::find().filter(product::Column::Status.eq("active")).count(&app.db).await?;
    assert!(active >= 200, "the demo catalog has at least 200 products, found {active}");

    let (status, page1) = app.get_json("/api/v1/products?limit=10").await?;
    assert_eq!(status, 200);
    assert_eq!(page1["total"].as_u64(), Some(active));
    assert_eq!(page1["page"].as_u64(), Some(1));
    assert_eq!(page1["total_pages"].as_u64(), Some(active.div_ceil(10)));
    let products = page1["products"].as_array().unwrap();
    assert_eq!(products.len(), 10);
    let p = &products[0];
    for field in ["product_id", "title", "rating", "review_count", "image_url", "in_stock"] {
        assert!(p.get(field).is_some(), "product summary lacks {field}: {p}");
    }
    assert!(p["price"]["amount"].as_i64().unwrap() > 0);
    assert_eq!(p["price"]["currency"], "EUR");
    assert!(p["seller"]["seller_id"].is_i64() && p["seller"]["name"].is_string());

    let (_, page2) = app.get_json("/api/v1/products?limit=10&page=2").await?;
    let ids = |v: &Value| v["products"].as_array().unwrap().iter().map(|p| p["product_id"].as_i64().unwrap()).collect::<Vec<_>>();
    assert!(ids(&page1).iter().all(|id| !ids(&page2).contains(id)), "pages overlap");

    let past_end = format!("/api/v1/products?limit=10&page={}", active.div_ceil(10) + 1);
    let (status, empty) = app.get_json(&past_end).await?;
    assert_eq!(status, 200);
    assert_eq!(empty["products"].as_array().unwrap().len(), 0);
    Ok(())
}

async fn category_filter_includes_subcategories(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let parent = category::Entity::find().filter(category::Column::Slug.eq("clothing")).one(&app.db).await?.unwrap();
    let children: Vec<i64> = category::Entity::find()
        .filter(category::Column::ParentId.eq(parent.id))
        .all(&app.db)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(!children.is_empty());
    let expected = product::Entity::find()
        .filter(product::Column::CategoryId.is_in(children.clone()))
        .filter(product::Column::Status.eq("active"))
        .count(&app.db)
        .await?;
    let (status, body) = app.get_json("/api/v1/products?category=clothing&limit=100").await?;
    assert_eq!(status, 200);
    assert_eq!(body["total"].as_u64(), Some(expected));
    for p in body["products"].as_array().unwrap() {
        let row = product::Entity::find_by_id(p["product_id"].as_i64().unwrap()).one(&app.db).await?.unwrap();
        assert!(children.contains(&row.category_id), "product {} is not in clothing", row.id);
    }
    let (_, leaf) = app.get_json("/api/v1/products?category=t-shirts").await?;
    assert!(leaf["total"].as_u64().unwrap() < expected);
    Ok(())
}

async fn sorting_by_price_orders_by_cheapest_variant(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    for (sort, ascending) in [("price_asc", true), ("price_desc", false)] {
        let (status, body) = app.get_json(&format!("/api/v1/products?sort={sort}&limit=50")).await?;
        assert_eq!(status, 200);
        let prices: Vec<i64> = body["products"].as_array().unwrap().iter().map(|p| p["price"]["amount"].as_i64().unwrap()).collect();
        let mut sorted = prices.clone();
        sorted.sort();
        if !ascending {
            sorted.reverse();
        }
        assert_eq!(prices, sorted, "{sort} is not ordered");
    }
    let (_, newest) = app.get_json("/api/v1/products?sort=newest&limit=5").await?;
    let ids: Vec<i64> = newest["products"].as_array().unwrap().iter().map(|p| p["product_id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let (_, rated) = app.get_json("/api/v1/products?sort=rating&limit=20").await?;
    let ratings: Vec<f64> = rated["products"].as_array().unwrap().iter().map(|p| p["rating"].as_f64().unwrap_or(0.0)).collect();
    assert!(ratings.windows(2).all(|w| w[0] >= w[1]), "best rated first: {ratings:?}");
    Ok(())
}

async fn product_detail_shows_variants_with_live_availability(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let p = product::Entity::find().filter(product::Column::Status.eq("active")).one(&app.db).await?.unwrap();
    let (status, body) = app.get_json(&format!("/api/v1/products/{}", p.id)).await?;
    assert_eq!(status, 200);
    assert_eq!(body["title"], p.title.as_str());
    let variants = variant::Entity::find().filter(variant::Column::ProductId.eq(p.id)).all(&app.db).await?;
    let listed = body["variants"].as_array().unwrap();
    assert_eq!(listed.len(), variants.len());
    let mut available: HashMap<String, i64> = HashMap::new();
    for v in &variants {
        let stock = inventory::Entity::find().filter(inventory::Column::VariantId.eq(v.id)).all(&app.db).await?;
        available.insert(v.sku.clone(), stock.iter().map(|s| s.quantity - s.reserved).sum());
    }
    for v in listed {
        let sku = v["sku"].as_str().unwrap();
        assert_eq!(v["available"].as_i64(), available.get(sku).copied(), "availability of {sku}");
        assert!(v["attributes"].is_object());
        assert!(v["price"]["amount"].as_i64().unwrap() > 0);
        assert!(["in_stock", "low", "out"].contains(&v["stock"].as_str().unwrap()));
    }

    // Stock changes show at once: the detail is read live, not from a stale copy.
    let first = &variants[0];
    inventory::Entity::update_many()
        .col_expr(inventory::Column::Quantity, sea_orm::sea_query::Expr::value(0))
        .filter(inventory::Column::VariantId.eq(first.id))
        .exec(&app.db)
        .await?;
    let (_, after) = app.get_json(&format!("/api/v1/products/{}", p.id)).await?;
    let v = after["variants"].as_array().unwrap().iter().find(|v| v["sku"] == first.sku.as_str()).unwrap();
    assert_eq!(v["available"], 0);
    assert_eq!(v["stock"], "out");
    Ok(())
}

async fn bad_list_parameters_are_400_naming_the_parameter(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    for (query, param) in [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=99999999999999999999999", "page"),
        ("limit=100000", "limit"),
        ("limit=0", "limit"),
        ("sort=bogus", "sort"),
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/products?{query}")).await?;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["error"]["code"], "bad_request", "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(param), "{query}: message {message:?} does not name {param}");
        assert!(body["error"]["fields"][param].is_string(), "{query}: {body}");
    }
    Ok(())
}

async fn unknown_product_or_category_is_404(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    for path in ["/api/v1/products/999999", "/api/v1/products/not-a-number", "/api/v1/products?category=no-such-thing"] {
        let (status, body) = app.get_json(path).await?;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 10, "{path}");
    }
    for path in ["/p/999999", "/p/abc", "/c/no-such-thing", "/no/such/page"] {
        let res = app.get(path).await?;
        assert_eq!(res.status().as_u16(), 404, "{path}");
        let html = res.text().await?;
        assert!(html.contains("data-testid=\"not-found\""), "{path} should show the 404 page");
        assert!(html.contains("Back to the shop"), "{path}");
    }
    Ok(())
}

async fn pages_render_on_the_server(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let home = app.get("/").await?;
    assert_eq!(home.status().as_u16(), 200);
    let html = home.text().await?;
    assert!(html.contains("Shop by category") && html.contains("/c/clothing"), "home lists categories");
    assert!(html.contains("data-testid=\"product-card\""), "home shows featured products");

    let cat = app.get("/c/clothing?sort=price_asc&page=2").await?;
    assert_eq!(cat.status().as_u16(), 200);
    let html = cat.text().await?;
    assert!(html.contains("<h1>Clothing</h1>"));
    assert!(html.contains("aria-current=\"page\" class=\"current\">2<"), "page 2 is marked current");
    assert_eq!(html.matches("aria-current=\"page\"").count(), 2, "only the breadcrumb and page 2 are current");

    let (_, list) = app.get_json("/api/v1/products?limit=1").await?;
    let id = list["products"][0]["product_id"].as_i64().unwrap();
    let (_, detail) = app.get_json(&format!("/api/v1/products/{id}")).await?;
    let page = app.get(&format!("/p/{id}")).await?;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await?;
    let title = detail["title"].as_str().unwrap().replace('&', "&amp;");
    assert!(html.contains(&title), "product page shows its title");
    assert!(html.contains("data-testid=\"price\""));

    let bad = app.get("/c/clothing?page=0").await?;
    assert_eq!(bad.status().as_u16(), 400, "a bad page number on a page is a 400 too");
    assert!(bad.text().await?.contains("page must be a whole number"));
    Ok(())
}

/// The text between `start` and the next `end` after it, for each occurrence.
fn between<'a>(html: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    html.split(start).skip(1).filter_map(|rest| rest.split_once(end).map(|(inside, _)| inside)).collect()
}

async fn every_page_has_a_title_a_description_and_products_their_structured_data(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (_, list) = app.get_json("/api/v1/products?limit=1").await?;
    let id = list["products"][0]["product_id"].as_i64().unwrap();
    let (_, detail) = app.get_json(&format!("/api/v1/products/{id}")).await?;
    let paths = ["/", "/c/clothing", &format!("/p/{id}"), "/search?q=shirt", "/search", "/cart", "/sales", "/signin", "/register", "/no/such/page"];
    let mut descriptions = HashMap::new();
    for path in paths {
        let html = app.get(path).await?.text().await?;
        let titles = between(&html, "<title>", "</title>");
        assert_eq!(titles.len(), 1, "{path}: one title, found {titles:?}");
        assert!(titles[0].ends_with("Sellout"), "{path}: the shop's name in the title: {titles:?}");
        let found = between(&html, "<meta name=\"description\" content=\"", "\"");
        assert_eq!(found.len(), 1, "{path}: one meta description, found {found:?}");
        assert!(found[0].len() >= 20, "{path}: a description a person can read: {found:?}");
        assert!(found[0].chars().count() <= 170, "{path}: short enough for a result snippet: {found:?}");
        descriptions.insert(path.to_owned(), found[0].to_owned());
    }
    assert!(descriptions.values().collect::<std::collections::HashSet<_>>().len() >= paths.len() - 1, "pages describe themselves, not one line for all: {descriptions:?}");

    let html = app.get(&format!("/p/{id}")).await?.text().await?;
    let scripts = between(&html, "<script type=\"application/ld+json\" data-testid=\"structured-data\">", "</script>");
    assert_eq!(scripts.len(), 1, "the product page carries its structured data");
    let data: Value = serde_json::from_str(scripts[0])?;
    assert_eq!(data["@type"], "Product");
    assert_eq!(data["name"], detail["title"]);
    let offers = data["offers"].as_array().unwrap();
    let variants = detail["variants"].as_array().unwrap();
    assert_eq!(offers.len(), variants.len(), "an offer per variant");
    for (offer, variant) in offers.iter().zip(variants) {
        assert_eq!(offer["@type"], "Offer");
        assert_eq!(offer["sku"], variant["sku"]);
        let amount = variant["price"]["amount"].as_i64().unwrap();
        assert_eq!(offer["price"], format!("{}.{:02}", amount / 100, amount % 100), "the variant's price in its currency's units");
        assert_eq!(offer["priceCurrency"], variant["price"]["currency"]);
        let in_stock = variant["available"].as_i64().unwrap() > 0;
        assert_eq!(offer["availability"], if in_stock { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" });
    }
    Ok(())
}

crate::on_both_databases!(
    products_are_listed_in_pages,
    category_filter_includes_subcategories,
    sorting_by_price_orders_by_cheapest_variant,
    product_detail_shows_variants_with_live_availability,
    bad_list_parameters_are_400_naming_the_parameter,
    unknown_product_or_category_is_404,
    pages_render_on_the_server,
    every_page_has_a_title_a_description_and_products_their_structured_data,
);
