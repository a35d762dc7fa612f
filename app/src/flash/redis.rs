//! The stock gate and waiting room in Redis: one Lua script (run by EVALSHA, reloaded on
//! NOSCRIPT) does each operation atomically. All keys of a sale share the hash tag `{sale:N}`
//! so they live on one cluster slot, and a buy (window, token, limit, stock, hold) is one
//! round trip.

use std::time::Duration;

use fred::clients::Pool;
use fred::interfaces::{KeysInterface, SortedSetsInterface};
use fred::types::Value;
use fred::types::scripts::Script;

use super::port::{ARRIVALS_FROM, Admission, Hold, Place, RoomAnswer, StockGate, TakeOutcome, Warm, WaitingRoom, new_hold_id};
use crate::store::{StoreError, now_ms};

/// KEYS: 1 remaining (string), 2 buyers (hash buyer → units held or bought), 3 holds (hash
/// hold → "qty|buyer|expiry"), 4 hold of (hash buyer → live hold), 5 meta (hash: starts, ends,
/// limit, secret, closed, round), 6 line (zset buyer → score), 7 admitted (hash buyer → token),
/// 8 admitted until (zset buyer → expiry ms), 9 draw (zset ticket → score), 10 arrivals.
/// ARGV[1] is the operation, ARGV[2] the node's clock in ms.
const GATE_LUA: &str = r#"
local op, now = ARGV[1], tonumber(ARGV[2])
local loaded = redis.call('EXISTS', KEYS[5]) == 1
local function meta(f) return redis.call('HGET', KEYS[5], f) end
local function live()
  return meta('closed') ~= '1' and now >= tonumber(meta('starts')) and now < tonumber(meta('ends'))
end
local function lapse()
  local gone = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', now)
  for _, b in ipairs(gone) do redis.call('HDEL', KEYS[7], b) end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now) end
end
local function place(buyer)
  local exp = redis.call('ZSCORE', KEYS[8], buyer)
  if exp and tonumber(exp) > now then return {1, redis.call('HGET', KEYS[7], buyer), tonumber(exp)} end
  local rank = redis.call('ZRANK', KEYS[6], buyer)
  if rank then return {2, rank + 1} end
  return {3}
end
local function split(data)
  local a = string.find(data, '|', 1, true)
  local b = string.find(data, '|', a + 1, true)
  return tonumber(string.sub(data, 1, a - 1)), string.sub(data, a + 1, b - 1), string.sub(data, b + 1)
end
local function give_back(hold_id)
  local data = redis.call('HGET', KEYS[3], hold_id)
  if not data then return 0 end
  local qty, buyer = split(data)
  redis.call('HDEL', KEYS[3], hold_id)
  if redis.call('HGET', KEYS[4], buyer) == hold_id then redis.call('HDEL', KEYS[4], buyer) end
  redis.call('INCRBY', KEYS[1], qty)
  if redis.call('HINCRBY', KEYS[2], buyer, -qty) <= 0 then redis.call('HDEL', KEYS[2], buyer) end
  return 1
end

if op == 'warm' then
  -- ARGV[3] = '1' replaces the figures of a loaded sale (edited before its start), keeping its line.
  if loaded and ARGV[3] ~= '1' then return 0 end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  if not loaded then redis.call('HSET', KEYS[5], 'closed', '0', 'round', '0') end
  redis.call('HSET', KEYS[5], 'starts', ARGV[4], 'ends', ARGV[5], 'limit', ARGV[6], 'secret', ARGV[7])
  redis.call('SET', KEYS[1], ARGV[8])
  local nbought, i = tonumber(ARGV[9]), 10
  for _ = 1, nbought do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end
  while i <= #ARGV do
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2] .. '|' .. ARGV[i + 3])
    redis.call('HSET', KEYS[4], ARGV[i + 2], ARGV[i])
    i = i + 4
  end
  return 1
