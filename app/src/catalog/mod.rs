//! The catalog: categories, products and their variants as shoppers see them. Shared types come
//! first (they cross the wire to the wasm storefront and the REST API), the server
//! functions are in `server_fns`, the queries in `service` and the product-page cache port in
//! `port` (adapters `redis`, `embedded`), all server-only but the functions' client stubs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::money::Money;

pub mod cards;
#[cfg(feature = "ssr")]
pub mod embedded;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod port;
#[cfg(feature = "ssr")]
pub mod redis;
mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

#[cfg(feature = "ssr")]
pub use embedded::MemoryProductCache;
#[cfg(feature = "ssr")]
pub use redis::RedisProductCache;
pub use server_fns::*;

/// At or below this many units a variant shows as "only N left".
pub const LOW_STOCK_THRESHOLD: i64 = 5;
pub const DEFAULT_PAGE_SIZE: u64 = 24;
pub const MAX_PAGE_SIZE: u64 = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerRef {
    pub seller_id: i64,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StockState {
    InStock,
    Low,
    Out,
}

impl StockState {
    pub fn from_available(available: i64) -> Self {
        if available <= 0 {
            StockState::Out
        } else if available <= LOW_STOCK_THRESHOLD {
            StockState::Low
        } else {
            StockState::InStock
        }
    }

    pub fn label(self, available: i64) -> String {
        match self {
            StockState::InStock => "In stock".to_owned(),
            StockState::Low => format!("Only {available} left"),
            StockState::Out => "Out of stock".to_owned(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductSummary {
    pub product_id: i64,
    pub title: String,
    pub brand: String,
    /// The lowest variant price.
    pub price: Money,
    /// Whether the variants differ in price (the card then says "from").
    #[serde(default)]
    pub price_varies: bool,
    /// Average stars (1-5) to one decimal; null before the first review.
    pub rating: Option<f64>,
    pub review_count: i64,
    pub image_url: String,
    pub in_stock: bool,
    pub seller: SellerRef,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductList {
    pub products: Vec<ProductSummary>,
    pub total: u64,
    pub page: u64,
    pub total_pages: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VariantView {
    pub sku: String,
    /// Attribute name to value, e.g. `{"colour": "navy", "size": "M"}`.
    pub attributes: BTreeMap<String, String>,
    pub price: Money,
    /// Units that can be bought now (on hand minus reserved, over all warehouses).
    pub available: i64,
    pub stock: StockState,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CategoryRef {
    pub category_id: i64,
    pub slug: String,
    pub name: String,
}

/// A flash sale of one of the product's variants, upcoming or live, for the product page. Read
/// fresh (never from the product cache), so the page says "live" from the start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleBanner {
    pub sale_id: i64,
    pub sku: String,
    /// The variant on sale by its options ("navy / M"); its SKU when it has none.
    #[serde(default)]
    pub variant: String,
    pub live: bool,
    pub price: Money,
    /// RFC 3339.
    pub starts_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductDetail {
    pub product_id: i64,
    pub title: String,
    pub description: String,
    pub brand: String,
    pub tags: Vec<String>,
    pub price: Money,
    pub rating: Option<f64>,
    pub review_count: i64,
    pub in_stock: bool,
    pub images: Vec<String>,
    pub seller: SellerRef,
    /// From the top-level category down to the product's own.
    pub categories: Vec<CategoryRef>,
    pub variants: Vec<VariantView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryNode {
    pub category: CategoryRef,
    pub children: Vec<CategoryRef>,
}

/// What a category page shows around its product list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryView {
    pub category: CategoryRef,
    pub parent: Option<CategoryRef>,
    pub children: Vec<CategoryRef>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Featured,
    PriceAsc,
    PriceDesc,
    Rating,
    Newest,
}

impl Sort {
    pub const ALL: [Sort; 5] = [Sort::Featured, Sort::PriceAsc, Sort::PriceDesc, Sort::Rating, Sort::Newest];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Featured => "featured",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::Rating => "rating",
            Sort::Newest => "newest",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Featured => "Featured",
            Sort::PriceAsc => "Price: low to high",
            Sort::PriceDesc => "Price: high to low",
            Sort::Rating => "Best rated",
            Sort::Newest => "Newest",
        }
    }

    pub fn parse(s: &str) -> Result<Self, AppError> {
        Sort::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            let allowed = Sort::ALL.map(|v| v.as_str()).join(", ");
            AppError::bad("sort", format!("sort must be one of: {allowed} (got \"{s}\")"))
        })
    }
}

/// A request for one page of products, already checked: `page >= 1`, `1 <= limit <= 100`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub category: Option<String>,
    pub sort: Sort,
    pub page: u64,
    pub limit: u64,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self { category: None, sort: Sort::Featured, page: 1, limit: DEFAULT_PAGE_SIZE }
    }
}

impl ListQuery {
    /// Parses raw query parameters; an empty value counts as absent. The error names the
    /// parameter and says what is allowed.
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, AppError> {
        let mut q = ListQuery::default();
        for (key, value) in params {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key {
                "category" => q.category = Some(value.to_owned()),
                "sort" => q.sort = Sort::parse(value)?,
                "page" => q.page = parse_whole("page", value, 1, 100_000)? as u64,
                "limit" => q.limit = parse_whole("limit", value, 1, MAX_PAGE_SIZE as i64)? as u64,
                _ => {}
            }
        }
        Ok(q)
    }
}

/// A whole number from `min` to `max`; the error names the parameter and shows what was sent.
pub fn parse_whole(name: &str, value: &str, min: i64, max: i64) -> Result<i64, AppError> {
    let msg = || format!("{name} must be a whole number from {min} to {max} (got \"{value}\")");
    let n: i128 = value.parse().map_err(|_| AppError::bad(name, msg()))?;
    if n < min as i128 || n > max as i128 {
        return Err(AppError::bad(name, msg()));
    }
    Ok(n as i64)
}

pub fn rating_of(sum: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| ((sum as f64 / count as f64) * 10.0).round() / 10.0)
}

/// A URL-safe name: lower-case letters and digits joined by dashes ("Harbor & Hearth" →
/// "harbor-hearth"); "shop" when nothing is left.
pub fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "shop".to_owned() } else { out }
}

