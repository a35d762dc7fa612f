//! The search port and its tantivy adapter. The index lives under the data dir, is rebuilt
//! from the database when it is missing or stale, and follows catalog events (a product edit
//! or a stock change is searchable within a second).

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};
use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, INDEXED, IndexRecordOption, FAST, STORED, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::{DocAddress, DocId, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Score, SegmentOrdinal, SegmentReader, TantivyDocument, Term};

use super::*;
use crate::catalog::service::{ACTIVE, available_by_variant, summaries_in_order};
use crate::db::{category, product, variant};
use crate::events::ShopEvent;
use crate::state::AppState;

/// Bump when the document layout changes: a stored index of another version is rebuilt.
const INDEX_FORMAT: u32 = 1;
const WRITER_HEAP: usize = 50_000_000;

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

/// The search port (DESIGN §3): the same adapter serves production and the embedded default.
#[async_trait::async_trait]
pub trait SearchEngine: Send + Sync + 'static {
    async fn query(&self, q: &SearchQuery) -> Result<Hits, SearchError>;
    /// Replaces the documents of these products; ids without a doc are removed.
    async fn upsert(&self, docs: Vec<SearchDoc>, removed: Vec<i64>) -> Result<(), SearchError>;
    async fn replace_all(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError>;
}

#[derive(Clone, Copy)]
struct Fields {
    product_id: Field,
    title: Field,
    brand_text: Field,
    description: Field,
    tags: Field,
    brand: Field,
    categories: Field,
    price: Field,
    rating: Field,
    in_stock: Field,
    created: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer("en_stem").set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        product_id: b.add_u64_field("product_id", INDEXED | FAST | STORED),
        title: b.add_text_field("title", text.clone()),
        brand_text: b.add_text_field("brand_text", text.clone()),
        description: b.add_text_field("description", text.clone()),
        tags: b.add_text_field("tags", text),
        brand: b.add_text_field("brand", STRING | FAST),
        categories: b.add_text_field("categories", STRING | FAST),
        price: b.add_u64_field("price", INDEXED | FAST),
        rating: b.add_u64_field("rating", INDEXED | FAST),
        in_stock: b.add_u64_field("in_stock", INDEXED | FAST),
        created: b.add_i64_field("created", FAST),
    };
    (b.build(), fields)
}

pub struct TantivyEngine {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    dir: Option<PathBuf>,
}

