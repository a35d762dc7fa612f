//! The search port (DESIGN §3): what an engine is asked and answers. The tantivy adapter in
//! `index.rs` is the only one; it serves production and the embedded default alike.

use std::collections::HashMap;

use super::{PRICE_BUCKETS, SearchQuery};
use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Dir(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("search task: {0}")]
    Task(String),
}

impl From<SearchError> for AppError {
    fn from(e: SearchError) -> Self {
        tracing::error!(error = %e, "search failed");
        AppError::Internal
    }
}

/// What the index knows of a product.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchDoc {
    pub product_id: i64,
    pub title: String,
    pub brand: String,
    pub description: String,
    pub tags: String,
    /// The product's category slug and its ancestors' (so a department counts its children).
    pub categories: Vec<String>,
    /// The lowest variant price, minor units.
    pub price: i64,
    /// Average rating × 10, rounded (what the shop shows to one decimal).
    pub rating10: u64,
    pub in_stock: bool,
    pub created: i64,
    /// Every variant's SKU (a search for one finds the product).
    pub skus: Vec<String>,
}

/// Facet counts as the index sees them, before names are attached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawFacets {
    pub brands: HashMap<String, u64>,
    pub categories: HashMap<String, u64>,
    pub price_buckets: [u64; PRICE_BUCKETS.len()],
    /// `rating_at_least[n - 1]`: results rated n stars or more.
    pub rating_at_least: [u64; 5],
    pub in_stock: u64,
    pub total: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Hits {
    pub product_ids: Vec<i64>,
    pub facets: RawFacets,
}

#[async_trait::async_trait]
pub trait SearchEngine: Send + Sync + 'static {
    async fn query(&self, q: &SearchQuery) -> Result<Hits, SearchError>;
    /// Replaces the documents of these products; ids without a doc are removed.
    async fn upsert(&self, docs: Vec<SearchDoc>, removed: Vec<i64>) -> Result<(), SearchError>;
    async fn replace_all(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError>;
}

