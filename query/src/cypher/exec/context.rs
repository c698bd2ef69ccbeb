//! The operator interface (`Operator`, `Row`) and what a running statement carries:
//! the graph view, write and profile counters, the deadline and interrupt flag, the
//! memory budget, and per-statement caches.

use std::collections::HashMap;
use std::sync::Arc;

use sprig_index::graph::{NodeId, NodeRecord, Overlay, RelId, RelRecord};

use crate::common::stop::StopCheck;
use crate::cypher::plan::{LIndexPrune, LogicalOp};
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};

/// A row: one value per slot.
pub type Row = Vec<V>;

/// Rows and time of one operator (PROFILE).
#[derive(Debug, Clone, Default)]
pub struct OpStats {
    pub rows: u64,
    pub time: std::time::Duration,
}

/// A physical operator.
pub trait Operator {
    /// The next row, or `None` when done.
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>>;
    /// Starts over with a new argument row (passed down to `Argument`).
    fn reset(&mut self, arg: &Row);
}

pub type BoxOp = Box<dyn Operator>;

/// Counters of what a statement changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub nodes_created: u64,
    pub nodes_deleted: u64,
    pub relationships_created: u64,
    pub relationships_deleted: u64,
    pub properties_set: u64,
    pub labels_added: u64,
    pub labels_removed: u64,
    pub indexes_added: u64,
    pub indexes_removed: u64,
}

impl WriteStats {
    /// Adds `other`'s counts to these (a script's statements, summed).
    pub fn add(&mut self, other: &WriteStats) {
        self.nodes_created += other.nodes_created;
        self.nodes_deleted += other.nodes_deleted;
        self.relationships_created += other.relationships_created;
        self.relationships_deleted += other.relationships_deleted;
        self.properties_set += other.properties_set;
        self.labels_added += other.labels_added;
        self.labels_removed += other.labels_removed;
        self.indexes_added += other.indexes_added;
        self.indexes_removed += other.indexes_removed;
    }

    /// Every change counted, a number that grows with each write.
    pub fn total(&self) -> u64 {
        self.nodes_created
            + self.nodes_deleted
            + self.relationships_created
            + self.relationships_deleted
            + self.properties_set
            + self.labels_added
            + self.labels_removed
            + self.indexes_added
            + self.indexes_removed
    }
}

/// The graph view a statement runs on: borrowed from its transaction, or owned by a
/// result that streams after the call that planned it has returned.
pub enum GraphRef<'t> {
    Borrowed(&'t mut Overlay),
    Owned(Box<Overlay>),
}

impl std::ops::Deref for GraphRef<'_> {
    type Target = Overlay;
    fn deref(&self) -> &Overlay {
        match self {
            GraphRef::Borrowed(g) => g,
            GraphRef::Owned(g) => g,
        }
    }
}

impl std::ops::DerefMut for GraphRef<'_> {
    fn deref_mut(&mut self) -> &mut Overlay {
        match self {
            GraphRef::Borrowed(g) => g,
            GraphRef::Owned(g) => g,
        }
    }
}

/// What operators share while a statement runs.
pub struct Ctx<'t> {
    pub graph: GraphRef<'t>,
    pub stats: WriteStats,
    pub profile: Option<Vec<OpStats>>,
    /// The statement's deadline and interrupt flag (Ctrl-C).
    pub stop: StopCheck,
    /// Builds the operators of a subquery (`EXISTS {}`, pattern comprehensions) that
    /// an expression runs: the executor's builder, handed in when the statement
    /// starts, so that expression evaluation (`eval/`) needs nothing else of `exec`.
    pub build_operators: fn(&LogicalOp) -> BoxOp,
    pub(super) regexes: HashMap<String, regex::Regex>,
    pub(super) rng: u64,
    /// Work counted by [`Ctx::work`] since the last deadline check.
    pub(super) work_done: u64,
    /// The XML collections `xpath()` reads, and its answers so far: one statement
    /// sees one answer per (collection, expression).
    pub xml: Option<std::sync::Arc<sprig_index::XmlStore>>,
    pub xpath_answers: HashMap<(std::sync::Arc<str>, std::sync::Arc<str>), V>,
    /// What buffering operators and large lists may hold (see [`crate::cypher::exec::memory`]).
    pub memory: std::sync::Arc<crate::cypher::exec::memory::MemoryBudget>,
    /// Set by a pipeline that runs as two halves (`SplitPipeline`, in `parallel.rs`):
    /// the half of its scan this thread works; taken by that scan.
    pub(super) scan_half: Option<ScanHalf>,
    /// When the statement started: the clock of `date()`, `datetime.statement()`, ...
    pub statement_time: jiff::Timestamp,
}

