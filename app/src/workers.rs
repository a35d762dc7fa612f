//! A node's background workers (sweeper, order mail, reconciliation, session clean-up) under one
//! shutdown handle: `shutdown` stops them taking new rounds, lets a round in progress finish,
//! and waits for them, so SIGTERM never cuts a worker off half-way. Ground floor: no area.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

#[derive(Clone)]
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl Default for Workers {
    fn default() -> Self {
        Self::new()
    }
}

impl Workers {
    pub fn new() -> Self {
        Self { stop: watch::channel(false).0, tasks: Arc::new(Mutex::new(JoinSet::new())) }
    }

    /// Runs `round` every `every` (the first at once) until shutdown. A round that has begun
    /// runs to its end; shutdown only stops the next one from starting.
    pub fn every<F, Fut>(&self, name: &'static str, every: Duration, mut round: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut stop = self.stop.subscribe();
        self.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The flag only ever goes from false to true: any change means stop.
            while !*stop.borrow() {
                tokio::select! {
                    biased;
                    _ = stop.changed() => break,
                    _ = tick.tick() => round().await,
                }
            }
            tracing::debug!(worker = name, "worker stopped");
        });
    }

    fn spawn(&self, worker: impl Future<Output = ()> + Send + 'static) {
        self.tasks.lock().expect("workers' task set poisoned: a holder panicked").spawn(worker);
    }

    /// Stops every worker and waits up to `grace` for rounds in progress; returns whether all
    /// finished in time (the rest are aborted).
    pub async fn shutdown(&self, grace: Duration) -> bool {
        let _ = self.stop.send(true);
        let mut tasks = std::mem::take(&mut *self.tasks.lock().expect("workers' task set poisoned: a holder panicked"));
        let finished = tokio::time::timeout(grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        if !finished {
            tracing::warn!(left = tasks.len(), "workers still busy after the grace period: aborting them");
            tasks.abort_all();
        }
        finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn shutdown_lets_a_round_finish_and_starts_no_new_one() {
        let workers = Workers::new();
        let started = Arc::new(AtomicU32::new(0));
        let finished = Arc::new(AtomicU32::new(0));
        let (s, f) = (started.clone(), finished.clone());
        workers.every("test", Duration::from_millis(10), move || {
            let (s, f) = (s.clone(), f.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                f.fetch_add(1, Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(workers.shutdown(Duration::from_secs(5)).await, "the round in progress finished in time");
        let (s, f) = (started.load(Ordering::SeqCst), finished.load(Ordering::SeqCst));
        assert!(s >= 1);
        assert_eq!(s, f, "no round was cut off");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(started.load(Ordering::SeqCst), s, "no round after shutdown");
    }
}
