//! `sockets`: M sale pages open at once, each a websocket on `/ws?sale=ID` from one of the
//! loopback source addresses. The sale is then opened and each socket notes when its
//! `sale_started` arrives: the time from the sale's start to each arrival (p50/p99/max), the
//! spread from the first to the last, and the shop's resident memory per open socket.

use std::time::Duration;

use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::http::{connect_tcp, source_ip};
use crate::sale::Sale;
use crate::shop::Shop;
use crate::stats::{Counters, progress};

pub struct SocketOptions {
    pub sockets: usize,
}

#[derive(Debug, Serialize)]
pub struct SocketsReport {
    pub sockets: usize,
    pub connected: usize,
    pub connect_seconds: f64,
    /// Sockets that got the sale-start message.
    pub told: usize,
    /// From the sale's start time to the message, per socket.
    pub after_start_p50_ms: f64,
    pub after_start_p99_ms: f64,
    pub after_start_max_ms: f64,
    /// From the first socket told to the last.
    pub spread_ms: f64,
    pub rss_before_kib: Option<u64>,
    pub rss_open_kib: Option<u64>,
    pub kib_per_socket: Option<f64>,
}

pub async fn run(shop: &Shop, opts: &SocketOptions) -> anyhow::Result<SocketsReport> {
    let mut sale = Sale::schedule(shop, 2, 10, 1, 50).await?;
    eprintln!("==> sockets: {} websockets on sale {}", opts.sockets, sale.id);
    let rss_before = shop.rss_kib();
    let counters = Counters::new();
    let started = std::time::Instant::now();
    // Connect at most 500 at a time; each task then waits for the start.
    let gate = std::sync::Arc::new(Semaphore::new(500));
    let (open_tx, mut open_rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let deadline_ms = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(i64::MAX));
    let tasks: Vec<_> = (0..opts.sockets)
        .map(|i| {
            let (gate, counters, open_tx, deadline_ms) = (gate.clone(), counters.clone(), open_tx.clone(), deadline_ms.clone());
            let (addr, sale_id) = (shop.addr, sale.id);
            tokio::spawn(async move {
                let permit = gate.acquire_owned().await.ok();
                let url = format!("ws://{addr}/ws?sale={sale_id}");
                let socket = match connect_tcp(source_ip(i), addr).await {
                    Ok(tcp) => tokio_tungstenite::client_async(url, tcp).await.ok().map(|(ws, _)| ws),
                    Err(_) => None,
                };
                let Some(mut ws) = socket else {
                    counters.add(false);
                    let _ = open_tx.send(false);
                    return None;
                };
                // The hello says the socket is subscribed.
                let hello = tokio::time::timeout(Duration::from_secs(30), ws.next()).await;
                drop(permit);
                let ok = matches!(hello, Ok(Some(Ok(Message::Text(_)))));
                counters.add(ok);
                let _ = open_tx.send(ok);
                drop(open_tx); // the count of open sockets ends when every task has reported
                if !ok {
                    return None;
                }
                loop {
                    let wait = deadline_ms.load(std::sync::atomic::Ordering::Relaxed) - crate::now_ms();
                    let next = tokio::time::timeout(Duration::from_millis(wait.clamp(1, 1_000) as u64), ws.next()).await;
                    match next {
                        Ok(Some(Ok(Message::Text(t)))) if t.contains("\"sale_started\"") => {
                            let at = crate::now_ms();
                            let _ = ws.close(None).await;
                            return Some(at);
                        }
                        Ok(Some(Ok(_))) => {}
                        Ok(_) => return None,
                        Err(_) if crate::now_ms() >= deadline_ms.load(std::sync::atomic::Ordering::Relaxed) => {
                            let _ = ws.send(Message::Close(None)).await;
                            return None;
                        }
                        Err(_) => {}
                    }
                }
            })
        })
        .collect();
    drop(open_tx);
    let mut connected = 0;
    {
        let _p = progress("websockets open".into(), Some(opts.sockets as u64), counters.clone());
        while let Some(ok) = open_rx.recv().await {
            connected += usize::from(ok);
        }
    }
    let connect_seconds = started.elapsed().as_secs_f64();
    // Let the server settle before reading its memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = shop.rss_kib();
    let starts = sale.open(shop, 3_000).await?;
    deadline_ms.store(starts + 15_000, std::sync::atomic::Ordering::Relaxed);
    eprintln!("    {connected} open; the sale starts in 3 s");
    let mut arrivals: Vec<i64> = join_all(tasks).await.into_iter().filter_map(|r| r.ok().flatten()).collect();
    arrivals.sort_unstable();
    let told = arrivals.len();
    let after = |p: f64| -> f64 {
        if told == 0 {
            return 0.0;
        }
        let i = ((p / 100.0) * told as f64).ceil() as usize;
        (arrivals[i.clamp(1, told) - 1] - starts) as f64
    };
    Ok(SocketsReport {
        sockets: opts.sockets,
        connected,
        connect_seconds,
        told,
        after_start_p50_ms: after(50.0),
        after_start_p99_ms: after(99.0),
        after_start_max_ms: after(100.0),
        spread_ms: match (arrivals.first(), arrivals.last()) {
            (Some(a), Some(b)) => (b - a) as f64,
            _ => 0.0,
        },
        rss_before_kib: rss_before,
        rss_open_kib: rss_open,
        kib_per_socket: match (rss_before, rss_open) {
            (Some(b), Some(o)) if connected > 0 => Some((o as f64 - b as f64) / connected as f64),
            _ => None,
        },
    })
}
