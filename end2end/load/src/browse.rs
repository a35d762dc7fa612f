//! `browse`: what shoppers read on `connections` keep-alive connections, one page kind after the
//! other, each for a fixed number of requests: the product page (SSR), the search page (SSR),
//! the search API and a sale's page (SSR), by anonymous visitors, and the product and search
//! pages again by signed-in shoppers (a session of its own on each connection; at a sale every
//! shopper is signed in). Products and search words are drawn from the seeded catalog.

use std::sync::Arc;

use serde::Serialize;

use crate::crowd::hammer;
use crate::sale::Sale;
use crate::shop::Shop;
use crate::stats::StepSummary;

pub struct BrowseOptions {
    pub connections: usize,
    /// Requests per page kind.
    pub requests: u64,
    /// Sent with every request, as a browser's (`--accept-encoding`); None: answers come
    /// uncompressed, as in the figures recorded so far.
    pub accept_encoding: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct BrowseReport {
    pub connections: usize,
    pub products_in_catalog: i64,
    pub pages: Vec<StepSummary>,
}

pub async fn run(shop: &Shop, opts: &BrowseOptions) -> anyhow::Result<BrowseReport> {
    let products: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products").fetch_one(&shop.catalog).await?;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM products ORDER BY random() LIMIT 2000").fetch_all(&shop.catalog).await?;
    let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM products ORDER BY random() LIMIT 500").fetch_all(&shop.catalog).await?;
    let words: Vec<String> = titles.iter().filter_map(|t| t.split_whitespace().last().map(|w| w.to_lowercase())).collect();
    anyhow::ensure!(!ids.is_empty() && !words.is_empty(), "the catalog is empty");
    let sale = Sale::schedule(shop, 3, 10, 1, 50).await?;
    eprintln!("==> browse: {products} products, {} connections, {} requests per page", opts.connections, opts.requests);
    let product_paths: Arc<Vec<String>> = Arc::new(ids.iter().map(|id| format!("/p/{id}")).collect());
    let search_paths: Arc<Vec<String>> = Arc::new(words.iter().map(|w| format!("/search?q={w}")).collect());
    let signed_in = Some(Arc::new(shop.shoppers.iter().take(opts.connections).map(|s| s.session.clone()).collect::<Vec<_>>()));
    anyhow::ensure!(signed_in.as_ref().is_some_and(|s| !s.is_empty()), "browse needs signed-in shoppers (--shoppers)");
    let kinds: Vec<(&str, Arc<Vec<String>>, Option<Arc<Vec<String>>>)> = vec![
        ("product page (SSR)", product_paths.clone(), None),
        ("search page (SSR)", search_paths.clone(), None),
        ("search API", Arc::new(words.iter().map(|w| format!("/api/v1/search?q={w}")).collect()), None),
        ("sale page (SSR)", Arc::new(vec![format!("/sales/{}", sale.id)]), None),
        ("product page (SSR, signed in)", product_paths, signed_in.clone()),
        ("search page (SSR, signed in)", search_paths, signed_in),
    ];
    let mut pages = Vec::new();
    for (name, paths, sessions) in kinds {
        pages.push(hammer(shop.addr, opts.connections, opts.requests, name, paths, sessions, opts.accept_encoding.as_deref()).await?.summary(name));
    }
    Ok(BrowseReport { connections: opts.connections, products_in_catalog: products, pages })
}
