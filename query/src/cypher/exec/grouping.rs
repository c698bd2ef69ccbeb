//! Aggregation and DISTINCT.

use std::collections::VecDeque;

use sprig_index::graph::NodeId;

use crate::cypher::eval::aggregate::Accumulator;
use crate::cypher::exec::group_table::GroupTable;
use crate::cypher::exec::memory::{row_bytes, value_bytes, Reservation};
use crate::cypher::plan::expr::CExpr;
use crate::cypher::value::{CypherValue as V, GroupKey};
use crate::Result;

use super::context::{BoxOp, Ctx, Operator, Row};
use super::expand::group_rows;
use super::parallel::SplitPipeline;

/// Nodes whose group an aggregation remembers, at most.
pub(super) const NODE_GROUP_MEMO: usize = 1 << 16;

/// The slot of the node when every grouping key is a property of that one node.
pub(super) fn node_key_slot(keys: &[CExpr]) -> Option<usize> {
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

pub(super) struct Aggregate {
    pub(super) input: BoxOp,
    pub(super) fold: Fold,
    /// Set when the input pipeline can run as two halves, one per core.
    pub(super) split: Option<SplitPipeline>,
    pub(super) output: Option<VecDeque<Row>>,
    pub(super) held: Option<Reservation>,
}

/// What an aggregation computes per row: group keys and aggregates.
pub(super) struct Fold {
    pub(super) keys: Vec<CExpr>,
    pub(super) aggs: Vec<crate::cypher::plan::aggregate::AggSpec>,
    /// The distinct argument expressions of all aggregates (`avg(p.age)` and
    /// `max(p.age)` read `p.age` once per row), and each aggregate's arguments as
    /// indexes into them.
    pub(super) args: Vec<CExpr>,
    pub(super) arg_index: Vec<Vec<usize>>,
    /// Per aggregate: whether it keeps the values it is given (collect, percentiles,
    /// DISTINCT), so that they count against the memory budget.
    pub(super) retains: Vec<bool>,
}

/// The groups an aggregation has seen, with `aggs.len()` states per group in the
/// order groups were first seen (the group table's numbering).
pub(super) struct Folded {
    groups: GroupTable,
    states: Vec<Accumulator>,
    held: Option<Reservation>,
}

impl Aggregate {
    pub(super) fn new(
        input: BoxOp,
        keys: Vec<CExpr>,
        aggs: Vec<crate::cypher::plan::aggregate::AggSpec>,
        split: Option<SplitPipeline>,
    ) -> Self {
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
                use crate::cypher::plan::aggregate::AggFunc as F;
                a.distinct || matches!(a.func, F::Collect | F::PercentileCont | F::PercentileDisc)
            })
            .collect();
        // Halves can be merged only when every aggregate can.
        let split = split.filter(|_| aggs.iter().all(Accumulator::mergeable));
        Aggregate { input, fold: Fold { keys, aggs, args, arg_index, retains }, split, output: None, held: None }
    }
}

impl Fold {
    /// Folds every row of `input` into groups.
    fn consume(&self, input: &mut BoxOp, ctx: &mut Ctx<'_>) -> Result<Folded> {
        let per_group = self.aggs.len();
        let mut groups = GroupTable::new(self.keys.len());
        let mut states: Vec<Accumulator> = Vec::new();
        let mut held: Option<Reservation> = None;
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
        while let Some(row) = input.next(ctx)? {
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
                    let held = held.get_or_insert_with(|| ctx.reservation());
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
                    held.get_or_insert_with(|| ctx.reservation()).grow(bytes)?;
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
        Ok(Folded { groups, states, held })
    }
}

impl Folded {
    /// Adds `later`, the groups of rows that come after this one's: its groups
    /// new here are appended in its order, so the groups keep the order one pass
    /// over all rows gives.
    fn merge(mut self, later: Folded, per_group: usize) -> Result<Folded> {
        let mut states = later.states.into_iter();
        if self.groups.width() == 0 {
            for acc in self.states.iter_mut() {
                if let Some(other) = states.next() {
                    acc.merge(other)?;
                }
            }
        } else {
            for (group, new) in self.groups.absorb(later.groups) {
                let theirs = states.by_ref().take(per_group);
                if new {
                    self.states.extend(theirs);
                } else {
                    for (acc, other) in self.states[group * per_group..(group + 1) * per_group].iter_mut().zip(theirs) {
                        acc.merge(other)?;
                    }
                }
            }
        }
        self.held = Reservation::join(self.held.take(), later.held);
        Ok(self)
    }
}

impl Operator for Aggregate {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.output.is_none() {
            let fold = &self.fold;
            let (mine, theirs) = match &self.split {
                Some(split) => split.run(&mut self.input, ctx, |input, ctx| fold.consume(input, ctx))?,
                None => (fold.consume(&mut self.input, ctx)?, None),
            };
            let per_group = fold.aggs.len();
            let folded = match theirs {
                Some(later) => mine.merge(later, per_group)?,
                None => mine,
            };
            self.held = folded.held;
            self.output = Some(group_rows(folded.groups, folded.states, per_group, fold.keys.is_empty())?);
        }
        Ok(self.output.as_mut().and_then(|o| o.pop_front()))
    }
    fn reset(&mut self, arg: &Row) {
        self.output = None;
        self.held = None;
        self.input.reset(arg);
    }
}

