//! Catalog search (DESIGN §5): BM25 over title (boosted), brand, description and tags, with
//! typo tolerance, filters and facet counts. Shared types and query parsing here; the tantivy
//! port in `engine`, its tantivy adapter in `index`, rebuild, sync and search in `service` (server only).

use serde::{Deserialize, Serialize};

use crate::catalog::{ProductSummary, parse_whole as whole};
use crate::error::AppError;

#[cfg(feature = "ssr")]
pub mod engine;
#[cfg(feature = "ssr")]
pub mod index;
pub mod pages;
mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

pub use server_fns::*;

pub const MAX_QUERY_CHARS: usize = 256;
pub const MAX_QUERY_WORDS: usize = 16;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Rating,
    Newest,
}

impl SearchSort {
    pub const ALL: [SearchSort; 5] =
        [SearchSort::Relevance, SearchSort::PriceAsc, SearchSort::PriceDesc, SearchSort::Rating, SearchSort::Newest];

    pub fn as_str(self) -> &'static str {
        match self {
            SearchSort::Relevance => "relevance",
            SearchSort::PriceAsc => "price_asc",
            SearchSort::PriceDesc => "price_desc",
            SearchSort::Rating => "rating",
            SearchSort::Newest => "newest",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SearchSort::Relevance => "Best match",
            SearchSort::PriceAsc => "Price: low to high",
            SearchSort::PriceDesc => "Price: high to low",
            SearchSort::Rating => "Best rated",
            SearchSort::Newest => "Newest",
        }
    }
}

/// A checked search request. Prices are minor units; `brands` match any of them.
/// `serde(default)`: as a server function argument it travels URL-encoded, where an empty
/// list is simply absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    pub q: String,
    pub category: Option<String>,
    pub brands: Vec<String>,
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    pub rating_min: Option<u8>,
    pub in_stock: bool,
    pub sort: SearchSort,
    pub page: u64,
    pub limit: u64,
    /// Suggestions while typing: the last word may be unfinished, so it also matches as a
    /// prefix. Not a URL parameter.
    #[serde(skip)]
    pub as_you_type: bool,
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            q: String::new(),
            category: None,
            brands: Vec::new(),
            price_min: None,
            price_max: None,
            rating_min: None,
            in_stock: false,
            sort: SearchSort::Relevance,
            page: 1,
            limit: crate::catalog::DEFAULT_PAGE_SIZE,
            as_you_type: false,
        }
    }
}

impl SearchQuery {
    /// Parses query parameters; the error names the parameter (both, for a price range the
    /// wrong way round). Over-long queries are cut, not refused.
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, AppError> {
        let mut s = SearchQuery::default();
        for (key, value) in params {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key {
                "q" => {
                    let cut: String = value.chars().take(MAX_QUERY_CHARS).collect();
                    s.q = cut.split_whitespace().take(MAX_QUERY_WORDS).collect::<Vec<_>>().join(" ");
                }
                "category" => s.category = Some(value.to_owned()),
                "brand" => {
                    if !s.brands.iter().any(|b| b == value) && s.brands.len() < 20 {
                        s.brands.push(value.to_owned());
                    }
                }
                "price_min" => s.price_min = Some(whole("price_min", value, 0, 100_000_000_00)?),
                "price_max" => s.price_max = Some(whole("price_max", value, 0, 100_000_000_00)?),
                "rating_min" => s.rating_min = Some(whole("rating_min", value, 1, 5)? as u8),
                "in_stock" => {
                    s.in_stock = match value {
                        "1" | "true" | "on" | "yes" => true,
                        "0" | "false" | "off" | "no" => false,
                        _ => return Err(AppError::bad("in_stock", format!("in_stock must be true or false (got \"{value}\")"))),
                    }
                }
                "sort" => {
                    s.sort = SearchSort::ALL.into_iter().find(|v| v.as_str() == value).ok_or_else(|| {
                        let allowed = SearchSort::ALL.map(|v| v.as_str()).join(", ");
                        AppError::bad("sort", format!("sort must be one of: {allowed} (got \"{value}\")"))
                    })?
                }
                "page" => s.page = whole("page", value, 1, 100_000)? as u64,
                "limit" => s.limit = whole("limit", value, 1, crate::catalog::MAX_PAGE_SIZE as i64)? as u64,
                _ => {}
            }
        }
        if let (Some(min), Some(max)) = (s.price_min, s.price_max) {
            if min > max {
                return Err(AppError::Invalid(
                    [
                        ("price_min".to_owned(), format!("price_min ({min}) must not be more than price_max ({max})")),
                        ("price_max".to_owned(), format!("price_max ({max}) must not be less than price_min ({min})")),
                    ]
                    .into(),
                ));
            }
        }
        Ok(s)
    }

