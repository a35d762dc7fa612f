//! `GET /ws`: a sale's start and its stock reach open sockets on every node (two nodes sharing
//! the database and Redis), with no polling.

use std::time::{Duration as StdDuration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Backend, TestApp, spawn_app_with, spawn_app_with_redis};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(app: &TestApp, sale: i64) -> anyhow::Result<Socket> {
    let url = format!("{}/ws?sale={sale}", app.address.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let hello = next(&mut ws).await?;
    anyhow::ensure!(hello["type"] == "hello" && hello["server_time"].is_string(), "{hello}");
    Ok(ws)
}

/// The next message, as JSON, within 5 s.
async fn next(ws: &mut Socket) -> anyhow::Result<Value> {
    loop {
        match tokio::time::timeout(StdDuration::from_secs(5), ws.next()).await? {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t)?),
            Some(Ok(_)) => continue,
            other => anyhow::bail!("socket ended: {other:?}"),
        }
    }
}

/// The next message of `kind`, skipping others.
async fn next_of(ws: &mut Socket, kind: &str) -> anyhow::Result<Value> {
    loop {
        let m = next(ws).await?;
        if m["type"] == kind {
            return Ok(m);
        }
    }
}

async fn a_sale_start_and_its_stock_reach_sockets_on_every_node(backend: Backend) -> anyhow::Result<()> {
    let a = spawn_app_with_redis(backend).await?;
    // A second node: the same database and Redis, its own data dir (search index, media).
    let mut second = a.config.clone();
    second.data_dir = crate::helpers::scratch_dir();
    let b = spawn_app_with(second).await?;
    let id = crate::sale_buy::scheduled(&a, "WS-1", 3, 1).await?;
    let (mut on_a, mut on_b) = (socket(&a, id).await?, socket(&b, id).await?);
    let mut other_sale = socket(&b, id + 1000).await?;

    let pushed = Instant::now();
    crate::sale_buy::start(&a, id).await?;
    for ws in [&mut on_a, &mut on_b] {
        let m = next_of(ws, "sale_started").await?;
        assert_eq!(m["sale_id"], id);
    }
    eprintln!("sale start pushed to sockets on both nodes in {:?} (from the clock's round)", pushed.elapsed());

    // A buy on node B: the units left reach the page open on node A.
    let sam = b.visitor();
    sam.register("sam@example.com", "long enough").await?;
    let token = crate::sale_buy::admitted(&b, &sam, id).await?;
    let moved = next_of(&mut on_a, "queue_moved").await?;
    assert_eq!((moved["admitted"].as_i64(), moved["remaining"].as_i64()), (Some(1), Some(3)), "{moved}");
    let (status, _) = sam.post(&format!("/api/v1/sales/{id}/buy"), json!({"token": token})).await?;
    assert_eq!(status, 201);
    let stock = next_of(&mut on_a, "sale_stock").await?;
    assert_eq!(stock["remaining"], 2, "{stock}");
    // A socket watching another sale hears none of it.
    let quiet = tokio::time::timeout(StdDuration::from_millis(300), other_sale.next()).await;
    assert!(quiet.is_err(), "another sale's socket stays quiet: {quiet:?}");
    Ok(())
}

crate::on_both_databases!(a_sale_start_and_its_stock_reach_sockets_on_every_node);
