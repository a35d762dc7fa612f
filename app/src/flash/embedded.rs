//! The stock gate and waiting room of the embedded default: in-process, one mutex over every
//! sale. Every operation is a few map updates, far cheaper than the database write that
//! follows a successful take; the same contract suite as the Redis adapter holds it to the
//! same rules.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use super::port::{
    ARRIVALS_FROM, Admission, Hold, Place, RoomAnswer, SaleTerms, StockGate, TakeOutcome, Warm, WaitingRoom, admission_token,
};
use crate::ids::HoldId;
use crate::store::{StoreError, now_ms};

#[derive(Default)]
pub struct MemoryStockGate {
    sales: Mutex<HashMap<i64, SaleGate>>,
    refused: Refusals,
}

struct SaleGate {
    terms: SaleTerms,
    closed: bool,
    remaining: i64,
    per_buyer: HashMap<String, i64>,
    holds: HashMap<HoldId, Hold>,
    hold_of: HashMap<String, HoldId>,
    /// The line: (score, buyer) in order, and each buyer's score.
    line: BTreeSet<(u64, String)>,
    score_of: HashMap<String, u64>,
    arrivals: u64,
    /// Buyer → (token, expiry ms).
    admitted: HashMap<String, (String, i64)>,
    draw: BTreeSet<(u64, String)>,
    last_round: i64,
}

/// Refusals by rate limits, per sale (kept apart: counted even before the gate is loaded).
#[derive(Default)]
struct Refusals(Mutex<HashMap<i64, i64>>);

impl SaleGate {
    fn give_back(&mut self, hold_id: &HoldId) -> bool {
        let Some(hold) = self.holds.remove(hold_id) else { return false };
        self.hold_of.remove(&hold.buyer);
        self.remaining += hold.quantity;
        if let Some(n) = self.per_buyer.get_mut(&hold.buyer) {
            *n -= hold.quantity;
            if *n <= 0 {
                self.per_buyer.remove(&hold.buyer);
            }
        }
        true
    }

    fn live(&self, now: i64) -> bool {
        !self.closed && now >= self.terms.starts_at_ms && now < self.terms.ends_at_ms
    }

    fn lapse_tokens(&mut self, now: i64) {
        self.admitted.retain(|_, (_, exp)| *exp > now);
    }

    fn place(&mut self, buyer: &str, now: i64) -> RoomAnswer {
        self.lapse_tokens(now);
        if let Some((token, exp)) = self.admitted.get(buyer) {
            return RoomAnswer::Place(Place::Admitted { token: token.clone(), expires_at_ms: *exp });
        }
        match self.score_of.get(buyer) {
            Some(score) => {
                let ahead = self.line.range(..(*score, buyer.to_owned())).count() as i64;
                RoomAnswer::Place(Place::Waiting { position: ahead + 1 })
            }
            None => RoomAnswer::NotInLine,
        }
    }
}

impl MemoryStockGate {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_sale<T>(&self, sale_id: i64, f: impl FnOnce(Option<&mut SaleGate>) -> T) -> T {
        let mut sales = self.sales.lock().expect("stock gate mutex poisoned: a holder panicked");
        f(sales.get_mut(&sale_id))
    }
}

#[async_trait::async_trait]
impl StockGate for MemoryStockGate {
    async fn warm(&self, sale_id: i64, warm: &Warm, replace: bool) -> Result<bool, StoreError> {
        let mut sales = self.sales.lock().expect("stock gate mutex poisoned: a holder panicked");
        let holds: HashMap<HoldId, Hold> = warm.holds.iter().map(|h| (h.id.clone(), h.clone())).collect();
        if let Some(s) = sales.get_mut(&sale_id) {
            if !replace {
                return Ok(false);
            }
            s.terms = warm.terms.clone();
            s.remaining = warm.remaining.max(0);
            s.per_buyer = warm.bought.iter().cloned().collect();
            s.hold_of = holds.values().map(|h| (h.buyer.clone(), h.id.clone())).collect();
            s.holds = holds;
            return Ok(true);
        }
        sales.insert(
            sale_id,
            SaleGate {
                terms: warm.terms.clone(),
                closed: false,
                remaining: warm.remaining.max(0),
                per_buyer: warm.bought.iter().cloned().collect(),
                hold_of: holds.values().map(|h| (h.buyer.clone(), h.id.clone())).collect(),
                holds,
                line: BTreeSet::new(),
                score_of: HashMap::new(),
                arrivals: 0,
                admitted: HashMap::new(),
                draw: BTreeSet::new(),
                last_round: 0,
            },
        );
        Ok(true)
    }

    async fn close(&self, sale_id: i64) -> Result<(), StoreError> {
        self.with_sale(sale_id, |s| {
            if let Some(s) = s {
                s.closed = true;
                s.line.clear();
                s.score_of.clear();
                s.admitted.clear();
            }
        });
        Ok(())
    }

    async fn remaining(&self, sale_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(self.with_sale(sale_id, |s| s.map(|s| s.remaining)))
    }

