//! Operators that work a stored chunk (1024 ids) at a time instead of a row at a
//! time: aggregates read from property columns (`ColumnAggregation`), degree counts
//! grouped by node properties (`DegreeAggregation`), and relationship predicates
//! tested on relationship columns inside expansions (`RelColumnTests`). Each reads a
//! stored chunk only when the transaction changed nothing in it, and falls back to
//! reading entities one at a time otherwise.

use sprig_index::graph::{Cell, Direction, NodeChunkView, NodeId, RelId, SharedColumn};

use crate::cypher::eval::aggregate::Accumulator;
use crate::cypher::eval::expr::passes;
use crate::cypher::exec::group_table::GroupTable;
use crate::cypher::exec::parallel::{label_chunks, on_this_thread, over_chunks};
use crate::cypher::exec::{list_of, of_types, set, type_tokens, Ctx, LabelTest, Operator, Row};
use crate::cypher::plan::aggregate::AggSpec;
use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::{ExpandDir, ExpandSpec};
use crate::cypher::syntax::ast::CompareOp;
use crate::cypher::value::{CypherValue as V, GroupKey};
use crate::Result;

/// `r.p <op> number` on the relationship an expansion reaches, tested on the cells
/// of the relationship chunk's property columns: no row, no expression evaluation.
/// Three-valued like the predicate: an absent property fails; a cell that is not a
/// number or boolean goes through the expression.
#[derive(Debug, Default)]
pub(super) struct RelColumnTests {
    pub(super) tests: Vec<RelTest>,
    /// The chunk of the last relationship tested and its columns, one per test
    /// (`None`: the transaction changed the chunk).
    current: Option<(u64, Option<Vec<SharedColumn>>)>,
}

/// One `r.key <op> value` test.
#[derive(Debug)]
pub(super) struct RelTest {
    /// The predicate itself, for values the columns cannot compare; it reads the
    /// relationship in `slot`.
    expr: CExpr,
    slot: usize,
    key: String,
    op: CompareOp,
    value: V,
    /// Whether a stored value less than, equal to or greater than `value` passes.
    accept: [bool; 3],
}

impl RelTest {
    fn new(expr: CExpr, slot: usize, key: String, op: CompareOp, value: V) -> Self {
        let accept = crate::cypher::exec::chunk_filter::accepted_orders(op);
        RelTest { expr, slot, key, op, value, accept }
    }

    fn accepts(&self, order: std::cmp::Ordering) -> bool {
        self.accept[(order as i8 + 1) as usize]
    }
}

impl RelColumnTests {
    /// Moves the tests it can run out of `spec.predicates`.
    pub(super) fn take_from(spec: &mut ExpandSpec) -> Self {
        if spec.length.is_some() || spec.rel_bound {
            return RelColumnTests::default();
        }
        let rel = spec.rel;
        let (tests, rest): (Vec<CExpr>, Vec<CExpr>) = std::mem::take(&mut spec.predicates).into_iter().partition(|p| {
            matches!(p, CExpr::SlotPropertyCompare { slot, value: V::Int(_) | V::Float(_) | V::Bool(_), .. } if *slot == rel)
        });
        spec.predicates = rest;
        let tests = tests
            .into_iter()
            .filter_map(|p| match &p {
                CExpr::SlotPropertyCompare { slot, key, op, value } => {
                    let (slot, key, op, value) = (*slot, key.clone(), *op, value.clone());
                    Some(RelTest::new(p, slot, key, op, value))
                }
                _ => None,
            })
            .collect();
        RelColumnTests { tests, current: None }
    }

