//! sprig: an embedded, indexed query engine for XML documents (XPath 1.0) and
//! property graphs (Cypher) in one database, with a registry of pruned models kept in
//! both (see [`registry`]).
//!
//! [`Database`] is the handle: open it on a directory ([`Database::open`]) or in
//! memory, load documents ([`Database::load_xml`]) and graphs
//! ([`Database::load_graph_csv`]), query them ([`Database::xpath`],
//! [`Database::cypher`]) and write in transactions ([`Database::begin_write`]).
//!
//! ```
//! let db = sprig::Database::in_memory()?;
//! db.load_xml("books", "<shelf><book>A</book><book>B</book></shelf>".as_bytes())?;
//! let books = db.xpath("books", "//book")?;
//! assert_eq!(books.node_count(), Some(2));
//! assert_eq!(db.xpath("books", "count(//book)")?, sprig::XPathValue::Number(2.0));
//! # Ok::<_, sprig::Error>(())
//! ```
#![warn(missing_docs)]

mod check;
mod cypher;
mod error;
pub mod fixtures;
pub mod json;
pub mod plan_json;
pub mod registry;
pub mod server;
mod statements;
mod xml_out;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sprig_index::graph::GraphStore;
use sprig_index::{Collection, MemoryStorage, SharedCache, SledStorage, Storage, XmlStore};
use sprig_query::{CompileOptions, Node, NodeDescriber, Value};

pub use check::CheckReport;
pub use cypher::{
    BulkLoadStats, CypherOptions, CypherValue, FromValue, NodeValue, Params, RelValue, ResultValue, Row, Rows,
    WriteStats, WriteTransaction, DEFAULT_GRAPH, DEFAULT_MEMORY_LIMIT,
};
pub use error::{Error, Result};
pub use sprig_index::cache::{CacheSpace, SpaceStats};
pub use sprig_index::graph::{Duration, Temporal};
pub use sprig_index::{default_cache_mb, CacheStats, CollectionInfo, DocStats};
pub use sprig_query::common::explain::{Detail, PlanNode};
pub use sprig_query::xpath::plan::JoinAlgorithm;
pub use sprig_query::{NodeInfo, NodeType};
pub use statements::{next_statement, split_statements, Dialect};

/// The names of Cypher's rewrite rules, as `CYPHER skip=NAME` takes them (every rule
/// may be switched off, one at a time or all with `CYPHER rules=off`).
pub fn cypher_rule_names() -> Vec<&'static str> {
    sprig_query::cypher::rules::rule_names()
}

/// A sprig database: XML collections in one store.
///
/// `Database` is a cheap handle (`Clone + Send + Sync`). Loads are serialized (one
/// writer at a time) and atomic; queries read a pinned snapshot of their collection,
/// so a query never sees a half-done load and never blocks one.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    xml: Arc<XmlStore>,
    graphs: GraphStore,
    /// Every read cache of the database, under one budget (`OpenOptions::cache_mb`).
    cache: Arc<SharedCache>,
    path: Option<PathBuf>,
    /// The procedures `CALL` reaches: the built-in ones and those declared with
    /// [`Database::register_procedure`] (replaced whole on each declaration, so a
    /// running statement keeps the registry it was planned with).
    procedures: std::sync::RwLock<Arc<sprig_query::cypher::plan::procedure::Registry>>,
}

/// How to open a database.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The budget, in MiB, of decoded data kept for reuse by queries: graph chunks
    /// and their property columns, adjacency, XML node chunks, region segments and
    /// collection metadata, all in one cache (default [`default_cache_mb`]: a quarter
    /// of the machine's memory, between 256 MiB and 4 GiB). The
    /// process's memory is about this plus what running queries and loads hold.
    pub cache_mb: Option<usize>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database").field("path", &self.inner.path).finish()
    }
}

const _: () = {
    fn assert_public_handles<T: Send + Sync + Clone + fmt::Debug>() {}
    fn check() {
        assert_public_handles::<Database>();
    }
    let _ = check;
};

