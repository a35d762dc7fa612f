//! Latencies and status counts of one step (join, buy, …), recorded per task without locks and
//! merged at the end, plus the shared counters the progress line reads while a scenario runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// One step's requests as one task saw them.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// Microseconds, one per request.
    pub latencies_us: Vec<u32>,
    /// HTTP status (0: no answer) → requests.
    pub statuses: BTreeMap<u16, u64>,
    pub first: Option<Instant>,
    pub last: Option<Instant>,
}

impl Step {
    pub fn record(&mut self, status: u16, took: Duration) {
        let now = Instant::now();
        let started = now - took;
        self.first = Some(self.first.map_or(started, |f| f.min(started)));
        self.last = Some(self.last.map_or(now, |l| l.max(now)));
        self.latencies_us.push(took.as_micros().min(u32::MAX as u128) as u32);
        *self.statuses.entry(status).or_default() += 1;
    }

    pub fn merge(&mut self, other: Step) {
        self.latencies_us.extend(other.latencies_us);
        for (s, n) in other.statuses {
            *self.statuses.entry(s).or_default() += n;
        }
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = match (self.last, other.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    pub fn summary(mut self, name: &str) -> StepSummary {
        self.latencies_us.sort_unstable();
        let n = self.latencies_us.len();
        let pct = |p: f64| -> f64 {
            if n == 0 {
                return 0.0;
            }
            let i = ((p / 100.0) * n as f64).ceil() as usize;
            self.latencies_us[i.clamp(1, n) - 1] as f64 / 1000.0
        };
        let seconds = match (self.first, self.last) {
            (Some(f), Some(l)) => (l - f).as_secs_f64(),
            _ => 0.0,
        };
        StepSummary {
            step: name.to_owned(),
            requests: n as u64,
            seconds,
            per_second: if seconds > 0.0 { n as f64 / seconds } else { 0.0 },
            p50_ms: pct(50.0),
            p95_ms: pct(95.0),
            p99_ms: pct(99.0),
            max_ms: self.latencies_us.last().map_or(0.0, |&m| m as f64 / 1000.0),
            statuses: self.statuses.iter().map(|(s, n)| (status_name(*s), *n)).collect(),
            server_errors: self.statuses.iter().filter(|(s, _)| **s >= 500 || **s == 0).map(|(_, n)| n).sum(),
        }
    }
}

fn status_name(s: u16) -> String {
    if s == 0 { "no answer".to_owned() } else { s.to_string() }
}

/// A step's figures: the rate over the time from its first request to its last answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepSummary {
    pub step: String,
    pub requests: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub statuses: BTreeMap<String, u64>,
    /// 5xx and requests that got no answer: each one a defect.
    pub server_errors: u64,
}

/// Counters shared by the tasks of a scenario, read by the progress line.
#[derive(Default)]
pub struct Counters {
    pub done: AtomicU64,
    pub failed: AtomicU64,
}

impl Counters {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn add(&self, ok: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Prints `label: done/total (rate/s)` to stderr once a second until the returned guard drops.
pub fn progress(label: String, total: Option<u64>, counters: Arc<Counters>) -> Progress {
    let handle = tokio::spawn(async move {
        let started = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let mut before = 0;
        loop {
            tick.tick().await;
            let done = counters.done.load(Ordering::Relaxed);
            let failed = counters.failed.load(Ordering::Relaxed);
            let of = total.map(|t| format!("/{t}")).unwrap_or_default();
            let errors = if failed > 0 { format!(", {failed} not 2xx") } else { String::new() };
            eprintln!("  {label}: {done}{of} in {:.0}s ({}/s now{errors})", started.elapsed().as_secs_f64(), done - before);
            before = done;
        }
    });
    Progress(handle)
}

pub struct Progress(tokio::task::JoinHandle<()>);

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let mut s = Step::default();
        for ms in 1..=100u64 {
            s.record(200, Duration::from_millis(ms));
        }
        s.record(503, Duration::from_millis(1));
        let sum = s.summary("x");
        assert_eq!(sum.requests, 101);
        assert_eq!(sum.p50_ms, 50.0);
        assert_eq!(sum.p99_ms, 99.0);
        assert_eq!(sum.max_ms, 100.0);
        assert_eq!(sum.server_errors, 1);
        assert_eq!(sum.statuses["200"], 100);
    }
}
