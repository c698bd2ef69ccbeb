//! Turning a logical plan into its tree of operators (numbered in pre-order for PROFILE).

use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use crate::cypher::exec::chunk_filter::ChunkFilter;
use crate::cypher::exec::chunked::{ColumnAggregate, DegreeAggregate};
use crate::cypher::exec::group_table::GroupTable;
use crate::cypher::plan::*;
use crate::Result;

use super::context::{BoxOp, Ctx, OpStats, Operator, Row};
use super::expand::{Expand, ExpandIntoCount};
use super::grouping::{Aggregate, Distinct};
use super::order::{SkipLimit, Sort, Truncate, Union};
use super::parallel::SplitPipeline;
use super::rows::{BuildPath, Filter, Once, Optional, Project, Unwind};
use super::scan::{CountFromStore, LabelTest, NodeCheck, NodeScan, NodeTest, ScanBatch};
use super::schema::{Discard, SchemaOp};
use super::shortest::Shortest;
use super::write::{Create, Delete, Eager, Merge, Update};

fn distinct(input: BoxOp, width: usize, split: Option<SplitPipeline>) -> Distinct {
    Distinct { input, width, seen: GroupTable::new(width), probe: Vec::new(), held: None, split, collected: None }
}

/// The input of a sort, which reads every row before it gives one: a DISTINCT
/// right below may then collect its rows too, and so split its own input pipeline.
fn sort_input(op: &LogicalOp, profile: bool, next_id: &mut usize) -> BoxOp {
    let LogicalOp::Distinct { input, width } = op else { return build_node(op, profile, next_id) };
    let id = *next_id;
    *next_id += 1;
    let split = SplitPipeline::of(input, id + 1, profile);
    let built: BoxOp = Box::new(distinct(build_node(input, profile, next_id), *width, split));
    if profile {
        Box::new(Profiled { id, inner: built })
    } else {
        built
    }
}

/// [`build`] without profiling: what subqueries run with.
pub fn build_unprofiled(op: &LogicalOp) -> BoxOp {
    build(op, false)
}

/// Builds the operator tree of `op`. With `profile`, operators are numbered in
/// pre-order and report into `Ctx::profile`.
pub fn build(op: &LogicalOp, profile: bool) -> BoxOp {
    let mut next_id = 0;
    build_node(op, profile, &mut next_id)
}

pub(super) fn build_node(op: &LogicalOp, profile: bool, next_id: &mut usize) -> BoxOp {
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
            predicates: predicates.clone(),
            current: None,
            candidates: roaring::RoaringTreemap::new(),
            wanted: Vec::new(),
            test: NodeTest {
                // Index candidates are few and scattered: a chunk-wide search would cost more.
                filter: match source {
                    ScanSource::LIndex { .. } => ChunkFilter::default(),
                    _ => ChunkFilter::new(predicates, *slot),
                },
                extra: LabelTest::new(&match source {
                    ScanSource::Label(l) | ScanSource::LIndex { label: Some(l), .. } => {
                        labels.iter().filter(|x| *x != l).cloned().collect::<Vec<_>>()
                    }
                    _ => labels.clone(),
                }),
                scratch: Vec::new(),
            },
            batch: ScanBatch::default(),
            leaf: matches!(**input, LogicalOp::Start),
            halved: false,
            in_order: None,
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
            Box::new(Project::new(child(input), exprs.clone(), *keep_input))
        }
        LogicalOp::Aggregate { input, keys, aggs } => {
            // The input pipeline's top operator gets the next number.
            let split = SplitPipeline::of(input, id + 1, profile);
            Box::new(Aggregate::new(child(input), keys.clone(), aggs.clone(), split))
        }
        LogicalOp::Distinct { input, width } => Box::new(distinct(child(input), *width, None)),
        LogicalOp::Sort { input, keys } => Box::new(Sort {
            split: SplitPipeline::of(input, id + 1, profile),
            input: sort_input(input, profile, next_id),
            keys: keys.clone(),
            limit: None,
            output: None,
            held: None,
        }),
        LogicalOp::TopK { input, keys, limit } => Box::new(Sort {
            split: SplitPipeline::of(input, id + 1, profile),
            input: sort_input(input, profile, next_id),
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
            Box::new(crate::cypher::exec::procedures::ProcedureCall::new(
                child(input),
                procedure.clone(),
                args.clone(),
                outputs.clone(),
            ))
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

pub(super) struct Profiled {
    pub(super) id: usize,
    pub(super) inner: BoxOp,
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
