#![recursion_limit = "256"]

//! `sellout`: the shop server and its maintenance commands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{EntityTrait, PaginatorTrait};
use server::config::Config;
use server::seed::{DEFAULT_SEED, SeedOptions};
use server::startup::{Application, open_database};

#[derive(Parser)]
#[command(name = "sellout", version, about = "Sellout: a storefront that sells out, never oversells.", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the shop (the default). On an empty database it migrates and seeds the demo catalog.
    /// Listens on LEPTOS_SITE_ADDR (default 127.0.0.1:3000); with no DATABASE_URL it uses
    /// SQLite under SELLOUT_DATA_DIR (default ./data), with no REDIS_URL embedded stores.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Add generated products (with variants, stock and reviews) to the catalog, deterministically.
    Seed {
        /// How many products to add.
        #[arg(long, default_value_t = 240)]
        products: u64,
        /// How many sellers to spread them over (created when missing).
        #[arg(long, default_value_t = 4)]
        sellers: u64,
        /// Random seed: the same seed and counts give the same catalog.
        #[arg(long, default_value_t = DEFAULT_SEED)]
        seed: u64,
    },
    /// Create signed-in shoppers in bulk for a load test (`end2end/load`): accounts
    /// `shopper-<i>@<run>.load.test` that no password opens, each with a session. Writes
    /// `<user id> <session cookie>` per line to FILE (the cookie is `sellout_session`).
    Shoppers {
        /// How many shoppers to create.
        #[arg(long)]
        count: u64,
        /// Names this batch (letters, digits, -), so runs do not collide.
        #[arg(long)]
        run: String,
        /// Where to write the sessions.
        #[arg(long, value_name = "FILE")]
        sessions: std::path::PathBuf,
    },
    /// Rebuild the search index from the database (stop the server on this data dir first).
    Reindex,
    /// Compare our payments with the provider's recent PaymentIntents: cancel orphans, list
    /// amount and state mismatches (also shown to admins). The server also runs this daily.
    Reconcile,
    /// Manage administrator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin (or make an existing account one). The password is asked for without
    /// echo on a terminal, or read as one line from standard input: `echo … | sellout admin create`.
    Create {
        #[arg(long)]
        email: String,
    },
}

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let cfg = match Config::from_env() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("sellout: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cfg.log_filter).unwrap_or_else(|_| "info".into()))
        // Colours only on a terminal: a log file or collector gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sellout: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sellout: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, cfg: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(&cfg).await?;
            tracing::info!("Sellout is open at http://{}", cfg.site_addr);
            app.run().await
        }
        Command::Migrate => {
            open_database(&cfg).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Seed { products, sellers, seed } => {
            let db = open_database(&cfg).await?;
            let bar = ProgressBar::new(products).with_style(
                ProgressStyle::with_template("seeding {bar:40} {pos}/{len} products ({per_sec}, eta {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let report = server::seed::seed(&db, SeedOptions { products, sellers, seed }, |done, _| bar.set_position(done)).await?;
            bar.finish();
            eprintln!("added {} products, {} variants, {} reviews", report.products, report.variants, report.reviews);
            Ok(())
        }
        Command::Shoppers { count, run, sessions } => {
            server::shoppers::check_run(&run)?;
            let db = open_database(&cfg).await?;
            let redis = match &cfg.redis_url {
                Some(url) => Some(server::startup::redis_pool(url).await?),
                None => None,
            };
            let store = server::startup::session_store(&db, redis.as_ref());
            let file = std::fs::File::create(&sessions).map_err(|e| anyhow::anyhow!("creating {}: {e}", sessions.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let bar = ProgressBar::new(count).with_style(
                ProgressStyle::with_template("shoppers {bar:40} {pos}/{len} ({per_sec}, eta {eta})").unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            server::shoppers::create(&db, &store, &run, count, &mut out, |done| bar.set_position(done)).await?;
            bar.finish();
            eprintln!("created {count} shoppers; sessions in {}", sessions.display());
            Ok(())
        }
        Command::Reindex => {
            let db = open_database(&cfg).await?;
            let engine = std::sync::Arc::new(app::search::index::TantivyEngine::open(Some(&server::startup::search_index_dir(&cfg)))?);
            let total = app::db::product::Entity::find().count(&db).await?;
            let bar = ProgressBar::new(total).with_style(
                ProgressStyle::with_template("reading {bar:40} {pos}/{len} products ({per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let n = app::search::service::rebuild(&db, &engine, |done| bar.set_position(done)).await?;
            bar.finish();
            eprintln!("indexed {n} products in {:.1}s", started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Reconcile => {
            let db = open_database(&cfg).await?;
            let gateway = server::startup::payment_gateway(&cfg);
            eprintln!("reconciling with {} ...", gateway.provider());
            let report = app::payments::reconcile::reconcile(&db, gateway.as_ref()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let orphans = if report.orphans_cancelled == 1 { "orphan" } else { "orphans" };
            println!("checked {} intents; cancelled {} {orphans}; {} new findings", report.checked, report.orphans_cancelled, report.new_findings.len());
            for f in &report.new_findings {
                println!("  {:<17} {}  order {}  {}", f.kind, f.intent_id, f.order_id.map(|o| o.to_string()).unwrap_or_else(|| "-".into()), f.detail);
            }
            Ok(())
        }
        Command::Admin { command: AdminCommand::Create { email } } => {
            use std::io::IsTerminal;
            let password = if std::io::stdin().is_terminal() {
                let first = rpassword::prompt_password("Password for the new admin: ")?;
                let again = rpassword::prompt_password("Once more: ")?;
                anyhow::ensure!(first == again, "the two passwords differ; nothing was changed");
                first
            } else {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            };
            let db = open_database(&cfg).await?;
            let admin = app::accounts::service::create_admin(&db, &email, &password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("{} is now an admin (user {})", admin.email, admin.user_id);
            Ok(())
        }
    }
}