impl TantivyEngine {
    /// Opens the index in `dir` (created when missing or of another format), or in memory.
    pub fn open(dir: Option<&Path>) -> Result<Self, SearchError> {
        let (schema, fields) = schema();
        let index = match dir {
            Some(dir) => {
                let format_file = dir.join("sellout-format");
                let same_format = std::fs::read_to_string(&format_file).ok().as_deref() == Some(&INDEX_FORMAT.to_string());
                if !same_format && dir.exists() {
                    let _ = std::fs::remove_dir_all(dir);
                }
                std::fs::create_dir_all(dir).map_err(|e| SearchError::Task(format!("creating {}: {e}", dir.display())))?;
                let mmap = tantivy::directory::MmapDirectory::open(dir)?;
                let index = Index::open_or_create(mmap, schema)?;
                std::fs::write(&format_file, INDEX_FORMAT.to_string()).map_err(|e| SearchError::Task(e.to_string()))?;
                index
            }
            None => Index::create_in_ram(schema),
        };
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer(WRITER_HEAP).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => {
                SearchError::Task("the search index is in use by another process (is a server running on this data dir?)".into())
            }
            other => other.into(),
        })?;
        Ok(Self { index, reader, writer: Mutex::new(writer), fields, dir: dir.map(Path::to_path_buf) })
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn to_doc(&self, d: &SearchDoc) -> TantivyDocument {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.product_id, d.product_id as u64);
        doc.add_text(f.title, &d.title);
        doc.add_text(f.brand_text, &d.brand);
        doc.add_text(f.description, &d.description);
        doc.add_text(f.tags, d.tags.replace(',', " "));
        doc.add_text(f.brand, &d.brand);
        for c in &d.categories {
            doc.add_text(f.categories, c);
        }
        doc.add_u64(f.price, d.price.max(0) as u64);
        doc.add_u64(f.rating, d.rating10);
        doc.add_u64(f.in_stock, u64::from(d.in_stock));
        doc.add_i64(f.created, d.created);
        doc
    }

    fn write(&self, delete_all: bool, docs: &[SearchDoc], removed: &[i64]) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().map_err(|_| SearchError::Task("index writer poisoned".into()))?;
        if delete_all {
            writer.delete_all_documents()?;
        }
        for id in removed.iter().chain(docs.iter().map(|d| &d.product_id)) {
            writer.delete_term(Term::from_field_u64(self.fields.product_id, *id as u64));
        }
        for d in docs {
            writer.add_document(self.to_doc(d))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Words of the query as index terms (lower-cased, stemmed), each with whether it is long
    /// enough (5+ letters as typed) to forgive one typo.
    fn terms(&self, text: &str) -> Result<Vec<(String, bool)>, SearchError> {
        let mut analyzer = self.index.tokenizer_for_field(self.fields.title)?;
        let mut out = Vec::new();
        for word in text.split_whitespace() {
            let letters = word.chars().filter(|c| c.is_alphanumeric()).count();
            let mut stream = analyzer.token_stream(word);
            while stream.advance() {
                let t = stream.token().text.clone();
                if !t.is_empty() && out.len() < MAX_QUERY_WORDS {
                    out.push((t, letters >= 5));
                }
            }
        }
        Ok(out)
    }

    fn build_query(&self, q: &SearchQuery) -> Result<Box<dyn Query>, SearchError> {
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let terms = self.terms(&q.q)?;
        for (i, (t, fuzzy)) in terms.iter().enumerate() {
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, boost) in [(f.title, 3.0), (f.brand_text, 2.0), (f.tags, 1.5), (f.description, 1.0)] {
                let tq = TermQuery::new(Term::from_field_text(field, t), IndexRecordOption::WithFreqs);
                any.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), boost))));
            }
            if *fuzzy {
                for (field, boost) in [(f.title, 1.0), (f.brand_text, 0.7), (f.tags, 0.5), (f.description, 0.3)] {
                    let fq = FuzzyTermQuery::new(Term::from_field_text(field, t), 1, true);
                    any.push((Occur::Should, Box::new(BoostQuery::new(Box::new(fq), boost))));
                }
            }
            if q.as_you_type && i + 1 == terms.len() {
                // "backpa" while typing "backpack".
                for (field, boost) in [(f.title, 1.5), (f.brand_text, 1.0), (f.tags, 0.5)] {
                    let pq = FuzzyTermQuery::new_prefix(Term::from_field_text(field, t), 0, true);
                    any.push((Occur::Should, Box::new(BoostQuery::new(Box::new(pq), boost))));
                }
            }
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if terms.len() >= 2 {
            // The words in order in the title: an exact title match comes first.
            let phrase = PhraseQuery::new(terms.iter().map(|(t, _)| Term::from_field_text(f.title, t)).collect());
            clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(phrase), 5.0))));
        }
        if let Some(c) = &q.category {
            clauses.push((Occur::Must, Box::new(TermQuery::new(Term::from_field_text(f.categories, c), IndexRecordOption::Basic))));
        }
        if !q.brands.is_empty() {
            let any: Vec<(Occur, Box<dyn Query>)> = q
                .brands
                .iter()
                .map(|b| (Occur::Should, Box::new(TermQuery::new(Term::from_field_text(f.brand, b), IndexRecordOption::Basic)) as Box<dyn Query>))
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if q.price_min.is_some() || q.price_max.is_some() {
            let lo = q.price_min.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_u64(f.price, v as u64)));
            let hi = q.price_max.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_u64(f.price, v as u64)));
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        if let Some(r) = q.rating_min {
            let lo = Bound::Included(Term::from_field_u64(f.rating, u64::from(r) * 10));
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, Bound::Unbounded))));
        }
        if q.in_stock {
            clauses.push((Occur::Must, Box::new(TermQuery::new(Term::from_field_u64(f.in_stock, 1), IndexRecordOption::Basic))));
        }
        if !clauses.iter().any(|(o, _)| *o == Occur::Must) {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    pub fn query_blocking(&self, q: &SearchQuery) -> Result<Hits, SearchError> {
        self.query_with(q, true)
    }

    /// `facets: false` counts the hits without facet counts (the benchmark compares both).
    pub fn query_with(&self, q: &SearchQuery, facets: bool) -> Result<Hits, SearchError> {
        if !facets {
            let query = self.build_query(q)?;
            let searcher = self.reader.searcher();
            let top = TopDocs::with_limit(q.limit as usize).and_offset(((q.page - 1) * q.limit) as usize);
            let (docs, total) = searcher.search(&query, &(top.order_by_score(), tantivy::collector::Count))?;
            let mut product_ids = Vec::new();
            for (_, a) in docs {
                if let Some(id) = searcher.segment_reader(a.segment_ord).fast_fields().u64("product_id")?.first(a.doc_id) {
                    product_ids.push(id as i64);
                }
            }
            return Ok(Hits { product_ids, facets: RawFacets { total: total as u64, ..Default::default() } });
        }
        let query = self.build_query(q)?;
        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(q.limit as usize).and_offset(((q.page - 1) * q.limit) as usize);
        let (addresses, facets): (Vec<DocAddress>, RawFacets) = match q.sort {
            SearchSort::Relevance => {
                let (docs, facets) = searcher.search(&query, &(top.order_by_score(), FacetCollector))?;
                (docs.into_iter().map(|(_, a)| a).collect(), facets)
            }
            SearchSort::PriceAsc | SearchSort::PriceDesc | SearchSort::Rating => {
                let (field, order) = match q.sort {
                    SearchSort::PriceAsc => ("price", Order::Asc),
                    SearchSort::PriceDesc => ("price", Order::Desc),
                    _ => ("rating", Order::Desc),
                };
                let (docs, facets) = searcher.search(&query, &(top.order_by_u64_field(field, order), FacetCollector))?;
                (docs.into_iter().map(|(_, a)| a).collect(), facets)
            }
            SearchSort::Newest => {
                let (docs, facets) =
                    searcher.search(&query, &(top.order_by_fast_field::<i64>("created", Order::Desc), FacetCollector))?;
                (docs.into_iter().map(|(_, a)| a).collect(), facets)
            }
        };
        let mut product_ids = Vec::with_capacity(addresses.len());
        for a in addresses {
            let ids = searcher.segment_reader(a.segment_ord).fast_fields().u64("product_id")?;
            if let Some(id) = ids.first(a.doc_id) {
                product_ids.push(id as i64);
            }
        }
        Ok(Hits { product_ids, facets })
    }
}

