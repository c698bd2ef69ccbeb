//! Physical operators: pull-based iterators over rows, built from the logical plan.
//! Blocking operators (aggregation, sort, eager) materialize only their own input.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use std::sync::Arc;
use std::time::{Duration, Instant};

use sprig_index::graph::{Direction, NodeId, NodeRecord, Overlay, Properties, RelId, RelRecord};

use super::aggregate::Accumulator;
use super::chunk_filter::ChunkFilter;
use super::chunked::{ColumnAggregate, DegreeAggregate, RelColumnTests};
use super::expr::{passes, CExpr};
use super::group_table::GroupTable;
use super::memory::{row_bytes, value_bytes, Reservation};
use super::plan::*;
use super::value::{CypherValue as V, GroupKey, PathValue, RowKey};
use crate::{Error, Result};

/// A row: one value per slot.
pub type Row = Vec<V>;

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

/// Rows and time of one operator (PROFILE).
#[derive(Debug, Clone, Default)]
pub struct OpStats {
    pub rows: u64,
    pub time: Duration,
}

/// What operators share while a statement runs.
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

pub struct Ctx<'t> {
    pub graph: GraphRef<'t>,
    pub stats: WriteStats,
    pub profile: Option<Vec<OpStats>>,
    deadline: Option<Instant>,
    /// Set from outside (Ctrl-C) to stop the statement.
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    regexes: HashMap<String, regex::Regex>,
    rng: u64,
    /// Work counted by [`Ctx::work`] since the last deadline check.
    work_done: u64,
    /// The XML collections `xpath()` reads, and its answers so far: one statement
    /// sees one answer per (collection, expression).
    pub xml: Option<std::sync::Arc<sprig_index::XmlStore>>,
    pub xpath_answers: HashMap<(std::sync::Arc<str>, std::sync::Arc<str>), V>,
    /// What buffering operators and large lists may hold (see [`super::memory`]).
    pub memory: std::sync::Arc<super::memory::MemoryBudget>,
}

impl<'t> Ctx<'t> {
    pub fn new(graph: &'t mut Overlay, deadline: Option<Instant>, profile: bool) -> Self {
        Self::on(GraphRef::Borrowed(graph), deadline, profile)
    }

    pub fn on(graph: GraphRef<'t>, deadline: Option<Instant>, profile: bool) -> Self {
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64);
        Ctx {
            graph,
            stats: WriteStats::default(),
            profile: profile.then(Vec::new),
            deadline,
            interrupt: None,
            regexes: HashMap::new(),
            xml: None,
            xpath_answers: HashMap::new(),
            memory: super::memory::MemoryBudget::new(super::memory::DEFAULT_MEMORY_LIMIT),
            rng: seed | 1,
            work_done: 0,
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
    pub(super) fn reservation(&self) -> super::memory::Reservation {
        super::memory::Reservation::new(&self.memory)
    }

    /// Counts `units` of work (a step of a walk, weighted by what it copies) and
    /// checks the interrupt flag and the deadline after every 1,024: operators whose
    /// steps are uneven count what a step costs, so that a check is never far away.
    pub(super) fn work(&mut self, units: u32) -> Result<()> {
        self.work_done += u64::from(units);
        if self.work_done >= 1024 {
            self.work_done = 0;
            return self.check_stop();
        }
        Ok(())
    }

    /// One unit of [`Ctx::work`]: a row or a list element.
    pub(super) fn tick(&mut self) -> Result<()> {
        self.work(1)
    }

    /// The interrupt flag and the deadline, now.
    fn check_stop(&self) -> Result<()> {
        if self.interrupt.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) {
            return Err(Error::Interrupted);
        }
        if let Some(d) = self.deadline {
            if Instant::now() >= d {
                return Err(Error::Timeout);
            }
        }
        Ok(())
    }
}

/// A physical operator.
pub trait Operator {
    /// The next row, or `None` when done.
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>>;
    /// Starts over with a new argument row (passed down to `Argument`).
    fn reset(&mut self, arg: &Row);
}

pub type BoxOp = Box<dyn Operator>;

/// A copy of `row` wide enough for slot `widest`, made with one allocation (a clone
/// then `set` past the end would reallocate).
fn widened(row: &Row, widest: usize) -> Row {
    let mut out = Vec::with_capacity(row.len().max(widest + 1));
    out.extend_from_slice(row);
    out
}

/// The candidates of an LIndex lookup (`None`: the index cannot prune it).
pub(super) fn lindex_candidates(
    prune: &LIndexPrune,
    ctx: &mut Ctx<'_>,
) -> Result<Option<Arc<roaring::RoaringTreemap>>> {
    Ok(ctx.graph.lindex_candidates(&prune.index, &prune.steps, &prune.property, &prune.tests)?)
}

pub(super) fn set(row: &mut Row, slot: usize, v: V) {
    if row.len() <= slot {
        row.resize(slot + 1, V::Null);
    }
    row[slot] = v;
}

/// Builds the operator tree of `op`. With `profile`, operators are numbered in
/// pre-order and report into `Ctx::profile`.
pub fn build(op: &LogicalOp, profile: bool) -> BoxOp {
    let mut next_id = 0;
    build_node(op, profile, &mut next_id)
}

fn build_node(op: &LogicalOp, profile: bool, next_id: &mut usize) -> BoxOp {
    let id = *next_id;
    *next_id += 1;
    let mut child = |o: &LogicalOp| build_node(o, profile, next_id);
    let built: BoxOp = match op {
        LogicalOp::Start => Box::new(Once { row: Some(Vec::new()), arg: Vec::new(), use_arg: false }),
        LogicalOp::Argument => Box::new(Once { row: None, arg: Vec::new(), use_arg: true }),
        LogicalOp::NodeScan { input, slot, source, labels, props, predicates } => Box::new(NodeScan {
            input: child(input),
            slot: *slot,
            source: source.clone(),
            props: props.clone(),
            // Index candidates are few and scattered: a chunk-wide search would cost more.
            filter: match source {
                ScanSource::LIndex { .. } => ChunkFilter::default(),
                _ => ChunkFilter::new(predicates, *slot),
            },
            predicates: predicates.clone(),
            scratch: Vec::new(),
            current: None,
            candidates: roaring::RoaringTreemap::new().into_iter(),
            wanted: Vec::new(),
            extra: LabelTest::new(&match source {
                ScanSource::Label(l) | ScanSource::LIndex { label: Some(l), .. } => {
                    labels.iter().filter(|x| *x != l).cloned().collect::<Vec<_>>()
                }
                _ => labels.clone(),
            }),
        }),
        LogicalOp::NodeCheck { input, slot, labels, props } => Box::new(NodeCheck {
            input: child(input),
            slot: *slot,
            labels: LabelTest::new(labels),
            props: props.clone(),
        }),
        LogicalOp::DegreeAggregate { label, spec, keys, aggs } => {
            Box::new(DegreeAggregate::new(label.clone(), (**spec).clone(), keys.clone(), aggs.clone()))
        }
        LogicalOp::ColumnAggregate { label, aggs, props } => {
            Box::new(ColumnAggregate::new(label.clone(), aggs.clone(), props.clone()))
        }
        LogicalOp::CountFromStore { source, columns } => {
            Box::new(CountFromStore { source: source.clone(), columns: *columns, done: false })
        }
        LogicalOp::ExpandIntoCount { input, first, then } => Box::new(ExpandIntoCount {
            input: child(input),
            first: Expand::without_input(first),
            then: Expand::without_input(then),
        }),
        LogicalOp::Expand { input, spec } | LogicalOp::ExpandCount { input, spec } => {
            Box::new(Expand::new(matches!(op, LogicalOp::ExpandCount { .. }), child(input), spec))
        }
        LogicalOp::ShortestPath { input, from, to, rel, path, dir, types, min, max, all } => Box::new(Shortest {
            input: child(input),
            from: *from,
            to: *to,
            rel: *rel,
            path: *path,
            dir: *dir,
            types: types.clone(),
            min: *min,
            max: *max,
            all: *all,
            pending: VecDeque::new(),
            searches: 0,
            projection: None,
        }),
        LogicalOp::Filter { input, predicate } => {
            Box::new(Filter { input: child(input), predicate: predicate.clone() })
        }
        LogicalOp::Optional { input, inner, added } => {
            let input = child(input);
            let inner = child(inner);
            Box::new(Optional { input, inner, added: *added, current: None, produced: false })
        }
        LogicalOp::Unwind { input, expr, slot } => {
            Box::new(Unwind { input: child(input), expr: expr.clone(), slot: *slot, current: None })
        }
        LogicalOp::BuildPath { input, slot, steps } => {
            Box::new(BuildPath { input: child(input), slot: *slot, steps: steps.clone() })
        }
        LogicalOp::Project { input, exprs, keep_input } => {
            Box::new(Project { input: child(input), exprs: exprs.clone(), keep_input: *keep_input })
        }
        LogicalOp::Aggregate { input, keys, aggs } => {
            Box::new(Aggregate::new(child(input), keys.clone(), aggs.clone()))
        }
        LogicalOp::Distinct { input, width } => Box::new(Distinct {
            input: child(input),
            width: *width,
            seen: GroupTable::new(*width),
            probe: Vec::new(),
            held: None,
        }),
        LogicalOp::Sort { input, keys } => {
            Box::new(Sort { input: child(input), keys: keys.clone(), limit: None, output: None, held: None })
        }
        LogicalOp::TopK { input, keys, limit } => Box::new(Sort {
            input: child(input),
            keys: keys.clone(),
            limit: Some(limit.clone()),
            output: None,
            held: None,
        }),
        LogicalOp::Skip { input, count } => {
            Box::new(SkipLimit { input: child(input), count: count.clone(), skip: true, n: None, writes_below: false })
        }
        LogicalOp::Limit { input, count } => Box::new(SkipLimit {
            writes_below: input.writes(),
            input: child(input),
            count: count.clone(),
            skip: false,
            n: None,
        }),
        LogicalOp::Truncate { input, width } => Box::new(Truncate { input: child(input), width: *width }),
        LogicalOp::Union { inputs, distinct } => Box::new(Union {
            inputs: inputs.iter().map(&mut child).collect(),
            at: 0,
            seen: distinct.then(HashSet::new),
        }),
        LogicalOp::Create { input, pattern } => Box::new(Create { input: child(input), pattern: (**pattern).clone() }),
        LogicalOp::Merge { input, matcher, create, on_create, on_match, added } => Box::new(Merge {
            input: child(input),
            matcher: matcher.clone(),
            create: (**create).clone(),
            on_create: on_create.clone(),
            on_match: on_match.clone(),
            added: *added,
            pending: VecDeque::new(),
        }),
        LogicalOp::Update { input, ops } => Box::new(Update { input: child(input), ops: ops.clone() }),
        LogicalOp::Delete { input, exprs, detach } => {
            Box::new(Delete { input: child(input), exprs: exprs.clone(), detach: *detach })
        }
        LogicalOp::Eager { input } => Box::new(Eager { input: child(input), rows: None, held: None }),
        LogicalOp::ProcedureCall { input, procedure, args, outputs } => {
            Box::new(super::procedures::ProcedureCall::new(child(input), *procedure, args.clone(), outputs.clone()))
        }
        LogicalOp::CreateIndex { def } => Box::new(SchemaOp { create: Some(def.clone()), ..SchemaOp::default() }),
        LogicalOp::CreateTextIndex { def, if_not_exists } => {
            Box::new(SchemaOp { create_text: Some((def.clone(), *if_not_exists)), ..SchemaOp::default() })
        }
        LogicalOp::DropIndex { name } => Box::new(SchemaOp { drop: Some(name.clone()), ..SchemaOp::default() }),
        LogicalOp::Discard { input } => Box::new(Discard { input: child(input) }),
    };
    if profile {
        Box::new(Profiled { id, inner: built })
    } else {
        built
    }
}

