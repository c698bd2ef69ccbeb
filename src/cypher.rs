//! The property-graph side of [`Database`]: Cypher statements, write transactions,
//! result rows.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sprig_index::graph::GraphTxn;
use sprig_query::cypher::{self, CypherOptions as QueryOptions};

use crate::{Database, Error, Explained, Result};
pub use sprig_query::cypher::{CypherValue, NodeValue, RelValue, ResultValue, WriteStats};

/// The graph a statement without `USE` runs on.
pub const DEFAULT_GRAPH: &str = "default";

/// Parameters of a Cypher statement (`$name`); build them with [`params!`](crate::params).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, CypherValue)>);

impl From<()> for Params {
    fn from(_: ()) -> Self {
        Params::default()
    }
}

/// Builds [`Params`]: `params! {"name" => "Ada", "age" => 36}`.
///
/// ```
/// let db = sprig::Database::in_memory()?;
/// db.cypher("CREATE (:Person {name: 'Ada', age: 36})", ())?;
/// let rows = db.cypher(
///     "MATCH (p:Person {name: $name}) WHERE p.age >= $min RETURN p.age AS age",
///     sprig::params! {"name" => "Ada", "min" => 30},
/// )?;
/// assert_eq!(rows.single()?.get::<i64>("age")?, 36);
/// # Ok::<_, sprig::Error>(())
/// ```
#[macro_export]
macro_rules! params {
    () => { $crate::Params::default() };
    ($($key:expr => $value:expr),+ $(,)?) => {
        $crate::Params(vec![$(($key.to_string(), $crate::CypherValue::from($value))),+])
    };
}

/// Options of one Cypher statement.
#[derive(Debug, Clone, Default)]
pub struct CypherOptions {
    /// The graph for statements without `USE` (default: `default`).
    pub graph: Option<String>,
    /// `$name` values.
    pub params: Params,
    /// Stop with an error (kind `timeout`) after this long.
    pub timeout: Option<Duration>,
    /// Plan without LIndex pruning (`--no-lindex`), to compare both plans.
    pub no_lindex: bool,
    /// Setting this flag stops the running statement with an error of kind
    /// `interrupted` (the REPL sets it on Ctrl-C).
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Bytes that the statement's intermediate results (sort and aggregation
    /// buffers, `DISTINCT`, `collect`, large lists) may hold before it stops with
    /// an error of kind `memory`; `None` means [`DEFAULT_MEMORY_LIMIT`] (4 GiB).
    pub memory_limit: Option<usize>,
}

pub use sprig_query::cypher::exec::memory::DEFAULT_MEMORY_LIMIT;

