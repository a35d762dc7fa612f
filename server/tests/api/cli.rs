//! The `sellout` binary as an operator uses it.

use std::process::{Command, Output};

use app::db::{inventory, product, variant};
use sea_orm::{EntityTrait, QueryOrder};

use crate::helpers::{Backend, fresh_database_url, scratch_dir};

fn sellout(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sellout"));
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(scratch_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok(cmd.output()?)
}

#[test]
fn help_explains_each_command() -> anyhow::Result<()> {
    let out = sellout(&["--help"], &[])?;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    for command in ["serve", "migrate", "seed"] {
        assert!(text.contains(command), "--help lists {command}:\n{text}");
    }
    let seed_help = String::from_utf8(sellout(&["seed", "--help"], &[])?.stdout)?;
    assert!(seed_help.contains("--products") && seed_help.contains("--sellers"), "{seed_help}");
    Ok(())
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_variable() -> anyhow::Result<()> {
    for (var, value) in [("REDIS_URL", "localhost:6379"), ("DATABASE_URL", "mysql://db/shop"), ("LEPTOS_SITE_ADDR", "port 80")] {
        let out = sellout(&["serve"], &[(var, value)])?;
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        let err = String::from_utf8(out.stderr)?;
        assert!(err.contains(var), "the message names {var}: {err}");
    }
    Ok(())
}

/// Titles, prices and stock of every product, in id order.
async fn catalog_fingerprint(url: &str) -> anyhow::Result<Vec<String>> {
    let db = app::db::connect(url).await?;
    let mut rows: Vec<String> = product::Entity::find()
        .order_by_asc(product::Column::Id)
        .all(&db)
        .await?
        .into_iter()
        .map(|p| format!("{}|{}|{}|{}", p.title, p.brand, p.rating_count, p.category_id))
        .collect();
    rows.extend(variant::Entity::find().order_by_asc(variant::Column::Id).all(&db).await?.into_iter().map(|v| {
        format!("{}|{}|{}", v.sku, v.attributes, v.price_amount)
    }));
    rows.extend(inventory::Entity::find().order_by_asc(inventory::Column::Id).all(&db).await?.into_iter().map(|i| {
        format!("{}|{}|{}", i.variant_id, i.warehouse_id, i.quantity)
    }));
    Ok(rows)
}

async fn seeding_is_deterministic_and_reports_progress(backend: Backend) -> anyhow::Result<()> {
    let mut fingerprints = Vec::new();
    for _ in 0..2 {
        let url = fresh_database_url(backend).await?;
        let out = sellout(&["seed", "--products", "30", "--sellers", "3"], &[("DATABASE_URL", &url)])?;
        let err = String::from_utf8(out.stderr)?;
        assert!(out.status.success(), "{err}");
        assert!(err.contains("added 30 products"), "{err}");
        let fp = catalog_fingerprint(&url).await?;
        assert_eq!(fp.iter().filter(|r| r.matches('|').count() == 3).count(), 30);
        fingerprints.push(fp);
    }
    assert_eq!(fingerprints[0], fingerprints[1], "the same seed gives the same catalog");

    let url = fresh_database_url(backend).await?;
    sellout(&["seed", "--products", "30", "--sellers", "3", "--seed", "42"], &[("DATABASE_URL", &url)])?;
    assert_ne!(catalog_fingerprint(&url).await?, fingerprints[0], "another seed gives another catalog");
    Ok(())
}

async fn migrate_applies_the_schema_and_is_repeatable(backend: Backend) -> anyhow::Result<()> {
    let url = fresh_database_url(backend).await?;
    for _ in 0..2 {
        let out = sellout(&["migrate"], &[("DATABASE_URL", &url)])?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let db = app::db::connect(&url).await?;
    assert!(product::Entity::find().all(&db).await?.is_empty(), "migrate does not seed");
    Ok(())
}

async fn admin_create_reads_the_password_from_stdin(backend: Backend) -> anyhow::Result<()> {
    use std::io::Write;
    let url = fresh_database_url(backend).await?;
    let run = |password: &str| -> anyhow::Result<Output> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sellout"))
            .args(["admin", "create", "--email", "Boss@Example.com"])
            .env_clear()
            .env("DATABASE_URL", &url)
            .current_dir(scratch_dir())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        child.stdin.take().expect("piped stdin").write_all(format!("{password}\n").as_bytes())?;
        Ok(child.wait_with_output()?)
    };
    let short = run("short")?;
    assert!(!short.status.success(), "a short password is refused");
    assert!(String::from_utf8(short.stderr)?.contains("at least 8"));
    let out = run("a long admin password")?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let db = app::db::connect(&url).await?;
    let admin = app::accounts::service::authenticate(&db, "boss@example.com", "a long admin password").await?;
    assert_eq!(admin.role, app::accounts::Role::Admin);
    Ok(())
}

/// `sellout shoppers` (for the load tool): each line's cookie is a signed-in session of that
/// shopper on the server, with Redis sessions as in production; the accounts open to no password.
async fn shoppers_come_signed_in_and_open_to_no_password(backend: Backend) -> anyhow::Result<()> {
    let url = fresh_database_url(backend).await?;
    let redis = crate::helpers::env_url("TEST_REDIS_URL")?;
    let file = scratch_dir().join("sessions.txt");
    let out = sellout(&["shoppers", "--count", "3", "--run", "t1", "--sessions", &file.to_string_lossy()], &[("DATABASE_URL", &url), ("REDIS_URL", &redis)])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bad = sellout(&["shoppers", "--count", "1", "--run", "no spaces", "--sessions", &file.to_string_lossy()], &[("DATABASE_URL", &url), ("REDIS_URL", &redis)])?;
    assert!(!bad.status.success() && String::from_utf8(bad.stderr)?.contains("--run"), "a bad run name is refused, naming the flag");
    let text = std::fs::read_to_string(&file)?;
    let lines: Vec<(i64, String)> = text.lines().map(|l| l.split_once(' ').map(|(id, c)| (id.parse().unwrap_or(0), c.to_owned())).unwrap_or_default()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    let mut cfg = crate::helpers::test_config(url);
    cfg.redis_url = Some(redis);
    let app = crate::helpers::spawn_app_with(cfg).await?;
    for (id, cookie) in &lines {
        let res = reqwest::Client::new().get(app.url("/api/v1/auth/me")).header("cookie", format!("sellout_session={cookie}")).send().await?;
        assert_eq!(res.status(), 200);
        let me: serde_json::Value = res.json().await?;
        assert_eq!(me["user_id"].as_i64(), Some(*id));
        assert_eq!(me["email"].as_str().map(|e| e.ends_with("@t1.load.test")), Some(true), "{me}");
    }
    let (status, _) = app.visitor().login("shopper-0@t1.load.test", "!load-test: no password").await?;
    assert_eq!(status, 401, "no password opens a load-test shopper");
    Ok(())
}

crate::on_both_databases!(
    shoppers_come_signed_in_and_open_to_no_password,
    seeding_is_deterministic_and_reports_progress,
    migrate_applies_the_schema_and_is_repeatable,
    admin_create_reads_the_password_from_stdin,
);