/// The file in a database directory that names where `sprig serve` serves it.
pub(crate) const SERVED_AT_FILE: &str = "served-at";

/// Where `sprig serve` serves the database in `dir`, if it does.
fn server_address(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(SERVED_AT_FILE)).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// Options of one XPath evaluation.
#[derive(Debug, Clone, Default)]
pub struct XPathOptions {
    /// Namespace prefix -> URI bindings.
    pub namespaces: Vec<(String, String)>,
    /// String variables (`$name`).
    pub variables: Vec<(String, String)>,
    /// Stop with an error (kind `timeout`) after this long.
    pub timeout: Option<std::time::Duration>,
    /// The structural-join algorithm for location paths; every choice gives the same
    /// result, `Auto` (the default) lets the planner choose.
    pub join: JoinAlgorithm,
    /// Setting this flag stops the evaluation with an error of kind `interrupted`.
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Database {
    /// Opens the database in directory `path`, creating it if needed. One process
    /// at a time may have it open.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("sprig-doc-{}", std::process::id()));
    /// {
    ///     let db = sprig::Database::open(&dir)?;
    ///     db.load_xml("notes", "<notes><note>kept</note></notes>".as_bytes())?;
    /// }
    /// let db = sprig::Database::open(&dir)?;
    /// assert_eq!(db.xpath("notes", "string(//note)")?, sprig::XPathValue::String("kept".into()));
    /// # drop(db); std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<_, sprig::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Self::open_with(path, &OpenOptions::default())
    }

