//! A load run leaves nothing behind: its database dropped, its Redis keys (and its shoppers'
//! sessions) deleted, its shop stopped and its files removed, when it ends and when it is
//! interrupted (SIGINT, as Ctrl-C sends) while seeding or while a scenario runs. At a tiny size,
//! on `TEST_DATABASE_URL` / `TEST_REDIS_URL`, with the debug `sellout` that `cargo test` builds
//! for the server's own tests.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use fred::prelude::*;
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} names the server to run the load tool on (scripts/test.sh sets it)"))
}

/// `target/debug/sellout`, beside the directory of this test's executable.
fn shop_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let bin = exe.parent().and_then(|deps| deps.parent()).expect("target/debug/deps").join("sellout");
    assert!(bin.exists(), "{} is built by `cargo test --workspace` (the server's tests need it)", bin.display());
    bin
}

async fn redis() -> anyhow::Result<Client> {
    let client = Client::new(Config::from_url(&env("TEST_REDIS_URL"))?, None, None, None);
    client.init().await?;
    Ok(client)
}

/// Every key in the Redis server.
async fn all_keys(redis: &Client) -> anyhow::Result<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    let mut cursor = "0".to_owned();
    loop {
        let (next, found): (String, Vec<String>) = redis.custom(fred::cmd!("SCAN"), vec![cursor.clone(), "COUNT".into(), "1000".into()]).await?;
        keys.extend(found);
        if next == "0" {
            return Ok(keys);
        }
        cursor = next;
    }
}

struct Run {
    status: ExitStatus,
    /// What the tool printed on stderr.
    said: String,
    /// The run's name (`load<pid>`): its database is `sellout_<run>`, its keys `<run>:…`.
    run: String,
}

/// Runs the tool with `args` on the test's PostgreSQL and Redis; when a line of its output
/// starts with `interrupt_at`, sends it SIGINT. Waits up to five minutes for it to end.
async fn load(args: &[&str], interrupt_at: Option<&str>) -> anyhow::Result<Run> {
    load_on(&["--database-url", &env("TEST_DATABASE_URL"), "--redis-url", &env("TEST_REDIS_URL")], args, interrupt_at).await
}

async fn load_on(backing: &[&str], args: &[&str], interrupt_at: Option<&str>) -> anyhow::Result<Run> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sellout-load"))
        .arg("--shop-bin")
        .arg(shop_bin())
        .args(backing)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().expect("running");
    let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
    let mut said = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(300), async {
        let mut sent = false;
        while let Some(line) = lines.next_line().await? {
            if !sent && interrupt_at.is_some_and(|at| line.trim_start().starts_with(at)) {
                let status = Command::new("kill").args(["-INT", &pid.to_string()]).status().await?;
                anyhow::ensure!(status.success(), "kill -INT {pid}");
                sent = true;
            }
            said.push_str(&line);
            said.push('\n');
        }
        anyhow::Ok(child.wait().await?)
    })
    .await;
    let status = match ended {
        Ok(status) => status?,
        Err(_) => anyhow::bail!("the load tool did not end within five minutes; it said:\n{said}"),
    };
    Ok(Run { status, said, run: format!("load{pid}") })
}

/// Nothing of `run` is left: no database, no key that was not there before, no files, and the
/// shop (if it was started) no longer answers.
async fn assert_clean(run: &Run, keys_before: &BTreeSet<String>, redis: &Client) -> anyhow::Result<()> {
    let mut pg = sqlx::PgConnection::connect(&env("TEST_DATABASE_URL")).await?;
    let databases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1").bind(format!("sellout_{}", run.run)).fetch_one(&mut pg).await?;
    assert_eq!(databases, 0, "the run's database is dropped; the tool said:\n{}", run.said);
    let left: Vec<String> = all_keys(redis).await?.difference(keys_before).cloned().collect();
    assert!(left.is_empty(), "keys the run left in Redis: {left:?}; the tool said:\n{}", run.said);
    let dir = std::env::temp_dir().join(format!("sellout-{}", run.run));
    assert!(!dir.exists(), "{} is removed", dir.display());
    let shop = run.said.lines().find_map(|l| l.trim().strip_prefix("==> starting the shop on ")).map(str::to_owned);
    if let Some(addr) = shop {
        assert!(tokio::net::TcpStream::connect(&addr).await.is_err(), "the shop on {addr} is stopped");
    }
    Ok(())
}

const TINY: [&str; 8] = ["--shoppers", "30", "--connections", "8", "--allocation", "5", "--time-cap", "60"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_leaves_nothing_behind_when_it_ends_or_is_interrupted() -> anyhow::Result<()> {
    let redis = redis().await?;

    // Interrupted while a scenario runs (one far too long to end first): the shop is up, the
    // shoppers signed in.
    let before = all_keys(&redis).await?;
    let run = load(&[&TINY[..], &["--products", "30", "--scenarios", "browse", "--browse-requests", "10000000"]].concat(), Some("ready after")).await?;
    assert!(!run.status.success(), "an interrupted run does not say it passed:\n{}", run.said);
    assert!(run.said.contains("==> interrupted") && run.said.contains("==> starting the shop on"), "{}", run.said);
    assert_clean(&run, &before, &redis).await?;

    // Interrupted while seeding the catalog (a size that takes the debug shop many seconds):
    // the seeding command is stopped with it, and no shopper was made.
    let before = all_keys(&redis).await?;
    let run = load(&[&TINY[..], &["--products", "200000", "--scenarios", "browse", "--browse-requests", "50"]].concat(), Some("==> seeding")).await?;
    assert!(!run.status.success() && run.said.contains("==> interrupted"), "{}", run.said);
    assert!(!run.said.contains("==> creating"), "interrupted before the shoppers step:\n{}", run.said);
    assert_clean(&run, &before, &redis).await?;

    // A whole flash sale at a tiny size: it passes its checks and ends as clean.
    let before = all_keys(&redis).await?;
    let run = load(&[&TINY[..], &["--products", "30", "--scenarios", "flash"]].concat(), None).await?;
    assert!(run.status.success(), "the tiny flash sale passes its checks:\n{}", run.said);
    assert!(run.said.contains("OVERSOLD 0"), "{}", run.said);
    assert_clean(&run, &before, &redis).await?;

    // browse on the embedded default: no server is used, the SQLite file goes with the run's
    // directory, and a scenario that needs PostgreSQL is refused before anything is made.
    let before = all_keys(&redis).await?;
    let run = load_on(&["--embedded"], &["--products", "30", "--shoppers", "3", "--browse-requests", "40", "--browse-connections", "4"], None).await?;
    assert!(run.status.success(), "a tiny embedded browse passes:\n{}", run.said);
    assert!(run.said.contains("the shop on embedded") && run.said.contains("search API"), "{}", run.said);
    assert_clean(&run, &before, &redis).await?;
    let run = load_on(&["--embedded"], &["--scenarios", "browse,flash"], None).await?;
    assert!(!run.status.success() && run.said.contains("flash needs PostgreSQL and Redis"), "{}", run.said);
    assert!(!run.said.contains("==> seeding"), "{}", run.said);
    Ok(())
}
