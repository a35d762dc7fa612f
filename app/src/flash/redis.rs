//! The stock gate and waiting room in Redis: one Lua script (run by EVALSHA, reloaded on
//! NOSCRIPT) does each operation atomically. All keys of a sale share the hash tag `{sale:N}`
//! so they live on one cluster slot, and a buy (window, token, limit, stock, hold) is one
//! round trip.

use std::collections::HashMap;
use std::time::Duration;

use fred::clients::Pool;
use fred::interfaces::{KeysInterface, SortedSetsInterface};
use fred::types::{Key, Value};
use fred::types::scripts::Script;

use super::port::{ARRIVALS_FROM, Admission, Hold, Place, RoomAnswer, StockGate, TakeOutcome, Warm, WaitingRoom};
use crate::ids::HoldId;
use crate::store::{Recent, StoreError, now_ms};

/// KEYS: 1 remaining (string), 2 buyers (hash buyer → units held or bought), 3 holds (hash
/// hold → "qty|buyer|expiry"), 4 hold of (hash buyer → live hold), 5 meta (hash: starts, ends,
/// limit, secret, closed, round), 6 line (zset buyer → score), 7 admitted (hash buyer → token),
/// 8 admitted until (zset buyer → expiry ms), 9 draw (zset ticket → score), 10 arrivals.
/// ARGV[1] is the operation, ARGV[2] the node's clock in ms.
/// The script lives in its own file so the load tool runs the very same one.
pub const GATE_LUA: &str = include_str!("gate.lua");

#[derive(Clone)]
pub struct RedisStockGate {
    pool: Pool,
    prefix: String,
    script: Script,
    /// Each sale's key names, made once a day (a buy then clones shared names rather than
    /// format eleven strings).
    known: Recent<i64, SaleKeys>,
    /// Refusals (429s at a sale) counted on this node and not yet added to Redis: one INCRBY
    /// per sale every `FLUSH_REFUSALS_EVERY` rather than a round trip per refusal.
    pending_refusals: std::sync::Arc<std::sync::Mutex<HashMap<i64, i64>>>,
    flusher: std::sync::Arc<std::sync::Once>,
}

const FLUSH_REFUSALS_EVERY: Duration = Duration::from_millis(250);

/// The gate's keys of one sale (`KEYS` of the script, in its order) and the refusals counter.
#[derive(Clone)]
struct SaleKeys {
    gate: std::sync::Arc<[Key]>,
    refused: Key,
}


fn int(v: Option<&Value>) -> Result<i64, StoreError> {
    v.and_then(Value::as_i64).ok_or_else(|| StoreError::Corrupt(format!("stock gate answered {v:?}")))
}

fn text(v: Option<&Value>) -> Result<String, StoreError> {
    v.and_then(Value::as_string).ok_or_else(|| StoreError::Corrupt(format!("stock gate answered {v:?}")))
}

fn room_answer(reply: &[Value]) -> Result<RoomAnswer, StoreError> {
    Ok(match int(reply.first())? {
        1 => RoomAnswer::Place(Place::Admitted { token: text(reply.get(1))?, expires_at_ms: int(reply.get(2))? }),
        2 => RoomAnswer::Place(Place::Waiting { position: int(reply.get(1))? }),
        3 => RoomAnswer::NotInLine,
        4 => RoomAnswer::Closed,
        5 => RoomAnswer::NotLoaded,
        other => return Err(StoreError::Corrupt(format!("waiting room answered {other}"))),
    })
}

impl RedisStockGate {
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self { pool, prefix: prefix.into(), script: Script::from_lua(GATE_LUA), known: Recent::new(Duration::from_secs(86_400), 10_000), pending_refusals: Default::default(), flusher: std::sync::Arc::new(std::sync::Once::new()) }
    }

    /// Adds the refusals counted here to Redis; a count Redis did not take waits for the next.
    async fn flush_refusals(&self) {
        let pending = std::mem::take(&mut *self.pending_refusals.lock().unwrap_or_else(|p| p.into_inner()));
        for (sale_id, n) in pending {
            let added: Result<i64, _> = self.pool.incr_by(self.keys(sale_id).refused, n).await;
            if let Err(e) = added {
                tracing::warn!(error = %e, sale_id, refusals = n, "counting a sale's refusals");
                *self.pending_refusals.lock().unwrap_or_else(|p| p.into_inner()).entry(sale_id).or_default() += n;
            }
        }
    }

    fn keys(&self, sale_id: i64) -> SaleKeys {
        if let Some(k) = self.known.get(&sale_id) {
            return k;
        }
        let base = format!("{}{{sale:{sale_id}}}", self.prefix);
        let made = SaleKeys {
            gate: ["remaining", "buyers", "holds", "holdof", "meta", "line", "admitted", "admitted_until", "draw", "arrivals"]
                .iter()
                .map(|k| Key::from(format!("{base}:{k}")))
                .collect(),
            refused: Key::from(format!("{base}:refused")),
        };
        self.known.put(sale_id, made.clone());
        made
    }

    async fn run<R: fred::types::FromValue>(&self, sale_id: i64, op: &str, args: Vec<String>) -> Result<R, StoreError> {
        let mut argv = Vec::with_capacity(args.len() + 2);
        argv.push(op.to_owned());
        argv.push(now_ms().to_string());
        argv.extend(args);
        Ok(self.script.evalsha_with_reload(self.pool.next(), self.keys(sale_id).gate.to_vec(), argv).await?)
    }
}