    /// [`open`](Self::open) with options (the cache budget).
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("sprig-doc-open-{}", std::process::id()));
    /// let db = sprig::Database::open_with(&dir, &sprig::OpenOptions { cache_mb: Some(64) })?;
    /// assert_eq!(db.cache_stats().capacity, 64 * 1024 * 1024);
    /// # drop(db); std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<_, sprig::Error>(())
    /// ```
    pub fn open_with(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Database> {
        let path = path.as_ref();
        if let Some(cluster) = path.to_str().and_then(|p| p.strip_prefix("redis://")) {
            return Self::open_redis_cluster(cluster, options);
        }
        if path.exists() && !path.is_dir() {
            return Err(Error::Usage(format!("'{}' is not a database directory", path.display())));
        }
        let storage = SledStorage::open(path).map_err(|e| match e {
            sprig_index::Error::Storage(s) => Error::Usage(format!("cannot open database '{}': {s}", path.display())),
            sprig_index::Error::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                Error::Usage(match server_address(path) {
                    Some(url) => {
                        format!("{e}: `sprig serve` is serving it at {url}; connect with `sprig --connect {url} ...`")
                    }
                    None => e.to_string(),
                })
            }
            other => other.into(),
        })?;
        Self::with_storage(Arc::new(storage), Some(path.to_path_buf()), options)
    }

    /// A database on a Redis Cluster: `HOST:PORT[,HOST:PORT...][/NAME]` (the seed
    /// nodes, and the database's name on the cluster, `sprig` by default). Any
    /// number of processes open one database; each statement reads the newest
    /// version published when it starts, and writers take turns (docs/SCALE-OUT.md).
    pub fn open_redis_cluster(address: &str, options: &OpenOptions) -> Result<Database> {
        let (seeds, name) = address.split_once('/').unwrap_or((address, "sprig"));
        let seeds: Vec<String> = seeds.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
        if seeds.is_empty() || name.is_empty() || name.contains(['{', '}', ':']) {
            return Err(Error::Usage(format!(
                "redis://{address}: expected redis://HOST:PORT[,HOST:PORT...][/NAME], NAME without '{{', '}}' or ':'"
            )));
        }
        let storage = sprig_index::storage::RedisClusterStorage::open(&seeds, name)?;
        Self::with_storage(Arc::new(storage), None, options)
    }

    /// A database held in memory, gone when the last handle is dropped.
    pub fn in_memory() -> Result<Database> {
        Self::with_storage(Arc::new(MemoryStorage::default()), None, &OpenOptions::default())
    }

    fn with_storage(storage: Arc<dyn Storage>, path: Option<PathBuf>, options: &OpenOptions) -> Result<Database> {
        let mb = options.cache_mb.unwrap_or_else(default_cache_mb);
        let cache = Arc::new(SharedCache::new(mb.saturating_mul(1024 * 1024)));
        let xml = Arc::new(XmlStore::open_with_cache(storage.clone(), cache.clone())?);
        let graphs = GraphStore::open_with_cache(storage, cache.clone());
        let procedures = std::sync::RwLock::default();
        Ok(Database { inner: Arc::new(Inner { xml, graphs, cache, path, procedures }) })
    }

    /// The XML collections as of the newest version: on a cluster another process
    /// may have loaded or dropped some since this one last looked.
    fn xml(&self) -> Result<&XmlStore> {
        self.inner.graphs.catch_up()?;
        Ok(&self.inner.xml)
    }

    /// The directory the database lives in (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The read cache's counters since the database was opened, and what it holds.
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }

    /// Loads one XML document as collection `collection` (the document is named after
    /// the collection), replacing any collection of that name. Streams the input; on
    /// any error the database is left as it was.
    pub fn load_xml(&self, collection: &str, input: impl Read) -> Result<DocStats> {
        self.load_xml_documents(collection, vec![(collection.to_string(), Box::new(input) as Box<dyn Read>)])
    }

    /// Loads several documents as one collection, in the given order; all or nothing.
    pub fn load_xml_documents(&self, collection: &str, docs: Vec<(String, Box<dyn Read + '_>)>) -> Result<DocStats> {
        validate_collection_name(collection)?;
        refuse_registry(collection)?;
        let _turn = self.inner.graphs.write_turn()?;
        let mut load = self.inner.xml.begin_load(collection)?;
        for (name, input) in docs {
            load.add_document(&name, input).map_err(|e| naming_document(&name, e))?;
        }
        Ok(load.commit()?)
    }

    /// Puts one document into `collection`: it replaces the document named `document`
    /// in its place, or is added after the others, or makes a new collection; the
    /// other documents stay. Streams the input; on any error the database is left as
    /// it was. Returns the document's stats and whether it replaced one.
    pub fn put_xml_document(&self, collection: &str, document: &str, input: impl Read) -> Result<(DocStats, bool)> {
        validate_collection_name(collection)?;
        refuse_registry(collection)?;
        let _turn = self.inner.graphs.write_turn()?;
        Ok(self.inner.xml.put_document(collection, document, input).map_err(|e| naming_document(document, e))?)
    }

    /// Removes a collection; false if there was none.
    pub fn drop_collection(&self, collection: &str) -> Result<bool> {
        refuse_registry(collection)?;
        let _turn = self.inner.graphs.write_turn()?;
        Ok(self.inner.xml.drop_collection(collection)?)
    }

    /// The collections, by name.
    pub fn collections(&self) -> Result<Vec<CollectionInfo>> {
        Ok(self.xml()?.collections()?)
    }

    /// Statistics about one collection.
    pub fn collection_stats(&self, collection: &str) -> Result<CollectionStats> {
        let coll = self.xml()?.collection(collection)?;
        let mut stats = CollectionStats {
            info: coll.info().clone(),
            names: coll.names().len(),
            paths: coll.paths().len(),
            documents: Vec::new(),
        };
        for i in 0..coll.len() {
            let doc = coll.document(i)?;
            stats.documents.push((doc.name().to_string(), doc.meta().stats));
        }
        Ok(stats)
    }

    /// Evaluates an XPath 1.0 expression over `collection`.
    pub fn xpath(&self, collection: &str, expr: &str) -> Result<XPathValue> {
        self.xpath_with(collection, expr, &XPathOptions::default())
    }

    /// Evaluates with namespace and variable bindings.
    pub fn xpath_with(&self, collection: &str, expr: &str, options: &XPathOptions) -> Result<XPathValue> {
        // Parse first: a broken query is reported as such even for an unknown collection.
        let plan = sprig_query::prepare_xpath(expr, &compile_options(options))?;
        let coll = self.xml()?.collection(collection)?;
        let plan = sprig_query::xpath::plan::plan(plan, &coll, options.join);
        let value = navigator(&coll, options)?.evaluate(&plan)?;
        Ok(match value {
            Value::NodeSet(nodes) => XPathValue::NodeSet(NodeSet { collection: coll, nodes }),
            Value::Number(n) => XPathValue::Number(n),
            Value::String(s) => XPathValue::String(s),
            Value::Boolean(b) => XPathValue::Boolean(b),
        })
    }

    /// The plan of an XPath expression, without running it.
    pub fn explain_xpath(&self, collection: &str, expr: &str, options: &XPathOptions) -> Result<Explained> {
        let plan = sprig_query::prepare_xpath(expr, &compile_options(options))?;
        let coll = self.xml()?.collection(collection)?;
        let plan = sprig_query::xpath::plan::plan(plan, &coll, options.join);
        let tree = navigator(&coll, options)?.explain(&plan);
        Ok(Explained { plan: tree, elapsed: None, first: None, cache: None })
    }

    /// Runs an XPath expression `runs` times (at least once) and returns the plan of the
    /// last run with actual rows and times per operator. `elapsed` is the median run,
    /// `first` the first; a run is the in-engine time from parse to the complete result.
    pub fn profile_xpath(
        &self,
        collection: &str,
        expr: &str,
        options: &XPathOptions,
        runs: usize,
    ) -> Result<Explained> {
        let coll = self.xml()?.collection(collection)?;
        let mut times = Vec::new();
        let mut tree = PlanNode::default();
        let mut cache = None;
        for _ in 0..runs.max(1) {
            let before = self.cache_stats();
            let started = std::time::Instant::now();
            let plan = sprig_query::prepare_xpath(expr, &compile_options(options))?;
            let plan = sprig_query::xpath::plan::plan(plan, &coll, options.join);
            let mut nav = navigator(&coll, options)?.with_profile();
            // Splits an earlier query left on this thread are not this one's.
            sprig_index::parallel::take_workers_used();
            let value = nav.evaluate(&plan)?;
            let elapsed = started.elapsed();
            times.push(elapsed);
            tree = nav.explain(&plan);
            tree.rows = Some(match &value {
                Value::NodeSet(nodes) => nodes.len() as u64,
                _ => 1,
            });
            // Operator times are their own; an expression without one (a function
            // call, a scalar) gets the run's total.
            tree.time.get_or_insert(elapsed);
            cache = Some(self.cache_stats().since(&before));
        }
        let first = times.first().copied();
        times.sort();
        Ok(Explained { plan: tree, elapsed: times.get(times.len() / 2).copied(), first, cache })
    }
}

