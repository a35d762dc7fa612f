//! Search over HTTP: ranking, typo tolerance, facet counts against SQL, freshness, bad input.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use app::db::{category, inventory, product, variant};
use app::events::ShopEvent;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, spawn_app};

fn titles(body: &Value) -> Vec<String> {
    body["results"].as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap().to_owned()).collect()
}

fn enc(s: &str) -> String {
    app::ui::forms::url_encode(s)
}

async fn an_exact_title_match_ranks_first(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let products = product::Entity::find().filter(product::Column::Status.eq("active")).all(&app.db).await?;
    for p in products.iter().step_by(37).take(5) {
        let (status, body) = app.get_json(&format!("/api/v1/search?q={}", enc(&p.title))).await?;
        assert_eq!(status, 200);
        // The demo catalog repeats some titles, so the first result is one with this title.
        assert_eq!(titles(&body).first(), Some(&p.title), "searching \"{}\" gave {:?}", p.title, titles(&body));
    }
    // A brand alone finds that brand's products, titles mentioning it first.
    let (_, body) = app.get_json("/api/v1/search?q=kestrel&limit=100").await?;
    let expected = products.iter().filter(|p| p.brand == "Kestrel" || p.title.to_lowercase().contains("kestrel")).count();
    assert_eq!(body["total"].as_u64(), Some(expected as u64));
    Ok(())
}

async fn one_typo_is_forgiven_in_longer_words(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (_, exact) = app.get_json("/api/v1/search?q=backpack&limit=100").await?;
    assert!(exact["total"].as_u64().unwrap() > 0);
    for typo in ["backpak", "bakcpack", "backpacj"] {
        let (_, body) = app.get_json(&format!("/api/v1/search?q={typo}&limit=100")).await?;
        assert_eq!(body["total"], exact["total"], "\"{typo}\" finds what \"backpack\" finds");
    }
    // Two edits are too many, and short words must be exact.
    let (_, two) = app.get_json("/api/v1/search?q=bakpakk").await?;
    assert_eq!(two["total"], 0);
    let (_, short) = app.get_json("/api/v1/search?q=lmap").await?;
    assert_eq!(short["total"], 0, "no typo tolerance under 5 letters");
    let (_, stemmed) = app.get_json("/api/v1/search?q=boot&limit=100").await?;
    let (_, plural) = app.get_json("/api/v1/search?q=boots&limit=100").await?;
    assert_eq!(stemmed["total"], plural["total"], "boot and boots are one word");
    Ok(())
}

/// The SQL truth for active products in a category (and its children).
async fn sql_facets(app: &TestApp, category_slug: &str) -> anyhow::Result<(u64, BTreeMap<String, u64>, u64, [u64; 5], [u64; 5])> {
    let cats = category::Entity::find().all(&app.db).await?;
    let root = cats.iter().find(|c| c.slug == category_slug).unwrap();
    let ids: Vec<i64> = cats.iter().filter(|c| c.id == root.id || c.parent_id == Some(root.id)).map(|c| c.id).collect();
    let products = product::Entity::find()
        .filter(product::Column::Status.eq("active"))
        .filter(product::Column::CategoryId.is_in(ids))
        .all(&app.db)
        .await?;
    let variants = variant::Entity::find().all(&app.db).await?;
    let stock = inventory::Entity::find().all(&app.db).await?;
    let mut available: HashMap<i64, i64> = HashMap::new();
    for s in stock {
        *available.entry(s.variant_id).or_default() += s.quantity - s.reserved;
    }
    let (mut brands, mut in_stock, mut prices, mut ratings) = (BTreeMap::new(), 0, [0u64; 5], [0u64; 5]);
    for p in &products {
        *brands.entry(p.brand.clone()).or_default() += 1;
        let own: Vec<&variant::Model> = variants.iter().filter(|v| v.product_id == p.id).collect();
        if own.iter().any(|v| available.get(&v.id).copied().unwrap_or(0) > 0) {
            in_stock += 1;
        }
        let price = own.iter().map(|v| v.price_amount).min().unwrap();
        let bucket = app::search::PRICE_BUCKETS
            .iter()
            .position(|(lo, hi)| lo.is_none_or(|l| price >= l) && hi.is_none_or(|h| price < h))
            .unwrap();
        prices[bucket] += 1;
        let shown = app::catalog::rating_of(p.rating_sum, p.rating_count).unwrap_or(0.0);
        for n in 1..=5 {
            if shown >= n as f64 {
                ratings[n - 1] += 1;
            }
        }
    }
    Ok((products.len() as u64, brands, in_stock, prices, ratings))
}

