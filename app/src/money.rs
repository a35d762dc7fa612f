//! Money is an integer amount of minor units (cents) plus an ISO 4217 currency code. It is
//! never a float: prices are added and multiplied as integers and only formatted for display.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Money {
    /// Minor units of `currency` (e.g. cents); 1299 EUR is €12.99.
    pub amount: i64,
    /// ISO 4217 code, upper case.
    pub currency: String,
}

impl Money {
    pub fn new(amount: i64, currency: &str) -> Self {
        Self { amount, currency: currency.to_ascii_uppercase() }
    }

    /// Digits after the decimal point for the currencies we know; two for the rest.
    pub fn exponent(&self) -> u32 {
        match self.currency.as_str() {
            "JPY" | "KRW" | "VND" | "CLP" | "ISK" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
            _ => 2,
        }
    }

    fn symbol(&self) -> Option<&'static str> {
        match self.currency.as_str() {
            "EUR" => Some("€"),
            "USD" => Some("$"),
            "GBP" => Some("£"),
            "JPY" => Some("¥"),
            _ => None,
        }
    }

    /// A human price such as `€1,299.00` or `12.50 CHF`.
    pub fn display(&self) -> String {
        let exp = self.exponent();
        let unit = 10_i64.pow(exp);
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        let whole = abs / unit as u64;
        let frac = abs % unit as u64;
        let digits = whole.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let number = if exp == 0 { grouped } else { format!("{grouped}.{frac:0width$}", width = exp as usize) };
        match self.symbol() {
            Some(s) => format!("{sign}{s}{number}"),
            None => format!("{sign}{number} {}", self.currency),
        }
    }
}

impl Money {
    /// The amount as a plain decimal for machines, e.g. `1299.00` or `-2.50` (schema.org's
    /// `price`): no symbol, no grouping, never through a float.
    pub fn decimal(&self) -> String {
        let exp = self.exponent();
        let unit = 10_u64.pow(exp);
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        if exp == 0 {
            format!("{sign}{abs}")
        } else {
            format!("{sign}{}.{:0width$}", abs / unit, abs % unit, width = exp as usize)
        }
    }
}

/// An ISO 4217 code (three upper-case letters), small enough to copy: the shop's currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");

    /// Three ASCII letters, in either case.
    pub fn parse(code: &str) -> Option<Currency> {
        let code = code.trim().to_ascii_uppercase();
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_uppercase).then_some(Currency(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Always three ASCII letters (`parse` is the only way in).
        std::str::from_utf8(&self.0).unwrap_or("EUR")
    }

    /// Whether `code` names this currency (in either case).
    pub fn is(&self, code: &str) -> bool {
        code.trim().eq_ignore_ascii_case(self.as_str())
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_minor_units_without_floats() {
        assert_eq!(Money::new(1299, "eur").display(), "€12.99");
        assert_eq!(Money::new(5, "USD").display(), "$0.05");
        assert_eq!(Money::new(123456789, "GBP").display(), "£1,234,567.89");
        assert_eq!(Money::new(1500, "JPY").display(), "¥1,500");
        assert_eq!(Money::new(1250, "CHF").display(), "12.50 CHF");
        assert_eq!(Money::new(-250, "EUR").display(), "-€2.50");
    }

    #[test]
    fn currencies_are_three_letters() {
        assert_eq!(Currency::parse(" usd ").map(|c| c.to_string()), Some("USD".to_owned()));
        assert_eq!(Currency::parse("EUR"), Some(Currency::EUR));
        for bad in ["", "EU", "EURO", "E1R", "€€€", "ÄBC"] {
            assert_eq!(Currency::parse(bad), None, "{bad:?}");
        }
        assert!(Currency::EUR.is("eur") && !Currency::EUR.is("USD"));
    }

    #[test]
    fn decimals_for_machines_keep_every_minor_unit() {
        assert_eq!(Money::new(129900, "EUR").decimal(), "1299.00");
        assert_eq!(Money::new(5, "USD").decimal(), "0.05");
        assert_eq!(Money::new(1500, "JPY").decimal(), "1500");
        assert_eq!(Money::new(1234, "KWD").decimal(), "1.234");
        assert_eq!(Money::new(-250, "EUR").decimal(), "-2.50");
    }
}
