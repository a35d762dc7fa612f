//! Flash sales (DESIGN §5): a seller schedules a sale of one variant; its allocation moves out of
//! ordinary stock when it is scheduled and what is unsold goes back once at the end. The stock
//! gate port is the one place a buyer's claim on sale stock is checked and taken atomically; the
//! database's `sold <= allocated` stays the final word.

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// Buyers let in per second when the seller does not say.
pub const DEFAULT_ADMISSION_RATE: i64 = 50;
/// How long a hold lasts, seconds, when `SELLOUT_SALE_HOLD_SECONDS` does not say.
pub const HOLD_SECONDS: i64 = 300;
/// How long an admission token is valid, seconds.
pub const TOKEN_SECONDS: i64 = 300;
/// The most units one buy may take.
pub const MAX_BUY_QUANTITY: i64 = 100;
/// The most a sale may allocate, as for a variant's stock.
pub const MAX_ALLOCATION: i64 = 1_000_000;

/// A sale's live figures for its seller's dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SaleDashboard {
    pub sale: SellerSale,
    /// Units in holds not yet paid.
    pub held: i64,
    /// Shoppers waiting in line.
    pub waiting: i64,
}

/// After a sale: how fairly it went (`GET /api/v1/seller/sales/{id}/report`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FairnessReport {
    pub sale_id: i64,
    pub sold: i64,
    pub allocated: i64,
    /// Shoppers who paid for units.
    pub distinct_buyers: i64,
    /// `[units, shoppers]`: how many shoppers bought how many units each.
    pub units_per_buyer: Vec<(i64, i64)>,
    /// Seconds from the start until the last unit was taken (none if it did not sell out).
    pub sold_out_after_seconds: Option<i64>,
    /// Holds that lapsed, failed or were cancelled, and their units offered again while the
    /// sale ran.
    pub holds_released: i64,
    pub units_reoffered: i64,
    /// Join and buy requests turned away by rate limits.
    pub rate_limited: i64,
}

/// What a seller sends to schedule a sale (`POST /api/v1/seller/sales`). Times are RFC 3339.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SaleInput {
    pub sku: String,
    /// The sale price, below the variant's regular price, in its currency.
    pub price: Money,
    pub starts_at: String,
    pub ends_at: String,
    /// Units moved out of ordinary stock into the sale.
    pub allocation: i64,
    #[serde(default = "one")]
    pub per_buyer_limit: i64,
    /// Buyers the waiting room lets in per second.
    #[serde(default = "default_admission_rate")]
    pub admission_rate: i64,
    /// Only accounts that existed when the sale was announced (scheduled) may join its line:
    /// accounts made by the thousand once the sale is known hold no places.
    #[serde(default)]
    pub existing_accounts_only: bool,
    /// Only shoppers who confirmed their email address (the link sign-up mails) may join.
    #[serde(default)]
    pub verified_email_only: bool,
}

fn one() -> i64 {
    1
}

fn default_admission_rate() -> i64 {
    DEFAULT_ADMISSION_RATE
}

/// Where a sale stands for a shopper, from its stored status, the clock and what is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SaleState {
    Upcoming,
    Live,
    SoldOut,
    Ended,
    Cancelled,
}

/// A sale as shoppers see it (`GET /api/v1/sales/{id}`). `server_time` lets a page count down
/// by the server's clock, not the browser's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SaleView {
    pub sale_id: i64,
    pub product_id: i64,
    pub title: String,
    pub sku: String,
    pub state: SaleState,
    pub price: Money,
    pub regular_price: Money,
    pub allocated: i64,
    pub remaining: i64,
    pub per_buyer_limit: i64,
    pub starts_at: String,
    pub ends_at: String,
    pub server_time: String,
    /// Seconds from `server_time` to the start (negative once started), for a countdown.
    pub seconds_to_start: i64,
    /// Seconds from `server_time` to the end.
    pub seconds_to_end: i64,
    /// SHA-256 (hex) of the secret seed the pre-start order of the waiting room is drawn from,
    /// published before the start.
    pub draw_seed_sha256: String,
    /// The seed itself, revealed once the sale has started (see `GET /api/v1/sales/{id}/draw`).
    pub draw_seed: Option<String>,
    /// When the sale was announced (scheduled).
    pub announced_at: String,
    /// Only accounts made before `announced_at` may join.
    pub existing_accounts_only: bool,
    /// Only shoppers who confirmed their email address may join.
    pub verified_email_only: bool,
}