elseif op == 'close' then
  if loaded then redis.call('HSET', KEYS[5], 'closed', '1') end
  redis.call('DEL', KEYS[6], KEYS[7], KEYS[8])
  return 1
elseif op == 'take' then
  if not loaded then return {6} end
  if not live() then return {5} end
  local buyer, token, qty = ARGV[3], ARGV[4], tonumber(ARGV[5])
  lapse()
  if redis.call('HGET', KEYS[7], buyer) ~= token then return {4} end
  local holding = redis.call('HGET', KEYS[4], buyer)
  if holding then return {7, holding} end
  local limit = tonumber(meta('limit'))
  local already = tonumber(redis.call('HGET', KEYS[2], buyer) or '0')
  if already + qty > limit then return {2, already, limit} end
  local remaining = tonumber(redis.call('GET', KEYS[1]) or '0')
  if remaining < qty then return {1, remaining} end
  redis.call('DECRBY', KEYS[1], qty)
  redis.call('HINCRBY', KEYS[2], buyer, qty)
  redis.call('HSET', KEYS[3], ARGV[6], qty .. '|' .. buyer .. '|' .. ARGV[7])
  redis.call('HSET', KEYS[4], buyer, ARGV[6])
  return {0, remaining - qty}
elseif op == 'release' then
  return give_back(ARGV[3])
elseif op == 'commit' then
  local data = redis.call('HGET', KEYS[3], ARGV[3])
  if not data then return 0 end
  local _, buyer = split(data)
  redis.call('HDEL', KEYS[3], ARGV[3])
  if redis.call('HGET', KEYS[4], buyer) == ARGV[3] then redis.call('HDEL', KEYS[4], buyer) end
  return 1
elseif op == 'extend' then
  local data = redis.call('HGET', KEYS[3], ARGV[3])
  if not data then return 0 end
  local qty, buyer = split(data)
  redis.call('HSET', KEYS[3], ARGV[3], qty .. '|' .. buyer .. '|' .. ARGV[4])
  return 1
elseif op == 'join' then
  if not loaded then return {5} end
  if meta('closed') == '1' or now >= tonumber(meta('ends')) then return {4} end
  local buyer, ticket, draw = ARGV[3], ARGV[4], ARGV[5]
  local p = place(buyer)
  if p[1] ~= 3 then return p end
  local score
  if draw ~= '' then
    redis.call('ZADD', KEYS[9], draw, ticket)
    score = draw
  else
    score = tonumber(ARGV[6]) + redis.call('INCR', KEYS[10])
  end
  redis.call('ZADD', KEYS[6], score, buyer)
  return place(buyer)
elseif op == 'place' then
  if not loaded then return {5} end
  if meta('closed') == '1' then return {4} end
  return place(ARGV[3])
elseif op == 'leave' then
  local n = redis.call('ZREM', KEYS[6], ARGV[3]) + redis.call('ZREM', KEYS[8], ARGV[3])
  redis.call('HDEL', KEYS[7], ARGV[3])
  return n
elseif op == 'admit' then
  if not loaded then return {0, 0, 0, 0} end
  local remaining = tonumber(redis.call('GET', KEYS[1]) or '0')
  local second = math.floor(now / 1000)
  if not live() or tonumber(meta('round')) >= second then
    return {0, 0, redis.call('ZCARD', KEYS[6]), remaining}
  end
  redis.call('HSET', KEYS[5], 'round', second)
  lapse()
  local admitted = 0
  if remaining > 0 then
    local secret, exp = meta('secret'), ARGV[4]
    local popped = redis.call('ZPOPMIN', KEYS[6], tonumber(ARGV[3]))
    for i = 1, #popped, 2 do
      local buyer = popped[i]
      redis.call('HSET', KEYS[7], buyer, redis.sha1hex(secret .. ':' .. buyer .. ':' .. exp))
      redis.call('ZADD', KEYS[8], exp, buyer)
      admitted = admitted + 1
    end
  end
  return {1, admitted, redis.call('ZCARD', KEYS[6]), remaining}
