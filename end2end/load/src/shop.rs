//! The shop under load: its own database (created on the PostgreSQL server given, dropped at
//! the end) and its own Redis key prefix (deleted at the end), or the embedded default (SQLite
//! in the run's directory, the in-process stores); a release `sellout` process with logging
//! off the hot path, the catalog and shoppers seeded through the shop's own CLI, and an admin
//! who schedules the sales. Everything made here is removed by `stop`, also after a failed
//! scenario.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use fred::prelude::*;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use tokio::process::{Child, Command};

use crate::http::Client;

pub struct ShopOptions {
    pub bin: PathBuf,
    /// PostgreSQL and Redis to run on; none: the embedded default.
    pub servers: Option<Servers>,
    pub products: u64,
    pub shoppers: u64,
    pub hold_seconds: u64,
}

pub struct Servers {
    /// A PostgreSQL server the run may create (and drop) its database on.
    pub database_url: String,
    pub redis_url: String,
}

/// The run's database and keys on the servers given.
pub struct Served {
    pub db: PgPool,
    pub redis: fred::clients::Client,
    server_url: String,
    database: String,
}

/// A signed-in shopper the shop made for this run.
#[derive(Clone, Debug)]
pub struct Shopper {
    pub user_id: i64,
    pub session: String,
}

pub struct Shop {
    pub addr: SocketAddr,
    /// How long a hold lasts in this shop (`SELLOUT_SALE_HOLD_SECONDS`).
    pub hold_seconds: u64,
    pub run: String,
    /// None on the embedded default.
    served: Option<Served>,
    /// The shop's database, whichever it is, for what reads the same on both (the catalog).
    pub catalog: AnyPool,
    pub shoppers: Vec<Shopper>,
    /// The admin's session cookie (schedules sales, reads a sale's `sold`).
    pub admin: String,
    child: Option<Child>,
    dir: PathBuf,
    prefix: String,
    env: Vec<(String, String)>,
    bin: PathBuf,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `postgres://…/other` for the server of `url`.
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let opts: PgConnectOptions = url.parse().context("--database-url is not a PostgreSQL URL")?;
    Ok(opts.database(database).to_url_lossy().to_string())
}

impl Shop {
    /// Creates the run's database and connects to it and to Redis (on the embedded default, to
    /// the SQLite file the shop will make); `prepare` does the rest. Whatever happens after this
    /// returns, `stop` removes what was made.
    pub async fn create(opts: &ShopOptions) -> anyhow::Result<Shop> {
        sqlx::any::install_default_drivers();
        let run = format!("load{}", std::process::id());
        let dir = std::env::temp_dir().join(format!("sellout-{run}"));
        std::fs::create_dir_all(&dir)?;
        let data = dir.join("data");
        let port = free_port()?;
        let mut env = vec![
            ("LEPTOS_SITE_ADDR".to_owned(), format!("127.0.0.1:{port}")),
            ("SELLOUT_DATA_DIR".to_owned(), data.to_string_lossy().into_owned()),
            ("SELLOUT_SEED_DEMO".to_owned(), "false".to_owned()),
            ("SELLOUT_SALE_HOLD_SECONDS".to_owned(), opts.hold_seconds.to_string()),
            ("SELLOUT_LOG".to_owned(), "warn".to_owned()),
        ];
        let prefix = format!("{run}:");
        let (served, catalog) = match &opts.servers {
            Some(servers) => match Self::served(servers, &run, &prefix, &mut env).await {
                Ok(both) => both,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
            },
            None => {
                // The shop's own default (`sqlite://<data dir>/sellout.db`), made here first so
                // that the pool can open it; the shop migrates it when it starts.
                std::fs::create_dir_all(&data)?;
                let url = format!("sqlite://{}/sellout.db?mode=rwc", data.display());
                env.push(("DATABASE_URL".to_owned(), url.clone()));
                (None, AnyPoolOptions::new().max_connections(2).connect(&url).await.context("opening the embedded database")?)
            }
        };
        Ok(Shop {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            hold_seconds: opts.hold_seconds,
            run,
            served,
            catalog,
            shoppers: Vec::new(),
            admin: String::new(),
            child: None,
            dir,
            prefix,
            env,
            bin: opts.bin.clone(),
        })
    }

    /// The run's database on the PostgreSQL server and the Redis given; the variables that
    /// point the shop at them go into `env`.
    async fn served(servers: &Servers, run: &str, prefix: &str, env: &mut Vec<(String, String)>) -> anyhow::Result<(Option<Served>, AnyPool)> {
        let database = format!("sellout_{run}");
        let mut admin_conn = sqlx::PgConnection::connect(&servers.database_url).await.context("connecting to --database-url")?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {database}"))).execute(&mut admin_conn).await.context("creating the load test's database")?;
        drop(admin_conn);
        let db_url = with_database(&servers.database_url, &database)?;
        let connected = async {
            let db = PgPoolOptions::new().max_connections(64).connect(&db_url).await?;
            let catalog = AnyPoolOptions::new().max_connections(2).connect(&db_url).await?;
            let redis = fred::clients::Client::new(fred::types::config::Config::from_url(&servers.redis_url)?, None, None, None);
            redis.init().await.context("connecting to --redis-url")?;
            anyhow::Ok((db, catalog, redis))
        };
        let (db, catalog, redis) = match connected.await {
            Ok(all) => all,
            Err(e) => {
                drop_database(&servers.database_url, &database).await;
                return Err(e);
            }
        };
        env.extend([
            ("DATABASE_URL".to_owned(), db_url),
            ("REDIS_URL".to_owned(), servers.redis_url.clone()),
            ("SELLOUT_REDIS_PREFIX".to_owned(), prefix.to_owned()),
        ]);
        Ok((Some(Served { db, redis, server_url: servers.database_url.clone(), database }), catalog))
    }