/// Why a shopper may not join a sale's line (the seller's options in `SaleInput`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Ineligible {
    /// The account was made after the sale was announced (`announced_at`, UTC).
    AccountTooNew { announced_at: String },
    /// The sale takes confirmed addresses only and `email` is not confirmed yet.
    EmailNotConfirmed { email: String },
}

impl Ineligible {
    pub fn message(&self) -> String {
        match self {
            Ineligible::AccountTooNew { announced_at } => format!(
                "This sale is only for accounts that existed when it was announced ({announced_at} UTC); yours was made later, so it cannot join this line."
            ),
            Ineligible::EmailNotConfirmed { email } => format!(
                "This sale is only for shoppers who confirmed their email address, and {email} is not confirmed yet. Open the link we mailed you when you signed up, then join."
            ),
        }
    }
}

/// What a shopper already has of a sale once it reaches their limit: the sale page offers no
/// join or buy, and a join answers 409 with `message()`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GotYours {
    /// Units held, ordered or paid (at least the sale's limit per buyer).
    pub quantity: i64,
    /// The latest of their holds, and its order once checked out.
    pub hold_id: crate::ids::HoldId,
    pub order_id: Option<i64>,
    /// Every unit is paid for.
    pub paid: bool,
}

impl GotYours {
    /// Where the shopper goes on: the order, or the checkout of the hold.
    pub fn path(&self) -> String {
        match self.order_id {
            Some(order) => format!("/orders/{order}"),
            None => format!("/checkout?hold={}", crate::ui::forms::url_encode(self.hold_id.as_str())),
        }
    }

    pub fn message(&self) -> String {
        let units = if self.quantity == 1 { "your unit".to_owned() } else { format!("your {} units", self.quantity) };
        match self.order_id {
            Some(order) if self.paid => format!("You got yours: order #{order} has {units} of this sale, paid. That is the limit per shopper, so there is no place in line for you."),
            Some(order) => format!("You got yours: order #{order} has {units} of this sale; pay for it on the order's page. That is the limit per shopper, so there is no place in line for you."),
            None => format!(
                "You got yours: {units} of this sale {} held for you; check out before the hold ends. That is the limit per shopper, so there is no place in line for you.",
                if self.quantity == 1 { "is" } else { "are" }
            ),
        }
    }
}

/// A shopper's place in a sale's waiting room (`POST /api/v1/sales/{id}/queue`; calling it
/// again is the way to poll without a socket).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QueueView {
    pub sale_id: i64,
    /// 1 is next to be let in; 0 once admitted.
    pub position: i64,
    /// Seconds until this place is let in, at the sale's admission rate.
    pub eta_seconds: i64,
    pub admitted: bool,
    /// The admission token the buy must carry (while admitted).
    pub token: Option<String>,
    /// When the token lapses (RFC 3339).
    pub token_expires_at: Option<String>,
    /// Units left: the honest odds beside the position.
    pub remaining: i64,
    pub state: SaleState,
    /// This shopper's ticket: with the revealed seed, anyone can recompute the pre-start order.
    pub ticket: String,
}

/// `POST /api/v1/sales/{id}/register`: "Remind me", optionally with an express buy's details
/// (both or neither): an address of the shopper's book and a saved card's payment method id
/// (Stripe: from a SetupIntent confirmed with Stripe.js, see `POST /api/v1/payment-methods/setup`;
/// the demo gateway: a test card id). Registering again with details replaces them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    #[serde(default)]
    pub shipping_address_id: Option<i64>,
    #[serde(default)]
    pub payment_method_id: Option<String>,
}

/// A shopper's registration for a sale, as their pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegistrationView {
    pub sale_id: i64,
    /// Set when an express buy is saved: admitted, the shopper buys in one step.
    pub express: Option<ExpressView>,
}