impl CypherOptions {
    fn query_options(&self, db: &Database, profile: bool) -> QueryOptions {
        QueryOptions {
            params: self.params.0.iter().cloned().collect::<HashMap<_, _>>(),
            default_graph: self.graph.clone().unwrap_or_else(|| DEFAULT_GRAPH.to_string()),
            deadline: self.timeout.map(|t| Instant::now() + t),
            profile,
            lindex: !self.no_lindex,
            xml: Some(db.inner.xml.clone()),
            interrupt: self.interrupt.clone(),
            memory_limit: self.memory_limit.unwrap_or(DEFAULT_MEMORY_LIMIT),
            procedures: db.inner.procedures.read().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}

/// The rows of a Cypher statement, in order, with the statement's write counters.
/// Iterate it for [`Row`]s; each row's values are read by column name and type.
///
/// A statement that only reads streams: each row is computed when it is pulled, so
/// the first row comes before the last is found and `LIMIT`-less queries need not fit
/// in memory. While such `Rows` lives it holds a share of the graph's read gate:
/// commits (on other threads) wait until it is read to the end or dropped, and a
/// write on the thread that holds it is an error rather than a deadlock. Queries
/// on the same thread are fine. A statement that writes has run to the end when
/// `cypher` returns (its rows are kept in memory).
///
/// ```
/// let db = sprig::Database::in_memory()?;
/// let rows = db.cypher("UNWIND [1, 2, 3] AS x RETURN x, x * 1.5 AS y, 'n' + toString(x) AS name", ())?;
/// assert_eq!(rows.columns(), ["x", "y", "name"]);
/// let mut names = Vec::new();
/// for row in rows {
///     let row = row?;
///     let (x, y, name): (i64, f64, String) = (row.get("x")?, row.get("y")?, row.get("name")?);
///     assert_eq!(y, x as f64 * 1.5);
///     names.push(name);
/// }
/// assert_eq!(names, ["n1", "n2", "n3"]);
/// # Ok::<_, sprig::Error>(())
/// ```
pub struct Rows {
    columns: Arc<Vec<String>>,
    source: RowSource,
    stats: WriteStats,
    elapsed: Duration,
}

enum RowSource {
    Ready(std::vec::IntoIter<Vec<ResultValue>>),
    /// The first row is computed before `cypher` returns (see [`Rows::streaming`]).
    Streaming(Option<Vec<ResultValue>>, Box<cypher::RowStream>),
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let streaming = matches!(self.source, RowSource::Streaming(..));
        f.debug_struct("Rows").field("columns", &self.columns).field("streaming", &streaming).finish()
    }
}

impl Rows {
    fn new(out: cypher::CypherOutput, elapsed: Duration) -> Rows {
        Rows {
            columns: Arc::new(out.columns),
            source: RowSource::Ready(out.rows.into_iter()),
            stats: out.stats,
            elapsed,
        }
    }

    /// A streaming result whose first row is computed now: an error before it (in a
    /// sort, an aggregation, the first expression) is the statement's error, as it
    /// would be for a statement that runs to the end.
    fn streaming(mut stream: cypher::RowStream, started: Instant) -> Result<Rows> {
        let first = stream.next_row().transpose()?;
        let columns = Arc::new(stream.columns().to_vec());
        let source = RowSource::Streaming(first, Box::new(stream));
        Ok(Rows { columns, source, stats: WriteStats::default(), elapsed: started.elapsed() })
    }

    /// Rows computed elsewhere (a server's answer to `sprig --connect`), to be read
    /// and printed as a local result is.
    pub fn from_values(
        columns: Vec<String>,
        rows: Vec<Vec<ResultValue>>,
        stats: WriteStats,
        elapsed: Duration,
    ) -> Rows {
        Rows { columns: Arc::new(columns), source: RowSource::Ready(rows.into_iter()), stats, elapsed }
    }

    /// Reads a streaming result to the end (rows stay to be taken).
    fn materialize(&mut self) -> Result<()> {
        if let RowSource::Streaming(first, stream) = &mut self.source {
            let started = Instant::now();
            let mut all: Vec<_> = first.take().into_iter().collect();
            while let Some(row) = stream.next_row() {
                all.push(row?);
            }
            self.elapsed += started.elapsed();
            self.source = RowSource::Ready(all.into_iter());
        }
        Ok(())
    }

    /// The one row of a result that has exactly one (an aggregate, a lookup by key);
    /// none or more than one is an error.
    ///
    /// ```
    /// let db = sprig::Database::in_memory()?;
    /// let n: i64 = db.cypher("UNWIND range(1, 4) AS x RETURN sum(x) AS n", ())?.single()?.get("n")?;
    /// assert_eq!(n, 10);
    /// assert!(db.cypher("UNWIND [1, 2] AS x RETURN x", ())?.single().is_err());
    /// # Ok::<_, sprig::Error>(())
    /// ```
    pub fn single(mut self) -> Result<Row> {
        let first = self.next().transpose()?;
        match (first, self.next().transpose()?) {
            (Some(row), None) => Ok(row),
            (None, _) => Err(Error::Usage("the query returned no row, where one was expected".into())),
            (Some(_), Some(_)) => {
                Err(Error::Usage("the query returned more than one row, where one was expected".into()))
            }
        }
    }