    pub(super) fn pass(&mut self, rel: RelId, ctx: &mut Ctx<'_>) -> Result<bool> {
        let (chunk, slot) = sprig_index::graph::chunk_of(rel);
        if !matches!(&self.current, Some((c, _)) if *c == chunk) {
            let mut columns = Some(Vec::with_capacity(self.tests.len()));
            for test in &self.tests {
                match ctx.graph.stored_rel_column(chunk, &test.key)? {
                    Some(c) => columns.as_mut().map_or((), |cols| cols.push(c)),
                    None => columns = None,
                }
                if columns.is_none() {
                    break;
                }
            }
            self.current = Some((chunk, columns));
        }
        let Some((_, columns)) = &self.current else { return Ok(false) };
        for (i, test) in self.tests.iter().enumerate() {
            let column = columns.as_ref().and_then(|cols| cols[i].as_ref().as_ref());
            // Same-typed numbers compare directly (NaN and mixed types go the long way).
            let quick = match (column, &test.value) {
                (Some(c), V::Int(k)) => c.int_at(slot).map(|x| x.cmp(k)),
                (Some(c), V::Float(k)) => c.float_at(slot).and_then(|x| x.partial_cmp(k)),
                _ => None,
            };
            if let Some(order) = quick {
                if !test.accepts(order) {
                    return Ok(false);
                }
                continue;
            }
            let raw = match column.map(|c| c.get(slot)) {
                Some(Cell::Absent) => return Ok(false),
                Some(Cell::Int(x)) => sprig_index::graph::RawValue::Int(x),
                Some(Cell::Float(x)) => sprig_index::graph::RawValue::Float(x),
                Some(Cell::Bool(x)) => sprig_index::graph::RawValue::Bool(x),
                // A column of a chunk where no relationship has the key.
                None if columns.is_some() => return Ok(false),
                // Strings, lists, changed chunks: the expression decides.
                _ => {
                    let mut scratch: Row = Vec::new();
                    set(&mut scratch, test.slot, V::Rel(rel));
                    if !passes(&test.expr.eval(&scratch, ctx)?)? {
                        return Ok(false);
                    }
                    continue;
                }
            };
            if crate::cypher::eval::expr::compare_raw(&raw, test.op, &test.value) != Some(true) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

pub(super) struct DegreeAggregate {
    label: Option<String>,
    spec: ExpandSpec,
    keys: Vec<String>,
    aggs: Vec<AggSpec>,
    /// The groups' rows, made as they are pulled: an operator above that keeps
    /// few of them (top-k) then never holds a row per group.
    output: Option<Box<dyn Iterator<Item = Row> + Send + Sync>>,
}

/// What [`DegreeAggregate`] needs while it walks the chunks.
struct DegreeRun {
    tokens: Option<Vec<u32>>,
    to_labels: LabelTest,
    rel_tests: RelColumnTests,
    groups: GroupTable,
    /// Per group, its count: every aggregate of a degree aggregation sums the same
    /// counts, so one number per group stands for all (8 bytes where accumulators
    /// took 40 per aggregate, for up to one group per node).
    counts: Vec<i64>,
    probe: Vec<GroupKey>,
}

impl DegreeAggregate {
    pub(super) fn new(label: Option<String>, spec: ExpandSpec, keys: Vec<String>, aggs: Vec<AggSpec>) -> Self {
        DegreeAggregate { label, spec, keys, aggs, output: None }
    }

    fn add_chunk(&self, run: &mut DegreeRun, chunk: u64, slots: &[usize], ctx: &mut Ctx<'_>) -> Result<()> {
        let dir = if self.spec.dir == ExpandDir::In { Direction::Incoming } else { Direction::Outgoing };
        let several_types = run.tokens.as_ref().is_some_and(|t| t.len() > 1);
        let mut columns = Vec::with_capacity(self.keys.len());
        if !self.keys.is_empty() {
            let view = ctx.graph.node_chunk_view(chunk)?;
            for key in &self.keys {
                columns.push(column_of(&view, key)?);
            }
        }
        // The chunk's lists in place when the transaction left them alone (for one
        // type, that type's block).
        let stored = ctx.graph.stored_adjacency_chunk(chunk, dir)?;
        let block = match (&stored, run.tokens.as_deref()) {
            (Some(c), Some([t])) => Some(c.type_block(*t)),
            _ => None,
        };
        for &slot in slots {
            let id = chunk * sprig_index::graph::CHUNK_LEN as u64 + slot as u64;
            let read;
            let list: &[sprig_index::graph::AdjEntry] = match (&block, &stored) {
                (Some(b), Some(c)) => b.list(c, slot),
                (_, Some(c)) => c.list(slot),
                (_, None) => {
                    read = list_of(id, dir, &run.tokens, ctx)?;
                    &read
                }
            };
            let mut count = 0i64;
            for e in of_types(list, &run.tokens) {
                if several_types && run.tokens.as_ref().is_some_and(|t| !t.contains(&e.type_token)) {
                    continue;
                }
                if !run.rel_tests.tests.is_empty() && !run.rel_tests.pass(e.rel, ctx)? {
                    continue;
                }
                if run.to_labels.contains(e.other) {
                    count += 1;
                }
            }
            if count == 0 {
                continue;
            }
            run.probe.clear();
            for (key, column) in self.keys.iter().zip(&columns) {
                let cell = column.as_deref().map(|c| c.as_ref().map_or(Cell::Absent, |cells| cells.get(slot)));
                run.probe.push(GroupKey(cell_value(cell, id, key, ctx)?));
            }
            let group = if self.keys.is_empty() {
                0
            } else {
                let (group, new) = run.groups.find_or_insert(&mut run.probe);
                if new {
                    run.counts.push(0);
                }
                group
            };
            add_count(&mut run.counts, group, count)?;
        }
        Ok(())
    }
}

impl DegreeAggregate {
    /// Adds the groups and counts of `other` (the later chunks) to `run`.
    fn merge(&self, run: &mut DegreeRun, other: DegreeRun) -> Result<()> {
        if self.keys.is_empty() {
            return add_count(&mut run.counts, 0, other.counts.first().copied().unwrap_or(0));
        }
        for ((group, new), count) in run.groups.absorb(other.groups).into_iter().zip(other.counts) {
            if new {
                run.counts.push(0);
            }
            add_count(&mut run.counts, group, count)?;
        }
        Ok(())
    }

    /// A row per group (one for no keys): its keys, then its count for each aggregate.
    fn rows(&self, run: DegreeRun) -> impl Iterator<Item = Row> + Send + Sync + 'static {
        let width = self.aggs.len();
        let n = if self.keys.is_empty() { 1 } else { run.groups.len() };
        let mut keys = run.groups.into_keys(width);
        let counts = run.counts;
        (0..n).map(move |group| {
            let mut row: Row = keys.next().unwrap_or_else(|| Vec::with_capacity(width));
            let count = counts.get(group).copied().unwrap_or(0);
            row.extend(std::iter::repeat_n(V::Int(count), width));
            row
        })
    }
}

/// `counts[group] += n`; an overflow is the error Cypher's sum gives.
fn add_count(counts: &mut [i64], group: usize, n: i64) -> Result<()> {
    let Some(c) = counts.get_mut(group) else { return Ok(()) };
    *c = c.checked_add(n).ok_or_else(|| crate::Error::Arithmetic {
        detail: "IntegerOverflow",
        message: "integer overflow in sum()".into(),
    })?;
    Ok(())
}

impl Operator for DegreeAggregate {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.output.is_none() {
            let mut spec = self.spec.clone();
            let rel_tests = RelColumnTests::take_from(&mut spec);
            let mut to_labels = LabelTest::new(&spec.to_labels);
            to_labels.prepare_flat(ctx)?;
            // Up to one group per node: room for them up front (no regrowing).
            let nodes = ctx.graph.label_nodes(self.label.as_deref())?.len().min(1 << 20) as usize;
            let groups = if self.keys.is_empty() { 1 } else { nodes };
            let mut run = DegreeRun {
                tokens: type_tokens(&spec.types, ctx),
                to_labels,
                rel_tests,
                groups: GroupTable::with_capacity(self.keys.len(), groups),
                counts: Vec::with_capacity(groups),
                probe: Vec::with_capacity(self.keys.len()),
            };
            if self.keys.is_empty() {
                run.counts.push(0);
            }
            let chunks = label_chunks(self.label.as_deref(), ctx)?;
            let second = |first: &DegreeRun| DegreeRun {
                tokens: first.tokens.clone(),
                to_labels: first.to_labels.clone(),
                rel_tests: RelColumnTests::take_from(&mut self.spec.clone()),
                groups: GroupTable::with_capacity(self.keys.len(), groups / 2),
                counts: if self.keys.is_empty() { vec![0] } else { Vec::new() },
                probe: Vec::with_capacity(self.keys.len()),
            };
            let (mut run, other) = over_chunks(&chunks, ctx, run, second, |run, chunk, slots, ctx| {
                self.add_chunk(run, chunk, slots, ctx)
            })?;
            if let Some(other) = other {
                self.merge(&mut run, other)?;
            }
            self.output = Some(Box::new(self.rows(run)));
        }
        Ok(self.output.as_mut().and_then(|o| o.next()))
    }
    fn reset(&mut self, _arg: &Row) {
        self.output = None;
    }
}

pub(super) struct ColumnAggregate {
    label: Option<String>,
    aggs: Vec<AggSpec>,
    props: Vec<Option<String>>,
    done: bool,
}

/// The column of `key` in a stored chunk, or `None` when there is no view (the
/// transaction changed the chunk).
fn column_of(view: &Option<NodeChunkView>, key: &str) -> Result<Option<SharedColumn>> {
    Ok(match view {
        Some(v) => Some(v.column(key)?),
        None => None,
    })
}

/// The value of property `key` of node `id` from its column cell, or read from the
/// node when the cell cannot give it (a list, or no column: a changed chunk).
fn cell_value(cell: Option<Cell<'_>>, id: NodeId, key: &str, ctx: &mut Ctx<'_>) -> Result<V> {
    Ok(match cell {
        Some(Cell::Absent) => V::Null,
        Some(Cell::Int(i)) => V::Int(i),
        Some(Cell::Float(x)) => V::Float(x),
        Some(Cell::Bool(b)) => V::Bool(b),
        Some(Cell::Str(s)) => V::String(s.clone()),
        Some(Cell::Other) | None => crate::cypher::eval::expr::property(&V::Node(id), key, ctx)?,
    })
}

impl ColumnAggregate {
    pub(super) fn new(label: Option<String>, aggs: Vec<AggSpec>, props: Vec<Option<String>>) -> Self {
        ColumnAggregate { label, aggs, props, done: false }
    }

