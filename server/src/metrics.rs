//! Prometheus text metrics without a metrics framework: request counts by route, method and
//! status, and a latency histogram by route. Routes are axum's matched paths, so the number
//! of series stays bounded whatever URLs clients send.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<Inner>>);

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self, route: String, method: String, status: u16, seconds: f64) {
        let Ok(mut m) = self.0.lock() else { return };
        *m.requests.entry((route.clone(), method, status)).or_default() += 1;
        let h = m.latency.entry(route).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    pub fn render_text(&self) -> String {
        let Ok(m) = self.0.lock() else { return String::new() };
        let mut out = String::from(
            "# HELP sellout_http_requests_total HTTP requests by route, method and status.\n# TYPE sellout_http_requests_total counter\n",
        );
        for ((route, method, status), n) in &m.requests {
            out.push_str(&format!(
                "sellout_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}\n"
            ));
        }
        out.push_str("# HELP sellout_http_request_duration_seconds Request latency by route.\n# TYPE sellout_http_request_duration_seconds histogram\n");
        for (route, h) in &m.latency {
            for (i, b) in BUCKETS.iter().enumerate() {
                out.push_str(&format!(
                    "sellout_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}\n",
                    h.counts[i]
                ));
            }
            out.push_str(&format!("sellout_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n", h.count));
            out.push_str(&format!("sellout_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n", h.sum));
            out.push_str(&format!("sellout_http_request_duration_seconds_count{{route=\"{route}\"}} {}\n", h.count));
        }
        out
    }
}

pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.record(route, method, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}

pub async fn render(axum::Extension(metrics): axum::Extension<Metrics>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render_text())
}