    /// The run's PostgreSQL database (the scenarios that compare with it or check the sale
    /// there need it).
    pub fn db(&self) -> anyhow::Result<&PgPool> {
        Ok(&self.served_ref()?.db)
    }

    /// The Redis the shop runs on.
    pub fn redis(&self) -> anyhow::Result<&fred::clients::Client> {
        Ok(&self.served_ref()?.redis)
    }

    fn served_ref(&self) -> anyhow::Result<&Served> {
        self.served.as_ref().ok_or_else(|| anyhow::anyhow!("this scenario needs PostgreSQL and Redis; --embedded runs browse only"))
    }

    /// Seeds the catalog and the shoppers and starts the shop. Stopped part-way (an error, or
    /// its future dropped on Ctrl-C), the commands it runs die with it and `stop` cleans up.
    pub async fn prepare(&mut self, opts: &ShopOptions) -> anyhow::Result<()> {
        let started = Instant::now();
        eprintln!("==> seeding {} products (sellout seed)", opts.products);
        self.cli(&["seed", "--products", &opts.products.to_string()], None).await?;
        eprintln!("==> creating {} shoppers with sessions (sellout shoppers)", opts.shoppers);
        let sessions = self.dir.join("sessions.txt");
        self.cli(&["shoppers", "--count", &opts.shoppers.to_string(), "--run", &self.run.clone(), "--sessions", &sessions.to_string_lossy()], None).await?;
        self.shoppers = read_sessions(&sessions)?;
        let admin_email = format!("admin@{}.load.test", self.run);
        let password = format!("pw-{}-{}", self.run, crate::now_ms());
        self.cli(&["admin", "create", "--email", &admin_email], Some(&password)).await?;
        eprintln!("==> starting the shop on {}", self.addr);
        let log = std::fs::File::create(self.dir.join("shop.log"))?;
        let child = Command::new(&self.bin)
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.child = Some(child);
        self.wait_ready().await?;
        self.admin = crate::http::sign_in(self.addr, &admin_email, &password).await?;
        eprintln!("    ready after {:.1}s", started.elapsed().as_secs_f64());
        Ok(())
    }

    async fn cli(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<()> {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args).envs(self.env.iter().map(|(k, v)| (k, v))).stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("running {} {}", self.bin.display(), args.join(" ")))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use tokio::io::AsyncWriteExt;
            pipe.write_all(format!("{text}\n").as_bytes()).await?;
        }
        let status = child.wait().await?;
        anyhow::ensure!(status.success(), "sellout {} failed ({status})", args.join(" "));
        Ok(())
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut client = Client::new(self.addr, crate::http::source_ip(0));
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                anyhow::bail!("the shop exited at start ({status}); see {}", self.dir.join("shop.log").display());
            }
            if client.get("/readyz", None).await.status == 200 {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "the shop was not ready within 120 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The shop process's resident memory, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The last lines the shop logged (warnings and errors: it runs with `SELLOUT_LOG=warn`).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("shop.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stops the shop and removes its database, its Redis keys (and the shoppers' sessions)
    /// and its files (the embedded database among them). Never fails: what cannot be removed is reported.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await;
            }
            if tokio::time::timeout(Duration::from_secs(15), child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
        self.catalog.close().await;
        if let Some(served) = &self.served {
            if let Err(e) = self.remove_redis_keys(&served.redis).await {
                eprintln!("sellout-load: could not remove the run's Redis keys: {e:#}");
            }
            served.db.close().await;
            drop_database(&served.server_url, &served.database).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    async fn remove_redis_keys(&self, redis: &fred::clients::Client) -> anyhow::Result<()> {
        // Sessions are not under the run's prefix: those of a shoppers step stopped part-way
        // are in what it wrote of its file.
        let shoppers = if self.shoppers.is_empty() { read_sessions_so_far(&self.dir.join("sessions.txt")) } else { self.shoppers.clone() };
        let mut keys: Vec<String> = shoppers.iter().map(|s| s.session.clone()).collect();
        keys.push(self.admin.clone());
        let mut cursor = "0".to_owned();
        loop {
            let (next, found): (String, Vec<String>) = redis.custom(fred::cmd!("SCAN"), vec![cursor.clone(), "MATCH".into(), format!("{}*", self.prefix), "COUNT".into(), "1000".into()]).await?;
            keys.extend(found);
            if next == "0" {
                break;
            }
            cursor = next;
        }
        keys.retain(|k| !k.is_empty());
        for chunk in keys.chunks(1000) {
            let _: i64 = redis.del(chunk.to_vec()).await?;
        }
        Ok(())
    }
}

async fn drop_database(server_url: &str, database: &str) {
    let dropped = async {
        let mut conn = sqlx::PgConnection::connect(server_url).await?;
        sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))).execute(&mut conn).await?;
        anyhow::Ok(())
    };
    if let Err(e) = dropped.await {
        eprintln!("sellout-load: could not drop database {database}: {e:#}");
    }
}

/// The whole lines of a sessions file a stopped shoppers step left (none if it left none).
fn read_sessions_so_far(path: &Path) -> Vec<Shopper> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n')?.split_once(' '))
        .filter_map(|(id, session)| Some(Shopper { user_id: id.parse().ok()?, session: session.to_owned() }))
        .collect()
}

fn read_sessions(path: &Path) -> anyhow::Result<Vec<Shopper>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .map(|l| {
            let (id, session) = l.split_once(' ').ok_or_else(|| anyhow::anyhow!("bad line in {}: {l}", path.display()))?;
            Ok(Shopper { user_id: id.parse()?, session: session.to_owned() })
        })
        .collect()
}