struct Profiled {
    id: usize,
    inner: BoxOp,
}

impl Operator for Profiled {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let start = Instant::now();
        let row = self.inner.next(ctx)?;
        if let Some(p) = &mut ctx.profile {
            if p.len() <= self.id {
                p.resize(self.id + 1, OpStats::default());
            }
            p[self.id].time += start.elapsed();
            if row.is_some() {
                p[self.id].rows += 1;
            }
        }
        Ok(row)
    }
    fn reset(&mut self, arg: &Row) {
        self.inner.reset(arg);
    }
}

struct Once {
    row: Option<Row>,
    arg: Row,
    use_arg: bool,
}

impl Operator for Once {
    fn next(&mut self, _ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        Ok(self.row.take())
    }
    fn reset(&mut self, arg: &Row) {
        if self.use_arg {
            self.arg = arg.clone();
            self.row = Some(self.arg.clone());
        } else {
            self.row = Some(Vec::new());
        }
    }
}

/// Property-map values of a pattern, evaluated once per input row.
fn eval_prop_map(props: &[(String, CExpr)], row: &Row, ctx: &mut Ctx<'_>) -> Result<Vec<(String, V)>> {
    if props.is_empty() {
        return Ok(Vec::new());
    }
    props.iter().map(|(k, e)| Ok((k.clone(), e.eval(row, ctx)?))).collect()
}