/// An EXPLAIN or PROFILE answer.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The operator tree.
    pub plan: PlanNode,
    /// PROFILE: the median in-engine time of the runs.
    pub elapsed: Option<std::time::Duration>,
    /// PROFILE: the first run's time (cold caches).
    pub first: Option<std::time::Duration>,
    /// PROFILE: the read cache's hits, misses and evictions during the last run.
    pub cache: Option<CacheStats>,
}

fn compile_options(options: &XPathOptions) -> CompileOptions {
    CompileOptions {
        namespaces: options.namespaces.iter().cloned().collect(),
        variables: options.variables.iter().cloned().collect(),
    }
}

fn navigator<'c>(coll: &'c Collection, options: &XPathOptions) -> Result<sprig_query::xpath::exec::Navigator<'c>> {
    let mut navigator = sprig_query::xpath::exec::Navigator::new(coll)?;
    if let Some(limit) = options.timeout {
        navigator = navigator.with_deadline(std::time::Instant::now() + limit);
    }
    if let Some(flag) = &options.interrupt {
        navigator = navigator.with_interrupt(flag.clone());
    }
    Ok(navigator)
}

/// Collection `registry` is the registry's XML view: only the registry writes it.
fn refuse_registry(collection: &str) -> Result<()> {
    if collection == registry::REGISTRY {
        return Err(Error::Usage(
            "collection 'registry' is the registry's XML view; change it with `sprig registry import` or Cypher on graph 'registry'".into(),
        ));
    }
    Ok(())
}

