//! `sellout-load`: starts a release shop on the PostgreSQL and Redis servers it is given (its own
//! database and key prefix, removed at the end) or on its embedded default (`--embedded`, for
//! `browse`), seeds a catalog and signed-in shoppers through
//! the shop's CLI, runs the scenarios (flash, strategies, sockets, browse), prints progress while
//! they run, a summary table at the end, and with `--json` the figures for machines.
//!
//! Built on tokio + hyper's client connection API directly rather than goose: a virtual user
//! costs a task and a socket, not a thread-and-session framework, so on two cores shared with
//! the shop the tool takes little of the CPU it measures, and it can bind each connection to
//! its own loopback address (127.0.0.2…) for tens of thousands of websockets and per-IP limits.

mod browse;
mod crowd;
mod flash;
mod http;
mod sale;
mod shop;
mod sockets;
mod stats;
mod strategies;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde_json::{Value, json};

use crate::stats::StepSummary;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[derive(Parser)]
#[command(name = "sellout-load", about = "Load tests for Sellout: flash sale, gate strategies, websockets, browsing.")]
struct Cli {
    /// The release `sellout` binary to start.
    #[arg(long)]
    shop_bin: PathBuf,
    /// A PostgreSQL server the tool may create (and drop) a database on.
    #[arg(long, required_unless_present = "embedded")]
    database_url: Option<String>,
    /// A single Redis server (keys under the run's own prefix, deleted at the end).
    #[arg(long, required_unless_present = "embedded")]
    redis_url: Option<String>,
    /// Run the shop on its embedded default instead (SQLite in the run's directory, in-process
    /// stores), as `sellout serve` with no configuration does; only `browse` runs so.
    #[arg(long, conflicts_with_all = ["database_url", "redis_url"])]
    embedded: bool,
    /// Scenarios to run, in this order (default: all four; `browse` with `--embedded`).
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,
    /// Shoppers (each with an account and a session).
    #[arg(long, default_value_t = 100_000)]
    shoppers: u64,
    /// Products in the catalog (`sellout seed --products`).
    #[arg(long, default_value_t = 100_000)]
    products: u64,
    /// Concurrent connections for flash and strategies.
    #[arg(long, default_value_t = 1_000)]
    connections: usize,
    /// flash: units on sale.
    #[arg(long, default_value_t = 500)]
    allocation: i64,
    /// flash: units one shopper may buy.
    #[arg(long, default_value_t = 1)]
    per_buyer_limit: i64,
    /// flash: winners in a hundred who never check out (their holds lapse back).
    #[arg(long, default_value_t = 10)]
    abandon_percent: u64,
    /// flash: how long a hold lasts, seconds (short, so lapsed holds come back during the run).
    #[arg(long, default_value_t = 5)]
    hold_seconds: u64,
    /// flash: the buying phase ends here at the latest, seconds.
    #[arg(long, default_value_t = 180)]
    time_cap: u64,
    /// strategies: buy attempts per gate.
    #[arg(long, default_value_t = 100_000)]
    attempts: u64,
    /// strategies: connections of the PostgreSQL gates.
    #[arg(long, default_value_t = 64)]
    pg_pool: u32,
    /// sockets: websockets open at once. Each is a file descriptor in the shop and in this tool,
    /// and a process may hold 20,000 on the machine we measure on (`ulimit -Hn`), so the default
    /// leaves room for the shop's other files and connections.
    #[arg(long, default_value_t = 19_000)]
    sockets: usize,
    /// browse: connections.
    #[arg(long, default_value_t = 64)]
    browse_connections: usize,
    /// browse: requests per page kind.
    #[arg(long, default_value_t = 20_000)]
    browse_requests: u64,
    /// browse: an `Accept-Encoding` to send as a browser does (Chromium's is "gzip, deflate,
    /// br, zstd"); without it every answer comes uncompressed.
    #[arg(long)]
    accept_encoding: Option<String>,
    /// Print the figures as JSON on stdout (progress stays on stderr).
    #[arg(long)]
    json: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sellout-load: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("sellout-load: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the scenarios; false when a correctness check failed (oversold, a 5xx, …).
async fn run(mut cli: Cli) -> anyhow::Result<bool> {
    if let Some(v) = &cli.accept_encoding {
        anyhow::ensure!(hyper::header::HeaderValue::from_str(v).is_ok(), "--accept-encoding {v:?} is not a header value (visible ASCII, no line break)");
    }
    let chosen = cli.scenarios.get_or_insert_with(|| if cli.embedded { vec!["browse".to_owned()] } else { ALL.iter().map(|s| s.to_string()).collect() });
    for s in chosen.iter() {
        anyhow::ensure!(ALL.contains(&s.as_str()), "unknown scenario {s} (flash, strategies, sockets, browse)");
        anyhow::ensure!(!cli.embedded || s == "browse", "{s} needs PostgreSQL and Redis (--database-url, --redis-url); --embedded runs browse only");
    }
    let servers = match (&cli.database_url, &cli.redis_url) {
        (Some(database_url), Some(redis_url)) => Some(shop::Servers { database_url: database_url.clone(), redis_url: redis_url.clone() }),
        _ => None,
    };
    eprintln!("==> the shop runs on {}", if servers.is_some() { "PostgreSQL + Redis" } else { "its embedded default (SQLite, in-process stores)" });
    let opts = shop::ShopOptions {
        bin: cli.shop_bin.clone(),
        servers,
        products: cli.products,
        shoppers: cli.shoppers,
        hold_seconds: cli.hold_seconds,
    };
    eprintln!(
        "==> sizes: {} shoppers, {} products, {} connections; flash: {} units, {} each; strategies: {} attempts a gate; sockets: {}; browse: {} requests a page at {} connections",
        cli.shoppers, cli.products, cli.connections, cli.allocation, cli.per_buyer_limit, cli.attempts, cli.sockets, cli.browse_requests, cli.browse_connections
    );
    if !sized_by_hand() {
        eprintln!("    (the defaults: {DEFAULT_RUN}; give sizes to change it, `--help` lists them)");
    }
    // Listening before anything is made: Ctrl-C (or SIGTERM) then stops the seeding or the
    // scenarios wherever they are, never the clean-up after them.
    let mut interrupts = Interrupts::new()?;
    let mut shop = shop::Shop::create(&opts).await?;
    let outcome = tokio::select! {
        outcome = async {
            shop.prepare(&opts).await?;
            scenarios(&cli, &shop).await
        } => outcome,
        _ = interrupts.wait() => {
            eprintln!("==> interrupted");
            Err(anyhow::anyhow!("interrupted"))
        }
    };
    let log = shop.log_tail(40);
    if !log.is_empty() {
        eprintln!("==> the shop's last log lines:\n{log}");
    }
    eprintln!("==> stopping the shop and removing the run's data");
    shop.stop().await;
    let (results, ok) = outcome?;
    let report = json!({ "machine": machine(), "backing": if cli.embedded { "embedded" } else { "postgres+redis" }, "shoppers": cli.shoppers, "products": cli.products, "scenarios": results });
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    eprintln!("{}", summary(&report));
    Ok(ok)
}

const ALL: [&str; 4] = ["flash", "strategies", "sockets", "browse"];

/// How long a run at the default sizes takes, as measured (README "Performance").
const DEFAULT_RUN: &str = "every scenario in about 6 minutes on this project's 2-core machine, the build not counted (README \"Performance\")";

/// True when a size or a scenario was given on the command line (not only where to run).
fn sized_by_hand() -> bool {
    std::env::args().skip(1).filter(|a| a.starts_with("--")).any(|a| !["--shop-bin", "--database-url", "--redis-url", "--json"].contains(&a.split('=').next().unwrap_or_default()))
}

/// SIGINT (Ctrl-C) and SIGTERM, taken from their default (ending the process at once) as soon
/// as this exists; one that arrives while nothing waits is seen by the next `wait`.
struct Interrupts {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self { int: signal(SignalKind::interrupt())?, term: signal(SignalKind::terminate())? })
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

async fn scenarios(cli: &Cli, shop: &shop::Shop) -> anyhow::Result<(Value, bool)> {
    let mut results = serde_json::Map::new();
    let mut ok = true;
    for name in cli.scenarios.iter().flatten() {
        let value = match name.as_str() {
            "flash" => {
                let opts = flash::FlashOptions {
                    connections: cli.connections,
                    allocation: cli.allocation,
                    per_buyer_limit: cli.per_buyer_limit,
                    abandon_percent: cli.abandon_percent,
                    time_cap: Duration::from_secs(cli.time_cap),
                };
                let r = flash::run(shop, &opts).await?;
                let c = &r.checks;
                let errors: u64 = r.steps.iter().map(|s| s.server_errors).sum();
                ok &= c.oversold == 0 && c.over_limit_buyers == 0 && c.lapsed_not_back == 0 && c.negative_stock_rows == 0 && r.positions_exact && errors == 0;
                serde_json::to_value(r)?
            }
            "strategies" => {
                let opts = strategies::StrategyOptions { connections: cli.connections, attempts: cli.attempts, pg_pool: cli.pg_pool };
                let r = strategies::run(shop, &opts).await?;
                ok &= r.gates.iter().all(|g| g.exact(r.allocation) && g.figures.server_errors == 0);
                serde_json::to_value(r)?
            }
            "sockets" => serde_json::to_value(sockets::run(shop, &sockets::SocketOptions { sockets: cli.sockets }).await?)?,
            "browse" => {
                let r = browse::run(shop, &browse::BrowseOptions { connections: cli.browse_connections, requests: cli.browse_requests, accept_encoding: cli.accept_encoding.clone() }).await?;
                ok &= r.pages.iter().all(|p| p.server_errors == 0);
                serde_json::to_value(r)?
            }
            _ => unreachable!("checked above"),
        };
        results.insert(name.clone(), value);
    }
    Ok((Value::Object(results), ok))
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())));
    json!({ "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "cpu": cpu })
}

fn steps_table(out: &mut String, steps: &[StepSummary]) {
    use std::fmt::Write;
    let _ = writeln!(out, "  {:<48} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8}  statuses", "step", "requests", "per sec", "p50 ms", "p95 ms", "p99 ms", "max ms");
    for s in steps {
        let statuses: Vec<String> = s.statuses.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        let _ = writeln!(
            out,
            "  {:<48} {:>9} {:>10.0} {:>8.1} {:>8.1} {:>8.1} {:>8.1}  {}",
            s.step, s.requests, s.per_second, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms, statuses.join(" ")
        );
    }
}

fn steps_of(v: &Value) -> Vec<StepSummary> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// The table is printed from the JSON report, so the two never disagree.
fn summary(report: &Value) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let m = &report["machine"];
    let _ = writeln!(out, "\n=== sellout-load summary ({} cores, {}; the shop on {}) ===", m["cores"], m["cpu"].as_str().unwrap_or("unknown CPU"), report["backing"].as_str().unwrap_or("?"));
    let sc = &report["scenarios"];
    if let Some(f) = sc.get("flash") {
        let c = &f["checks"];
        let _ = writeln!(out, "\nflash: {} shoppers, {} connections, {} units, limit {} each", f["shoppers"], f["connections"], f["allocation"], f["per_buyer_limit"]);
        steps_table(&mut out, &steps_of(&f["steps"]));
        let _ = writeln!(out, "  joins/s {:.0}; positions exact: {} (duplicates {}, missing {})", f["joins_per_second"].as_f64().unwrap_or(0.0), f["positions_exact"], f["duplicate_positions"], f["missing_positions"]);
        let _ = writeln!(out, "  holds {}, walked away {}, checkouts paid {}, sold out after {} s", f["holds"], f["abandoned_holds"], f["checkouts"], f["sold_out_after_seconds"]);
        let _ = writeln!(out, "  database: sold {} of {}, ordered units {}, order lines {}, orders {} ({} paid)", c["sold"], c["allocated"], c["ordered_units"], c["order_line_units"], c["orders"], c["paid_orders"]);
        let _ = writeln!(out, "  OVERSOLD {}; over the limit {}; lapsed holds not back {}; released holds {}; negative stock rows {}", c["oversold"], c["over_limit_buyers"], c["lapsed_not_back"], c["released_holds"], c["negative_stock_rows"]);
    }
    if let Some(s) = sc.get("strategies") {
        let _ = writeln!(out, "\nstrategies: {} attempts by {} buyers for {} units, {} connections", s["attempts"], s["buyers"], s["allocation"], s["connections"]);
        let mut rows: Vec<StepSummary> = Vec::new();
        for g in s["gates"].as_array().into_iter().flatten() {
            if let Ok(mut step) = serde_json::from_value::<StepSummary>(g.clone()) {
                let allocation = s["allocation"].as_i64().unwrap_or(0);
                let (taken, left) = (g["taken"].as_i64().unwrap_or(-1), g["left"].as_i64().unwrap_or(-1));
                let exact = if taken + left == allocation { "exact" } else { "NOT EXACT" };
                step.step = format!("{} (taken {taken} + left {left}: {exact}; lapsed {})", g["gate"].as_str().unwrap_or(""), g["released"]);
                rows.push(step);
            }
        }
        if let Ok(mut h) = serde_json::from_value::<StepSummary>(s["healthz"].clone()) {
            h.step = "ceiling: GET /healthz".into();
            rows.push(h);
        }
        steps_table(&mut out, &rows);
        let _ = writeln!(out, "  ceiling: redis-benchmark EVALSHA (gate script) {}/s", s["evalsha_per_second"].as_f64().map_or("not measured".to_owned(), |r| format!("{r:.0}")));
        let _ = writeln!(
            out,
            "  HTTP buy / healthz {:.2}; / PG conditional UPDATE {:.1}x; / PG FOR UPDATE {:.1}x; / EVALSHA {}",
            s["buy_vs_healthz"].as_f64().unwrap_or(0.0),
            s["buy_vs_pg_update"].as_f64().unwrap_or(0.0),
            s["buy_vs_pg_for_update"].as_f64().unwrap_or(0.0),
            s["buy_vs_evalsha"].as_f64().map_or("-".to_owned(), |r| format!("{r:.2}"))
        );
    }
    if let Some(w) = sc.get("sockets") {
        let _ = writeln!(out, "\nsockets: {} of {} open in {:.1} s; told of the start: {}", w["connected"], w["sockets"], w["connect_seconds"].as_f64().unwrap_or(0.0), w["told"]);
        let _ = writeln!(
            out,
            "  from the start: p50 {} ms, p99 {} ms, max {} ms; first to last {} ms; shop memory {} KiB per socket",
            w["after_start_p50_ms"], w["after_start_p99_ms"], w["after_start_max_ms"], w["spread_ms"],
            w["kib_per_socket"].as_f64().map_or("-".to_owned(), |k| format!("{k:.1}"))
        );
    }
    if let Some(b) = sc.get("browse") {
        let _ = writeln!(out, "\nbrowse: {} products, {} connections", b["products_in_catalog"], b["connections"]);
        steps_table(&mut out, &steps_of(&b["pages"]));
    }
    out
}