/// True when node `id` has every wanted property value (read from stored bytes).
fn node_props_match(id: NodeId, wanted: &[(String, V)], ctx: &mut Ctx<'_>) -> Result<bool> {
    for (k, want) in wanted {
        let hit = ctx
            .graph
            .with_node_property(id, k, |raw| raw.is_some_and(|r| super::value::raw_equals(&r, want) == Some(true)))?;
        if hit != Some(true) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn rel_props_match(id: RelId, wanted: &[(String, V)], ctx: &mut Ctx<'_>) -> Result<bool> {
    for (k, want) in wanted {
        let hit = ctx
            .graph
            .with_rel_property(id, k, |raw| raw.is_some_and(|r| super::value::raw_equals(&r, want) == Some(true)))?;
        if hit != Some(true) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn node_matches(id: NodeId, labels: &mut LabelTest, props: &[(String, V)], ctx: &mut Ctx<'_>) -> Result<bool> {
    if !labels.test(id, ctx)? {
        return Ok(false);
    }
    if props.is_empty() {
        return Ok(labels.exact() || ctx.graph.node(id)?.is_some());
    }
    node_props_match(id, props, ctx)
}

/// "Has all these labels", answered from the label bitmaps (exact, and kept current
/// by the transaction), fetched once per operator run and, once it has answered
/// [`FLAT_AFTER`] tests, turned into a flat bit vector when the ids are dense enough
/// (one shift and mask per test; building it costs a pass over the label, which a
/// few tests never pay back).
#[derive(Debug, Clone, Default)]
pub(super) struct LabelTest {
    labels: Vec<String>,
    sets: Option<Vec<LabelSet>>,
    tests: std::cell::Cell<u32>,
    flat: bool,
}

/// Tests a label answers from its bitmap before it is flattened.
const FLAT_AFTER: u32 = 8192;

#[derive(Debug, Clone)]
enum LabelSet {
    Bits(Vec<u64>),
    Bitmap(Arc<roaring::RoaringTreemap>),
}

/// Largest id for which a label is flattened into a bit vector (8 MiB of bits).
const FLAT_LABEL_MAX_ID: u64 = 1 << 26;
/// Bytes of bits below which a label is flattened however sparse it is (64 KiB: ids
/// below 524,288; a scan re-fetches its extra labels per input row).
const FLAT_LABEL_SMALL: u64 = 1 << 16;

impl LabelSet {
    fn flattened(self) -> Self {
        match self {
            LabelSet::Bitmap(b) => LabelSet::new(b),
            bits => bits,
        }
    }

    fn new(bitmap: Arc<roaring::RoaringTreemap>) -> Self {
        match bitmap.max() {
            // Flat when dense, or small whatever the density (a rare label of a
            // 100,000-node graph is 12 KiB of bits).
            Some(max) if max < FLAT_LABEL_MAX_ID && (max / 8 <= FLAT_LABEL_SMALL || bitmap.len() * 64 >= max / 8) => {
                let mut bits = vec![0u64; (max / 64 + 1) as usize];
                for id in bitmap.iter() {
                    bits[(id / 64) as usize] |= 1 << (id % 64);
                }
                LabelSet::Bits(bits)
            }
            _ => LabelSet::Bitmap(bitmap),
        }
    }

    fn contains(&self, id: NodeId) -> bool {
        match self {
            LabelSet::Bits(bits) => bits.get((id / 64) as usize).is_some_and(|w| w & (1 << (id % 64)) != 0),
            LabelSet::Bitmap(b) => b.contains(id),
        }
    }
}

impl LabelTest {
    pub(super) fn new(labels: &[String]) -> Self {
        LabelTest { labels: labels.to_vec(), ..LabelTest::default() }
    }

    /// True when a positive test proves the node exists.
    fn exact(&self) -> bool {
        !self.labels.is_empty()
    }

    fn test(&mut self, id: NodeId, ctx: &mut Ctx<'_>) -> Result<bool> {
        self.prepare(ctx)?;
        Ok(self.contains(id))
    }

    /// Fetches the bitmaps (once per run).
    pub(super) fn prepare(&mut self, ctx: &mut Ctx<'_>) -> Result<()> {
        if self.labels.is_empty() {
            return Ok(());
        }
        if self.sets.is_none() {
            let mut sets = Vec::with_capacity(self.labels.len());
            for l in &self.labels {
                sets.push(LabelSet::Bitmap(ctx.graph.label_nodes(Some(l))?));
            }
            self.sets = Some(sets);
            self.flat = false;
        } else if !self.flat && self.tests.get() >= FLAT_AFTER {
            if let Some(sets) = self.sets.take() {
                self.sets = Some(sets.into_iter().map(LabelSet::flattened).collect());
            }
            self.flat = true;
        }
        Ok(())
    }

    /// [`prepare`](Self::prepare) for a caller about to test a whole label's worth of ids.
    pub(super) fn prepare_flat(&mut self, ctx: &mut Ctx<'_>) -> Result<()> {
        self.prepare(ctx)?;
        self.tests.set(FLAT_AFTER);
        self.prepare(ctx)
    }

    /// The test after [`LabelTest::prepare`].
    #[inline]
    pub(super) fn contains(&self, id: NodeId) -> bool {
        if self.labels.is_empty() {
            return true;
        }
        if !self.flat {
            self.tests.set(self.tests.get().saturating_add(1));
        }
        self.sets.as_ref().is_some_and(|m| m.iter().all(|b| b.contains(id)))
    }

    /// Forgets the bitmaps (a write may have changed them).
    fn reset(&mut self) {
        self.sets = None;
        self.flat = false;
    }
}

struct NodeScan {
    input: BoxOp,
    slot: usize,
    source: ScanSource,
    props: Vec<(String, CExpr)>,
    current: Option<Row>,
    /// The candidates of the current input row, iterated without materializing them.
    candidates: roaring::treemap::IntoIter,
    wanted: Vec<(String, V)>,
    /// The labels the source does not already guarantee.
    extra: LabelTest,
    predicates: Vec<CExpr>,
    filter: ChunkFilter,
    scratch: Row,
}

impl NodeScan {
    fn candidates(&self, row: &Row, ctx: &mut Ctx<'_>) -> Result<roaring::RoaringTreemap> {
        Ok(match &self.source {
            ScanSource::LIndex { label, prune } => {
                let nodes = ctx.graph.label_nodes(label.as_deref())?;
                match lindex_candidates(prune, ctx)? {
                    Some(found) => found.as_ref() & nodes.as_ref(),
                    None => (*nodes).clone(),
                }
            }
            ScanSource::AllNodes => (*ctx.graph.label_nodes(None)?).clone(),
            ScanSource::Label(l) => (*ctx.graph.label_nodes(Some(l))?).clone(),
            ScanSource::IndexSeek { index, seek } => {
                let key = |v: &V| -> Option<Vec<u8>> { v.to_property().ok().flatten().and_then(|p| p.index_key()) };
                // Index keys neither order nor match lists as Cypher does: a list value
                // reads the whole label, and the predicates above keep the rows that compare.
                let whole_label = |ctx: &mut Ctx<'_>| -> Result<roaring::RoaringTreemap> {
                    Ok((*ctx.graph.label_nodes(Some(&index.label))?).clone())
                };
                let ids = match seek {
                    Seek::Equal(e) => {
                        let v = e.eval(row, ctx)?;
                        if matches!(v, V::List(_)) {
                            return whole_label(ctx);
                        }
                        match key(&v) {
                            Some(k) => {
                                let mut to = k.clone();
                                to.push(0xff);
                                ctx.graph.index_seek(index, &k, Some(&to))?
                            }
                            None => Default::default(),
                        }
                    }
                    Seek::Prefix(e) => match e.eval(row, ctx)? {
                        V::String(s) => {
                            ctx.graph.index_seek(index, &sprig_index::graph::string_prefix_key(&s), None)?
                        }
                        _ => Default::default(),
                    },
                    Seek::Range { lower, upper } => {
                        let lo = match lower {
                            Some((e, _)) => Some(e.eval(row, ctx)?),
                            None => None,
                        };
                        let hi = match upper {
                            Some((e, _)) => Some(e.eval(row, ctx)?),
                            None => None,
                        };
                        if lo.iter().chain(&hi).any(|v| matches!(v, V::List(_))) {
                            return whole_label(ctx);
                        }
                        let lo = lo.as_ref().and_then(key);
                        let hi = hi.as_ref().and_then(key);
                        // The type tag is the first key byte: a range stays within it.
                        let tag = lo.as_ref().or(hi.as_ref()).map(|k| k[0]);
                        match tag {
                            Some(t) => {
                                let from = lo.unwrap_or_else(|| vec![t]);
                                let mut to = hi.unwrap_or_else(|| vec![t + 1]);
                                to.push(0xff);
                                ctx.graph.index_seek(index, &from, Some(&to))?
                            }
                            None => Default::default(),
                        }
                    }
                };
                ids
            }
        })
    }
}

impl Operator for NodeScan {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(row) = &self.current {
                for id in self.candidates.by_ref() {
                    ctx.tick()?;
                    if !self.filter.may_match(id, ctx)? {
                        continue;
                    }
                    // Label bitmaps are exact: a scan with nothing else to check
                    // needs no record.
                    let pass = (self.extra.labels.is_empty() && self.wanted.is_empty())
                        || node_matches(id, &mut self.extra, &self.wanted, ctx)?;
                    if !pass {
                        continue;
                    }
                    // Predicates read a reused row; only a passing node gets its own.
                    if self.scratch.len() != row.len() {
                        self.scratch.clone_from(row);
                    }
                    set(&mut self.scratch, self.slot, V::Node(id));
                    let mut keep = true;
                    for p in &self.predicates {
                        if !passes(&p.eval(&self.scratch, ctx)?)? {
                            keep = false;
                            break;
                        }
                    }
                    if keep {
                        let mut out = widened(row, self.slot);
                        set(&mut out, self.slot, V::Node(id));
                        return Ok(Some(out));
                    }
                }
                self.current = None;
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            self.candidates = self.candidates(&row, ctx)?.into_iter();
            self.wanted = eval_prop_map(&self.props, &row, ctx)?;
            self.extra.reset();
            self.filter.start(&self.wanted);
            self.scratch.clone_from(&row);
            self.current = Some(row);
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.current = None;
        self.input.reset(arg);
    }
}

struct NodeCheck {
    input: BoxOp,
    slot: usize,
    labels: LabelTest,
    props: Vec<(String, CExpr)>,
}

impl Operator for NodeCheck {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ctx)? {
            if let Some(V::Node(id)) = row.get(self.slot) {
                let wanted = eval_prop_map(&self.props, &row, ctx)?;
                if node_matches(*id, &mut self.labels, &wanted, ctx)? {
                    return Ok(Some(row));
                }
            }
        }
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

pub(super) fn type_tokens(types: &[String], ctx: &Ctx<'_>) -> Option<Vec<u32>> {
    if types.is_empty() {
        return None;
    }
    Some(types.iter().filter_map(|t| ctx.graph.meta().type_token(t)).collect())
}

/// The relationships of `node` in `dir` (of the given type tokens), as (rel, other).
fn neighbours(
    node: NodeId,
    dir: ExpandDir,
    tokens: &Option<Vec<u32>>,
    ctx: &mut Ctx<'_>,
) -> Result<Vec<(RelId, NodeId)>> {
    let mut out = Vec::new();
    let mut push = |list: &[sprig_index::graph::AdjEntry], skip_loops: bool| {
        for e in list {
            if skip_loops && e.other == node {
                continue;
            }
            if tokens.as_ref().is_none_or(|t| t.contains(&e.type_token)) {
                out.push((e.rel, e.other));
            }
        }
    };
    if matches!(dir, ExpandDir::Out | ExpandDir::Both) {
        let l = ctx.graph.adjacency(node, Direction::Outgoing)?;
        push(&l, false);
    }
    if matches!(dir, ExpandDir::In | ExpandDir::Both) {
        let l = ctx.graph.adjacency(node, Direction::Incoming)?;
        push(&l, dir == ExpandDir::Both);
    }
    Ok(out)
}

/// The adjacency list of `node` in `dir`; for a single type, only that type's
/// entries, from the chunk's block of the type (dense, so it stays in cache).
pub(super) fn list_of(
    node: NodeId,
    dir: Direction,
    tokens: &Option<Vec<u32>>,
    ctx: &mut Ctx<'_>,
) -> Result<sprig_index::graph::AdjList> {
    Ok(match tokens.as_deref() {
        Some([t]) => ctx.graph.typed_adjacency(node, dir, *t)?,
        _ => ctx.graph.adjacency(node, dir)?,
    })
}

/// The entries of a list (sorted by type token) with one of `tokens`' types: the
/// range of the type for a single type, the whole list otherwise.
pub(super) fn of_types<'a>(
    list: &'a [sprig_index::graph::AdjEntry],
    tokens: &Option<Vec<u32>>,
) -> &'a [sprig_index::graph::AdjEntry] {
    match tokens.as_deref() {
        Some([]) => &[],
        Some([t]) => {
            let t = *t;
            // Lists are sorted by type: the first and the last entry tell whether
            // the type sits at either end (the common case with few types), which
            // reads the two ends of the list instead of all of it.
            let (Some(first), Some(last)) = (list.first(), list.last()) else { return &[] };
            if first.type_token == t {
                let hi = list.iter().take_while(|e| e.type_token == t).count();
                &list[..hi]
            } else if last.type_token == t {
                let lo = list.len() - list.iter().rev().take_while(|e| e.type_token == t).count();
                &list[lo..]
            } else if first.type_token > t || last.type_token < t {
                &[]
            } else {
                let lo = list.partition_point(|e| e.type_token < t);
                let hi = lo + list[lo..].partition_point(|e| e.type_token == t);
                &list[lo..hi]
            }
        }
        _ => list,
    }
}

/// Relationships into a bound target, found from the target's side when the same
/// target comes back row after row (`(a)-[:WORKS_AT]->(c)<-[:WORKS_AT]-(b)` checks
/// many `b` against one `c`): the target's list, sorted by the other end, is built
/// once and probed by binary search instead of walking each `from`'s list. Built
/// lists are kept for targets that come back later too, up to a budget of pairs.
#[derive(Debug, Default)]
struct IntoMemo {
    last_target: Option<NodeId>,
    /// Each target's (other end, relationship) pairs, sorted.
    built: rustc_hash::FxHashMap<NodeId, Vec<(NodeId, RelId)>>,
    pairs: usize,
    /// The statement's write count when `built` was filled (a write empties it).
    writes: u64,
}

/// Pairs an into-check memo keeps before it starts over (16 MiB).
const INTO_MEMO_PAIRS: usize = 1 << 20;

impl IntoMemo {
    /// The relationships from `from` to `to` (with the expansion's direction and
    /// types) when the memo serves `to`; `None`: walk `from`'s list instead.
    fn lookup(
        &mut self,
        from: NodeId,
        to: NodeId,
        dir: ExpandDir,
        tokens: &Option<Vec<u32>>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Option<Vec<(RelId, NodeId)>>> {
        let repeated = self.last_target == Some(to);
        self.last_target = Some(to);
        let reverse = match dir {
            ExpandDir::Out => Direction::Incoming,
            ExpandDir::In => Direction::Outgoing,
            ExpandDir::Both => return Ok(None),
        };
        let writes = ctx.stats.total();
        if writes != self.writes {
            self.built.clear();
            self.pairs = 0;
            self.writes = writes;
        }
        if !self.built.contains_key(&to) {
            if !repeated {
                return Ok(None);
            }
            let list = list_of(to, reverse, tokens, ctx)?;
            let mut pairs: Vec<(NodeId, RelId)> = of_types(&list, tokens)
                .iter()
                .filter(|e| tokens.as_ref().is_none_or(|t| t.contains(&e.type_token)))
                .map(|e| (e.other, e.rel))
                .collect();
            pairs.sort_unstable();
            if self.pairs + pairs.len() > INTO_MEMO_PAIRS {
                self.built.clear();
                self.pairs = 0;
            }
            self.pairs += pairs.len();
            self.built.insert(to, pairs);
        }
        let Some(pairs) = self.built.get(&to) else { return Ok(None) };
        let lo = pairs.partition_point(|(o, _)| *o < from);
        Ok(Some(pairs[lo..].iter().take_while(|(o, _)| *o == from).map(|(_, r)| (*r, to)).collect()))
    }
}

fn used_rel(row: &Row, slots: &[usize], rel: RelId) -> bool {
    slots.iter().any(|s| match row.get(*s) {
        Some(V::Rel(r)) => *r == rel,
        Some(V::List(l)) => l.iter().any(|v| matches!(v, V::Rel(r) if *r == rel)),
        _ => false,
    })
}

struct CountFromStore {
    source: CountSource,
    columns: usize,
    done: bool,
}

impl Operator for CountFromStore {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        let n = match &self.source {
            CountSource::Nodes(label) => ctx.graph.label_nodes(label.as_deref())?.len(),
            CountSource::Rels(types) => {
                let meta = ctx.graph.meta();
                if types.is_empty() {
                    meta.rel_count
                } else {
                    types.iter().filter_map(|t| meta.type_token(t)).map(|k| meta.type_counts[k as usize]).sum()
                }
            }
        };
        Ok(Some(vec![V::Int(n as i64); self.columns]))
    }
    fn reset(&mut self, _arg: &Row) {
        self.done = false;
    }
}

/// The rows of an aggregation: each group's key, then its `per_group` aggregates,
/// in the order groups were first seen; one row when `ungrouped`.
pub(super) fn group_rows(
    groups: GroupTable,
    states: Vec<Accumulator>,
    per_group: usize,
    ungrouped: bool,
) -> Result<VecDeque<Row>> {
    let n = if ungrouped { 1 } else { groups.len() };
    let mut keys = groups.into_keys(per_group);
    let mut accs = states.into_iter();
    let mut out = VecDeque::with_capacity(n);
    for _ in 0..n {
        let mut row: Row = keys.next().unwrap_or_else(|| Vec::with_capacity(per_group));
        for a in accs.by_ref().take(per_group) {
            row.push(a.finish()?);
        }
        out.push_back(row);
    }
    Ok(out)
}

struct ExpandIntoCount {
    input: BoxOp,
    /// The hop to the intermediate node.
    first: Expand,
    /// The closing check from the intermediate node (counted).
    then: Expand,
}

impl Operator for ExpandIntoCount {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let (first_rel, first_to) = (self.first.spec.rel, self.first.spec.to);
        let (then_rel, then_to) = (self.then.spec.rel, self.then.spec.to);
        let widest = first_rel.max(first_to).max(then_rel).max(then_to);
        while let Some(row) = self.input.next(ctx)? {
            let Some((from, shared)) = self.first.start_row(&row, ctx)? else { continue };
            let tokens: &Option<Vec<u32>> = &shared;
            // The row as the check sees it: the first hop's slots change per candidate.
            let mut scratch = widened(&row, widest);
            let mut total = 0i64;
            let then = &mut self.then;
            self.first.single_hop(&row, from, tokens, ctx, |rel, mid, ctx| {
                set(&mut scratch, first_rel, V::Rel(rel));
                set(&mut scratch, first_to, V::Node(mid));
                let Some((check_from, check_tokens)) = then.start_row(&scratch, ctx)? else { return Ok(()) };
                then.single_hop(&scratch, check_from, &check_tokens, ctx, |_, _, _| {
                    total += 1;
                    Ok(())
                })
            })?;
            if total > 0 {
                let mut out = widened(&row, widest);
                set(&mut out, then_rel, V::Null);
                set(&mut out, then_to, V::Int(total));
                return Ok(Some(out));
            }
        }
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

/// The type tokens of an expansion (`None`: any type), shared without a copy.
type Tokens = std::rc::Rc<Option<Vec<u32>>>;

struct Expand {
    /// Emit one row per input row with the number of matches (ExpandCount).
    count_only: bool,
    input: BoxOp,
    spec: ExpandSpec,
    pending: VecDeque<Row>,
    /// Property-map values for the current input row.
    rel_wanted: Vec<(String, V)>,
    to_wanted: Vec<(String, V)>,
    /// Type tokens, looked up once (shared with each row's expansion without a copy).
    tokens: Option<Tokens>,
    /// Candidates of the current row, collected before their rows are built.
    found: Vec<(RelId, NodeId)>,
    to_labels: LabelTest,
    /// Reused row for checking `spec.predicates` before building a row.
    scratch: Row,
    /// True when `scratch` holds the current input row.
    scratch_fresh: bool,
    into_memo: IntoMemo,
    /// Predicates comparing a property of the new relationship with a number,
    /// tested on the relationship chunk's columns (the rest are in `spec.predicates`).
    rel_tests: RelColumnTests,
    /// The LIndex candidates for the target (`spec.to_prune`), with the write count they
    /// were looked up at: the statement's own writes change them.
    to_candidates: Option<(u64, Option<Arc<roaring::RoaringTreemap>>)>,
    /// Targets passed before the lookup was made (see [`LIndexPrune::after`]).
    unpruned: u32,
    /// By hops left: the nodes a variable-length walk may go on from, with the write
    /// count they were looked up at (see [`ExpandSpec::frontier`]).
    frontier_sets: Vec<Option<(u64, Option<Arc<roaring::RoaringTreemap>>)>>,
}

impl Expand {
    fn new(count_only: bool, input: BoxOp, spec: &ExpandSpec) -> Self {
        let mut spec = spec.clone();
        let rel_tests = RelColumnTests::take_from(&mut spec);
        Expand {
            count_only,
            input,
            pending: VecDeque::new(),
            rel_wanted: Vec::new(),
            to_wanted: Vec::new(),
            tokens: None,
            found: Vec::new(),
            to_labels: LabelTest::new(&spec.to_labels),
            scratch: Vec::new(),
            scratch_fresh: false,
            into_memo: IntoMemo::default(),
            rel_tests,
            to_candidates: None,
            unpruned: 0,
            frontier_sets: Vec::new(),
            spec,
        }
    }

    /// An expansion used only through `start_row` and `single_hop` (its input is
    /// never pulled).
    fn without_input(spec: &ExpandSpec) -> Self {
        Expand::new(false, Box::new(Once { row: None, arg: Vec::new(), use_arg: false }), spec)
    }

    fn rel_ok(&self, rel: RelId, row: &Row, ctx: &mut Ctx<'_>) -> Result<bool> {
        if !self.spec.distinct_from.is_empty() && used_rel(row, &self.spec.distinct_from, rel) {
            return Ok(false);
        }
        if self.rel_wanted.is_empty() {
            return Ok(true);
        }
        rel_props_match(rel, &self.rel_wanted, ctx)
    }

    /// Whether `node` is one of the LIndex candidates of `spec.to_prune` (looked up
    /// again after the statement's own writes).
    fn prune_ok(&mut self, node: NodeId, ctx: &mut Ctx<'_>) -> Result<bool> {
        let Some(prune) = &self.spec.to_prune else { return Ok(true) };
        if self.unpruned < prune.after {
            // A path lookup reads many postings: worth it only for a large expansion.
            self.unpruned += 1;
            return Ok(true);
        }
        let writes = ctx.stats.total();
        if self.to_candidates.as_ref().is_none_or(|(at, _)| *at != writes) {
            self.to_candidates = Some((writes, lindex_candidates(prune, ctx)?));
        }
        Ok(match &self.to_candidates {
            Some((_, Some(c))) => c.contains(node),
            _ => true,
        })
    }

    /// Whether a variable-length walk at `node`, with `left` hops to go, can still reach
    /// a candidate target (see [`ExpandSpec::frontier`]).
    fn frontier_ok(&mut self, node: NodeId, left: u64, ctx: &mut Ctx<'_>) -> Result<bool> {
        let Some(frontier) = &self.spec.frontier else { return Ok(true) };
        if left > u64::from(frontier.hops) {
            return Ok(true);
        }
        if self.unpruned < frontier.prune.after {
            self.unpruned += 1;
            return Ok(true);
        }
        let writes = ctx.stats.total();
        let slot = left as usize;
        if self.frontier_sets.len() <= slot {
            self.frontier_sets.resize(slot + 1, None);
        }
        if self.frontier_sets[slot].as_ref().is_none_or(|(at, _)| *at != writes) {
            // Candidates for 1..=left steps of the walk.
            let mut reach: Option<roaring::RoaringTreemap> = Some(roaring::RoaringTreemap::new());
            for j in 1..=left as usize {
                let step = frontier.prune.steps[0].clone();
                let prune = LIndexPrune { steps: vec![step; j], ..frontier.prune.clone() };
                match (lindex_candidates(&prune, ctx)?, reach.as_mut()) {
                    (Some(c), Some(r)) => *r |= c.as_ref(),
                    _ => reach = None,
                }
            }
            self.frontier_sets[slot] = Some((writes, reach.map(Arc::new)));
        }
        Ok(match &self.frontier_sets[slot] {
            Some((_, Some(r))) => r.contains(node),
            _ => true,
        })
    }

    fn target_ok(&mut self, node: NodeId, row: &Row, ctx: &mut Ctx<'_>) -> Result<bool> {
        if self.spec.to_bound && !matches!(row.get(self.spec.to), Some(V::Node(n)) if *n == node) {
            return Ok(false);
        }
        if self.spec.to_prune.is_some() && !self.prune_ok(node, ctx)? {
            return Ok(false);
        }
        if self.spec.to_labels.is_empty() && self.to_wanted.is_empty() {
            return Ok(true);
        }
        node_matches(node, &mut self.to_labels, &self.to_wanted, ctx)
    }

    /// What is the same for every candidate of `row`: the start node and the type
    /// tokens (`None`: the row has no node to start from).
    fn start_row(&mut self, row: &Row, ctx: &mut Ctx<'_>) -> Result<Option<(NodeId, Tokens)>> {
        let Some(V::Node(from)) = row.get(self.spec.from).cloned() else { return Ok(None) };
        let tokens = match &self.tokens {
            Some(t) => t.clone(),
            None => {
                let t = std::rc::Rc::new(type_tokens(&self.spec.types, ctx));
                self.tokens = Some(t.clone());
                t
            }
        };
        if !self.spec.rel_props.is_empty() || !self.rel_wanted.is_empty() {
            self.rel_wanted = eval_prop_map(&self.spec.rel_props, row, ctx)?;
        }
        if !self.spec.to_props.is_empty() || !self.to_wanted.is_empty() {
            self.to_wanted = eval_prop_map(&self.spec.to_props, row, ctx)?;
        }
        // Copied into the scratch row only when a candidate gets to the predicates.
        self.scratch_fresh = false;
        Ok(Some((from, tokens)))
    }

    fn expand(&mut self, row: Row, ctx: &mut Ctx<'_>) -> Result<()> {
        let Some((from, shared)) = self.start_row(&row, ctx)? else { return Ok(()) };
        let tokens: &Option<Vec<u32>> = &shared;
        if let Some((min, max)) = self.spec.length {
            return self.expand_var(row, from, tokens, min, max, ctx);
        }
        if self.spec.rel_bound {
            let Some(V::Rel(r)) = row.get(self.spec.rel).cloned() else { return Ok(()) };
            let Some(rec) = ctx.graph.rel(r)? else { return Ok(()) };
            if tokens.is_some() && !self.spec.types.contains(&rec.rel_type) {
                return Ok(());
            }
            let mut others = Vec::new();
            if matches!(self.spec.dir, ExpandDir::Out | ExpandDir::Both) && rec.start == from {
                others.push(rec.end);
            }
            if matches!(self.spec.dir, ExpandDir::In | ExpandDir::Both)
                && rec.end == from
                && !others.contains(&rec.start)
            {
                others.push(rec.start);
            }
            for other in others {
                if self.target_ok(other, &row, ctx)? && self.rel_ok(r, &row, ctx)? {
                    let mut out = row.clone();
                    set(&mut out, self.spec.to, V::Node(other));
                    self.pending.push_back(out);
                }
            }
            return Ok(());
        }
        let count_only = self.count_only;
        let mut count = 0i64;
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        self.single_hop(&row, from, tokens, ctx, |rel, other, _| {
            if count_only {
                count += 1;
            } else {
                found.push((rel, other));
            }
            Ok(())
        })?;
        for &(rel, other) in &found {
            self.emit(&row, rel, other);
        }
        self.found = found;
        self.finish_count(row, count);
        Ok(())
    }

    /// Calls `f` with each relationship and node a single hop from `from` reaches
    /// that passes every check of the expansion, for input row `row`.
    #[inline]
    fn single_hop(
        &mut self,
        row: &Row,
        from: NodeId,
        tokens: &Option<Vec<u32>>,
        ctx: &mut Ctx<'_>,
        mut f: impl FnMut(RelId, NodeId, &mut Ctx<'_>) -> Result<()>,
    ) -> Result<()> {
        let bound = match (self.spec.to_bound, row.get(self.spec.to)) {
            (false, _) => None,
            (true, Some(V::Node(n))) => Some(*n),
            (true, _) => return Ok(()),
        };
        let plain_rel = self.spec.distinct_from.is_empty() && self.rel_wanted.is_empty();
        let labels_only = self.to_wanted.is_empty();
        if labels_only {
            self.to_labels.prepare(ctx)?;
        }
        if let Some(to) = bound {
            if let Some(matches) = self.into_memo.lookup(from, to, self.spec.dir, tokens, ctx)? {
                for (rel, _) in matches {
                    ctx.tick()?;
                    if self.candidate_ok(rel, to, row, plain_rel, labels_only, ctx)? {
                        f(rel, to, ctx)?;
                    }
                }
                return Ok(());
            }
        }
        // Walk the adjacency lists in place (no per-row list of neighbours).
        let out_list = match self.spec.dir {
            ExpandDir::Out | ExpandDir::Both => Some(list_of(from, Direction::Outgoing, tokens, ctx)?),
            ExpandDir::In => None,
        };
        let in_list = match self.spec.dir {
            ExpandDir::In | ExpandDir::Both => Some(list_of(from, Direction::Incoming, tokens, ctx)?),
            ExpandDir::Out => None,
        };
        let skip_loops = self.spec.dir == ExpandDir::Both;
        let entries = out_list
            .iter()
            .flat_map(|l| of_types(l, tokens).iter().map(|e| (e, false)))
            .chain(in_list.iter().flat_map(|l| of_types(l, tokens).iter().map(|e| (e, true))));
        let several_types = tokens.as_ref().is_some_and(|t| t.len() > 1);
        for (e, incoming) in entries {
            if incoming && skip_loops && e.other == from {
                continue;
            }
            if several_types && tokens.as_ref().is_some_and(|t| !t.contains(&e.type_token)) {
                continue;
            }
            if bound.is_some_and(|to| to != e.other) {
                continue;
            }
            let (rel, other) = (e.rel, e.other);
            ctx.tick()?;
            if self.candidate_ok(rel, other, row, plain_rel, labels_only, ctx)? {
                f(rel, other, ctx)?;
            }
        }
        Ok(())
    }

    /// Labels, property maps, isomorphism and pushed-down predicates of one candidate.
    fn candidate_ok(
        &mut self,
        rel: RelId,
        other: NodeId,
        row: &Row,
        plain_rel: bool,
        labels_only: bool,
        ctx: &mut Ctx<'_>,
    ) -> Result<bool> {
        if !self.rel_tests.tests.is_empty() && !self.rel_tests.pass(rel, ctx)? {
            return Ok(false);
        }
        // The LIndex candidates are usually the most selective test: first.
        if self.spec.to_prune.is_some() && !self.prune_ok(other, ctx)? {
            return Ok(false);
        }
        let target = if labels_only {
            self.to_labels.contains(other)
        } else {
            node_matches(other, &mut self.to_labels, &self.to_wanted, ctx)?
        };
        if !target || (!plain_rel && !self.rel_ok(rel, row, ctx)?) {
            return Ok(false);
        }
        if self.spec.predicates.is_empty() {
            return Ok(true);
        }
        // The scratch row holds this input row; only the new slots change.
        if !self.scratch_fresh {
            self.scratch.clone_from(row);
            self.scratch_fresh = true;
        }
        set(&mut self.scratch, self.spec.rel, V::Rel(rel));
        set(&mut self.scratch, self.spec.to, V::Node(other));
        for p in &self.spec.predicates {
            if !passes(&p.eval(&self.scratch, ctx)?)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn emit(&mut self, row: &Row, rel: RelId, other: NodeId) {
        let mut out = widened(row, self.spec.rel.max(self.spec.to));
        set(&mut out, self.spec.rel, V::Rel(rel));
        set(&mut out, self.spec.to, V::Node(other));
        self.pending.push_back(out);
    }

    fn finish_count(&mut self, row: Row, count: i64) {
        if self.count_only && count > 0 {
            let mut out = row;
            out.reserve((self.spec.rel.max(self.spec.to) + 1).saturating_sub(out.len()));
            set(&mut out, self.spec.rel, V::Null);
            set(&mut out, self.spec.to, V::Int(count));
            self.pending.push_back(out);
        }
    }

    fn expand_var(
        &mut self,
        row: Row,
        from: NodeId,
        tokens: &Option<Vec<u32>>,
        min: u64,
        max: Option<u64>,
        ctx: &mut Ctx<'_>,
    ) -> Result<()> {
        // Depth-first over relationship-unique walks.
        if self.spec.rel_bound {
            return self.follow_bound_list(row, from, ctx);
        }
        let mut stack: Vec<(NodeId, Vec<RelId>)> = vec![(from, Vec::new())];
        // The rows of one start node are buffered: they count against the budget.
        let mut buffered = 0usize;
        while let Some((node, rels)) = stack.pop() {
            ctx.work(rels.len().min(1 << 20) as u32 + 1)?;
            let depth = rels.len() as u64;
            if depth >= min && self.target_ok(node, &row, ctx)? {
                let mut out = row.clone();
                let mut list: Vec<V> = rels.iter().map(|r| V::Rel(*r)).collect();
                if self.spec.reversed {
                    list.reverse();
                }
                set(&mut out, self.spec.rel, V::list(list));
                set(&mut out, self.spec.to, V::Node(node));
                buffered += row_bytes(&out);
                ctx.memory.check(buffered)?;
                self.pending.push_back(out);
            }
            if max.is_some_and(|m| depth >= m) {
                continue;
            }
            if let (Some(m), true) = (max, self.spec.frontier.is_some()) {
                if !self.frontier_ok(node, m - depth, ctx)? {
                    continue;
                }
            }
            let next = neighbours(node, self.spec.dir, tokens, ctx)?;
            ctx.work((next.len() * (rels.len() + 1)).min(1 << 20) as u32)?;
            for (rel, other) in next.into_iter().rev() {
                if rels.contains(&rel) || !self.rel_ok(rel, &row, ctx)? {
                    continue;
                }
                let mut r = rels.clone();
                r.push(rel);
                stack.push((other, r));
            }
        }
        Ok(())
    }
}

impl Expand {
    /// A variable-length pattern whose relationship list is bound: the walk must
    /// follow exactly those relationships, in order.
    fn follow_bound_list(&mut self, row: Row, from: NodeId, ctx: &mut Ctx<'_>) -> Result<()> {
        let Some(V::List(list)) = row.get(self.spec.rel).cloned() else { return Ok(()) };
        let mut rels: Vec<RelId> = Vec::new();
        for v in list.iter() {
            let V::Rel(r) = v else { return Ok(()) };
            rels.push(*r);
        }
        if self.spec.reversed {
            rels.reverse();
        }
        let mut node = from;
        for r in &rels {
            let rec = ctx.rel(*r)?;
            if !self.spec.types.is_empty() && !self.spec.types.contains(&rec.rel_type) {
                return Ok(());
            }
            node = match self.spec.dir {
                ExpandDir::Out if rec.start == node => rec.end,
                ExpandDir::In if rec.end == node => rec.start,
                ExpandDir::Both if rec.start == node => rec.end,
                ExpandDir::Both if rec.end == node => rec.start,
                _ => return Ok(()),
            };
        }
        let (min, max) = self.spec.length.unwrap_or((1, Some(1)));
        let n = rels.len() as u64;
        if n >= min && max.is_none_or(|m| n <= m) && self.target_ok(node, &row, ctx)? {
            let mut out = row;
            set(&mut out, self.spec.to, V::Node(node));
            self.pending.push_back(out);
        }
        Ok(())
    }
}

impl Operator for Expand {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            self.expand(row, ctx)?;
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.pending.clear();
        self.input.reset(arg);
    }
}

struct Shortest {
    input: BoxOp,
    from: usize,
    to: usize,
    rel: usize,
    path: Option<usize>,
    dir: ExpandDir,
    types: Vec<String>,
    min: u64,
    max: Option<u64>,
    all: bool,
    pending: VecDeque<Row>,
    /// Searches run so far; after [`PROJECT_AFTER_SEARCHES`] the rest use a projection.
    searches: usize,
    projection: Option<super::projection::GraphProjection>,
}

/// Building a petgraph projection costs about as much as a few searches that reach
/// most of a graph; an operator that runs more searches than this builds one.
pub const PROJECT_AFTER_SEARCHES: usize = 4;

impl Shortest {
    fn neighbours(&self, n: NodeId, tokens: &Option<Vec<u32>>, ctx: &mut Ctx<'_>) -> Result<Vec<(RelId, NodeId)>> {
        match &self.projection {
            Some(p) => Ok(p.neighbours(n, self.dir)),
            None => neighbours(n, self.dir, tokens, ctx),
        }
    }

    fn search(&mut self, row: Row, ctx: &mut Ctx<'_>) -> Result<()> {
        let (Some(V::Node(a)), Some(V::Node(b))) = (row.get(self.from).cloned(), row.get(self.to).cloned()) else {
            return Ok(());
        };
        let tokens = type_tokens(&self.types, ctx);
        self.searches += 1;
        if self.projection.is_none() && self.searches > PROJECT_AFTER_SEARCHES {
            self.projection = Some(super::projection::GraphProjection::build(ctx, &tokens)?);
        }
        let mut paths: Vec<(Vec<NodeId>, Vec<RelId>)> = Vec::new();
        if a == b {
            if self.min == 0 {
                paths.push((vec![a], Vec::new()));
            }
        } else {
            // Breadth-first by levels; parents keep every shortest way in.
            let mut parents: HashMap<NodeId, Vec<(NodeId, RelId)>> = HashMap::new();
            let mut seen: HashSet<NodeId> = HashSet::from([a]);
            let mut frontier = vec![a];
            let mut depth = 0u64;
            let mut found = false;
            while !frontier.is_empty() && !found && self.max.is_none_or(|m| depth < m) {
                depth += 1;
                let mut next: Vec<NodeId> = Vec::new();
                let mut level: HashMap<NodeId, Vec<(NodeId, RelId)>> = HashMap::new();
                for &n in &frontier {
                    for (rel, other) in self.neighbours(n, &tokens, ctx)? {
                        ctx.tick()?;
                        if seen.contains(&other) {
                            continue;
                        }
                        let e = level.entry(other).or_default();
                        if e.is_empty() {
                            next.push(other);
                        }
                        e.push((n, rel));
                    }
                }
                for n in &next {
                    seen.insert(*n);
                }
                if level.contains_key(&b) {
                    found = true;
                }
                parents.extend(level);
                frontier = next;
            }
            if found {
                let mut stack: Vec<(NodeId, Vec<NodeId>, Vec<RelId>)> = vec![(b, vec![b], Vec::new())];
                while let Some((n, nodes, rels)) = stack.pop() {
                    if n == a {
                        let mut nodes = nodes;
                        let mut rels = rels;
                        nodes.reverse();
                        rels.reverse();
                        paths.push((nodes, rels));
                        if !self.all {
                            break;
                        }
                        continue;
                    }
                    for (p, r) in parents.get(&n).cloned().unwrap_or_default() {
                        let mut ns = nodes.clone();
                        ns.push(p);
                        let mut rs = rels.clone();
                        rs.push(r);
                        stack.push((p, ns, rs));
                    }
                }
            }
        }
        for (nodes, rels) in paths {
            let mut out = row.clone();
            set(&mut out, self.rel, V::list(rels.iter().map(|r| V::Rel(*r)).collect()));
            if let Some(p) = self.path {
                set(&mut out, p, V::Path(Arc::new(PathValue { nodes, rels })));
            }
            self.pending.push_back(out);
        }
        Ok(())
    }
}

impl Operator for Shortest {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            self.search(row, ctx)?;
        }
    }
    fn reset(&mut self, arg: &Row) {
        // The projection stays: a reset does not change the graph within a statement.
        self.pending.clear();
        self.input.reset(arg);
    }
}

struct Filter {
    input: BoxOp,
    predicate: CExpr,
}

impl Operator for Filter {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ctx)? {
            ctx.tick()?;
            if passes(&self.predicate.eval(&row, ctx)?)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

struct Optional {
    input: BoxOp,
    inner: BoxOp,
    added: usize,
    current: Option<Row>,
    produced: bool,
}

impl Operator for Optional {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(row) = &self.current {
                let width = row.len() + self.added;
                if let Some(mut r) = self.inner.next(ctx)? {
                    self.produced = true;
                    r.resize(width, V::Null);
                    return Ok(Some(r));
                }
                let mut row = self.current.take().unwrap_or_default();
                if !self.produced {
                    row.resize(width, V::Null);
                    return Ok(Some(row));
                }
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            self.inner.reset(&row);
            self.produced = false;
            self.current = Some(row);
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.current = None;
        self.input.reset(arg);
    }
}

struct Unwind {
    input: BoxOp,
    expr: CExpr,
    slot: usize,
    /// The input row being unwound, its list and the next index: rows are made one
    /// at a time, so `UNWIND range(1, 10000000)` holds the list, not ten million rows.
    current: Option<(Row, Arc<Vec<V>>, usize)>,
}

impl Operator for Unwind {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some((row, items, at)) = &mut self.current {
                if let Some(item) = items.get(*at) {
                    *at += 1;
                    ctx.tick()?;
                    let mut out = row.clone();
                    set(&mut out, self.slot, item.clone());
                    return Ok(Some(out));
                }
                self.current = None;
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            match self.expr.eval(&row, ctx)? {
                V::Null => {}
                V::List(items) => self.current = Some((row, items, 0)),
                other => {
                    let mut out = row;
                    set(&mut out, self.slot, other);
                    return Ok(Some(out));
                }
            }
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.current = None;
        self.input.reset(arg);
    }
}

/// Assembles a path value from node and relationship slots.
fn build_path(steps: &[PathStep], row: &Row, ctx: &mut Ctx<'_>) -> Result<V> {
    let mut nodes = Vec::new();
    let mut rels = Vec::new();
    for step in steps {
        match *step {
            PathStep::Node(s) => match row.get(s) {
                Some(V::Node(n)) => {
                    if nodes.last() != Some(n) {
                        nodes.push(*n);
                    }
                }
                _ => return Ok(V::Null),
            },
            PathStep::Rel(s) => match row.get(s) {
                Some(V::Rel(r)) => rels.push(*r),
                _ => return Ok(V::Null),
            },
            PathStep::RelList(s) => match row.get(s) {
                Some(V::List(list)) => {
                    for v in list.iter() {
                        let V::Rel(r) = v else { return Ok(V::Null) };
                        let rec = ctx.rel(*r)?;
                        let cur = nodes.last().copied().unwrap_or(rec.start);
                        let other = if rec.start == cur { rec.end } else { rec.start };
                        rels.push(*r);
                        nodes.push(other);
                    }
                }
                _ => return Ok(V::Null),
            },
        }
    }
    Ok(V::Path(Arc::new(PathValue { nodes, rels })))
}

struct BuildPath {
    input: BoxOp,
    slot: usize,
    steps: Vec<PathStep>,
}

impl Operator for BuildPath {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let Some(mut row) = self.input.next(ctx)? else { return Ok(None) };
        let p = build_path(&self.steps, &row, ctx)?;
        set(&mut row, self.slot, p);
        Ok(Some(row))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

struct Project {
    input: BoxOp,
    exprs: Vec<CExpr>,
    keep_input: bool,
}

impl Operator for Project {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let Some(row) = self.input.next(ctx)? else { return Ok(None) };
        let mut out = Vec::with_capacity(self.exprs.len() + if self.keep_input { row.len() } else { 0 });
        for e in &self.exprs {
            out.push(e.eval(&row, ctx)?);
        }
        if self.keep_input {
            out.extend(row);
        }
        Ok(Some(out))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

/// Nodes whose group an aggregation remembers, at most.
const NODE_GROUP_MEMO: usize = 1 << 16;

/// The slot of the node when every grouping key is a property of that one node.
fn node_key_slot(keys: &[CExpr]) -> Option<usize> {
    let mut slot = None;
    for k in keys {
        let s = match k {
            CExpr::SlotProperty(s, _) => *s,
            CExpr::Property(base, _) => match **base {
                CExpr::Slot(s) => s,
                _ => return None,
            },
            _ => return None,
        };
        if slot.is_some_and(|x| x != s) {
            return None;
        }
        slot = Some(s);
    }
    slot
}

struct Aggregate {
    input: BoxOp,
    keys: Vec<CExpr>,
    aggs: Vec<super::aggregate::AggSpec>,
    /// The distinct argument expressions of all aggregates (`avg(p.age)` and
    /// `max(p.age)` read `p.age` once per row), and each aggregate's arguments as
    /// indexes into them.
    args: Vec<CExpr>,
    arg_index: Vec<Vec<usize>>,
    /// Per aggregate: whether it keeps the values it is given (collect, percentiles,
    /// DISTINCT), so that they count against the memory budget.
    retains: Vec<bool>,
    output: Option<VecDeque<Row>>,
    held: Option<Reservation>,
}

impl Aggregate {
    fn new(input: BoxOp, keys: Vec<CExpr>, aggs: Vec<super::aggregate::AggSpec>) -> Self {
        let mut args: Vec<CExpr> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let mut arg_index = Vec::with_capacity(aggs.len());
        for spec in &aggs {
            let mut idx = Vec::with_capacity(spec.args.len());
            for a in &spec.args {
                // Expressions are deterministic except rand(), which stays separate.
                let text = format!("{a:?}");
                let shareable = !text.contains("Rand");
                match seen.iter().position(|t| shareable && *t == text) {
                    Some(i) => idx.push(i),
                    None => {
                        seen.push(if shareable { text } else { String::new() });
                        args.push(a.clone());
                        idx.push(args.len() - 1);
                    }
                }
            }
            arg_index.push(idx);
        }
        let retains = aggs
            .iter()
            .map(|a| {
                use super::aggregate::AggFunc as F;
                a.distinct || matches!(a.func, F::Collect | F::PercentileCont | F::PercentileDisc)
            })
            .collect();
        Aggregate { input, keys, aggs, args, arg_index, retains, output: None, held: None }
    }
}

impl Operator for Aggregate {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.output.is_none() {
            // States of all groups in one vector, `aggs.len()` per group, in the
            // order groups were first seen (the group table's numbering).
            let per_group = self.aggs.len();
            let mut groups = GroupTable::new(self.keys.len());
            let mut states: Vec<Accumulator> = Vec::new();
            if self.keys.is_empty() {
                states.extend(self.aggs.iter().map(Accumulator::new));
            }
            // Buffers reused for every row: no allocation unless a group is new.
            let mut probe: Vec<GroupKey> = Vec::with_capacity(self.keys.len());
            let mut args: Vec<V> = Vec::new();
            let mut values: Vec<V> = Vec::with_capacity(self.args.len());
            // Keys that are all properties of one node: the node's group is
            // remembered, so later rows of the same node read no property and hash
            // no key (valid while the statement writes nothing).
            let node_keys = node_key_slot(&self.keys);
            let mut by_node: rustc_hash::FxHashMap<NodeId, usize> = Default::default();
            let mut memo_writes = ctx.stats.total();
            while let Some(row) = self.input.next(ctx)? {
                let node = match (node_keys, &row) {
                    (Some(s), row) => match row.get(s) {
                        Some(V::Node(n)) => Some(*n),
                        _ => None,
                    },
                    _ => None,
                };
                if node.is_some() && ctx.stats.total() != memo_writes {
                    by_node.clear();
                    memo_writes = ctx.stats.total();
                }
                let known = node.and_then(|n| by_node.get(&n).copied());
                let group = if self.keys.is_empty() {
                    0
                } else if let Some(g) = known {
                    g
                } else {
                    probe.clear();
                    for k in &self.keys {
                        probe.push(GroupKey(k.eval(&row, ctx)?));
                    }
                    let (group, new) = groups.find_or_insert(&mut probe);
                    if new {
                        states.extend(self.aggs.iter().map(Accumulator::new));
                        let key_bytes: usize = probe.iter().map(|k| value_bytes(&k.0)).sum();
                        let held = self.held.get_or_insert_with(|| ctx.reservation());
                        held.grow(key_bytes + per_group * std::mem::size_of::<Accumulator>() + 64)?;
                    }
                    if let Some(n) = node {
                        if by_node.len() < NODE_GROUP_MEMO {
                            by_node.insert(n, group);
                        }
                    }
                    group
                };
                values.clear();
                for a in &self.args {
                    values.push(a.eval(&row, ctx)?);
                }
                for (retains, index) in self.retains.iter().zip(&self.arg_index) {
                    if *retains {
                        let bytes: usize = index.iter().map(|&k| value_bytes(&values[k])).sum();
                        self.held.get_or_insert_with(|| ctx.reservation()).grow(bytes)?;
                    }
                }
                let accs = &mut states[group * per_group..(group + 1) * per_group];
                for (acc, index) in accs.iter_mut().zip(&self.arg_index) {
                    match index.as_slice() {
                        [] => acc.add(&[])?,
                        [one] => acc.add(std::slice::from_ref(&values[*one]))?,
                        many => {
                            args.clear();
                            args.extend(many.iter().map(|&k| values[k].clone()));
                            acc.add(&args)?;
                        }
                    }
                }
            }
            self.output = Some(group_rows(groups, states, per_group, self.keys.is_empty())?);
        }
        Ok(self.output.as_mut().and_then(|o| o.pop_front()))
    }
    fn reset(&mut self, arg: &Row) {
        self.output = None;
        self.held = None;
        self.input.reset(arg);
    }
}

struct Distinct {
    input: BoxOp,
    width: usize,
    seen: GroupTable,
    probe: Vec<GroupKey>,
    held: Option<Reservation>,
}

impl Operator for Distinct {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ctx)? {
            self.probe.clear();
            self.probe.extend(row.iter().take(self.width).cloned().map(GroupKey));
            // Rows narrower than the width (never planned) still group consistently.
            self.probe.resize(self.width, GroupKey(V::Null));
            if self.seen.find_or_insert(&mut self.probe).1 {
                let held = self.held.get_or_insert_with(|| ctx.reservation());
                held.grow(row_bytes(&row[..self.width.min(row.len())]))?;
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.seen = GroupTable::new(self.width);
        self.held = None;
        self.input.reset(arg);
    }
}

fn count_value(e: &CExpr, what: &str, ctx: &mut Ctx<'_>) -> Result<usize> {
    match e.eval(&Vec::new(), ctx)? {
        V::Int(i) if i >= 0 => Ok(i as usize),
        V::Int(_) => Err(Error::Runtime {
            class: "SyntaxError",
            detail: "NegativeIntegerArgument",
            message: format!("{what} must not be negative"),
        }),
        other => Err(Error::Runtime {
            class: "SyntaxError",
            detail: "InvalidArgumentType",
            message: format!("{what} must be an integer, not {}", other.type_name()),
        }),
    }
}

fn compare_keys(a: &[V], b: &[V], asc: &[bool]) -> std::cmp::Ordering {
    for ((x, y), up) in a.iter().zip(b).zip(asc) {
        let o = x.order(y);
        let o = if *up { o } else { o.reverse() };
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

struct Sort {
    input: BoxOp,
    keys: Vec<(CExpr, bool)>,
    limit: Option<CExpr>,
    output: Option<VecDeque<Row>>,
    held: Option<Reservation>,
}

impl Operator for Sort {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.output.is_none() {
            let limit = match &self.limit {
                Some(l) => Some(count_value(l, "LIMIT", ctx)?),
                None => None,
            };
            let asc: Vec<bool> = self.keys.iter().map(|k| k.1).collect();
            let mut rows: Vec<(Vec<V>, Row)> = Vec::new();
            let mut key: Vec<V> = Vec::with_capacity(self.keys.len());
            while let Some(row) = self.input.next(ctx)? {
                key.clear();
                // Top-k with a full buffer: keys are evaluated one at a time, and a
                // row stops as soon as it cannot beat the last kept row (a second
                // key is read only on a tie of the first).
                let mut against = match limit {
                    Some(k) if rows.len() == k => rows.last().map(|last: &(Vec<V>, Row)| last.0.as_slice()),
                    _ => None,
                };
                let mut beaten = false;
                for (i, (e, up)) in self.keys.iter().enumerate() {
                    let v = e.eval(&row, ctx)?;
                    if let Some(last) = against {
                        let o = v.order(&last[i]);
                        match if *up { o } else { o.reverse() } {
                            std::cmp::Ordering::Greater => {
                                beaten = true;
                                break;
                            }
                            std::cmp::Ordering::Less => against = None,
                            std::cmp::Ordering::Equal => {}
                        }
                    }
                    key.push(v);
                }
                // Still tied with the last kept row on every key: ties keep input order.
                if beaten || against.is_some() {
                    continue;
                }
                match limit {
                    // Top-k: a sorted buffer of at most k rows.
                    Some(k) => {
                        if k == 0 {
                            continue;
                        }
                        let at = rows.partition_point(|r| compare_keys(&r.0, &key, &asc).is_le());
                        rows.insert(at, (key.clone(), row));
                        rows.truncate(k);
                    }
                    None => {
                        let held = self.held.get_or_insert_with(|| ctx.reservation());
                        held.grow(row_bytes(&row) + row_bytes(&key))?;
                        rows.push((key.clone(), row));
                    }
                }
            }
            if limit.is_none() {
                rows.sort_by(|a, b| compare_keys(&a.0, &b.0, &asc));
            }
            self.output = Some(rows.into_iter().map(|r| r.1).collect());
        }
        Ok(self.output.as_mut().and_then(|o| o.pop_front()))
    }
    fn reset(&mut self, arg: &Row) {
        self.output = None;
        self.held = None;
        self.input.reset(arg);
    }
}

struct SkipLimit {
    input: BoxOp,
    count: CExpr,
    skip: bool,
    n: Option<usize>,
    /// `LIMIT 0` over writes still pulls once, so that the Eager below runs them all.
    writes_below: bool,
}

impl Operator for SkipLimit {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.n.is_none() {
            let n = count_value(&self.count, if self.skip { "SKIP" } else { "LIMIT" }, ctx)?;
            self.n = Some(n);
            if n == 0 && !self.skip {
                // Writes below (behind an Eager) must still happen; reads must not run
                // at all (`RETURN 1/x LIMIT 0` raises nothing).
                if self.writes_below {
                    self.input.next(ctx)?;
                }
                return Ok(None);
            }
        }
        let n = self.n.get_or_insert(0);
        if self.skip {
            while *n > 0 {
                if self.input.next(ctx)?.is_none() {
                    return Ok(None);
                }
                *n -= 1;
            }
            self.input.next(ctx)
        } else {
            if *n == 0 {
                return Ok(None);
            }
            *n -= 1;
            self.input.next(ctx)
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.n = None;
        self.input.reset(arg);
    }
}

struct Truncate {
    input: BoxOp,
    width: usize,
}

impl Operator for Truncate {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        Ok(self.input.next(ctx)?.map(|mut r| {
            r.truncate(self.width);
            r
        }))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

struct Union {
    inputs: Vec<BoxOp>,
    at: usize,
    seen: Option<HashSet<RowKey>>,
}

impl Operator for Union {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        while self.at < self.inputs.len() {
            match self.inputs[self.at].next(ctx)? {
                Some(row) => {
                    if let Some(seen) = &mut self.seen {
                        if !seen.insert(RowKey(row.iter().cloned().map(GroupKey).collect())) {
                            continue;
                        }
                    }
                    return Ok(Some(row));
                }
                None => self.at += 1,
            }
        }
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.at = 0;
        if let Some(s) = &mut self.seen {
            s.clear();
        }
        for i in &mut self.inputs {
            i.reset(arg);
        }
    }
}

fn eval_props(e: &Option<CExpr>, row: &Row, ctx: &mut Ctx<'_>) -> Result<Properties> {
    let mut props = Properties::new();
    let Some(e) = e else { return Ok(props) };
    match e.eval(row, ctx)? {
        V::Map(m) => {
            for (k, v) in m.iter() {
                if let Some(p) = v.to_property().map_err(|m| Error::type_error_as("InvalidPropertyType", m))? {
                    props.insert(k.clone(), p);
                }
            }
        }
        V::Null => {}
        other => return Err(Error::type_error(format!("expected a property map, got {}", other.type_name()))),
    }
    Ok(props)
}

fn run_create(pattern: &CreatePattern, row: &mut Row, ctx: &mut Ctx<'_>) -> Result<()> {
    for n in &pattern.nodes {
        if n.bound {
            if !matches!(row.get(n.slot), Some(V::Node(_))) {
                return Err(Error::Runtime {
                    class: "SemanticError",
                    detail: "VariableTypeConflict",
                    message: "CREATE needs a node here, but the variable is null or not a node".into(),
                });
            }
            continue;
        }
        let props = eval_props(&n.props, row, ctx)?;
        ctx.stats.properties_set += props.len() as u64;
        let mut labels = n.labels.clone();
        labels.sort();
        labels.dedup();
        ctx.stats.labels_added += labels.len() as u64;
        let id = ctx.graph.create_node(labels, props)?;
        ctx.stats.nodes_created += 1;
        set(row, n.slot, V::Node(id));
    }
    for r in &pattern.rels {
        let (Some(V::Node(s)), Some(V::Node(e))) = (row.get(r.start).cloned(), row.get(r.end).cloned()) else {
            return Err(Error::Runtime {
                class: "SemanticError",
                detail: "VariableTypeConflict",
                message: "a created relationship needs two nodes".into(),
            });
        };
        let props = eval_props(&r.props, row, ctx)?;
        ctx.stats.properties_set += props.len() as u64;
        let id = ctx.graph.create_rel(&r.rel_type, s, e, props)?;
        ctx.stats.relationships_created += 1;
        set(row, r.slot, V::Rel(id));
    }
    for (slot, steps) in &pattern.paths {
        let p = build_path(steps, row, ctx)?;
        set(row, *slot, p);
    }
    Ok(())
}

struct Create {
    input: BoxOp,
    pattern: CreatePattern,
}

impl Operator for Create {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let Some(mut row) = self.input.next(ctx)? else { return Ok(None) };
        run_create(&self.pattern, &mut row, ctx)?;
        Ok(Some(row))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

fn apply_set(op: &SetOp, row: &Row, ctx: &mut Ctx<'_>) -> Result<()> {
    let entity = |v: V| -> Result<Option<V>> {
        match v {
            V::Null => Ok(None),
            V::Node(_) | V::Rel(_) => Ok(Some(v)),
            other => Err(Error::type_error(format!("cannot set properties of a {}", other.type_name()))),
        }
    };
    match op {
        SetOp::Property { target, key, value } => {
            let Some(t) = entity(target.eval(row, ctx)?)? else { return Ok(()) };
            let v = value.eval(row, ctx)?;
            let p = v.to_property().map_err(|m| Error::type_error_as("InvalidPropertyType", m))?;
            ctx.stats.properties_set += 1;
            match t {
                V::Node(id) => ctx.graph.set_node_property(id, key, p)?,
                V::Rel(id) => ctx.graph.set_rel_property(id, key, p)?,
                _ => {}
            }
        }
        SetOp::RemoveProperty { target, key } => {
            let Some(t) = entity(target.eval(row, ctx)?)? else { return Ok(()) };
            match t {
                V::Node(id) if ctx.node(id)?.properties.contains_key(key) => {
                    ctx.stats.properties_set += 1;
                    ctx.graph.set_node_property(id, key, None)?;
                }
                V::Rel(id) if ctx.rel(id)?.properties.contains_key(key) => {
                    ctx.stats.properties_set += 1;
                    ctx.graph.set_rel_property(id, key, None)?;
                }
                _ => {}
            }
        }
        SetOp::Replace { slot, value } | SetOp::MergeMap { slot, value } => {
            let Some(t) = entity(row.get(*slot).cloned().unwrap_or(V::Null))? else { return Ok(()) };
            let new: BTreeMap<String, V> = match value.eval(row, ctx)? {
                V::Map(m) => (*m).clone(),
                V::Node(id) => ctx.node(id)?.properties.iter().map(|(k, v)| (k.clone(), V::from_property(v))).collect(),
                V::Rel(id) => ctx.rel(id)?.properties.iter().map(|(k, v)| (k.clone(), V::from_property(v))).collect(),
                V::Null if matches!(op, SetOp::MergeMap { .. }) => return Ok(()),
                V::Null => BTreeMap::new(),
                other => return Err(Error::type_error(format!("SET needs a map, got {}", other.type_name()))),
            };
            let mut props = match (&t, op) {
                (V::Node(id), SetOp::MergeMap { .. }) => ctx.node(*id)?.properties.clone(),
                (V::Rel(id), SetOp::MergeMap { .. }) => ctx.rel(*id)?.properties.clone(),
                _ => Properties::new(),
            };
            for (k, v) in new {
                ctx.stats.properties_set += 1;
                match v.to_property().map_err(|m| Error::type_error_as("InvalidPropertyType", m))? {
                    Some(p) => props.insert(k, p),
                    None => props.remove(&k),
                };
            }
            match t {
                V::Node(id) => ctx.graph.replace_node_properties(id, props)?,
                V::Rel(id) => ctx.graph.replace_rel_properties(id, props)?,
                _ => {}
            }
        }
        SetOp::AddLabels { slot, labels } | SetOp::RemoveLabels { slot, labels } => {
            let add = matches!(op, SetOp::AddLabels { .. });
            match row.get(*slot) {
                Some(V::Node(id)) => {
                    let rec = ctx.node(*id)?;
                    let changed =
                        labels.iter().filter(|l| rec.has_label(l) != add).collect::<HashSet<_>>().len() as u64;
                    if add {
                        ctx.stats.labels_added += changed;
                    } else {
                        ctx.stats.labels_removed += changed;
                    }
                    ctx.graph.set_node_labels(*id, labels, add)?;
                }
                Some(V::Null) | None => {}
                Some(other) => return Err(Error::type_error(format!("cannot set labels of a {}", other.type_name()))),
            }
        }
    }
    Ok(())
}

struct Merge {
    input: BoxOp,
    matcher: Arc<LogicalOp>,
    create: CreatePattern,
    on_create: Vec<SetOp>,
    on_match: Vec<SetOp>,
    added: usize,
    pending: VecDeque<Row>,
}

impl Operator for Merge {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            let width = row.len() + self.added;
            let mut matcher = build(&self.matcher, false);
            matcher.reset(&row);
            let mut found = Vec::new();
            while let Some(mut r) = matcher.next(ctx)? {
                r.resize(width, V::Null);
                found.push(r);
            }
            if found.is_empty() {
                let nodes = self.create.nodes.iter().map(|n| ("node", &n.props));
                let rels = self.create.rels.iter().map(|r| ("relationship", &r.props));
                for (what, props) in nodes.chain(rels) {
                    if let Some(CExpr::Map(entries)) = props {
                        for (k, e) in entries {
                            if e.eval(&row, ctx)?.is_null() {
                                return Err(Error::Runtime {
                                    class: "SemanticError",
                                    detail: "MergeReadOwnWrites",
                                    message: format!("cannot MERGE a {what} with a null property '{k}'"),
                                });
                            }
                        }
                    }
                }
                let mut r = row.clone();
                r.resize(width, V::Null);
                run_create(&self.create, &mut r, ctx)?;
                for op in &self.on_create {
                    apply_set(op, &r, ctx)?;
                }
                self.pending.push_back(r);
            } else {
                for r in found {
                    for op in &self.on_match {
                        apply_set(op, &r, ctx)?;
                    }
                    self.pending.push_back(r);
                }
            }
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.pending.clear();
        self.input.reset(arg);
    }
}

struct Update {
    input: BoxOp,
    ops: Vec<SetOp>,
}

impl Operator for Update {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let Some(row) = self.input.next(ctx)? else { return Ok(None) };
        for op in &self.ops {
            apply_set(op, &row, ctx)?;
        }
        Ok(Some(row))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

struct Delete {
    input: BoxOp,
    exprs: Vec<CExpr>,
    detach: bool,
}

fn delete_value(v: V, detach: bool, ctx: &mut Ctx<'_>) -> Result<()> {
    match v {
        V::Null => {}
        V::Node(id) => {
            if ctx.graph.node(id)?.is_none() {
                return Ok(());
            }
            if detach {
                for dir in [Direction::Outgoing, Direction::Incoming] {
                    let rels: Vec<RelId> = ctx.graph.adjacency(id, dir)?.iter().map(|e| e.rel).collect();
                    for r in rels {
                        if ctx.graph.rel(r)?.is_some() {
                            ctx.graph.delete_rel(r)?;
                            ctx.stats.relationships_deleted += 1;
                        }
                    }
                }
            }
            ctx.graph.delete_node(id)?;
            ctx.stats.nodes_deleted += 1;
        }
        V::Rel(id) => {
            if ctx.graph.rel(id)?.is_some() {
                ctx.graph.delete_rel(id)?;
                ctx.stats.relationships_deleted += 1;
            }
        }
        V::Path(p) => {
            for r in &p.rels {
                delete_value(V::Rel(*r), detach, ctx)?;
            }
            for n in &p.nodes {
                delete_value(V::Node(*n), detach, ctx)?;
            }
        }
        V::List(items) => {
            for i in items.iter() {
                delete_value(i.clone(), detach, ctx)?;
            }
        }
        other => return Err(Error::type_error(format!("cannot delete a {}", other.type_name()))),
    }
    Ok(())
}

impl Operator for Delete {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let Some(row) = self.input.next(ctx)? else { return Ok(None) };
        for e in &self.exprs {
            let v = e.eval(&row, ctx)?;
            delete_value(v, self.detach, ctx)?;
        }
        Ok(Some(row))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

struct Eager {
    input: BoxOp,
    rows: Option<VecDeque<Row>>,
    held: Option<Reservation>,
}

impl Operator for Eager {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.rows.is_none() {
            let mut rows = VecDeque::new();
            let held = self.held.insert(ctx.reservation());
            while let Some(r) = self.input.next(ctx)? {
                held.grow(row_bytes(&r))?;
                rows.push_back(r);
            }
            self.rows = Some(rows);
        }
        Ok(self.rows.as_mut().and_then(|r| r.pop_front()))
    }
    fn reset(&mut self, arg: &Row) {
        self.rows = None;
        self.held = None;
        self.input.reset(arg);
    }
}

#[derive(Default)]
struct SchemaOp {
    create: Option<sprig_index::graph::IndexDef>,
    create_text: Option<(sprig_index::graph::text::TextIndexDef, bool)>,
    drop: Option<String>,
    done: bool,
}

impl Operator for SchemaOp {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if !self.done {
            self.done = true;
            if let Some(def) = &self.create {
                if ctx.graph.create_index(def.clone())? {
                    ctx.stats.indexes_added += 1;
                }
            }
            if let Some((def, if_not_exists)) = &self.create_text {
                if ctx.graph.create_text_index(def.clone())? {
                    ctx.stats.indexes_added += 1;
                } else if !if_not_exists {
                    return Err(Error::Semantic {
                        kind: "IndexAlreadyExists",
                        message: format!("an index named '{}' or on the same properties exists already", def.name),
                    });
                }
            }
            if let Some(name) = &self.drop {
                if !ctx.graph.drop_index(name)? {
                    return Err(Error::Semantic {
                        kind: "IndexNotFound",
                        message: format!("there is no index '{name}'"),
                    });
                }
                ctx.stats.indexes_removed += 1;
            }
            return Ok(Some(Vec::new()));
        }
        Ok(None)
    }
    fn reset(&mut self, _arg: &Row) {
        self.done = false;
    }
}

struct Discard {
    input: BoxOp,
}

impl Operator for Discard {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        while self.input.next(ctx)?.is_some() {}
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

/// True when `plan` (rooted at `Argument`) yields a row for `row`.
pub fn subplan_has_row(plan: &LogicalOp, row: &Row, ctx: &mut Ctx<'_>) -> Result<bool> {
    let mut op = build(plan, false);
    op.reset(row);
    Ok(op.next(ctx)?.is_some())
}

/// `map` evaluated on every row `plan` yields for `row`.
pub fn subplan_collect(plan: &LogicalOp, row: &Row, map: &CExpr, ctx: &mut Ctx<'_>) -> Result<Vec<V>> {
    let mut op = build(plan, false);
    op.reset(row);
    let mut out = Vec::new();
    while let Some(r) = op.next(ctx)? {
        out.push(map.eval(&r, ctx)?);
    }
    Ok(out)
}