    /// Reads every remaining row now, releasing the read gate of a streaming result:
    /// the rows are then held in memory, as for a statement that writes.
    pub fn collect_rows(mut self) -> Result<Rows> {
        self.materialize()?;
        Ok(self)
    }

    /// Column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// What the statement changed.
    pub fn stats(&self) -> &WriteStats {
        &self.stats
    }

    /// Rows not yet taken. A streaming result is read to the end first (an error
    /// then counts as no rows; iterate to see it).
    pub fn len(&mut self) -> usize {
        if self.materialize().is_err() {
            return 0;
        }
        match &self.source {
            RowSource::Ready(rows) => rows.len(),
            RowSource::Streaming(..) => 0,
        }
    }

    /// True when no rows are left (reads a streaming result to the end).
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// In-engine time so far: from parse to the last row once every row is read.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

impl Iterator for Rows {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        let values = match &mut self.source {
            RowSource::Ready(rows) => rows.next()?,
            RowSource::Streaming(first, stream) => {
                if let Some(values) = first.take() {
                    return Some(Ok(Row { columns: self.columns.clone(), values }));
                }
                let started = Instant::now();
                let row = stream.next_row();
                self.elapsed += started.elapsed();
                // After the last row (or an error) the stream goes, and its read gate with it.
                match row {
                    Some(Ok(values)) => values,
                    Some(Err(e)) => {
                        self.source = RowSource::Ready(Vec::new().into_iter());
                        return Some(Err(e.into()));
                    }
                    None => {
                        self.source = RowSource::Ready(Vec::new().into_iter());
                        return None;
                    }
                }
            }
        };
        Some(Ok(Row { columns: self.columns.clone(), values }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.source {
            RowSource::Ready(rows) => rows.size_hint(),
            RowSource::Streaming(first, _) => (usize::from(first.is_some()), None),
        }
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<Vec<String>>,
    values: Vec<ResultValue>,
}

impl Row {
    /// The value of column `column`, converted: `String`, `i64`, `f64`, `bool`,
    /// `Vec<T>`, `Option<T>` (null is `None`) or [`ResultValue`]. A missing column or a
    /// value of another type is an error, not a panic.
    ///
    /// ```
    /// let db = sprig::Database::in_memory()?;
    /// let row = db.cypher("RETURN 'a' AS s, null AS n, [1, 2] AS l", ())?.single()?;
    /// assert_eq!(row.get::<Option<i64>>("n")?, None);
    /// assert_eq!(row.get::<Vec<i64>>("l")?, vec![1, 2]);
    /// assert!(row.get::<i64>("s").is_err());
    /// assert!(row.get::<String>("missing").is_err());
    /// # Ok::<_, sprig::Error>(())
    /// ```
    pub fn get<T: FromValue>(&self, column: &str) -> Result<T> {
        let i = self
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| Error::Usage(format!("no column '{column}' in this result")))?;
        T::from_value(&self.values[i]).ok_or_else(|| {
            Error::Usage(format!(
                "column '{column}' holds {:?}, which does not convert to the asked type",
                self.values[i]
            ))
        })
    }

    /// The values in column order.
    pub fn values(&self) -> &[ResultValue] {
        &self.values
    }
}

/// Conversion of a result value to a Rust type for [`Row::get`].
pub trait FromValue: Sized {
    /// The value as `Self`, or `None` when it does not convert.
    fn from_value(v: &ResultValue) -> Option<Self>;
}

impl FromValue for ResultValue {
    fn from_value(v: &ResultValue) -> Option<Self> {
        Some(v.clone())
    }
}

impl FromValue for String {
    fn from_value(v: &ResultValue) -> Option<Self> {
        match v {
            ResultValue::String(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// A date, time, date-time or duration ([`ResultValue::temporal_string`] gives its
/// ISO 8601 form; a `Temporal` parameter passes one back).
impl FromValue for crate::Temporal {
    fn from_value(v: &ResultValue) -> Option<Self> {
        match v {
            ResultValue::Temporal(t) => Some(t.clone()),
            _ => None,
        }
    }
}

impl FromValue for i64 {
    fn from_value(v: &ResultValue) -> Option<Self> {
        match v {
            ResultValue::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    fn from_value(v: &ResultValue) -> Option<Self> {
        match v {
            ResultValue::Float(f) => Some(*f),
            ResultValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromValue for bool {
    fn from_value(v: &ResultValue) -> Option<Self> {
        match v {
            ResultValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: &ResultValue) -> Option<Self> {
        match v {
            ResultValue::List(items) => items.iter().map(T::from_value).collect(),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &ResultValue) -> Option<Self> {
        match v {
            ResultValue::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// A transaction over several statements: all of them are committed together by
/// [`WriteTransaction::commit`]; dropping it without commit rolls everything back.
/// A statement that fails poisons the transaction (commit then returns an error).
///
/// It owns what it needs (a handle of the database), so it can be kept between
/// requests and moved between threads, as `sprig serve` keeps a client's
/// transaction.
pub struct WriteTransaction {
    txn: GraphTxn,
    db: Database,
    failed: bool,
}

impl std::fmt::Debug for WriteTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTransaction").field("failed", &self.failed).finish()
    }
}

impl WriteTransaction {
    /// Runs a statement inside the transaction; its writes are visible to the next one.
    pub fn cypher(&mut self, query: &str, params: impl Into<Params>) -> Result<Rows> {
        let options = CypherOptions { params: params.into(), ..Default::default() };
        self.cypher_with(query, &options)
    }

    /// [`WriteTransaction::cypher`] with options.
    pub fn cypher_with(&mut self, query: &str, options: &CypherOptions) -> Result<Rows> {
        if self.failed {
            return Err(Error::Usage("an earlier statement of this transaction failed; roll it back".into()));
        }
        let started = Instant::now();
        match cypher::run_text(&mut self.txn, query, &options.query_options(&self.db, false)) {
            Ok(out) => Ok(Rows::new(out, started.elapsed())),
            Err(e) => {
                self.failed = true;
                Err(e.into())
            }
        }
    }

    /// Makes every statement's writes durable and visible, atomically.
    pub fn commit(self) -> Result<()> {
        if self.failed {
            return Err(Error::Usage("an earlier statement of this transaction failed; nothing was committed".into()));
        }
        crate::registry::commit(&self.db, self.txn)
    }

    /// Discards every write (the same as dropping the transaction).
    pub fn rollback(self) {}
}

impl Database {
    /// Declares a procedure that `CALL` reaches from this database's statements, with
    /// its signature in Neo4j's form; `body` gets the arguments (checked against the
    /// signature, an INTEGER passed as a FLOAT made a float) and returns rows of
    /// output values in the signature's order. An error it returns fails the
    /// statement. Built-in procedures cannot be replaced.
    ///
    /// ```
    /// use sprig::CypherValue;
    /// let db = sprig::Database::in_memory()?;
    /// db.register_procedure("my.double(x :: INTEGER?) :: (doubled :: INTEGER?)", |args| match &args[0] {
    ///     CypherValue::Int(i) => Ok(vec![vec![CypherValue::Int(i * 2)]]),
    ///     _ => Ok(vec![]),
    /// })?;
    /// let n: i64 = db.cypher("CALL my.double(21) YIELD doubled RETURN doubled", ())?.single()?.get("doubled")?;
    /// assert_eq!(n, 42);
    /// # Ok::<(), sprig::Error>(())
    /// ```
    pub fn register_procedure(
        &self,
        signature: &str,
        body: impl Fn(&[CypherValue]) -> std::result::Result<Vec<Vec<CypherValue>>, String> + Send + Sync + 'static,
    ) -> Result<()> {
        let signature = sprig_query::cypher::plan::procedure::Signature::parse(signature)?;
        let mut current = self.inner.procedures.write().unwrap_or_else(|e| e.into_inner());
        let mut registry = (**current).clone();
        registry.declare(signature, Arc::new(body))?;
        *current = Arc::new(registry);
        Ok(())
    }
}

impl Database {
    /// Runs a Cypher statement on the default graph (or the one its `USE` names).
    ///
    /// ```
    /// let db = sprig::Database::in_memory()?;
    /// let created = db.cypher("CREATE (:City {name: 'Seoul'}), (:City {name: 'Busan'})", ())?;
    /// assert_eq!(created.stats().nodes_created, 2);
    /// let n: i64 = db.cypher("MATCH (c:City) RETURN count(c) AS n", ())?.single()?.get("n")?;
    /// assert_eq!(n, 2);
    /// // A broken query is an error with its position.
    /// let err = db.cypher("MATCH (c:City RETURN c", ()).unwrap_err();
    /// assert_eq!((err.kind(), err.position()), ("syntax", Some((1, 15))));
    /// # Ok::<_, sprig::Error>(())
    /// ```
    /// A statement that writes is atomic: all its changes or none.
    pub fn cypher(&self, query: &str, params: impl Into<Params>) -> Result<Rows> {
        self.cypher_with(query, &CypherOptions { params: params.into(), ..Default::default() })
    }

    /// [`Database::cypher`] with options (graph, parameters, timeout).
    pub fn cypher_with(&self, query: &str, options: &CypherOptions) -> Result<Rows> {
        let started = Instant::now();
        let qopts = options.query_options(self, false);
        let store = &self.inner.graphs;
        // Parsed once; planned once, in the transaction it runs in.
        let stmt = cypher::parse(query)?;
        if !stmt.writes() {
            let gate = store.owned_read_gate()?;
            let mut txn = store.begin_read();
            let plan = cypher::prepare(&mut txn, &stmt, &qopts)?;
            return Rows::streaming(cypher::stream(txn, plan, &qopts, gate)?, started);
        }
        let mut txn = store.begin_write()?;
        let plan = cypher::prepare(&mut txn, &stmt, &qopts)?;
        let out = cypher::run(&mut txn, plan, &qopts)?;
        crate::registry::commit(self, txn)?;
        Ok(Rows::new(out, started.elapsed()))
    }

    /// Starts a write transaction; waits while another one is open. Its statements
    /// see each other's writes; other readers see none of them until `commit`, and
    /// a transaction dropped without `commit` leaves nothing behind.
    ///
    /// ```
    /// let db = sprig::Database::in_memory()?;
    /// let mut tx = db.begin_write()?;
    /// tx.cypher("CREATE (:Model {name: 'x'})", ())?;
    /// let seen: i64 = tx.cypher("MATCH (m:Model) RETURN count(m) AS n", ())?.single()?.get("n")?;
    /// assert_eq!(seen, 1);
    /// drop(tx); // rolled back
    /// let after: i64 = db.cypher("MATCH (m:Model) RETURN count(m) AS n", ())?.single()?.get("n")?;
    /// assert_eq!(after, 0);
    /// let mut tx = db.begin_write()?;
    /// tx.cypher("CREATE (:Model {name: 'y'})", ())?;
    /// tx.commit()?;
    /// let after: i64 = db.cypher("MATCH (m:Model) RETURN count(m) AS n", ())?.single()?.get("n")?;
    /// assert_eq!(after, 1);
    /// # Ok::<_, sprig::Error>(())
    /// ```
    pub fn begin_write(&self) -> Result<WriteTransaction> {
        Ok(WriteTransaction { txn: self.inner.graphs.begin_write()?, db: self.clone(), failed: false })
    }

    /// The graphs that hold data.
    pub fn graphs(&self) -> Result<Vec<String>> {
        Ok(self.inner.graphs.graphs()?)
    }

    /// The plan of a Cypher statement, without running it.
    pub fn explain_cypher(&self, query: &str, options: &CypherOptions) -> Result<Explained> {
        let mut txn = self.inner.graphs.begin_read();
        let _gate = self.inner.graphs.read_gate()?;
        let plan = cypher::explain(&mut txn, query, &options.query_options(self, false))?;
        Ok(Explained { plan, elapsed: None, first: None, cache: None })
    }

    /// Runs a Cypher statement `runs` times and returns the plan with actual rows and
    /// times per operator. `elapsed` is the median of the timed runs and `first` the
    /// first one; the timed runs are not instrumented, the operator figures come from
    /// one more, instrumented run. A statement that writes is rolled back after each run.
    pub fn profile_cypher(&self, query: &str, options: &CypherOptions, runs: usize) -> Result<Explained> {
        let mut times = Vec::new();
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            self.run_rolled_back(query, options, false)?;
            times.push(started.elapsed());
        }
        let before = self.cache_stats();
        let tree = self.run_rolled_back(query, options, true)?.profile;
        let cache = Some(self.cache_stats().since(&before));
        let first = times.first().copied();
        times.sort();
        Ok(Explained { plan: tree.unwrap_or_default(), elapsed: times.get(times.len() / 2).copied(), first, cache })
    }

    /// Runs a statement; one that writes runs in a transaction that is dropped.
    fn run_rolled_back(&self, query: &str, options: &CypherOptions, profile: bool) -> Result<cypher::CypherOutput> {
        let qopts = options.query_options(self, profile);
        let store = &self.inner.graphs;
        let stmt = cypher::parse(query)?;
        if !stmt.writes() {
            let mut txn = store.begin_read();
            let _gate = store.read_gate()?;
            let plan = cypher::prepare(&mut txn, &stmt, &qopts)?;
            return Ok(cypher::run(&mut txn, plan, &qopts)?);
        }
        let mut txn = store.begin_write()?;
        let plan = cypher::prepare(&mut txn, &stmt, &qopts)?;
        Ok(cypher::run(&mut txn, plan, &qopts)?)
    }
}

pub use sprig_index::graph::BulkLoadStats;

impl Database {
    /// Bulk-loads a graph from the CSV files of SPEC section 3 (`nodes` with header
    /// `id,label,...`, `edges` with header `src,dst,type,...`). All or nothing: a bad
    /// line is an error naming the file and line, and the graph is left as it was.
    /// `progress` is called now and then with the rows read so far.
    pub fn load_graph_csv(
        &self,
        graph: &str,
        nodes: (&str, Box<dyn std::io::Read + '_>),
        edges: (&str, Box<dyn std::io::Read + '_>),
        progress: &mut dyn FnMut(u64),
    ) -> Result<BulkLoadStats> {
        use sprig_index::graph::CsvInput;
        if graph == crate::registry::REGISTRY {
            return Err(Error::Usage(
                "graph 'registry' is written through the registry (`sprig registry import`) or Cypher, not a bulk load"
                    .into(),
            ));
        }
        let nodes = CsvInput { name: nodes.0.to_string(), reader: nodes.1 };
        let edges = CsvInput { name: edges.0.to_string(), reader: edges.1 };
        Ok(self.inner.graphs.bulk_load(graph, nodes, edges, progress)?)
    }

    /// Runs a script of `;`-separated Cypher statements in one transaction: all of
    /// them or none. Returns the summed write counters.
    pub fn load_cypher_script(&self, graph: &str, script: &str) -> Result<WriteStats> {
        let mut tx = self.begin_write()?;
        let mut total = WriteStats::default();
        let options = CypherOptions { graph: Some(graph.to_string()), ..Default::default() };
        for statement in crate::split_statements(script) {
            let rows = tx.cypher_with(&statement, &options)?;
            total.add(rows.stats());
        }
        tx.commit()?;
        Ok(total)
    }
}
