//! Search benchmark (not a test): seeds N generated products (default 100,000) into a fresh
//! SQLite database, builds the tantivy index, and times 1-3 word queries with and without
//! facet counts. Prints index build time, memory and latency percentiles.
//!
//!   cargo bench -p server --bench search            # 100,000 products
//!   SELLOUT_BENCH_PRODUCTS=20000 cargo bench -p server --bench search

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::search::index::TantivyEngine;
use app::search::service::rebuild;
use app::search::SearchQuery;
use server::config::Config;
use server::seed::{SeedOptions, seed};
use server::startup::open_database;

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

const QUERIES: &[&str] = &[
    "backpack", "lamp", "boots", "linen", "charger", "kestrel", "headphones", "skillet",
    "wool blanket", "rain jacket", "travel backpack", "usb-c cable", "smart plug", "desk lamp",
    "recycled hoodie", "waterproof hiking boots", "northwind crew t-shirt", "compact bluetooth speaker",
    "classic chelsea boot", "ultralight sleeping bag", "backpak", "headphnes", "jackt",
];

fn main() -> anyhow::Result<()> {
    let products: u64 = std::env::var("SELLOUT_BENCH_PRODUCTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rounds: usize = std::env::var("SELLOUT_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("sellout-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut cfg = Config::from_lookup(|_| None).map_err(|e| anyhow::anyhow!("{e}"))?;
        cfg.database_url = format!("sqlite://{}/bench.db?mode=rwc", dir.display());
        cfg.data_dir = dir.clone();
        let db = open_database(&cfg).await?;
        let started = Instant::now();
        seed(&db, SeedOptions { products, sellers: 12, ..Default::default() }, |done, total| {
            if done % 10_000 == 0 || done == total {
                eprintln!("  seeded {done}/{total}");
            }
        })
        .await?;
        println!("seeded {products} products in {:.1}s", started.elapsed().as_secs_f64());

        let before = rss_mib();
        let engine = Arc::new(TantivyEngine::open(Some(&dir.join("index")))?);
        let started = Instant::now();
        let n = rebuild(&db, &engine, |_| {}).await?;
        let build = started.elapsed();
        println!(
            "index: {n} docs built in {:.1}s; process RSS {:.0} MiB before, {:.0} MiB after; on disk {:.1} MiB",
            build.as_secs_f64(),
            before,
            rss_mib(),
            dir_size(&dir.join("index")) as f64 / 1_048_576.0
        );

        for facets in [false, true] {
            let mut times = Vec::new();
            let mut hits = 0u64;
            for _ in 0..rounds {
                for q in QUERIES {
                    let query = SearchQuery { q: (*q).to_owned(), ..Default::default() };
                    let t = Instant::now();
                    let h = engine.query_with(&query, facets)?;
                    times.push(t.elapsed());
                    hits += h.facets.total;
                }
            }
            times.sort();
            println!(
                "queries {} facets: {} runs of {} queries, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms (mean hits {})",
                if facets { "with" } else { "without" },
                rounds,
                QUERIES.len(),
                percentile(&times, 0.50),
                percentile(&times, 0.95),
                percentile(&times, 0.99),
                times.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
                hits / times.len() as u64,
            );
        }
        let filtered = SearchQuery {
            q: "backpack".into(),
            category: Some("outdoors".into()),
            in_stock: true,
            price_max: Some(15000),
            sort: app::search::SearchSort::PriceAsc,
            ..Default::default()
        };
        let mut times: Vec<Duration> = (0..200)
            .map(|_| {
                let t = Instant::now();
                engine.query_with(&filtered, true).map(|_| t.elapsed())
            })
            .collect::<Result<_, _>>()?;
        times.sort();
        println!("filtered + sorted + facets: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms", percentile(&times, 0.5), percentile(&times, 0.95), percentile(&times, 0.99));
        drop(engine);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    })
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| entries.filter_map(Result::ok).filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
        .unwrap_or(0)
}
