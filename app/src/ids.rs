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
}