    async fn try_take(&self, sale_id: i64, buyer: &str, token: &str, quantity: i64, hold_for: Duration) -> Result<TakeOutcome, StoreError> {
        let now = now_ms();
        Ok(self.with_sale(sale_id, |sale| {
            let Some(sale) = sale else { return TakeOutcome::NotLoaded };
            if !sale.live(now) {
                return TakeOutcome::NotLive;
            }
            sale.lapse_tokens(now);
            if !sale.admitted.get(buyer).is_some_and(|(t, _)| t == token) {
                return TakeOutcome::NotAdmitted;
            }
            if let Some(id) = sale.hold_of.get(buyer) {
                return TakeOutcome::AlreadyHolding { hold_id: id.clone() };
            }
            let limit = sale.terms.per_buyer_limit;
            let already = sale.per_buyer.get(buyer).copied().unwrap_or(0);
            if already + quantity > limit {
                return TakeOutcome::LimitReached { limit, already };
            }
            if sale.remaining < quantity {
                return TakeOutcome::SoldOut { remaining: sale.remaining };
            }
            sale.remaining -= quantity;
            *sale.per_buyer.entry(buyer.to_owned()).or_default() += quantity;
            let hold = Hold {
                id: HoldId::random(),
                sale_id,
                buyer: buyer.to_owned(),
                quantity,
                expires_at_ms: now + hold_for.as_millis() as i64,
            };
            sale.hold_of.insert(buyer.to_owned(), hold.id.clone());
            sale.holds.insert(hold.id.clone(), hold.clone());
            TakeOutcome::Held { hold, remaining: sale.remaining }
        }))
    }

    async fn release(&self, sale_id: i64, hold_id: &HoldId) -> Result<bool, StoreError> {
        Ok(self.with_sale(sale_id, |s| s.is_some_and(|s| s.give_back(hold_id))))
    }

    async fn commit(&self, sale_id: i64, hold_id: &HoldId) -> Result<bool, StoreError> {
        Ok(self.with_sale(sale_id, |s| {
            let Some(s) = s else { return false };
            match s.holds.remove(hold_id) {
                Some(h) => {
                    s.hold_of.remove(&h.buyer);
                    true
                }
                None => false,
            }
        }))
    }

    async fn extend(&self, sale_id: i64, hold_id: &HoldId, expires_at_ms: i64) -> Result<bool, StoreError> {
        Ok(self.with_sale(sale_id, |s| {
            let Some(h) = s.and_then(|s| s.holds.get_mut(hold_id)) else { return false };
            h.expires_at_ms = expires_at_ms;
            true
        }))
    }
}

#[async_trait::async_trait]
impl WaitingRoom for MemoryStockGate {
    async fn join(&self, sale_id: i64, buyer: &str, ticket: &str, draw: Option<u64>) -> Result<RoomAnswer, StoreError> {
        let now = now_ms();
        Ok(self.with_sale(sale_id, |s| {
            let Some(s) = s else { return RoomAnswer::NotLoaded };
            if s.closed || now >= s.terms.ends_at_ms {
                return RoomAnswer::Closed;
            }
            let answer = s.place(buyer, now);
            if answer != RoomAnswer::NotInLine {
                return answer;
            }
            let score = match draw {
                Some(d) => {
                    s.draw.insert((d, ticket.to_owned()));
                    d
                }
                None => {
                    s.arrivals += 1;
                    ARRIVALS_FROM + s.arrivals
                }
            };
            s.line.insert((score, buyer.to_owned()));
            s.score_of.insert(buyer.to_owned(), score);
            s.place(buyer, now)
        }))
    }

    async fn place(&self, sale_id: i64, buyer: &str) -> Result<RoomAnswer, StoreError> {
        let now = now_ms();
        Ok(self.with_sale(sale_id, |s| match s {
            None => RoomAnswer::NotLoaded,
            Some(s) if s.closed => RoomAnswer::Closed,
            Some(s) => s.place(buyer, now),
        }))
    }

    async fn leave(&self, sale_id: i64, buyer: &str) -> Result<bool, StoreError> {
        Ok(self.with_sale(sale_id, |s| {
            let Some(s) = s else { return false };
            let admitted = s.admitted.remove(buyer).is_some();
            let waiting = match s.score_of.remove(buyer) {
                Some(score) => s.line.remove(&(score, buyer.to_owned())),
                None => false,
            };
            admitted || waiting
        }))
    }

    async fn admit(&self, sale_id: i64, batch: i64, token_for: Duration) -> Result<Admission, StoreError> {
        let now = now_ms();
        Ok(self.with_sale(sale_id, |s| {
            let Some(s) = s else { return Admission::default() };
            let second = now / 1000;
            if !s.live(now) || s.last_round >= second {
                return Admission { ran: false, admitted: 0, waiting: s.line.len() as i64, remaining: s.remaining };
            }
            s.last_round = second;
            s.lapse_tokens(now);
            let mut admitted = 0;
            if s.remaining > 0 {
                let expires = now + token_for.as_millis() as i64;
                while admitted < batch {
                    let Some((_, buyer)) = s.line.pop_first() else { break };
                    s.score_of.remove(&buyer);
                    let token = admission_token(&s.terms.token_secret, &buyer, expires);
                    s.admitted.insert(buyer, (token, expires));
                    admitted += 1;
                }
            }
            Admission { ran: true, admitted, waiting: s.line.len() as i64, remaining: s.remaining }
        }))
    }

    async fn draw(&self, sale_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(self.with_sale(sale_id, |s| s.map(|s| s.draw.iter().map(|(_, t)| t.clone()).collect()).unwrap_or_default()))
    }

    async fn waiting(&self, sale_id: i64) -> Result<i64, StoreError> {
        Ok(self.with_sale(sale_id, |s| s.map(|s| s.line.len() as i64).unwrap_or(0)))
    }

    async fn note_refusal(&self, sale_id: i64) -> Result<(), StoreError> {
        *self.refused.0.lock().expect("refusals mutex poisoned").entry(sale_id).or_default() += 1;
        Ok(())
    }

    async fn refusals(&self, sale_id: i64) -> Result<i64, StoreError> {
        Ok(self.refused.0.lock().expect("refusals mutex poisoned").get(&sale_id).copied().unwrap_or(0))
    }
}
