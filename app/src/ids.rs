//! Ids that cross the REST edge, as their own types so an order id cannot be passed where a
//! product id (or a user id) is expected. They read from a URL path segment with `parse`: a
//! segment that is not an id is a 404 naming what was asked for, like an id that does not
//! exist. In JSON they are plain numbers. Ground floor: no area.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::AppError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $missing:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The id in a URL path segment; anything else is the 404 a missing id gets.
            pub fn parse(raw: &str) -> Result<Self, AppError> {
                raw.trim().parse().map($name).map_err(|_| AppError::not_found(format!($missing, raw)))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    };
}

id_type!(
    /// A product (all its variants).
    ProductId,
    "There is no product with id \"{}\"."
);
id_type!(
    /// A shopper's order.
    OrderId,
    "You have no order \"{}\"."
);
id_type!(
    /// A flash sale.
    SaleId,
    "There is no sale \"{}\"."
);
id_type!(
    /// A picture of a product.
    ImageId,
    "There is no picture \"{}\" of this product."
);

/// Units of a sale the stock gate handed to one shopper: a random UUID (v4), given out by the
/// gate, so two nodes or two containers never make the same one. A string in JSON and in URLs;
/// the key of its row (`sale_holds.id`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveValueType, utoipa::ToSchema))]
#[serde(transparent)]
pub struct HoldId(pub String);

/// Read as sent, less the spaces around it (an empty one is "no hold" to whoever reads it).
impl<'de> Deserialize<'de> for HoldId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| HoldId(s.trim().to_owned()))
    }
}

impl HoldId {
    /// A new hold's id.
    #[cfg(feature = "ssr")]
    pub fn random() -> Self {
        HoldId(uuid::Uuid::new_v4().to_string())
    }

    /// A hold id as a shopper sends it (a URL path segment, a form field): letters, digits and
    /// `-`, as every id the gate gave out; anything else is the 404 a missing hold gets.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 64 || !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(AppError::not_found(format!("You have no hold \"{raw}\".")));
        }
        Ok(HoldId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key of a row, never a number the database counts up.
#[cfg(feature = "ssr")]
impl sea_orm::TryFromU64 for HoldId {
    fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
        Err(sea_orm::DbErr::ConvertFromU64("HoldId"))
    }
}

impl fmt::Display for HoldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_segment_that_is_not_an_id_is_a_404_naming_it() {
        assert_eq!(ProductId::parse("42"), Ok(ProductId(42)));
        let err = ProductId::parse("abc").unwrap_err();
        assert_eq!(err.status(), 404);
        assert!(err.to_string().contains("\"abc\""), "{err}");
        assert_eq!(OrderId::parse("9999999999999999999999").unwrap_err().status(), 404);
        assert_eq!(serde_json::to_string(&OrderId(7)).unwrap(), "7", "a plain number in JSON");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_hold_id_is_a_string_in_json_and_refuses_what_no_gate_gives_out() {
        let id = HoldId::random();
        assert_eq!(uuid::Uuid::parse_str(id.as_str()).map(|u| u.get_version_num()), Ok(4));
        assert_ne!(HoldId::random(), HoldId::random());
        assert_eq!(serde_json::to_string(&HoldId("a-1".into())).unwrap(), "\"a-1\"");
        assert_eq!(serde_json::from_str::<HoldId>("\" a-1 \"").unwrap(), HoldId("a-1".into()));
        assert_eq!(HoldId::parse(" a-1 "), Ok(HoldId("a-1".into())));
        for bad in ["", "a b", "<script>", "x/../y", &"a".repeat(65)] {
            let err = HoldId::parse(bad).unwrap_err();
            assert_eq!(err.status(), 404, "{bad:?}");
        }
    }
}
