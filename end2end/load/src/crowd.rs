//! Many shoppers at once: `connections` tasks, each on its own keep-alive connection from its
//! own loopback address, take every `connections`-th shopper and send that shopper's requests
//! in turn, as fast as the shop answers (a closed loop: the rate is the shop's, not a target).
//! Every connection is open before the first request, so the clock starts on a warm shop.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::future::join_all;
use hyper::Method;
use serde_json::Value;

use crate::http::{Client, source_ip};
use crate::shop::Shopper;
use crate::stats::{Counters, Step, progress};

/// One request a shopper sends, with their session.
pub struct Req {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
}

impl Req {
    pub fn get(path: impl Into<String>) -> Req {
        Req { method: Method::GET, path: path.into(), body: None }
    }
    pub fn post(path: impl Into<String>, body: Option<Value>) -> Req {
        Req { method: Method::POST, path: path.into(), body }
    }
}

/// Sends each shopper's requests (`plan(index, shopper)`), `ok` deciding what counts as a
/// success on the progress line. Returns the step's figures and each shopper's last answer.
pub async fn each_shopper<P>(addr: SocketAddr, shoppers: &[Shopper], connections: usize, label: &str, ok: fn(u16) -> bool, plan: P) -> anyhow::Result<(Step, Vec<Value>)>
where
    P: Fn(usize, &Shopper) -> Vec<Req> + Send + Sync + 'static,
{
    let n = shoppers.len();
    let conns = connections.clamp(1, n.max(1));
    let counters = Counters::new();
    let _progress = progress(label.to_owned(), Some(n as u64), counters.clone());
    let plan = Arc::new(plan);
    let start = Arc::new(tokio::sync::Barrier::new(conns));
    let shoppers: Arc<Vec<Shopper>> = Arc::new(shoppers.to_vec());
    let tasks = (0..conns).map(|w| {
        let (plan, shoppers, counters, start) = (plan.clone(), shoppers.clone(), counters.clone(), start.clone());
        tokio::spawn(async move {
            let mut client = Client::new(addr, source_ip(w));
            client.open().await;
            start.wait().await;
            let mut step = Step::default();
            let mut last = Vec::new();
            for i in (w..shoppers.len()).step_by(conns) {
                let s = &shoppers[i];
                let mut answer = Value::Null;
                for req in plan(i, s) {
                    let r = client.send(req.method, &req.path, Some(&s.session), req.body.as_ref(), &[]).await;
                    step.record(r.status, r.took);
                    answer = r.json();
                    if !ok(r.status) {
                        counters.failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                counters.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                last.push((i, answer));
            }
            (step, last)
        })
    });
    let mut step = Step::default();
    let mut answers = vec![Value::Null; n];
    for r in join_all(tasks).await {
        let (s, last) = r?;
        step.merge(s);
        for (i, a) in last {
            answers[i] = a;
        }
    }
    Ok((step, answers))
}

/// GETs of `paths` (taken in a spread order), `total` of them over `connections` connections:
/// anonymous, or with `sessions` each connection a signed-in shopper of its own (connection
/// `w` carries `sessions[w % len]`); with `accept_encoding`, each request sends it as a
/// browser does (the answers are counted, not decoded).
pub async fn hammer(addr: SocketAddr, connections: usize, total: u64, label: &str, paths: Arc<Vec<String>>, sessions: Option<Arc<Vec<String>>>, accept_encoding: Option<&str>) -> anyhow::Result<Step> {
    let counters = Counters::new();
    let _progress = progress(label.to_owned(), Some(total), counters.clone());
    let per = total.div_ceil(connections as u64);
    let start = Arc::new(tokio::sync::Barrier::new(connections));
    let tasks = (0..connections).map(|w| {
        let (counters, paths, start) = (counters.clone(), paths.clone(), start.clone());
        let headers: Vec<(&'static str, String)> = accept_encoding.map(|v| ("accept-encoding", v.to_owned())).into_iter().collect();
        let session = sessions.as_ref().filter(|s| !s.is_empty()).map(|s| s[w % s.len()].clone());
        tokio::spawn(async move {
            let mut client = Client::new(addr, source_ip(w));
            client.open().await;
            start.wait().await;
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut step = Step::default();
            for k in 0..per as usize {
                let path = &paths[(w * 7919 + k * 104_729) % paths.len()];
                let r = client.send(hyper::Method::GET, path, session.as_deref(), None, &headers).await;
                counters.add(r.status == 200);
                step.record(r.status, r.took);
            }
            step
        })
    });
    let mut step = Step::default();
    for r in join_all(tasks).await {
        step.merge(r?);
    }
    Ok(step)
}