/// What an express buy will use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExpressView {
    pub shipping_address_id: i64,
    /// "Visa •••• 4242".
    pub card: String,
}

/// `POST /api/v1/sales/{id}/buy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BuyRequest {
    pub token: String,
    #[serde(default = "one")]
    pub quantity: i64,
}

/// Units of a sale held for the shopper until `expires_at`; check out with `hold_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HoldView {
    pub hold_id: crate::ids::HoldId,
    pub sale_id: i64,
    pub sku: String,
    pub quantity: i64,
    /// The sale price of one unit.
    pub price: Money,
    pub expires_at: String,
    pub remaining: i64,
    /// Set once the hold is checked out: by an express buy, at once.
    pub order_id: Option<i64>,
    /// An express buy's order status: `paid`, or `pending` when the card needs the bank's
    /// check (`client_secret`, for Stripe.js; the order page offers it) or was declined
    /// (`message`; the order page takes another card while the hold lasts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_status: Option<crate::states::OrderStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The pre-start draw of a sale's waiting room (`GET /api/v1/sales/{id}/draw`). Before the
/// start only the seed's SHA-256; after it the seed and every pre-start ticket in the order
/// drawn. A ticket is SHA-256(seed ":" user id) in hex; the order sorts tickets ascending (by
/// their first 12 hex digits, then the ticket), so anyone can check that the seed matches the
/// published hash, that their ticket follows from the seed, and where it falls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DrawView {
    pub sale_id: i64,
    pub seed_sha256: String,
    pub seed: Option<String>,
    pub tickets: Vec<String>,
    /// The signed-in shopper's ticket and place in the draw, if they joined before the start.
    pub your_ticket: Option<String>,
    pub your_place: Option<i64>,
}

impl SaleState {
    /// The shopper's words for it.
    pub fn label(self) -> &'static str {
        match self {
            SaleState::Upcoming => "Coming soon",
            SaleState::Live => "Live now",
            SaleState::SoldOut => "Sold out",
            SaleState::Ended => "Ended",
            SaleState::Cancelled => "Cancelled",
        }
    }
}

/// "2 h 05 min", "3 min 20 s", "45 s": a wait in words for a countdown.
pub fn wait_text(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {sec:02} s")
    } else {
        format!("{sec} s")
    }
}

/// A variant a seller may put on sale, as the sale form lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantChoice {
    pub sku: String,
    /// "Nova Lamp: navy / M (€49.99)".
    pub label: String,
}

/// A sale as its seller sees it: the shopper's view plus what only the seller manages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerSale {
    #[serde(flatten)]
    pub sale: SaleView,
    pub sold: i64,
    pub admission_rate: i64,
    pub seller_id: i64,
    /// While this sale is live the shop's pages go without recommendations, reviews and the
    /// wishlist (`PUT /api/v1/seller/sales/{id}/extras`).
    pub extras_off: bool,
}

/// The seller's switch for the extras during a sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExtrasSwitch {
    pub extras_off: bool,
}

#[cfg(feature = "hydrate")]
pub mod live;
pub mod admin;
pub mod pages;
pub mod server_fns;
pub use server_fns::*;

#[cfg(feature = "ssr")]
pub mod embedded;
#[cfg(feature = "ssr")]
pub mod port;
#[cfg(feature = "ssr")]
pub mod redis;
#[cfg(feature = "ssr")]
pub mod service;

#[cfg(feature = "ssr")]
pub use embedded::MemoryStockGate;
#[cfg(feature = "ssr")]
pub use port::{Admission, Hold, Place, RoomAnswer, SaleTerms, StockGate, TakeOutcome, Warm, WaitingRoom};
#[cfg(feature = "ssr")]
pub use redis::RedisStockGate;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_words() {
        assert_eq!(wait_text(45), "45 s");
        assert_eq!(wait_text(200), "3 min 20 s");
        assert_eq!(wait_text(3600 + 5 * 60), "1 h 05 min");
        assert_eq!(wait_text(2 * 86_400 + 3 * 3600), "2 d 3 h");
        assert_eq!(wait_text(-5), "0 s", "a start that has passed is no negative wait");
    }
}