async fn facet_counts_equal_sql_counts(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    for slug in ["clothing", "electronics", "t-shirts"] {
        let (total, brands, in_stock, prices, ratings) = sql_facets(&app, slug).await?;
        let (status, body) = app.get_json(&format!("/api/v1/search?category={slug}&limit=1")).await?;
        assert_eq!(status, 200);
        let f = &body["facets"];
        assert_eq!(body["total"].as_u64(), Some(total), "{slug} total");
        let got: BTreeMap<String, u64> =
            f["brands"].as_array().unwrap().iter().map(|b| (b["value"].as_str().unwrap().to_owned(), b["count"].as_u64().unwrap())).collect();
        assert_eq!(got, brands, "{slug} brand counts");
        assert_eq!(f["in_stock"].as_u64(), Some(in_stock), "{slug} in stock");
        let got: Vec<u64> = f["price_ranges"].as_array().unwrap().iter().map(|r| r["count"].as_u64().unwrap()).collect();
        assert_eq!(got, prices.to_vec(), "{slug} price ranges");
        for r in f["rating"].as_array().unwrap() {
            let n = r["min"].as_u64().unwrap() as usize;
            assert_eq!(r["count"].as_u64(), Some(ratings[n - 1]), "{slug} rated {n}+");
        }
        let cat = f["categories"].as_array().unwrap().iter().find(|c| c["value"] == slug).unwrap();
        assert_eq!(cat["count"].as_u64(), Some(total), "{slug} category count");
    }
    // Filters narrow the results and the facets agree with them.
    let (_, body) = app.get_json("/api/v1/search?category=clothing&brand=Northwind&in_stock=true&limit=100").await?;
    for p in body["results"].as_array().unwrap() {
        assert!(p["in_stock"].as_bool().unwrap());
        assert_eq!(p["brand"], "Northwind");
    }
    assert_eq!(body["facets"]["in_stock"], body["total"]);
    let (_, body) = app.get_json("/api/v1/search?price_min=2500&price_max=4999&limit=100").await?;
    for p in body["results"].as_array().unwrap() {
        let cents = p["price"]["amount"].as_i64().unwrap();
        assert!((2500..=4999).contains(&cents), "{cents}");
    }
    Ok(())
}

async fn sorting_and_paging(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let (_, asc) = app.get_json("/api/v1/search?category=shoes&sort=price_asc&limit=100").await?;
    let prices: Vec<i64> = asc["results"].as_array().unwrap().iter().map(|p| p["price"]["amount"].as_i64().unwrap()).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    let (_, p1) = app.get_json("/api/v1/search?sort=newest&limit=5").await?;
    let (_, p2) = app.get_json("/api/v1/search?sort=newest&limit=5&page=2").await?;
    let ids = |b: &Value| b["results"].as_array().unwrap().iter().map(|p| p["product_id"].as_i64().unwrap()).collect::<Vec<_>>();
    let all: Vec<i64> = ids(&p1).into_iter().chain(ids(&p2)).collect();
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first across pages: {all:?}");
    assert_eq!(p1["total_pages"].as_u64(), Some(p1["total"].as_u64().unwrap().div_ceil(5)));
    Ok(())
}

