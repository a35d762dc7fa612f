//! A circuit breaker for what a page can do without (recommendations, reviews, the wishlist):
//! each call gets a short timeout; after a few failures or timeouts in a row the breaker opens
//! and calls are skipped at once for a cool-off, then one trial call goes through and, if it
//! answers, the breaker closes again by itself. A skipped or failed call is `None`, which the
//! page shows as a quiet placeholder: what bends under load never takes the page down with it.
//! Ground floor: no area.

use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::AppError;

#[derive(Clone)]
pub struct Breaker {
    name: &'static str,
    timeout: Duration,
    trip_after: u32,
    cool_off: Duration,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// Failures (errors or timeouts) in a row since the last success.
    failures: u32,
    /// Open until then: calls are skipped.
    open_until: Option<Instant>,
    /// A trial call after the cool-off is under way (others are still skipped meanwhile).
    trial: bool,
}

/// Where a breaker stands, for `/metrics` and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
}

impl Breaker {
    pub fn new(name: &'static str, timeout: Duration, trip_after: u32, cool_off: Duration) -> Self {
        Self { name, timeout, trip_after: trip_after.max(1), cool_off, inner: Arc::default() }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn state(&self) -> BreakerState {
        match self.lock().open_until {
            Some(_) => BreakerState::Open,
            None => BreakerState::Closed,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The guarded figures are always whole: a holder that panicked left nothing half-set.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` within the timeout unless the breaker is open; `None` when it was skipped,
    /// failed or ran out of time (the work is dropped then).
    pub async fn call<T, E: Display>(&self, work: impl Future<Output = Result<T, E>>) -> Option<T> {
        {
            let mut inner = self.lock();
            if let Some(until) = inner.open_until {
                if Instant::now() < until || inner.trial {
                    return None;
                }
                inner.trial = true;
            }
        }
        let outcome = match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        };
        let mut inner = self.lock();
        match outcome {
            Ok(value) => {
                if inner.open_until.take().is_some() {
                    tracing::info!(breaker = self.name, "closed again: the trial call answered");
                }
                inner.failures = 0;
                inner.trial = false;
                Some(value)
            }
            Err(why) => {
                inner.failures = inner.failures.saturating_add(1);
                if inner.trial || inner.failures >= self.trip_after {
                    if !inner.trial {
                        tracing::warn!(breaker = self.name, failures = inner.failures, error = %why, cool_off_s = self.cool_off.as_secs_f64(), "open: pages go without it for a while");
                    }
                    inner.open_until = Some(Instant::now() + self.cool_off);
                    inner.trial = false;
                } else {
                    tracing::debug!(breaker = self.name, error = %why, "call failed");
                }
                None
            }
        }
    }
}

impl Breaker {
    /// `call` for the shop's own work: an answer the caller must hear (a 4xx: no such product,
    /// not signed in) passes through as an error and counts as an answer; only a 5xx or a
    /// timeout counts against the breaker. `Ok(None)` when it was skipped, failed or too slow.
    pub async fn call_app<T>(&self, work: impl Future<Output = Result<T, AppError>>) -> Result<Option<T>, AppError> {
        let answered = self
            .call(async {
                match work.await {
                    Err(e) if e.status() >= 500 => Err(e),
                    other => Ok(other),
                }
            })
            .await;
        answered.transpose()
    }
}

/// The breakers of the extras a page may go without.
#[derive(Clone)]
pub struct Extras {
    pub recommendations: Breaker,
    pub reviews: Breaker,
    pub wishlist: Breaker,
}

/// How long an extra may take before the page goes on without it.
pub const EXTRAS_TIMEOUT: Duration = Duration::from_millis(250);
/// Failures in a row that open a breaker.
pub const EXTRAS_TRIP_AFTER: u32 = 3;
/// How long an open breaker skips calls before it tries one.
pub const EXTRAS_COOL_OFF: Duration = Duration::from_secs(10);

impl Default for Extras {
    fn default() -> Self {
        let breaker = |name| Breaker::new(name, EXTRAS_TIMEOUT, EXTRAS_TRIP_AFTER, EXTRAS_COOL_OFF);
        Self { recommendations: breaker("recommendations"), reviews: breaker("reviews"), wishlist: breaker("wishlist") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick() -> Breaker {
        Breaker::new("test", Duration::from_millis(50), 2, Duration::from_millis(200))
    }

    async fn fail() -> Result<u32, &'static str> {
        Err("down")
    }

    #[tokio::test]
    async fn answers_pass_through_and_a_single_failure_does_not_open() {
        let b = quick();
        assert_eq!(b.call(async { Ok::<_, &str>(7) }).await, Some(7));
        assert_eq!(b.call(fail()).await, None);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.call(async { Ok::<_, &str>(8) }).await, Some(8), "one failure is not a pattern");
    }

    #[tokio::test]
    async fn a_stall_is_cut_at_the_timeout() {
        let b = quick();
        let stalled = async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<u32, &str>(1)
        };
        let started = Instant::now();
        assert_eq!(b.call(stalled).await, None);
        assert!(started.elapsed() < Duration::from_secs(30), "the call did not wait for the stalled work");
    }

    #[tokio::test]
    async fn opens_after_failures_in_a_row_skips_calls_then_closes_by_itself() {
        let b = quick();
        assert_eq!(b.call(fail()).await, None);
        assert_eq!(b.call(fail()).await, None);
        assert_eq!(b.state(), BreakerState::Open);
        let ran = AtomicU32::new(0);
        let counted = || async {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok::<_, &str>(1)
        };
        assert_eq!(b.call(counted()).await, None, "open: skipped");
        assert_eq!(ran.load(Ordering::SeqCst), 0, "an open breaker does not run the work at all");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(b.call(counted()).await, Some(1), "after the cool-off a trial goes through");
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.call(counted()).await, Some(1));
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn shop_errors_a_person_must_read_pass_through_and_do_not_count() {
        let b = quick();
        for _ in 0..3 {
            let r = b.call_app(async { Err::<u32, _>(AppError::not_found("There is no such product.")) }).await;
            assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
        }
        assert_eq!(b.state(), BreakerState::Closed, "404s are answers, not failures");
        for _ in 0..2 {
            assert!(matches!(b.call_app(async { Err::<u32, _>(AppError::Internal) }).await, Ok(None)));
        }
        assert_eq!(b.state(), BreakerState::Open, "500s are failures");
    }

    #[tokio::test]
    async fn a_failed_trial_opens_it_again_at_once() {
        let b = quick();
        b.call(fail()).await;
        b.call(fail()).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(b.call(fail()).await, None);
        assert_eq!(b.state(), BreakerState::Open, "one failed trial is enough to open it again");
        assert_eq!(b.call(async { Ok::<_, &str>(1) }).await, None, "and it skips again");
    }
}
