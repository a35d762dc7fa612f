//! The tantivy adapter of the search port: BM25 over title, brand, description and tags with
//! typo tolerance, and facet counts from one pass over fast fields. The index lives under the
//! data dir; `service` rebuilds and syncs it.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};


use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, INDEXED, IndexRecordOption, FAST, STORED, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::{DocAddress, DocId, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Score, SegmentOrdinal, SegmentReader, TantivyDocument, Term};

use super::engine::{Hits, RawFacets, SearchDoc, SearchEngine, SearchError};
use super::*;

/// Bump when the document layout changes: a stored index of another version is rebuilt.
pub(super) const INDEX_FORMAT: u32 = 2;
const WRITER_HEAP: usize = 50_000_000;

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
    /// Every variant's SKU, lower-cased, matched whole.
    skus: Field,
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
        skus: b.add_text_field("skus", STRING),
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
        for sku in &d.skus {
            doc.add_text(f.skus, sku.to_lowercase());
        }
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
        let mut words: Vec<(Occur, Box<dyn Query>)> = Vec::new();
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
            words.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if terms.len() >= 2 {
            // The words in order in the title: an exact title match comes first.
            let phrase = PhraseQuery::new(terms.iter().map(|(t, _)| Term::from_field_text(f.title, t)).collect());
            words.push((Occur::Should, Box::new(BoostQuery::new(Box::new(phrase), 5.0))));
        }
        // The words, or a SKU typed whole (any case): an exact SKU ranks above any word match.
        let sku = q.q.trim();
        let by_sku = (!sku.is_empty() && !sku.contains(char::is_whitespace)).then(|| {
            let tq = TermQuery::new(Term::from_field_text(f.skus, &sku.to_lowercase()), IndexRecordOption::Basic);
            Box::new(BoostQuery::new(Box::new(tq), 100.0)) as Box<dyn Query>
        });
        let by_words = (!words.is_empty()).then(|| Box::new(BooleanQuery::new(words)) as Box<dyn Query>);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        match (by_words, by_sku) {
            (Some(w), Some(s)) => clauses.push((Occur::Must, Box::new(BooleanQuery::new(vec![(Occur::Should, w), (Occur::Should, s)])))),
            (Some(w), None) => clauses.push((Occur::Must, w)),
            (None, Some(s)) => clauses.push((Occur::Must, s)),
            (None, None) => {}
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

