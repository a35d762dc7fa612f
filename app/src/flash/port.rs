//! The ports of a flash sale's fast path (DESIGN §3, §5): the stock gate, where a buyer's claim
//! on sale stock is checked and taken atomically, and the waiting room in front of it. One
//! adapter implements both over the same state (in Redis: the keys of one sale, on one cluster
//! slot), so a buy checks the sale's window, the admission token, the buyer's limit and the
//! stock in one atomic step (one Lua round trip).

use std::time::Duration;

use crate::ids::HoldId;
use crate::store::StoreError;

/// A buyer's claim on `quantity` units of a sale, valid until `expires_at_ms`. It ends as an
/// order (`commit`) or goes back into stock (`release`) exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub id: HoldId,
    pub sale_id: i64,
    pub buyer: String,
    pub quantity: i64,
    pub expires_at_ms: i64,
}

/// What the gate needs to know of a sale to judge a buy on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleTerms {
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub per_buyer_limit: i64,
    /// Signs admission tokens; random per sale, never shown.
    pub token_secret: String,
}

/// The gate's state rebuilt from the database (after a start, a restart or a flush).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warm {
    pub terms: SaleTerms,
    /// allocated − sold − units in live holds that are not yet ordered.
    pub remaining: i64,
    /// Units each buyer holds or bought, for the per-buyer limit.
    pub bought: Vec<(String, i64)>,
    /// Holds that may still come back.
    pub holds: Vec<Hold>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TakeOutcome {
    Held { hold: Hold, remaining: i64 },
    /// The buyer already has a live hold on this sale (one at a time): that one.
    AlreadyHolding { hold_id: HoldId },
    SoldOut { remaining: i64 },
    /// The buyer already holds or bought `already` of at most `limit`.
    LimitReached { limit: i64, already: i64 },
    /// No valid admission token for this buyer (never admitted, or it lapsed).
    NotAdmitted,
    /// Before the start, after the end, or closed.
    NotLive,
    /// The gate has nothing on the sale (not warmed yet, or Redis was flushed).
    NotLoaded,
}

#[async_trait::async_trait]
pub trait StockGate: Send + Sync + 'static {
    /// Loads a sale from the database's figures unless it is loaded already (then false: a
    /// second node warming at the same moment changes nothing). `replace` overwrites the
    /// figures of a loaded sale (edited before its start) and keeps its line.
    async fn warm(&self, sale_id: i64, warm: &Warm, replace: bool) -> Result<bool, StoreError>;
    /// The sale is over (ended or cancelled): nothing more is taken or admitted.
    async fn close(&self, sale_id: i64) -> Result<(), StoreError>;
    async fn remaining(&self, sale_id: i64) -> Result<Option<i64>, StoreError>;
    /// Checks the sale's window, `buyer`'s admission `token`, their limit and the stock, and
    /// takes `quantity` units with a hold, in one atomic step.
    async fn try_take(&self, sale_id: i64, buyer: &str, token: &str, quantity: i64, hold_for: Duration) -> Result<TakeOutcome, StoreError>;
    /// Gives a hold's units back to stock. True only for the call that actually released it.
    async fn release(&self, sale_id: i64, hold_id: &HoldId) -> Result<bool, StoreError>;
    /// The hold became a paid order: its units stay sold. True only for the first call.
    async fn commit(&self, sale_id: i64, hold_id: &HoldId) -> Result<bool, StoreError>;
    /// Moves a live hold's expiry (its payment began).
    async fn extend(&self, sale_id: i64, hold_id: &HoldId, expires_at_ms: i64) -> Result<bool, StoreError>;
}

/// Where a shopper stands in a sale's waiting room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// `position` 1 is next to be let in.
    Waiting { position: i64 },
    /// Let in: the buy must carry `token` until `expires_at_ms`.
    Admitted { token: String, expires_at_ms: i64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomAnswer {
    Place(Place),
    /// Not in line (never joined, left, or the token lapsed).
    NotInLine,
    Closed,
    NotLoaded,
}

/// What one admission round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Admission {
    /// False when another node already ran this second's round (or the room is not loaded).
    pub ran: bool,
    pub admitted: i64,
    pub waiting: i64,
    pub remaining: i64,
}

/// Scores of the line: the pre-start draw sorts below every later arrival.
pub const ARRIVALS_FROM: u64 = 1 << 48;

#[async_trait::async_trait]
pub trait WaitingRoom: Send + Sync + 'static {
    /// Puts `buyer` in line once. Before the start `draw` is their place in the random order
    /// (below `ARRIVALS_FROM`) and `ticket` is recorded in the draw; afterwards (`draw` none)
    /// they queue in arrival order. Joining again answers the place they have.
    async fn join(&self, sale_id: i64, buyer: &str, ticket: &str, draw: Option<u64>) -> Result<RoomAnswer, StoreError>;
    async fn place(&self, sale_id: i64, buyer: &str) -> Result<RoomAnswer, StoreError>;
    /// Gives up the place (or the admission). True when there was one.
    async fn leave(&self, sale_id: i64, buyer: &str) -> Result<bool, StoreError>;
    /// Lets in up to `batch` from the front, each with a token valid `token_for`, at most once
    /// per second of the clock across every node, and only while units are left.
    async fn admit(&self, sale_id: i64, batch: i64, token_for: Duration) -> Result<Admission, StoreError>;
    /// The pre-start tickets in the order drawn.
    async fn draw(&self, sale_id: i64) -> Result<Vec<String>, StoreError>;
    /// Shoppers waiting (not yet let in).
    async fn waiting(&self, sale_id: i64) -> Result<i64, StoreError>;
    /// Counts a request of this sale turned away by a rate limit (for the fairness report).
    async fn note_refusal(&self, sale_id: i64) -> Result<(), StoreError>;
    async fn refusals(&self, sale_id: i64) -> Result<i64, StoreError>;
}

/// The admission token of `buyer` let in until `expires_at_ms`: SHA-1 over the sale's secret,
/// the buyer and the expiry (Redis computes the same in Lua with `redis.sha1hex`).
pub(super) fn admission_token(secret: &str, buyer: &str, expires_at_ms: i64) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(format!("{secret}:{buyer}:{expires_at_ms}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