end
return redis.error_reply('unknown gate op ' .. tostring(op))
"#;

#[derive(Clone)]
pub struct RedisStockGate {
    pool: Pool,
    prefix: String,
    script: Script,
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
        Self { pool, prefix: prefix.into(), script: Script::from_lua(GATE_LUA) }
    }

    fn keys(&self, sale_id: i64) -> Vec<String> {
        let base = format!("{}{{sale:{sale_id}}}", self.prefix);
        ["remaining", "buyers", "holds", "holdof", "meta", "line", "admitted", "admitted_until", "draw", "arrivals"]
            .iter()
            .map(|k| format!("{base}:{k}"))
            .collect()
    }

    fn refused_key(&self, sale_id: i64) -> String {
        format!("{}{{sale:{sale_id}}}:refused", self.prefix)
    }

    async fn run<R: fred::types::FromValue>(&self, sale_id: i64, op: &str, args: Vec<String>) -> Result<R, StoreError> {
        let mut argv = Vec::with_capacity(args.len() + 2);
        argv.push(op.to_owned());
        argv.push(now_ms().to_string());
        argv.extend(args);
        Ok(self.script.evalsha_with_reload(self.pool.next(), self.keys(sale_id), argv).await?)
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
            args.extend([h.id.clone(), h.quantity.to_string(), h.buyer.clone(), h.expires_at_ms.to_string()]);
        }
        let n: i64 = self.run(sale_id, "warm", args).await?;
        Ok(n == 1)
    }

    async fn close(&self, sale_id: i64) -> Result<(), StoreError> {
        let _: i64 = self.run(sale_id, "close", vec![]).await?;
        Ok(())
    }

    async fn remaining(&self, sale_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(self.pool.get::<Option<i64>, _>(&self.keys(sale_id)[0]).await?)
    }

    async fn try_take(&self, sale_id: i64, buyer: &str, token: &str, quantity: i64, hold_for: Duration) -> Result<TakeOutcome, StoreError> {
        let id = new_hold_id();
        let expires_at_ms = now_ms() + hold_for.as_millis() as i64;
        let args = vec![buyer.to_owned(), token.to_owned(), quantity.to_string(), id.clone(), expires_at_ms.to_string()];
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
            7 => TakeOutcome::AlreadyHolding { hold_id: text(reply.get(1))? },
            other => return Err(StoreError::Corrupt(format!("stock gate answered {other}"))),
        })
    }

    async fn release(&self, sale_id: i64, hold_id: &str) -> Result<bool, StoreError> {
        let n: i64 = self.run(sale_id, "release", vec![hold_id.into()]).await?;
        Ok(n == 1)
    }

    async fn commit(&self, sale_id: i64, hold_id: &str) -> Result<bool, StoreError> {
        let n: i64 = self.run(sale_id, "commit", vec![hold_id.into()]).await?;
        Ok(n == 1)
    }

    async fn extend(&self, sale_id: i64, hold_id: &str, expires_at_ms: i64) -> Result<bool, StoreError> {
        let n: i64 = self.run(sale_id, "extend", vec![hold_id.into(), expires_at_ms.to_string()]).await?;
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
        Ok(self.pool.zrange(&self.keys(sale_id)[8], 0, -1, None, false, None, false).await?)
    }

    async fn waiting(&self, sale_id: i64) -> Result<i64, StoreError> {
        Ok(self.pool.zcard(&self.keys(sale_id)[5]).await?)
    }

    async fn note_refusal(&self, sale_id: i64) -> Result<(), StoreError> {
        let _: i64 = self.pool.incr(&self.refused_key(sale_id)).await?;
        Ok(())
    }

    async fn refusals(&self, sale_id: i64) -> Result<i64, StoreError> {
        Ok(self.pool.get::<Option<i64>, _>(&self.refused_key(sale_id)).await?.unwrap_or(0))
    }
}