    /// The query string that gives this search (for links and the address bar).
    pub fn to_query_string(&self) -> String {
        use crate::ui::forms::url_encode;
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", url_encode(&self.q)));
        }
        if let Some(c) = &self.category {
            parts.push(format!("category={}", url_encode(c)));
        }
        for b in &self.brands {
            parts.push(format!("brand={}", url_encode(b)));
        }
        if let Some(v) = self.price_min {
            parts.push(format!("price_min={v}"));
        }
        if let Some(v) = self.price_max {
            parts.push(format!("price_max={v}"));
        }
        if let Some(v) = self.rating_min {
            parts.push(format!("rating_min={v}"));
        }
        if self.in_stock {
            parts.push("in_stock=true".to_owned());
        }
        if self.sort != SearchSort::Relevance {
            parts.push(format!("sort={}", self.sort.as_str()));
        }
        if self.page != 1 {
            parts.push(format!("page={}", self.page));
        }
        parts.join("&")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CategoryFacet {
    pub value: String,
    pub name: String,
    /// The parent category's slug (the tree has two levels).
    pub parent: Option<String>,
    pub count: u64,
}

/// Products priced from `from` (inclusive) to `to` (exclusive), in minor units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PriceRange {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub count: u64,
}

/// Products rated `min` stars or more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RatingFacet {
    pub min: u8,
    pub count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Facets {
    pub brands: Vec<FacetValue>,
    pub categories: Vec<CategoryFacet>,
    pub price_ranges: Vec<PriceRange>,
    pub rating: Vec<RatingFacet>,
    /// How many of the results are in stock.
    pub in_stock: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchResults {
    pub results: Vec<ProductSummary>,
    pub total: u64,
    pub page: u64,
    pub total_pages: u64,
    pub facets: Facets,
}

/// The price buckets of the price facet, in cents: under 25, 25-50, 50-100, 100-250, 250+.
pub const PRICE_BUCKETS: [(Option<i64>, Option<i64>); 5] =
    [(None, Some(2500)), (Some(2500), Some(5000)), (Some(5000), Some(10000)), (Some(10000), Some(25000)), (Some(25000), None)];

/// One suggestion under the header's search box.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub product_id: i64,
    pub title: String,
    pub brand: String,
    pub price: crate::money::Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters_and_names_bad_parameters() {
        let q = SearchQuery::parse([("q", "  red   boots "), ("brand", "Stride"), ("brand", "Pacer"), ("price_max", "5000"), ("in_stock", "true"), ("sort", "price_asc")]).unwrap();
        assert_eq!(q.q, "red boots");
        assert_eq!(q.brands, ["Stride", "Pacer"]);
        assert_eq!((q.price_max, q.in_stock, q.sort), (Some(5000), true, SearchSort::PriceAsc));
        let err = SearchQuery::parse([("price_min", "5000"), ("price_max", "100")]).unwrap_err();
        assert_eq!(err.status(), 400);
        let fields = err.fields();
        assert!(fields.contains_key("price_min") && fields.contains_key("price_max"));
        assert!(fields["price_min"].contains("price_max"), "names both");
        for (k, v) in [("rating_min", "6"), ("in_stock", "maybe"), ("sort", "bogus"), ("page", "0"), ("price_min", "-1")] {
            assert_eq!(SearchQuery::parse([(k, v)]).unwrap_err().fields().keys().next().map(String::as_str), Some(k));
        }
        let long = "a".repeat(10_000);
        assert_eq!(SearchQuery::parse([("q", long.as_str())]).unwrap().q.len(), MAX_QUERY_CHARS);
    }

    #[test]
    fn query_string_round_trips() {
        let q = SearchQuery::parse([("q", "wool & linen"), ("category", "bedding"), ("brand", "Harbor & Hearth"), ("rating_min", "4"), ("page", "2")]).unwrap();
        let s = q.to_query_string();
        let pairs: Vec<(String, String)> = s.split('&').map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), urlencoding_decode(v))
        }).collect();
        let again = SearchQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
        assert_eq!(again, q);
    }

    fn urlencoding_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
}
