//! The seller admin: products, variants, prices, stock per warehouse and pictures, for the
//! seller who owns them (or an admin, for every seller). Shared types first, then the server
//! functions of the `/seller` pages; the rules live in `service` (server only), used by both
//! those functions and the REST API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{CategoryRef, SellerRef};
use crate::error::AppError;
use crate::money::Money;

pub mod pages;
mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

pub use server_fns::*;

/// The largest picture we store.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_VARIANTS: usize = 50;
pub const MAX_TAGS: usize = 20;
pub const MAX_STOCK: i64 = 1_000_000;
/// 1,000,000.00 in a two-decimal currency.
pub const MAX_PRICE: i64 = 100_000_000;
pub const SELLER_PAGE_SIZE: u64 = 25;

pub use crate::states::{ProductStatus, UnknownStatus};

/// Units of one variant to keep in one warehouse (by its code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WarehouseQuantity {
    pub warehouse: String,
    pub quantity: i64,
}

/// A variant as a seller writes it. `stock` is the quantity in the default (first) warehouse;
/// `warehouse_stock` names warehouses. On update, a variant that gives neither keeps its stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VariantInput {
    #[serde(default)]
    pub sku: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub price: Money,
    #[serde(default)]
    pub stock: Option<i64>,
    #[serde(default)]
    pub warehouse_stock: Vec<WarehouseQuantity>,
}