pub fn product_path(id: i64) -> String {
    format!("/p/{id}")
}

pub fn category_path(slug: &str) -> String {
    format!("/c/{slug}")
}

/// The product as schema.org `Product` with one `Offer` per variant, as JSON-LD for the page's
/// `<script type="application/ld+json">`: search engines read price, stock and rating from it.
/// `<` is written as `\u003c`, so no text of the seller's can end the script element.
pub fn structured_data(product: &ProductDetail) -> String {
    let url = product_path(product.product_id);
    let offers: Vec<serde_json::Value> = product
        .variants
        .iter()
        .map(|v| {
            serde_json::json!({
                "@type": "Offer",
                "sku": v.sku,
                "price": v.price.decimal(),
                "priceCurrency": v.price.currency,
                "availability": if v.available > 0 { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" },
                "url": format!("{url}?sku={}", crate::ui::forms::url_encode(&v.sku)),
                "seller": { "@type": "Organization", "name": product.seller.name },
            })
        })
        .collect();
    let mut data = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.title,
        "description": product.description,
        "brand": { "@type": "Brand", "name": product.brand },
        "image": product.images,
        "url": url,
        "offers": offers,
    });
    if let Some(sku) = product.variants.first().map(|v| v.sku.clone()) {
        data["sku"] = sku.into();
    }
    if let (Some(rating), true) = (product.rating, product.review_count > 0) {
        data["aggregateRating"] = serde_json::json!({
            "@type": "AggregateRating",
            "ratingValue": format!("{rating:.1}"),
            "reviewCount": product.review_count,
        });
    }
    crate::text::script_json(&data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_data_is_a_product_with_an_offer_per_variant() {
        let variant = |sku: &str, amount, available| VariantView {
            sku: sku.into(),
            attributes: BTreeMap::new(),
            price: Money::new(amount, "EUR"),
            available,
            stock: StockState::from_available(available),
        };
        let product = ProductDetail {
            product_id: 7,
            title: "Trail </script><b>Shoe".into(),
            description: "Light & tough".into(),
            brand: "Peak".into(),
            tags: vec![],
            price: Money::new(8999, "EUR"),
            rating: Some(4.26),
            review_count: 3,
            in_stock: true,
            images: vec!["/media/1.png".into()],
            seller: SellerRef { seller_id: 1, name: "Peak Store".into() },
            categories: vec![],
            variants: vec![variant("TS-42", 8999, 4), variant("TS-43", 12050, 0)],
        };
        let text = structured_data(&product);
        assert!(!text.contains('<'), "no tag can start inside the script: {text}");
        let data: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(data["@type"], "Product");
        assert_eq!(data["name"], "Trail </script><b>Shoe", "the escape reads back as the title");
        assert_eq!(data["brand"]["name"], "Peak");
        assert_eq!(data["sku"], "TS-42");
        assert_eq!(data["aggregateRating"]["ratingValue"], "4.3");
        assert_eq!(data["aggregateRating"]["reviewCount"], 3);
        let offers = data["offers"].as_array().unwrap();
        assert_eq!(offers.len(), 2);
        assert_eq!(offers[0]["price"], "89.99");
        assert_eq!(offers[0]["priceCurrency"], "EUR");
        assert_eq!(offers[0]["availability"], "https://schema.org/InStock");
        assert_eq!(offers[1]["price"], "120.50");
        assert_eq!(offers[1]["availability"], "https://schema.org/OutOfStock");
        assert_eq!(offers[1]["url"], "/p/7?sku=TS-43");
        let unrated = ProductDetail { rating: None, review_count: 0, ..product };
        let data: serde_json::Value = serde_json::from_str(&structured_data(&unrated)).unwrap();
        assert!(data.get("aggregateRating").is_none(), "no rating without reviews");
    }

    #[test]
    fn list_query_rejects_bad_parameters_by_name() {
        for (k, v) in [("page", "0"), ("page", "-1"), ("page", "x"), ("limit", "100000"), ("limit", "0")] {
            match ListQuery::parse([(k, v)]) {
                Err(AppError::BadRequest { field, message }) => {
                    assert_eq!(field, k);
                    assert!(message.contains(k), "{message}");
                }
                other => panic!("{k}={v} gave {other:?}"),
            }
        }
        assert!(matches!(ListQuery::parse([("sort", "bogus")]), Err(AppError::BadRequest { field, .. }) if field == "sort"));
    }

    #[test]
    fn list_query_defaults_and_parses() {
        let q = ListQuery::parse([("page", "3"), ("limit", "10"), ("sort", "price_desc"), ("category", "shoes"), ("x", "y")]).unwrap();
        assert_eq!(q, ListQuery { category: Some("shoes".into()), sort: Sort::PriceDesc, page: 3, limit: 10 });
        assert_eq!(ListQuery::parse([("page", "")]).unwrap(), ListQuery::default());
    }

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slugify("Harbor & Hearth"), "harbor-hearth");
        assert_eq!(slugify("  Voltage Goods! "), "voltage-goods");
        assert_eq!(slugify("Ann's Attic"), "ann-s-attic");
        assert_eq!(slugify("!!!"), "shop");
    }

    #[test]
    fn stock_state_thresholds() {
        assert_eq!(StockState::from_available(0), StockState::Out);
        assert_eq!(StockState::from_available(-3), StockState::Out);
        assert_eq!(StockState::from_available(LOW_STOCK_THRESHOLD), StockState::Low);
        assert_eq!(StockState::from_available(LOW_STOCK_THRESHOLD + 1), StockState::InStock);
    }
}
