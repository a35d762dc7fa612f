//! The life cycles of products, orders, payments, reservations and flash sales as types. Each is stored as
//! the same text the database's CHECK constraints list (SeaORM `DeriveActiveEnum`), crosses the
//! wire as that text (serde), and is matched exhaustively: a typo no longer compiles. Ground
//! floor: used by `db/` and every area, importing none.

use serde::{Deserialize, Serialize};

/// Declares a state enum with its stored text; `as_str` gives that text back.
macro_rules! states {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum, utoipa::ToSchema))]
        #[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* #[cfg_attr(feature = "ssr", sea_orm(string_value = $text))] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and serialised) text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

states! {
    /// A product: a `Draft` shoppers do not see, `Active` in the storefront and in search,
    /// `Archived` (withdrawn for good, kept for order history).
    ProductStatus {
        Draft = "draft",
        Active = "active",
        Archived = "archived",
    }
}

impl Default for ProductStatus {
    fn default() -> Self {
        ProductStatus::Draft
    }
}

impl ProductStatus {
    /// The seller's words for it.
    pub fn label(self) -> &'static str {
        match self {
            ProductStatus::Draft => "Draft",
            ProductStatus::Active => "Published",
            ProductStatus::Archived => "Archived",
        }
    }

    /// A status as a seller or a client sends it.
    pub fn parse(s: &str) -> Result<Self, UnknownStatus> {
        ProductStatus::ALL.iter().copied().find(|v| v.as_str() == s.trim()).ok_or_else(|| UnknownStatus(s.trim().to_owned()))
    }
}

/// A product status that is not one of ours.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("status must be draft, active or archived (got \"{0}\")")]
pub struct UnknownStatus(pub String);

states! {
    /// An order: created `Pending` under the client's idempotency key, then `Paid`, `Shipped`,
    /// `Delivered`; or `Cancelled`, `Refunded`, `Expired` (its reservation ran out unpaid).
    OrderStatus {
        Pending = "pending",
        Paid = "paid",
        Shipped = "shipped",
        Delivered = "delivered",
        Cancelled = "cancelled",
        Refunded = "refunded",
        Expired = "expired",
    }
}

impl OrderStatus {
    /// The shopper's words for it.
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Pending => "Awaiting payment",
            OrderStatus::Paid => "Paid",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Delivered => "Delivered",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Refunded => "Refunded",
            OrderStatus::Expired => "Expired",
        }
    }

    /// Paid for and not given back: what counts as a purchase (verified reviews, fulfilment).
    pub fn is_purchase(self) -> bool {
        matches!(self, OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered)
    }
}

states! {
    /// One payment attempt: `Created` (recorded before the provider is asked) → `Authorized`
    /// → `Captured` → `Settled`, or → `Voided` / `Refunded` / `Failed`.
    PaymentState {
        Created = "created",
        Authorized = "authorized",
        Captured = "captured",
        Settled = "settled",
        Voided = "voided",
        Refunded = "refunded",
        Failed = "failed",
    }
}

impl PaymentState {
    /// How far along a payment is. Webhooks only ever move a payment to a higher rank, so late
    /// and repeated deliveries cannot undo anything; a later success beats an earlier failure
    /// of the same intent.
    pub fn rank(self) -> u8 {
        match self {
            PaymentState::Created => 0,
            PaymentState::Failed => 1,
            PaymentState::Authorized => 2,
            PaymentState::Captured => 3,
            PaymentState::Settled => 4,
            PaymentState::Voided | PaymentState::Refunded => 5,
        }
    }
}

states! {
    /// Stock held for an order: `Held` until paid (`Committed`: sold) or given back (`Released`).
    /// Each move is a conditional update on the current state, so stock moves exactly once.
    ReservationState {
        Held = "held",
        Committed = "committed",
        Released = "released",
    }
}

states! {
    /// A flash sale: `Scheduled` (editable), `Active` from its start, `Ended` at its end or when
    /// ended early, `Cancelled` before its start.
    SaleStatus {
        Scheduled = "scheduled",
        Active = "active",
        Ended = "ended",
        Cancelled = "cancelled",
    }
}

states! {
    /// Units of a sale handed to a shopper by the stock gate: `Held` until checked out
    /// (`Ordered`: counted in the sale's `sold`), `Paid`, or given back (`Released`) once.
    HoldState {
        Held = "held",
        Ordered = "ordered",
        Paid = "paid",
        Released = "released",
    }
}

states! {
    /// What an account may do: shop, also sell (its own shop), or everything (an admin).
    Role {
        Shopper = "shopper",
        Seller = "seller",
        Admin = "admin",
    }
}

states! {
    /// What reconciliation found at the payment provider: an intent of ours it could not match
    /// and cancelled (or could not cancel, or found already captured), or one whose amount or
    /// state disagrees with our payment.
    FindingKind {
        OrphanCancelled = "orphan_cancelled",
        Orphan = "orphan",
        OrphanCaptured = "orphan_captured",
        AmountMismatch = "amount_mismatch",
        StateMismatch = "state_mismatch",
    }
}

impl FindingKind {
    /// An admin's words for it.
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::OrphanCancelled => "orphan cancelled",
            FindingKind::Orphan => "orphan",
            FindingKind::OrphanCaptured => "orphan captured",
            FindingKind::AmountMismatch => "amount mismatch",
            FindingKind::StateMismatch => "state mismatch",
        }
    }
}

impl HoldState {
    /// Still holding units of the sale (they may yet come back).
    pub fn is_live(self) -> bool {
        matches!(self, HoldState::Held | HoldState::Ordered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_serialise_as_their_stored_text() {
        for s in OrderStatus::ALL {
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<OrderStatus>(&format!("\"{s}\"")).unwrap(), *s);
        }
        for s in PaymentState::ALL {
            assert_eq!(serde_json::from_str::<PaymentState>(&format!("\"{s}\"")).unwrap(), *s);
        }
        assert_eq!(ReservationState::Committed.as_str(), "committed");
        assert_eq!(SaleStatus::ALL.len(), 4);
    }

    #[test]
    fn payments_only_move_forward() {
        use PaymentState::*;
        assert!(Captured.rank() > Authorized.rank());
        assert!(Authorized.rank() > Created.rank());
        assert!(Voided.rank() > Captured.rank());
        assert!(Authorized.rank() > Failed.rank(), "a later success beats an earlier failure of the same intent");
    }
}

states! {
    /// How an order is shipped (priced and timed by checkout, `checkout::ShippingMethod`).
    ShippingMethod {
        Standard = "standard",
        Express = "express",
    }
}