/// A product as a seller writes it, for create and for update (which replaces every field;
/// variants are matched by SKU, new SKUs are added, missing ones removed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub brand: String,
    /// A category slug; without one the product goes under "Other".
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// draft (the default for a new product), active or archived.
    #[serde(default)]
    pub status: Option<String>,
    /// Admins say whose product it is; a seller's products are always their own.
    #[serde(default)]
    pub seller_id: Option<i64>,
    #[serde(default)]
    pub variants: Vec<VariantInput>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WarehouseStock {
    pub warehouse: String,
    pub name: String,
    pub quantity: i64,
    /// Held by checkouts in progress; quantity cannot be set below it.
    pub reserved: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerVariant {
    pub variant_id: i64,
    pub sku: String,
    pub attributes: BTreeMap<String, String>,
    pub price: Money,
    /// On hand over all warehouses.
    pub stock: i64,
    pub available: i64,
    pub warehouses: Vec<WarehouseStock>,
    /// Units moved out of this variant's stock by flash sales not yet over; what they do not
    /// sell goes back to the warehouses when they end.
    pub set_aside: Vec<SetAside>,
}

/// One flash sale's units of a variant, out of ordinary stock until the sale is over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SetAside {
    pub sale_id: i64,
    /// Allocated and not sold.
    pub units: i64,
    /// RFC 3339, UTC.
    pub starts_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductImage {
    pub image_id: i64,
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerProduct {
    pub product_id: i64,
    pub seller: SellerRef,
    pub title: String,
    pub description: String,
    pub brand: String,
    pub category: CategoryRef,
    pub tags: Vec<String>,
    pub status: ProductStatus,
    /// Uploaded pictures, in order (the storefront draws a placeholder when there are none).
    pub images: Vec<ProductImage>,
    pub variants: Vec<SellerVariant>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerProductRow {
    pub product_id: i64,
    pub title: String,
    pub brand: String,
    pub status: ProductStatus,
    pub seller: SellerRef,
    /// The lowest variant price; none for a product without variants.
    pub price: Option<Money>,
    pub variants: u64,
    pub available: i64,
    pub image_url: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerProductList {
    pub products: Vec<SellerProductRow>,
    pub total: u64,
    pub page: u64,
    pub total_pages: u64,
}

/// The product list's filters: words of the title, SKU or brand, and a status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SellerListQuery {
    pub q: Option<String>,
    pub status: Option<ProductStatus>,
    pub page: u64,
}

impl SellerListQuery {
    /// Reads raw query parameters; an empty value counts as absent, a bad status or page is a
    /// 400 naming it.
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, crate::error::AppError> {
        let mut query = SellerListQuery::default();
        for (key, value) in params {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key {
                "q" => query.q = Some(value.to_owned()),
                "status" => query.status = Some(ProductStatus::parse(value).map_err(|e| crate::error::AppError::bad("status", e.to_string()))?),
                "page" => query.page = crate::catalog::parse_whole("page", value, 1, 100_000)? as u64,
                _ => {}
            }
        }
        Ok(query)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowStockRow {
    pub product_id: i64,
    pub title: String,
    pub sku: String,
    pub available: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub shop_name: Option<String>,
    pub drafts: u64,
    pub active: u64,
    pub archived: u64,
    /// Variants of published products with few units left, fewest first.
    pub low_stock: Vec<LowStockRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseRef {
    pub code: String,
    pub name: String,
}

/// What the product form offers: categories ("Home › Lighting") and warehouses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormOptions {
    pub categories: Vec<(String, String)>,
    pub warehouses: Vec<WarehouseRef>,
}

/// Why a typed price was refused, in the words the form shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("Enter a price.")]
    Empty,
    #[error("\"{0}\" is not a price; write it like 19.99 or 19,99")]
    NotAPrice(String),
    #[error("{currency} prices have at most {digits} digits after the decimal separator")]
    TooPrecise { currency: String, digits: u32 },
    #[error("\"{text}\" could be read two ways: type {whole} without a separator, or a price with cents such as {example}")]
    Ambiguous { text: String, whole: String, example: String },
}

/// Parses a price typed by a person into minor units of `currency`. Either `.` or `,` is the
/// decimal separator; the other one (or a space) may group thousands where that cannot be
/// misread: `24,90`, `24.90`, `1.234,56`, `1,234.56`, `1 234,56`, `1,234,567`, `7`. A single
/// separator followed by exactly three digits (`1,000`, `2.500`) could be either, so in a
/// currency with cents it is refused with a message saying how to write each reading: never a
/// silent factor of a hundred. (Without cents, as in JPY, it can only group.)
pub fn parse_price(text: &str, currency: &str) -> Result<i64, PriceError> {
    let exp = Money::new(0, currency).exponent();
    let shown = text.trim().to_owned();
    let bad = || PriceError::NotAPrice(shown.clone());
    // Spaces (also no-break and narrow ones) only ever group.
    let t: String = shown.chars().filter(|c| !c.is_whitespace() && *c != '\u{202F}' && *c != '\u{A0}').collect();
    if t.is_empty() {
        return Err(PriceError::Empty);
    }
    if !t.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
        return Err(bad());
    }
    let (grouped, frac, group_sep): (&str, &str, Option<char>) = match t.rfind(['.', ',']) {
        None => (&t, "", None),
        Some(at) => {
            let sep = if t.as_bytes()[at] == b'.' { '.' } else { ',' };
            let other = if sep == '.' { ',' } else { '.' };
            let (before, after) = (&t[..at], &t[at + 1..]);
            if before.contains(other) {
                // Both kinds: the last one is the decimal separator, the other groups.
                (before, after, Some(other))
            } else if t.matches(sep).count() > 1 {
                // One kind, more than once: it groups (a number has one decimal separator).
                (t.as_str(), "", Some(sep))
            } else if after.len() == 3 && (1..=3).contains(&before.len()) && !before.starts_with('0') && (exp == 0 || exp >= 3) {
                // "1,500" in a currency without cents (or with three decimals): one reading.
                if exp == 0 { (t.as_str(), "", Some(sep)) } else { (before, after, None) }
            } else if after.len() == 3 && (1..=3).contains(&before.len()) && !before.starts_with('0') {
                return Err(PriceError::Ambiguous { text: shown.clone(), whole: format!("{before}{after}"), example: format!("{before}{sep}{}", "0".repeat(exp as usize)) });
            } else {
                (before, after, None)
            }
        }
    };
    let digits = match group_sep {
        None => grouped.to_owned(),
        Some(g) => {
            let groups: Vec<&str> = grouped.split(g).collect();
            let well_grouped = (1..=3).contains(&groups[0].len()) && groups[1..].iter().all(|grp| grp.len() == 3);
            if !well_grouped {
                return Err(bad());
            }
            groups.concat()
        }
    };
    if digits.is_empty() && frac.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    if frac.len() > exp as usize {
        return Err(PriceError::TooPrecise { currency: currency.to_ascii_uppercase(), digits: exp });
    }
    let whole: i64 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| bad())? };
    let frac_padded = format!("{frac:0<width$}", width = exp as usize);
    let frac: i64 = if frac_padded.is_empty() { 0 } else { frac_padded.parse().map_err(|_| bad())? };
    whole.checked_mul(10_i64.pow(exp)).and_then(|w| w.checked_add(frac)).ok_or_else(bad)
}

/// An option typed without its name (`brass` instead of `finish: brass`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Write options as name: value, separated by commas (\"{0}\" has no colon).")]
pub struct OptionWithoutName(String);

/// "finish: brass, size: M" → {finish: brass, size: M}.
pub fn parse_options(text: &str) -> Result<BTreeMap<String, String>, OptionWithoutName> {
    let mut map = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once(':').or_else(|| part.split_once('=')).ok_or_else(|| OptionWithoutName(part.to_owned()))?;
        map.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(map)
}

/// The session key under which a refused plain editor form leaves what was typed and why.
pub const PRODUCT_FORM_FEEDBACK: &str = "product_form";

/// A refused product form, for the editor to show again: every field as typed (by its name),
/// each problem by its field, and the form-wide message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFormFeedback {
    /// Names this refusal in the URL the form is sent back to (`?form=`): the page shows it
    /// only there, as often as that page is rendered.
    pub nonce: String,
    /// The product the form edits; none for a new one.
    pub product_id: Option<i64>,
    pub message: String,
    pub errors: BTreeMap<String, String>,
    pub kept: Vec<(String, String)>,
}