/// A malformed document's error, saying which document of the collection it is.
fn naming_document(document: &str, e: sprig_index::Error) -> sprig_index::Error {
    match e {
        sprig_index::Error::Xml { message, line, column } => {
            sprig_index::Error::Xml { message: format!("{document}: {message}"), line, column }
        }
        other => other,
    }
}

fn validate_collection_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().any(|c| c.is_control()) {
        return Err(Error::Usage(format!("invalid collection name '{name}'")));
    }
    Ok(())
}

/// What `stats` reports about a collection.
#[derive(Debug, Clone)]
pub struct CollectionStats {
    /// The catalog entry.
    pub info: CollectionInfo,
    /// Distinct names (elements, attributes, PI targets, namespace declarations).
    pub names: usize,
    /// Distinct label paths in the path summary.
    pub paths: usize,
    /// Per document: name and counts.
    pub documents: Vec<(String, DocStats)>,
}

/// The result of an XPath expression: one of the four XPath 1.0 types.
#[derive(Debug, Clone)]
pub enum XPathValue {
    /// Nodes in document order, described lazily.
    NodeSet(NodeSet),
    /// A number (IEEE 754 double).
    Number(f64),
    /// A string.
    String(String),
    /// A boolean.
    Boolean(bool),
}

impl XPathValue {
    /// The number of nodes, for a node-set.
    pub fn node_count(&self) -> Option<usize> {
        match self {
            XPathValue::NodeSet(n) => Some(n.len()),
            _ => None,
        }
    }
}

impl PartialEq for XPathValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (XPathValue::NodeSet(a), XPathValue::NodeSet(b)) => {
                a.collection.info() == b.collection.info() && a.nodes == b.nodes
            }
            (XPathValue::Number(a), XPathValue::Number(b)) => a == b || (a.is_nan() && b.is_nan()),
            (XPathValue::String(a), XPathValue::String(b)) => a == b,
            (XPathValue::Boolean(a), XPathValue::Boolean(b)) => a == b,
            _ => false,
        }
    }
}

/// A node-set result. It pins the collection snapshot it came from, so its nodes can
/// be described after later loads; [`NodeSet::iter`] describes them one at a time.
#[derive(Debug, Clone)]
pub struct NodeSet {
    collection: Collection,
    nodes: Vec<Node>,
}

impl NodeSet {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The nodes in document order, each with its path, name and string-value.
    pub fn iter(&self) -> NodeSetIter<'_> {
        NodeSetIter { describer: None, collection: &self.collection, nodes: self.nodes.iter() }
    }
}

/// Iterator over a [`NodeSet`]'s nodes, described on demand.
pub struct NodeSetIter<'a> {
    describer: Option<NodeDescriber<'a>>,
    collection: &'a Collection,
    nodes: std::slice::Iter<'a, Node>,
}

impl Iterator for NodeSetIter<'_> {
    type Item = Result<NodeInfo>;

    fn next(&mut self) -> Option<Self::Item> {
        let node = *self.nodes.next()?;
        if self.describer.is_none() {
            match NodeDescriber::new(self.collection) {
                Ok(d) => self.describer = Some(d),
                Err(e) => return Some(Err(e.into())),
            }
        }
        let describer = self.describer.as_mut()?;
        Some(describer.describe(node).map_err(Error::from))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.nodes.size_hint()
    }
}