#[async_trait::async_trait]
impl SearchEngine for Arc<TantivyEngine> {
    async fn query(&self, q: &SearchQuery) -> Result<Hits, SearchError> {
        let (me, q) = (self.clone(), q.clone());
        tokio::task::spawn_blocking(move || me.query_blocking(&q)).await.map_err(|e| SearchError::Task(e.to_string()))?
    }

    async fn upsert(&self, docs: Vec<SearchDoc>, removed: Vec<i64>) -> Result<(), SearchError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.write(false, &docs, &removed)).await.map_err(|e| SearchError::Task(e.to_string()))?
    }

    async fn replace_all(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.write(true, &docs, &[])).await.map_err(|e| SearchError::Task(e.to_string()))?
    }
}

// ---- facets in one pass over the matching documents ----

struct FacetCollector;

struct FacetSegment {
    brand: Option<StrColumn>,
    categories: Option<StrColumn>,
    price: Column<u64>,
    rating: Column<u64>,
    in_stock: Column<u64>,
    brand_ords: HashMap<u64, u64>,
    category_ords: HashMap<u64, u64>,
    facets: RawFacets,
}

impl Collector for FacetCollector {
    type Fruit = RawFacets;
    type Child = FacetSegment;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<FacetSegment> {
        let ff = segment.fast_fields();
        Ok(FacetSegment {
            brand: ff.str("brand")?,
            categories: ff.str("categories")?,
            price: ff.u64("price")?,
            rating: ff.u64("rating")?,
            in_stock: ff.u64("in_stock")?,
            brand_ords: HashMap::new(),
            category_ords: HashMap::new(),
            facets: RawFacets::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<RawFacets>) -> tantivy::Result<RawFacets> {
        let mut all = RawFacets::default();
        for f in fruits {
            for (k, v) in f.brands {
                *all.brands.entry(k).or_default() += v;
            }
            for (k, v) in f.categories {
                *all.categories.entry(k).or_default() += v;
            }
            for i in 0..all.price_buckets.len() {
                all.price_buckets[i] += f.price_buckets[i];
            }
            for i in 0..5 {
                all.rating_at_least[i] += f.rating_at_least[i];
            }
            all.in_stock += f.in_stock;
            all.total += f.total;
        }
        Ok(all)
    }
}

impl SegmentCollector for FacetSegment {
    type Fruit = RawFacets;

    fn collect(&mut self, doc: DocId, _: Score) {
        let f = &mut self.facets;
        f.total += 1;
        if let Some(b) = &self.brand {
            for ord in b.term_ords(doc) {
                *self.brand_ords.entry(ord).or_default() += 1;
            }
        }
        if let Some(c) = &self.categories {
            for ord in c.term_ords(doc) {
                *self.category_ords.entry(ord).or_default() += 1;
            }
        }
        if let Some(price) = self.price.first(doc) {
            let price = price as i64;
            if let Some(i) = PRICE_BUCKETS.iter().position(|(lo, hi)| lo.is_none_or(|l| price >= l) && hi.is_none_or(|h| price < h)) {
                f.price_buckets[i] += 1;
            }
        }
        let stars = self.rating.first(doc).unwrap_or(0);
        for n in 1..=5u64 {
            if stars >= n * 10 {
                f.rating_at_least[(n - 1) as usize] += 1;
            }
        }
        if self.in_stock.first(doc) == Some(1) {
            f.in_stock += 1;
        }
    }

    fn harvest(self) -> RawFacets {
        let mut facets = self.facets;
        let mut name = String::new();
        for (column, ords, out) in [
            (&self.brand, &self.brand_ords, &mut facets.brands),
            (&self.categories, &self.category_ords, &mut facets.categories),
        ] {
            let Some(column) = column else { continue };
            for (ord, count) in ords {
                name.clear();
                if column.ord_to_str(*ord, &mut name).unwrap_or(false) {
                    *out.entry(name.clone()).or_default() += count;
                }
            }
        }
        facets
    }
}

// ---- documents from the database ----

/// Documents for active products with ids in `ids` (or all, in id order, `after`/`limit`).
pub async fn load_docs(db: &DatabaseConnection, ids: Option<&[i64]>, after: i64, limit: u64) -> Result<Vec<SearchDoc>, SearchError> {
    let mut sel = product::Entity::find().filter(product::Column::Status.eq(ACTIVE)).order_by_asc(product::Column::Id);
    sel = match ids {
        Some(ids) => sel.filter(product::Column::Id.is_in(ids.to_vec())),
        None => sel.filter(product::Column::Id.gt(after)).limit(limit),
    };
    let products = sel.all(db).await?;
    let pids: Vec<i64> = products.iter().map(|p| p.id).collect();
    let variants = variant::Entity::find().filter(variant::Column::ProductId.is_in(pids)).all(db).await?;
    let available = available_by_variant(db, variants.iter().map(|v| v.id).collect()).await?;
    let categories: HashMap<i64, category::Model> =
        category::Entity::find().all(db).await?.into_iter().map(|c| (c.id, c)).collect();
    let mut by_product: HashMap<i64, Vec<&variant::Model>> = HashMap::new();
    for v in &variants {
        by_product.entry(v.product_id).or_default().push(v);
    }
    Ok(products
        .into_iter()
        .filter_map(|p| {
            let vs = by_product.get(&p.id)?;
            let price = vs.iter().map(|v| v.price_amount).min()?;
            let mut cats = Vec::new();
            let mut next = Some(p.category_id);
            while let Some(c) = next.and_then(|id| categories.get(&id)) {
                if cats.len() > 8 {
                    break;
                }
                cats.push(c.slug.clone());
                next = c.parent_id;
            }
            let rating10 = if p.rating_count > 0 { ((p.rating_sum as f64 / p.rating_count as f64) * 10.0).round() as u64 } else { 0 };
            Some(SearchDoc {
                product_id: p.id,
                in_stock: vs.iter().any(|v| available.get(&v.id).copied().unwrap_or(0) > 0),
                title: p.title,
                brand: p.brand,
                description: p.description,
                tags: p.tags,
                categories: cats,
                price,
                rating10,
                created: p.created_at.timestamp(),
            })
        })
        .collect())
}

/// A fingerprint of what the index is built from; a stored index with another is rebuilt.
pub async fn catalog_stamp(db: &DatabaseConnection) -> Result<String, SearchError> {
    let backend = db.get_database_backend();
    let row = |sql: &str| db.query_one_raw(Statement::from_string(backend, sql.to_owned()));
    let p = row("SELECT COUNT(*) AS n, CAST(MAX(updated_at) AS TEXT) AS t, CAST(COALESCE(SUM(rating_sum), 0) AS BIGINT) AS r FROM products").await?;
    let i = row("SELECT COUNT(*) AS n, CAST(COALESCE(SUM(quantity - reserved), 0) AS BIGINT) AS a, CAST(COALESCE(SUM(version), 0) AS BIGINT) AS v FROM inventory").await?;
    let v = row("SELECT COUNT(*) AS n, CAST(COALESCE(SUM(price_amount), 0) AS BIGINT) AS s FROM variants").await?;
    let get = |r: &Option<sea_orm::QueryResult>, c: &str| -> String {
        r.as_ref()
            .and_then(|r| r.try_get::<i64>("", c).map(|x| x.to_string()).or_else(|_| r.try_get::<Option<String>>("", c).map(|x| x.unwrap_or_default())).ok())
            .unwrap_or_default()
    };
    Ok(format!(
        "v{INDEX_FORMAT}|{}|{}|{}|{}|{}|{}|{}|{}",
        get(&p, "n"), get(&p, "t"), get(&p, "r"), get(&i, "n"), get(&i, "a"), get(&i, "v"), get(&v, "n"), get(&v, "s")
    ))
}

/// Rebuilds the whole index from the database; `progress(done)` after each batch.
pub async fn rebuild(db: &DatabaseConnection, engine: &Arc<TantivyEngine>, progress: impl Fn(u64)) -> Result<u64, SearchError> {
    let stamp = catalog_stamp(db).await?;
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let batch = load_docs(db, None, after, 2000).await?;
        let Some(last) = batch.last() else { break };
        after = last.product_id;
        all.extend(batch);
        progress(all.len() as u64);
    }
    let n = all.len() as u64;
    engine.replace_all(all).await?;
    write_stamp(engine, &stamp);
    Ok(n)
}

fn write_stamp(engine: &TantivyEngine, stamp: &str) {
    if let Some(dir) = engine.dir() {
        if let Err(e) = std::fs::write(dir.join("sellout-stamp"), stamp) {
            tracing::warn!(error = %e, "writing the search index stamp");
        }
    }
}

/// After an incremental update the stored stamp no longer describes the index. Proving the
/// index current again would take whole-table aggregates on every event batch, so the stamp
/// is dropped instead and the next start rebuilds.
fn forget_stamp(engine: &TantivyEngine) {
    if let Some(dir) = engine.dir() {
        let _ = std::fs::remove_file(dir.join("sellout-stamp"));
    }
}

/// Opens the index under `dir`, rebuilding it unless it was built from this very catalog.
pub async fn open_current(db: &DatabaseConnection, dir: Option<&Path>) -> Result<Arc<TantivyEngine>, SearchError> {
    let engine = Arc::new(TantivyEngine::open(dir)?);
    let stamp = catalog_stamp(db).await?;
    let stored = dir.and_then(|d| std::fs::read_to_string(d.join("sellout-stamp")).ok());
    if stored.as_deref() == Some(stamp.as_str()) && engine.num_docs() > 0 {
        tracing::info!(docs = engine.num_docs(), "search index is current");
    } else {
        let started = std::time::Instant::now();
        let n = rebuild(db, &engine, |_| {}).await?;
        tracing::info!(docs = n, ms = started.elapsed().as_millis() as u64, "search index built");
    }
    Ok(engine)
}

/// Keeps the index current: product and stock events are gathered for a moment, then the
/// affected products are re-read and re-indexed in one commit.
pub fn spawn_sync(db: DatabaseConnection, engine: Arc<TantivyEngine>, events: Arc<dyn crate::events::EventBus>) {
    let mut rx = events.subscribe();
    tokio::spawn(async move {
        loop {
            let first = match rx.recv().await {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // Missed events: only a full rebuild is sure to be right.
                    if let Err(e) = rebuild(&db, &engine, |_| {}).await {
                        tracing::error!(error = %e, "rebuilding the search index after lag");
                    }
                    continue;
                }
                Err(_) => break,
            };
            let mut ids: HashSet<i64> = HashSet::new();
            let mut take = |e: &ShopEvent| match e {
                ShopEvent::ProductChanged { product_id } | ShopEvent::StockChanged { product_id, .. } => {
                    ids.insert(*product_id);
                }
                _ => {}
            };
            take(&first);
            let deadline = tokio::time::sleep(Duration::from_millis(100));
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    _ = &mut deadline => break,
                    next = rx.recv() => match next { Ok(e) => take(&e), Err(_) => break },
                }
            }
            if ids.is_empty() {
                continue;
            }
            let ids: Vec<i64> = ids.into_iter().collect();
            let result = async {
                let docs = load_docs(&db, Some(&ids), 0, 0).await?;
                let present: HashSet<i64> = docs.iter().map(|d| d.product_id).collect();
                let removed = ids.iter().copied().filter(|id| !present.contains(id)).collect();
                engine.upsert(docs, removed).await?;
                forget_stamp(&engine);
                Ok::<_, SearchError>(())
            }
            .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "updating the search index");
            }
        }
    });
}

