//! The product-page cache of the embedded default: in-process, for one node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::ProductDetail;
use super::port::{Lookup, ProductCache};
use crate::store::StoreError;

/// In-process, for one node (the embedded default). Bounded: at the limit, expired pages go
/// first and then everything, which is only ever a cold cache.
pub struct MemoryProductCache {
    ttl: Duration,
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    pages: HashMap<i64, (Instant, ProductDetail)>,
    generations: HashMap<i64, u64>,
}

const MEMORY_LIMIT: usize = 20_000;

impl MemoryProductCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, inner: Mutex::new(MemoryInner::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl ProductCache for MemoryProductCache {
    async fn get(&self, product_id: i64) -> Result<Lookup, StoreError> {
        let inner = self.lock();
        match inner.pages.get(&product_id) {
            Some((at, page)) if at.elapsed() < self.ttl => Ok(Lookup::Hit(page.clone())),
            _ => Ok(Lookup::Miss { generation: inner.generations.get(&product_id).copied().unwrap_or(0) }),
        }
    }

    async fn put(&self, product_id: i64, generation: u64, detail: &ProductDetail) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.generations.get(&product_id).copied().unwrap_or(0) != generation {
            return Ok(());
        }
        if inner.pages.len() >= MEMORY_LIMIT {
            let ttl = self.ttl;
            inner.pages.retain(|_, (at, _)| at.elapsed() < ttl);
            if inner.pages.len() >= MEMORY_LIMIT {
                inner.pages.clear();
            }
        }
        inner.pages.insert(product_id, (Instant::now(), detail.clone()));
        Ok(())
    }

    async fn invalidate(&self, product_id: i64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.pages.remove(&product_id);
        *inner.generations.entry(product_id).or_insert(0) += 1;
        Ok(())
    }

    async fn invalidate_all(&self) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let ids: Vec<i64> = inner.pages.keys().copied().collect();
        inner.pages.clear();
        for id in ids {
            *inner.generations.entry(id).or_insert(0) += 1;
        }
        Ok(())
    }
}
