//! Prometheus text metrics without a metrics framework: request counts by route, method and
//! status, and a latency histogram by route. Routes are axum's matched paths, so the number
//! of series stays bounded whatever URLs clients send.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// One route's figures, counted with atomics: requests on the same route (a flash sale's buy,
/// thousands a second) never wait for each other. Only a route's first request, or its first
/// of a new method and status, takes a write lock.
#[derive(Default)]
struct Route {
    buckets: [AtomicU64; BUCKETS.len()],
    sum_micros: AtomicU64,
    count: AtomicU64,
    requests: RwLock<HashMap<(Method, u16), Arc<AtomicU64>>>,
}

impl Route {
    fn requests(&self, method: &Method, status: u16) -> Arc<AtomicU64> {
        let key = (method.clone(), status);
        if let Some(n) = self.requests.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return n.clone();
        }
        self.requests.write().unwrap_or_else(|p| p.into_inner()).entry(key).or_default().clone()
    }
}

#[derive(Clone, Default)]
pub struct Metrics(Arc<RwLock<HashMap<String, Arc<Route>>>>);

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn route(&self, route: &str) -> Arc<Route> {
        if let Some(r) = self.0.read().unwrap_or_else(|p| p.into_inner()).get(route) {
            return r.clone();
        }
        self.0.write().unwrap_or_else(|p| p.into_inner()).entry(route.to_owned()).or_default().clone()
    }

    fn record(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let r = self.route(route);
        r.requests(method, status).fetch_add(1, Ordering::Relaxed);
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                r.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        r.sum_micros.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        r.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render_text(&self) -> String {
        let mut routes: Vec<(String, Arc<Route>)> = self.0.read().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::from(
            "# HELP sellout_http_requests_total HTTP requests by route, method and status.\n# TYPE sellout_http_requests_total counter\n",
        );
        for (route, r) in &routes {
            let mut series: Vec<((Method, u16), u64)> = r.requests.read().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, n)| (k.clone(), n.load(Ordering::Relaxed))).collect();
            series.sort_by(|a, b| (a.0.0.as_str(), a.0.1).cmp(&(b.0.0.as_str(), b.0.1)));
            for ((method, status), n) in series {
                out.push_str(&format!("sellout_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}\n"));
            }
        }
        out.push_str("# HELP sellout_http_request_duration_seconds Request latency by route.\n# TYPE sellout_http_request_duration_seconds histogram\n");
        for (route, r) in &routes {
            for (i, b) in BUCKETS.iter().enumerate() {
                out.push_str(&format!("sellout_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}\n", r.buckets[i].load(Ordering::Relaxed)));
            }
            let count = r.count.load(Ordering::Relaxed);
            out.push_str(&format!("sellout_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\n"));
            out.push_str(&format!("sellout_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n", r.sum_micros.load(Ordering::Relaxed) as f64 / 1e6));
            out.push_str(&format!("sellout_http_request_duration_seconds_count{{route=\"{route}\"}} {count}\n"));
        }
        out
    }
}

pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let start = Instant::now();
    let response = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    metrics.record(route, &method, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}

pub async fn render(axum::Extension(metrics): axum::Extension<Metrics>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render_text())
}
