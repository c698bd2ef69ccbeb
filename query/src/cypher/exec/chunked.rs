//! Operators that work a stored chunk (1024 ids) at a time instead of a row at a
//! time: aggregates read from property columns (`ColumnAggregation`), degree counts
//! grouped by node properties (`DegreeAggregation`), and relationship predicates
//! tested on relationship columns inside expansions (`RelColumnTests`). Each reads a
//! stored chunk only when the transaction changed nothing in it, and falls back to
//! reading entities one at a time otherwise.

use std::collections::VecDeque;

use sprig_index::graph::{Cell, Direction, NodeChunkView, NodeId, RelId, SharedColumn};

use crate::cypher::eval::aggregate::Accumulator;
use crate::cypher::eval::expr::passes;
use crate::cypher::exec::group_table::GroupTable;
use crate::cypher::exec::{group_rows, list_of, of_types, set, type_tokens, Ctx, LabelTest, Operator, Row};
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
        let accept = match op {
            CompareOp::Eq => [false, true, false],
            CompareOp::Ne => [true, false, true],
            CompareOp::Lt => [true, false, false],
            CompareOp::Le => [true, true, false],
            CompareOp::Gt => [false, false, true],
            CompareOp::Ge => [false, true, true],
        };
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
    output: Option<VecDeque<Row>>,
}

/// What [`DegreeAggregate`] needs while it walks the chunks.
struct DegreeRun {
    tokens: Option<Vec<u32>>,
    to_labels: LabelTest,
    rel_tests: RelColumnTests,
    groups: GroupTable,
    states: Vec<Accumulator>,
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
            let per_group = self.aggs.len();
            let group = if self.keys.is_empty() {
                0
            } else {
                let (group, new) = run.groups.find_or_insert(&mut run.probe);
                if new {
                    run.states.extend(self.aggs.iter().map(Accumulator::new));
                }
                group
            };
            for acc in &mut run.states[group * per_group..(group + 1) * per_group] {
                acc.add_int(count)?;
            }
        }
        Ok(())
    }
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
                states: Vec::with_capacity(groups * self.aggs.len()),
                probe: Vec::with_capacity(self.keys.len()),
            };
            if self.keys.is_empty() {
                run.states.extend(self.aggs.iter().map(Accumulator::new));
            }
            for_each_label_chunk(self.label.as_deref(), ctx, |chunk, slots, ctx| {
                self.add_chunk(&mut run, chunk, slots, ctx)
            })?;
            self.output = Some(group_rows(run.groups, run.states, self.aggs.len(), self.keys.is_empty())?);
        }
        Ok(self.output.as_mut().and_then(|o| o.pop_front()))
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

/// Calls `f` with each chunk holding nodes with `label` (every node for `None`) and
/// the slots of those nodes in it, in id order. A full chunk needs no look at the
/// bitmap's ids.
fn for_each_label_chunk(
    label: Option<&str>,
    ctx: &mut Ctx<'_>,
    mut f: impl FnMut(u64, &[usize], &mut Ctx<'_>) -> Result<()>,
) -> Result<()> {
    let ids = ctx.graph.label_nodes(label)?;
    let (Some(first), Some(last)) = (ids.min(), ids.max()) else { return Ok(()) };
    let len = sprig_index::graph::CHUNK_LEN as u64;
    let all: Vec<usize> = (0..sprig_index::graph::CHUNK_LEN).collect();
    for chunk in first / len..=last / len {
        ctx.tick()?;
        let range = chunk * len..(chunk + 1) * len;
        match ids.range_cardinality(range.clone()) {
            0 => {}
            n if n == len => f(chunk, &all, ctx)?,
            _ => f(chunk, &slots_in(&ids, range), ctx)?,
        }
    }
    Ok(())
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

/// The slots (offsets from `range.start`) of the ids of `range` in `ids`.
fn slots_in(ids: &roaring::RoaringTreemap, range: std::ops::Range<u64>) -> Vec<usize> {
    let start = range.start;
    if range.end <= u64::from(u32::MAX) {
        if let Some((_, low)) = ids.bitmaps().find(|(high, _)| *high == 0) {
            return low
                .range(range.start as u32..range.end as u32)
                .map(|id| (u64::from(id) - start) as usize)
                .collect();
        }
        return Vec::new();
    }
    range.filter(|id| ids.contains(*id)).map(|id| (id - start) as usize).collect()
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
        let mut accs: Vec<Accumulator> = self.aggs.iter().map(Accumulator::new).collect();
        for_each_label_chunk(self.label.as_deref(), ctx, |chunk, slots, ctx| {
            self.add_chunk(&mut accs, chunk, slots, ctx)
        })?;
        Ok(Some(accs.into_iter().map(Accumulator::finish).collect::<Result<Row>>()?))
    }
    fn reset(&mut self, _arg: &Row) {
        self.done = false;
    }
}
