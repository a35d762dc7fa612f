//! Redis cart store: one hash per cart, `cart:{owner}`, with two fields per line (`q:{sku}` the
//! quantity, `p:{sku}` the first-add price as `amount currency`), written in one MULTI so a
//! line is never half there. Every write renews the hash's PEXPIRE.

use std::collections::HashMap;

use fred::clients::Pool;
use fred::interfaces::{HashesInterface, KeysInterface, TransactionInterface};

use super::port::{CartStore, CartTtl};
use super::*;
use crate::store::StoreError;

#[derive(Clone)]
pub struct RedisCartStore {
    pool: Pool,
    prefix: String,
    ttl: CartTtl,
}

impl RedisCartStore {
    /// `prefix` namespaces the keys (tests give each run its own).
    pub fn new(pool: Pool, prefix: impl Into<String>, ttl: CartTtl) -> Self {
        Self { pool, prefix: prefix.into(), ttl }
    }

    fn key(&self, owner: &CartOwner) -> String {
        format!("{}cart:{}", self.prefix, owner.key())
    }
}

fn parse_price(raw: &str) -> Option<Money> {
    let (amount, currency) = raw.split_once(' ')?;
    Some(Money::new(amount.parse().ok()?, currency))
}

#[async_trait::async_trait]
impl CartStore for RedisCartStore {
    async fn lines(&self, owner: &CartOwner) -> Result<Vec<CartLine>, StoreError> {
        let all: HashMap<String, String> = self.pool.hgetall(self.key(owner)).await?;
        let mut lines = Vec::new();
        for (field, value) in &all {
            let Some(sku) = field.strip_prefix("q:") else { continue };
            let quantity: i64 =
                value.parse().map_err(|_| StoreError::Corrupt(format!("cart quantity {value:?}")))?;
            let price = all
                .get(&format!("p:{sku}"))
                .and_then(|p| parse_price(p))
                .ok_or_else(|| StoreError::Corrupt(format!("cart line {sku} has no price")))?;
            lines.push((sku.to_owned(), quantity, price));
        }
        // A hash has no order; the SKU gives a stable one.
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(lines.into_iter().map(|(sku, quantity, added_price)| CartLine { sku, quantity, added_price }).collect())
    }

    async fn set_quantity(
        &self,
        owner: &CartOwner,
        sku: &str,
        quantity: i64,
        price_now: &Money,
    ) -> Result<(), StoreError> {
        if quantity <= 0 {
            return self.remove(owner, sku).await;
        }
        let key = self.key(owner);
        let ttl_ms = self.ttl.for_owner(owner).as_millis() as i64;
        let trx = self.pool.next().multi();
        trx.hset::<(), _, _>(&key, (format!("q:{sku}"), quantity)).await?;
        trx.hsetnx::<(), _, _, _>(&key, format!("p:{sku}"), format!("{} {}", price_now.amount, price_now.currency))
            .await?;
        trx.pexpire::<(), _>(&key, ttl_ms, None).await?;
        trx.exec::<()>(true).await?;
        Ok(())
    }

    async fn remove(&self, owner: &CartOwner, sku: &str) -> Result<(), StoreError> {
        self.pool.hdel::<(), _, _>(self.key(owner), vec![format!("q:{sku}"), format!("p:{sku}")]).await?;
        Ok(())
    }

    async fn clear(&self, owner: &CartOwner) -> Result<(), StoreError> {
        self.pool.del::<(), _>(self.key(owner)).await?;
        Ok(())
    }
}