impl<'t> Ctx<'t> {
    pub fn new(graph: &'t mut Overlay, build_operators: fn(&LogicalOp) -> BoxOp, profile: bool) -> Self {
        Self::on(GraphRef::Borrowed(graph), build_operators, profile)
    }

    pub fn on(graph: GraphRef<'t>, build_operators: fn(&LogicalOp) -> BoxOp, profile: bool) -> Self {
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64);
        Ctx {
            graph,
            stats: WriteStats::default(),
            profile: profile.then(Vec::new),
            stop: StopCheck::default(),
            build_operators,
            regexes: HashMap::new(),
            xml: None,
            xpath_answers: HashMap::new(),
            memory: crate::cypher::exec::memory::MemoryBudget::new(crate::cypher::exec::memory::DEFAULT_MEMORY_LIMIT),
            rng: seed | 1,
            work_done: 0,
            scan_half: None,
            statement_time: jiff::Timestamp::now(),
        }
    }

    /// The node record; an error when it was deleted.
    pub fn node(&mut self, id: NodeId) -> Result<Arc<NodeRecord>> {
        self.graph.node(id)?.ok_or_else(|| Error::EntityNotFound(format!("node {id} was deleted")))
    }

    pub fn rel(&mut self, id: RelId) -> Result<Arc<RelRecord>> {
        self.graph.rel(id)?.ok_or_else(|| Error::EntityNotFound(format!("relationship {id} was deleted")))
    }

    pub fn regex(&mut self, pattern: &str) -> Result<&regex::Regex> {
        if !self.regexes.contains_key(pattern) {
            let re = regex::Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|e| Error::argument("InvalidArgumentValue", format!("invalid regular expression: {e}")))?;
            self.regexes.insert(pattern.to_string(), re);
        }
        self.regexes.get(pattern).ok_or_else(|| Error::argument("InvalidArgumentValue", "regex cache"))
    }

    pub fn random(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A reservation against this statement's memory budget.
    pub(crate) fn reservation(&self) -> crate::cypher::exec::memory::Reservation {
        crate::cypher::exec::memory::Reservation::new(&self.memory)
    }

    /// Counts `units` of work (a step of a walk, weighted by what it copies) and
    /// checks the interrupt flag and the deadline after every 1,024: operators whose
    /// steps are uneven count what a step costs, so that a check is never far away.
    pub(crate) fn work(&mut self, units: u32) -> Result<()> {
        self.work_done += u64::from(units);
        if self.work_done >= 1024 {
            self.work_done = 0;
            return self.check_stop();
        }
        Ok(())
    }

    /// One unit of [`Ctx::work`]: a row or a list element.
    pub(crate) fn tick(&mut self) -> Result<()> {
        self.work(1)
    }

    /// The interrupt flag and the deadline, now.
    fn check_stop(&self) -> Result<()> {
        self.stop.check()
    }
}

/// A copy of `row` wide enough for slot `widest`, made with one allocation (a clone
/// then `set` past the end would reallocate).
pub(crate) fn widened(row: &Row, widest: usize) -> Row {
    let mut out = Vec::with_capacity(row.len().max(widest + 1));
    out.extend_from_slice(row);
    out
}

/// The candidates of an LIndex lookup (`None`: the index cannot prune it).
pub(crate) fn lindex_candidates(
    prune: &LIndexPrune,
    ctx: &mut Ctx<'_>,
) -> Result<Option<Arc<roaring::RoaringTreemap>>> {
    Ok(ctx.graph.lindex_candidates(&prune.index, &prune.steps, &prune.property, &prune.tests)?)
}

pub(crate) fn set(row: &mut Row, slot: usize, v: V) {
    if row.len() <= slot {
        row.resize(slot + 1, V::Null);
    }
    row[slot] = v;
}

/// Which half of its candidates the leaf scan of a split pipeline keeps. Both
/// threads compute the same candidates and cut them at the same chunk boundary
/// (the chunk of the middle candidate), so the halves cover them exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanHalf {
    First,
    Second,
}

impl ScanHalf {
    pub(super) fn keep(self, candidates: &mut roaring::RoaringTreemap) {
        let len = sprig_index::graph::CHUNK_LEN as u64;
        let Some(middle) = candidates.select(candidates.len() / 2) else { return };
        let cut = middle / len * len;
        match self {
            ScanHalf::First => candidates.remove_range(cut..),
            ScanHalf::Second => candidates.remove_range(..cut),
        };
    }
}