    /// Feeds the nodes `slots` of `chunk` into the accumulators, aggregate by aggregate.
    fn add_chunk(&self, accs: &mut [Accumulator], chunk: u64, slots: &[usize], ctx: &mut Ctx<'_>) -> Result<()> {
        let view = ctx.graph.node_chunk_view(chunk)?;
        // The last key read and its integers, when all its values in the chunk are
        // integers (the common case, summed and compared in tight loops).
        let mut ints: Option<(&str, Option<Vec<i64>>)> = None;
        for (acc, prop) in accs.iter_mut().zip(&self.props) {
            let Some(key) = prop else {
                acc.add_rows(slots.len() as i64);
                continue;
            };
            let column = column_of(&view, key)?;
            let cells = match column.as_deref() {
                // No node of the chunk has the property: all null.
                Some(None) => continue,
                Some(Some(cells)) => Some(cells),
                None => None,
            };
            if let Some(cells) = cells {
                if !matches!(&ints, Some((k, _)) if k == key) {
                    ints = Some((key.as_str(), int_values(cells, slots)));
                }
                if let Some((_, Some(values))) = &ints {
                    acc.add_ints(values)?;
                    continue;
                }
            }
            for &slot in slots {
                let id = chunk * sprig_index::graph::CHUNK_LEN as u64 + slot as u64;
                match cells.map(|c| c.get(slot)) {
                    Some(Cell::Absent) => {}
                    Some(Cell::Int(i)) => acc.add_int(i)?,
                    cell => acc.add(&[cell_value(cell, id, key, ctx)?])?,
                }
            }
        }
        Ok(())
    }
}

/// The integer values of `slots` (absent ones skipped), or `None` when one of them
/// holds something else.
fn int_values(cells: &sprig_index::graph::PropertyColumn, slots: &[usize]) -> Option<Vec<i64>> {
    let mut out = Vec::with_capacity(slots.len());
    for &slot in slots {
        match cells.get(slot) {
            Cell::Int(i) => out.push(i),
            Cell::Absent => {}
            _ => return None,
        }
    }
    Some(out)
}

impl Operator for ColumnAggregate {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        let fresh = || self.aggs.iter().map(Accumulator::new).collect::<Vec<Accumulator>>();
        let chunks = label_chunks(self.label.as_deref(), ctx)?;
        let work = |accs: &mut Vec<Accumulator>, chunk, slots: &[usize], ctx: &mut Ctx<'_>| {
            self.add_chunk(accs, chunk, slots, ctx)
        };
        let accs = if self.aggs.iter().all(Accumulator::mergeable) {
            let (mut accs, later) = over_chunks(&chunks, ctx, fresh(), |_| fresh(), work)?;
            for (acc, theirs) in accs.iter_mut().zip(later.into_iter().flatten()) {
                acc.merge(theirs)?;
            }
            accs
        } else {
            let mut accs = fresh();
            on_this_thread(&chunks, ctx, &mut accs, &work)?;
            accs
        };
        Ok(Some(accs.into_iter().map(Accumulator::finish).collect::<Result<Row>>()?))
    }
    fn reset(&mut self, _arg: &Row) {
        self.done = false;
    }
}