/// Runs a search and dresses the hits: product summaries in rank order, named facets.
pub async fn search(state: &AppState, q: &SearchQuery) -> Result<SearchResults, AppError> {
    let hits = state.stores.search.query(q).await?;
    let results = summaries_in_order(&state.db, &hits.product_ids).await?;
    let f = hits.facets;
    let mut brands: Vec<FacetValue> = f.brands.into_iter().map(|(value, count)| FacetValue { value, count }).collect();
    brands.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    let tree = crate::catalog::service::category_tree(&state.db).await?;
    let mut categories = Vec::new();
    for node in tree {
        let count = |slug: &str| f.categories.get(slug).copied().unwrap_or(0);
        if count(&node.category.slug) > 0 {
            categories.push(CategoryFacet { count: count(&node.category.slug), value: node.category.slug.clone(), name: node.category.name, parent: None });
            for c in node.children {
                if count(&c.slug) > 0 {
                    categories.push(CategoryFacet { count: count(&c.slug), value: c.slug, name: c.name, parent: Some(node.category.slug.clone()) });
                }
            }
        }
    }
    Ok(SearchResults {
        results,
        total: f.total,
        page: q.page,
        total_pages: f.total.div_ceil(q.limit),
        facets: Facets {
            brands,
            categories,
            price_ranges: PRICE_BUCKETS
                .iter()
                .zip(f.price_buckets)
                .map(|((from, to), count)| PriceRange { from: *from, to: *to, count })
                .collect(),
            rating: (1..=4u8).rev().map(|n| RatingFacet { min: n, count: f.rating_at_least[(n - 1) as usize] }).collect(),
            in_stock: f.in_stock,
        },
    })
}