async fn the_index_follows_an_edit_within_a_second(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let p = product::Entity::find().filter(product::Column::Status.eq("active")).one(&app.db).await?.unwrap();
    let (_, before) = app.get_json("/api/v1/search?q=zeppelin").await?;
    assert_eq!(before["total"], 0);
    let mut edit: product::ActiveModel = p.clone().into();
    edit.title = Set(format!("{} Zeppelin Edition", p.title));
    edit.update(&app.db).await?;
    app.state.stores.events.publish(ShopEvent::ProductChanged { product_id: p.id }).await?;
    let started = Instant::now();
    loop {
        let (_, after) = app.get_json("/api/v1/search?q=zeppelin").await?;
        if after["results"][0]["product_id"].as_i64() == Some(p.id) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1), "the edit was not searchable within a second");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Archiving removes it.
    let mut archive: product::ActiveModel = product::Entity::find_by_id(p.id).one(&app.db).await?.unwrap().into();
    archive.status = Set(app::states::ProductStatus::Archived);
    archive.update(&app.db).await?;
    app.state.stores.events.publish(ShopEvent::ProductChanged { product_id: p.id }).await?;
    let started = Instant::now();
    loop {
        let (_, after) = app.get_json("/api/v1/search?q=zeppelin").await?;
        if after["total"] == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1), "the archived product stayed searchable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn odd_queries_give_results_or_an_empty_state(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let long = "lamp ".repeat(2000);
    for q in [long.as_str(), "!!!", "\"\"", "\"linen", "*", "(", "AND OR NOT", "lamp\"", "%00", "ünïcödé ☃", "-lamp"] {
        let (status, body) = app.get_json(&format!("/api/v1/search?q={}", enc(q))).await?;
        assert_eq!(status, 200, "{q:?}: {body}");
        assert!(body["results"].is_array());
    }
    let (status, body) = app.get_json("/api/v1/search?price_min=5000&price_max=1000").await?;
    assert_eq!(status, 400);
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("price_min") && msg.contains("price_max"), "{msg}");
    for unknown in ["brand=NoSuchBrand", "category=no-such-category"] {
        let (status, body) = app.get_json(&format!("/api/v1/search?{unknown}")).await?;
        assert_eq!((status, body["total"].as_u64()), (200, Some(0)), "{unknown}");
    }
    let page = app.get("/search?q=%22%22%22").await?;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await?;
    assert!(html.contains("data-testid=\"result-count\""));
    Ok(())
}

async fn a_sku_typed_whole_finds_its_product_first(backend: Backend) -> anyhow::Result<()> {
    let app = spawn_app(backend).await?;
    let products = product::Entity::find().filter(product::Column::Status.eq("active")).all(&app.db).await?;
    for p in products.iter().step_by(41).take(4) {
        let v = variant::Entity::find().filter(variant::Column::ProductId.eq(p.id)).one(&app.db).await?.unwrap();
        for typed in [v.sku.clone(), v.sku.to_lowercase()] {
            let (status, body) = app.get_json(&format!("/api/v1/search?q={}", enc(&typed))).await?;
            assert_eq!(status, 200);
            assert_eq!(body["results"][0]["product_id"].as_i64(), Some(p.id), "searching {typed:?}: {:?}", titles(&body));
        }
    }
    // A product whose variants differ in price says "from" on its card; one whose do not, not.
    let all = variant::Entity::find().all(&app.db).await?;
    let mut prices: HashMap<i64, Vec<i64>> = HashMap::new();
    for v in &all {
        prices.entry(v.product_id).or_default().push(v.price_amount);
    }
    let differs = |p: &product::Model| prices.get(&p.id).is_some_and(|ps| ps.iter().any(|x| *x != ps[0]));
    let varied = products.iter().find(|p| differs(p)).expect("the demo catalog has a product whose variants differ in price");
    let same = products.iter().find(|p| !differs(p)).expect("and one whose do not");
    for (p, says_from) in [(varied, true), (same, false)] {
        let sku = all.iter().find(|v| v.product_id == p.id).unwrap().sku.clone();
        let (_, body) = app.get_json(&format!("/api/v1/search?q={}", enc(&sku))).await?;
        assert_eq!(body["results"][0]["price_varies"].as_bool(), Some(says_from), "{}: {}", p.title, body["results"][0]);
        let html = app.get(&format!("/search?q={}", enc(&sku))).await?.text().await?;
        let first_price = html.split("class=\"price\">").nth(1).unwrap_or("");
        assert_eq!(first_price.starts_with("from "), says_from, "{}: {:?}", p.title, &first_price[..first_price.len().min(40)]);
    }
    Ok(())
}

crate::on_both_databases!(
    a_sku_typed_whole_finds_its_product_first,
    an_exact_title_match_ranks_first,
    one_typo_is_forgiven_in_longer_words,
    facet_counts_equal_sql_counts,
    sorting_and_paging,
    the_index_follows_an_edit_within_a_second,
    odd_queries_give_results_or_an_empty_state,
);