pub(super) struct Distinct {
    pub(super) input: BoxOp,
    pub(super) width: usize,
    pub(super) seen: GroupTable,
    pub(super) probe: Vec<GroupKey>,
    pub(super) held: Option<Reservation>,
    /// Set below a sort, when the input pipeline can run as two halves: the rows
    /// are then all collected (`collected`) before the first is passed on.
    pub(super) split: Option<SplitPipeline>,
    pub(super) collected: Option<VecDeque<Row>>,
}

/// The first row of each distinct key of `input`, in order.
struct Firsts {
    seen: GroupTable,
    rows: Vec<Row>,
    held: Option<Reservation>,
}

impl Distinct {
    /// Whether `row` is the first with its key; counts it against the budget.
    fn first_of_key(
        seen: &mut GroupTable,
        probe: &mut Vec<GroupKey>,
        held: &mut Option<Reservation>,
        width: usize,
        row: &Row,
        ctx: &Ctx<'_>,
    ) -> Result<bool> {
        probe.clear();
        probe.extend(row.iter().take(width).cloned().map(GroupKey));
        // Rows narrower than the width (never planned) still group consistently.
        probe.resize(width, GroupKey(V::Null));
        if !seen.find_or_insert(probe).1 {
            return Ok(false);
        }
        let held = held.get_or_insert_with(|| ctx.reservation());
        held.grow(row_bytes(&row[..width.min(row.len())]))?;
        Ok(true)
    }

    fn firsts(width: usize, input: &mut BoxOp, ctx: &mut Ctx<'_>) -> Result<Firsts> {
        let mut out = Firsts { seen: GroupTable::new(width), rows: Vec::new(), held: None };
        let mut probe = Vec::with_capacity(width);
        while let Some(row) = input.next(ctx)? {
            if Self::first_of_key(&mut out.seen, &mut probe, &mut out.held, width, &row, ctx)? {
                let held = out.held.get_or_insert_with(|| ctx.reservation());
                held.grow(row_bytes(&row))?;
                out.rows.push(row);
            }
        }
        Ok(out)
    }

    /// Both halves' first rows: the first half's, then the later half's whose key
    /// the first did not have.
    fn collect_split(&mut self, ctx: &mut Ctx<'_>) -> Result<VecDeque<Row>> {
        let width = self.width;
        let run = |input: &mut BoxOp, ctx: &mut Ctx<'_>| Self::firsts(width, input, ctx);
        let (mut mine, theirs) = match &self.split {
            Some(split) => split.run(&mut self.input, ctx, run)?,
            None => (run(&mut self.input, ctx)?, None),
        };
        if let Some(later) = theirs {
            for row in later.rows {
                if Self::first_of_key(&mut mine.seen, &mut self.probe, &mut mine.held, width, &row, ctx)? {
                    mine.rows.push(row);
                }
            }
            mine.held = Reservation::join(mine.held.take(), later.held);
        }
        self.held = mine.held;
        Ok(mine.rows.into())
    }
}

impl Operator for Distinct {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.split.is_some() {
            if self.collected.is_none() {
                self.collected = Some(self.collect_split(ctx)?);
            }
            return Ok(self.collected.as_mut().and_then(|c| c.pop_front()));
        }
        while let Some(row) = self.input.next(ctx)? {
            if Self::first_of_key(&mut self.seen, &mut self.probe, &mut self.held, self.width, &row, ctx)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.seen = GroupTable::new(self.width);
        self.held = None;
        self.collected = None;
        self.input.reset(arg);
    }
}