impl ProductFormFeedback {
    /// A field as typed.
    pub fn kept(&self, name: &str) -> Option<String> {
        self.kept.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

/// The editor's variant rows in a form's fields: the indices of `variants[i].…`, in order.
pub fn form_rows(fields: &[(String, String)]) -> Vec<usize> {
    let rows: std::collections::BTreeSet<usize> =
        fields.iter().filter_map(|(k, _)| k.strip_prefix("variants[")?.split_once(']')?.0.parse().ok()).filter(|i| *i < MAX_VARIANTS * 2).collect();
    rows.into_iter().collect()
}

/// The product editor's fields as a form sends them (`title`, `variants[0].price`,
/// `variants[0].stock.BER`, ...), read into a product: prices as a person types them, options
/// as `name: value` pairs. A row left empty is skipped (the editor always offers one more).
/// Returns the product and, for each of its variants, the form row it came from; or every
/// field that cannot be read, named by its form field.
pub fn product_from_form(fields: &[(String, String)]) -> Result<(ProductInput, Vec<usize>), BTreeMap<String, String>> {
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
    let currency = get("currency").trim().to_ascii_uppercase();
    let mut errors = BTreeMap::new();
    let mut variants = Vec::new();
    let mut rows = Vec::new();
    for i in form_rows(fields) {
        let name = |n: &str| format!("variants[{i}].{n}");
        let stock_prefix = format!("variants[{i}].stock.");
        let stock: Vec<(&str, &str)> = fields.iter().filter_map(|(k, v)| k.strip_prefix(stock_prefix.as_str()).map(|code| (code, v.as_str()))).collect();
        let (sku, price, options) = (get(&name("sku")).trim(), get(&name("price")), get(&name("attributes")));
        if sku.is_empty() && price.trim().is_empty() && options.trim().is_empty() && stock.iter().all(|(_, q)| matches!(q.trim(), "" | "0")) {
            continue;
        }
        let amount = parse_price(price, &currency).unwrap_or_else(|e| {
            errors.insert(name("price"), e.to_string());
            0
        });
        let attributes = parse_options(options).unwrap_or_else(|e| {
            errors.insert(name("attributes"), e.to_string());
            BTreeMap::new()
        });
        let mut warehouse_stock = Vec::new();
        for (code, q) in stock {
            match q.trim().parse::<i64>() {
                Ok(n) => warehouse_stock.push(WarehouseQuantity { warehouse: code.to_owned(), quantity: n }),
                Err(_) => {
                    errors.insert(format!("{stock_prefix}{code}"), format!("Enter a whole number of units (got \"{}\").", q.trim()));
                }
            }
        }
        variants.push(VariantInput { sku: sku.to_owned(), attributes, price: Money::new(amount, &currency), stock: None, warehouse_stock });
        rows.push(i);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let input = ProductInput {
        title: get("title").to_owned(),
        description: get("description").to_owned(),
        brand: get("brand").to_owned(),
        category: Some(get("category").trim().to_owned()).filter(|c| !c.is_empty()),
        tags: get("tags").split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect(),
        status: None,
        seller_id: None,
        variants,
    };
    Ok((input, rows))
}

/// Field errors named by variant (`variants[1].price`) renamed to the form rows they came from.
pub fn to_form_rows(errors: BTreeMap<String, String>, rows: &[usize]) -> BTreeMap<String, String> {
    errors
        .into_iter()
        .map(|(k, v)| {
            let renamed = k
                .strip_prefix("variants[")
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(n, tail)| Some(format!("variants[{}]{tail}", rows.get(n.parse::<usize>().ok()?)?)));
            (renamed.unwrap_or(k), v)
        })
        .collect()
}

/// Minor units written back as the text a person would type ("19.99").
pub fn price_text(m: &Money) -> String {
    let exp = m.exponent();
    if exp == 0 {
        return m.amount.to_string();
    }
    let unit = 10_i64.pow(exp);
    format!("{}.{:0width$}", m.amount / unit, m.amount % unit, width = exp as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_as_a_person_means_them() {
        // (typed, currency, minor units)
        let good: &[(&str, &str, i64)] = &[
            ("24,90", "EUR", 2490),
            ("24.90", "EUR", 2490),
            ("24,9", "EUR", 2490),
            ("7", "EUR", 700),
            ("7,", "EUR", 700),
            (".5", "EUR", 50),
            (",5", "EUR", 50),
            ("19.99", "EUR", 1999),
            ("1.234,56", "EUR", 123456),
            ("1,234.56", "USD", 123456),
            (" 1,299.5 ", "USD", 129950),
            ("1 234,56", "EUR", 123456),
            ("1\u{A0}234,56", "EUR", 123456),
            ("1,234,567", "EUR", 123456700),
            ("1.234.567,8", "EUR", 123456780),
            ("1234", "EUR", 123400),
            ("1234,5", "EUR", 123450),
            ("0,500", "KWD", 500),
            ("1,500", "KWD", 1500),
            ("1500", "JPY", 1500),
            ("1,500", "JPY", 1500),
            ("1.500.000", "JPY", 1500000),
        ];
        for (typed, currency, minor) in good {
            assert_eq!(parse_price(typed, currency), Ok(*minor), "{typed:?} in {currency}");
        }
        // One separator and three digits: a thousand or one? Refused, saying how to write each.
        for (typed, whole, example) in [("1,000", "1000", "1,00"), ("2.500", "2500", "2.00"), ("999,999", "999999", "999,00")] {
            assert_eq!(
                parse_price(typed, "EUR"),
                Err(PriceError::Ambiguous { text: typed.into(), whole: whole.into(), example: example.into() }),
                "{typed:?}"
            );
        }
        assert!(parse_price("1,000", "EUR").unwrap_err().to_string().contains("type 1000 without a separator, or a price with cents such as 1,00"));
        assert_eq!(parse_price("1.5", "JPY"), Err(PriceError::TooPrecise { currency: "JPY".into(), digits: 0 }));
        assert_eq!(parse_price("19,999", "EUR").map_err(|e| matches!(e, PriceError::Ambiguous { .. })), Err(true));
        assert_eq!(parse_price("19.9999", "EUR"), Err(PriceError::TooPrecise { currency: "EUR".into(), digits: 2 }));
        assert_eq!(parse_price("  ", "EUR"), Err(PriceError::Empty));
        assert_eq!(parse_price("12a", "EUR"), Err(PriceError::NotAPrice("12a".into())));
        for bad in ["", "abc", "-3", "1.2.3", "1e3", ".", ",", "1,23,456", "12,34.567,8", "1.234.56", "€5", "99999999999999999999"] {
            assert!(parse_price(bad, "EUR").is_err(), "{bad:?}");
        }
        assert_eq!(price_text(&Money::new(1999, "EUR")), "19.99");
        assert_eq!(price_text(&Money::new(5, "EUR")), "0.05");
        assert_eq!(price_text(&Money::new(1500, "JPY")), "1500");
    }

    #[test]
    fn the_editor_form_is_read_as_a_product() {
        let f = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        let fields = f(&[
            ("title", "Lamp"), ("brand", "Lumo"), ("category", ""), ("tags", "light, desk , "), ("description", "Warm."), ("currency", "eur"),
            ("variants[0].sku", "L-1"), ("variants[0].attributes", "finish: brass"), ("variants[0].price", "24,90"), ("variants[0].stock.BER", "3"),
            ("variants[1].sku", ""), ("variants[1].attributes", ""), ("variants[1].price", ""), ("variants[1].stock.BER", "0"),
            ("variants[2].sku", "L-2"), ("variants[2].attributes", ""), ("variants[2].price", "1.234,50"), ("variants[2].stock.BER", "0"),
        ]);
        let (input, rows) = product_from_form(&fields).unwrap();
        assert_eq!(rows, [0, 2], "the empty row is skipped");
        assert_eq!((input.title.as_str(), input.category, input.tags.clone()), ("Lamp", None, vec!["light".to_owned(), "desk".to_owned()]));
        assert_eq!(input.variants[0].price, Money::new(2490, "EUR"));
        assert_eq!(input.variants[0].attributes, BTreeMap::from([("finish".to_owned(), "brass".to_owned())]));
        assert_eq!(input.variants[0].warehouse_stock, [WarehouseQuantity { warehouse: "BER".into(), quantity: 3 }]);
        assert_eq!(input.variants[1].price, Money::new(123450, "EUR"));
        // The server names the second variant; the page shows the error on the third row.
        let renamed = to_form_rows(BTreeMap::from([("variants[1].sku".to_owned(), "taken".to_owned()), ("title".to_owned(), "t".to_owned())]), &rows);
        assert_eq!(renamed.keys().collect::<Vec<_>>(), ["title", "variants[2].sku"]);

        let bad = f(&[("currency", "EUR"), ("variants[0].sku", "X"), ("variants[0].price", "1,000"), ("variants[0].attributes", "brass"), ("variants[0].stock.BER", "lots")]);
        let errors = product_from_form(&bad).unwrap_err();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["variants[0].attributes", "variants[0].price", "variants[0].stock.BER"]);
    }

    #[test]
    fn statuses_round_trip() {
        for s in ProductStatus::ALL {
            assert_eq!(ProductStatus::parse(s.as_str()), Ok(*s));
        }
        assert!(ProductStatus::parse("deleted").is_err());
    }
}