#[async_trait::async_trait]
impl StockGate for RedisStockGate {
    async fn warm(&self, sale_id: i64, warm: &Warm, replace: bool) -> Result<bool, StoreError> {
        let t = &warm.terms;
        let mut args = vec![
            if replace { "1" } else { "0" }.to_owned(),
            t.starts_at_ms.to_string(),
            t.ends_at_ms.to_string(),
            t.per_buyer_limit.to_string(),
            t.token_secret.clone(),
            warm.remaining.max(0).to_string(),
            warm.bought.len().to_string(),
        ];
        for (buyer, n) in &warm.bought {
            args.extend([buyer.clone(), n.to_string()]);
        }
        for h in &warm.holds {
            args.extend([h.id.to_string(), h.quantity.to_string(), h.buyer.clone(), h.expires_at_ms.to_string()]);
        }
        let n: i64 = self.run(sale_id, "warm", args).await?;
        Ok(n == 1)
    }

    async fn close(&self, sale_id: i64) -> Result<(), StoreError> {
        let _: i64 = self.run(sale_id, "close", vec![]).await?;
        Ok(())
    }

    async fn remaining(&self, sale_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(self.pool.get::<Option<i64>, _>(self.keys(sale_id).gate[0].clone()).await?)
    }

    async fn try_take(&self, sale_id: i64, buyer: &str, token: &str, quantity: i64, hold_for: Duration) -> Result<TakeOutcome, StoreError> {
        let id = HoldId::random();
        let expires_at_ms = now_ms() + hold_for.as_millis() as i64;
        let args = vec![buyer.to_owned(), token.to_owned(), quantity.to_string(), id.to_string(), expires_at_ms.to_string()];
        let reply: Vec<Value> = self.run(sale_id, "take", args).await?;
        Ok(match int(reply.first())? {
            0 => TakeOutcome::Held {
                hold: Hold { id, sale_id, buyer: buyer.to_owned(), quantity, expires_at_ms },
                remaining: int(reply.get(1))?,
            },
            1 => TakeOutcome::SoldOut { remaining: int(reply.get(1))? },
            2 => TakeOutcome::LimitReached { already: int(reply.get(1))?, limit: int(reply.get(2))? },
            4 => TakeOutcome::NotAdmitted,
            5 => TakeOutcome::NotLive,
            6 => TakeOutcome::NotLoaded,
            7 => TakeOutcome::AlreadyHolding { hold_id: HoldId(text(reply.get(1))?) },
            other => return Err(StoreError::Corrupt(format!("stock gate answered {other}"))),
        })
    }

    async fn release(&self, sale_id: i64, hold_id: &HoldId) -> Result<bool, StoreError> {
        let n: i64 = self.run(sale_id, "release", vec![hold_id.as_str().into()]).await?;
        Ok(n == 1)
    }

    async fn commit(&self, sale_id: i64, hold_id: &HoldId) -> Result<bool, StoreError> {
        let n: i64 = self.run(sale_id, "commit", vec![hold_id.as_str().into()]).await?;
        Ok(n == 1)
    }

    async fn extend(&self, sale_id: i64, hold_id: &HoldId, expires_at_ms: i64) -> Result<bool, StoreError> {
        let n: i64 = self.run(sale_id, "extend", vec![hold_id.as_str().into(), expires_at_ms.to_string()]).await?;
        Ok(n == 1)
    }
}

#[async_trait::async_trait]
impl WaitingRoom for RedisStockGate {
    async fn join(&self, sale_id: i64, buyer: &str, ticket: &str, draw: Option<u64>) -> Result<RoomAnswer, StoreError> {
        let draw = draw.map(|d| d.min(ARRIVALS_FROM - 1).to_string()).unwrap_or_default();
        let reply: Vec<Value> = self.run(sale_id, "join", vec![buyer.into(), ticket.into(), draw, ARRIVALS_FROM.to_string()]).await?;
        room_answer(&reply)
    }

    async fn place(&self, sale_id: i64, buyer: &str) -> Result<RoomAnswer, StoreError> {
        let reply: Vec<Value> = self.run(sale_id, "place", vec![buyer.into()]).await?;
        room_answer(&reply)
    }

    async fn leave(&self, sale_id: i64, buyer: &str) -> Result<bool, StoreError> {
        let n: i64 = self.run(sale_id, "leave", vec![buyer.into()]).await?;
        Ok(n > 0)
    }

    async fn admit(&self, sale_id: i64, batch: i64, token_for: Duration) -> Result<Admission, StoreError> {
        let expires = now_ms() + token_for.as_millis() as i64;
        let reply: Vec<Value> = self.run(sale_id, "admit", vec![batch.max(0).to_string(), expires.to_string()]).await?;
        Ok(Admission { ran: int(reply.first())? == 1, admitted: int(reply.get(1))?, waiting: int(reply.get(2))?, remaining: int(reply.get(3))? })
    }

    async fn draw(&self, sale_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(self.pool.zrange(self.keys(sale_id).gate[8].clone(), 0, -1, None, false, None, false).await?)
    }

    async fn waiting(&self, sale_id: i64) -> Result<i64, StoreError> {
        Ok(self.pool.zcard(self.keys(sale_id).gate[5].clone()).await?)
    }

    async fn note_refusal(&self, sale_id: i64) -> Result<(), StoreError> {
        *self.pending_refusals.lock().unwrap_or_else(|p| p.into_inner()).entry(sale_id).or_default() += 1;
        self.flusher.call_once(|| {
            let gate = self.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(FLUSH_REFUSALS_EVERY).await;
                    gate.flush_refusals().await;
                }
            });
        });
        Ok(())
    }

    async fn refusals(&self, sale_id: i64) -> Result<i64, StoreError> {
        // This node's own count is exact; another node's may be one flush behind.
        self.flush_refusals().await;
        Ok(self.pool.get::<Option<i64>, _>(self.keys(sale_id).refused).await?.unwrap_or(0))
    }
}
