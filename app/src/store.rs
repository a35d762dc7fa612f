//! What every port adapter can fail with. Callers map it to `AppError::Internal` at the edge.

#[cfg(feature = "ssr")]
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("stored data is not in the expected shape: {0}")]
    Corrupt(String),
}

/// Milliseconds since the Unix epoch, the clock all stores agree on.
#[cfg(feature = "ssr")]
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A small in-process cache of values read often and changed rarely (who a session's user is,
/// a live sale's row), each kept for `ttl`. A node forgets its own changes at once (`forget`);
/// another node's changes reach it within `ttl`, so only what may lag that long is kept here,
/// never what decides stock or money. Bounded: past `cap` entries it starts afresh.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Recent<K, V> {
    entries: std::sync::Arc<std::sync::RwLock<std::collections::HashMap<K, (std::time::Instant, V)>>>,
    ttl: std::time::Duration,
    cap: usize,
}

#[cfg(feature = "ssr")]
impl<K: std::hash::Hash + Eq + Clone, V: Clone> Recent<K, V> {
    pub fn new(ttl: std::time::Duration, cap: usize) -> Self {
        Self { entries: Default::default(), ttl, cap }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.cap {
            entries.clear();
        }
        entries.insert(key, (std::time::Instant::now(), value));
    }

    pub fn forget(&self, key: &K) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    pub fn forget_all(&self) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::Recent;
    use std::time::Duration;

    #[test]
    fn recent_values_lapse_and_are_forgotten() {
        let r = Recent::new(Duration::from_millis(30), 2);
        r.put(1, "a");
        assert_eq!(r.get(&1), Some("a"));
        r.forget(&1);
        assert_eq!(r.get(&1), None);
        r.put(2, "b");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(r.get(&2), None, "lapsed after the ttl");
        r.put(3, "c");
        r.put(4, "d");
        r.put(5, "e");
        assert_eq!((r.get(&3), r.get(&5)), (None, Some("e")), "past the cap it starts afresh");
    }
}
