//! Aggregates answered from the store: counts from the statistics, expansion counts
//! without building rows, aggregates over property columns and degrees.

use sprig_index::graph::Overlay;

use crate::cypher::plan::aggregate::{AggFunc, AggSpec};
use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::*;
use crate::cypher::value::CypherValue as V;

use super::Rule;

pub(super) fn is_count_of(spec: &AggSpec, slots: &[usize]) -> bool {
    !spec.distinct
        && match spec.func {
            AggFunc::CountStar => true,
            AggFunc::Count => matches!(spec.args.as_slice(), [CExpr::Slot(s)] if slots.contains(s)),
            _ => false,
        }
}

/// `MATCH (n:L) RETURN count(*)` and `MATCH ()-[r:T]->() RETURN count(r)`: the label
/// bitmap's cardinality or the relationship-type counter, without a scan.
pub struct CountFromStore;

impl Rule for CountFromStore {
    fn name(&self) -> &'static str {
        "CountFromStore"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Aggregate { input, keys, aggs } = op else { return };
        if !keys.is_empty() || aggs.is_empty() {
            return;
        }
        let source = match &**input {
            LogicalOp::NodeScan { input: start, slot, source, labels, props, predicates }
                if matches!(**start, LogicalOp::Start)
                    && props.is_empty()
                    && predicates.is_empty()
                    && aggs.iter().all(|a| is_count_of(a, &[*slot])) =>
            {
                match source {
                    ScanSource::AllNodes if labels.is_empty() => CountSource::Nodes(None),
                    ScanSource::Label(l) if labels.iter().all(|x| x == l) => CountSource::Nodes(Some(l.clone())),
                    _ => return,
                }
            }
            LogicalOp::Expand { input: scan, spec } => {
                let plain_scan = matches!(&**scan, LogicalOp::NodeScan { input: start, source: ScanSource::AllNodes, labels, props, predicates, .. }
                    if matches!(**start, LogicalOp::Start) && labels.is_empty() && props.is_empty() && predicates.is_empty());
                let plain_spec = spec.length.is_none()
                    && spec.dir != ExpandDir::Both
                    && spec.rel_props.is_empty()
                    && spec.to_labels.is_empty()
                    && spec.to_props.is_empty()
                    && !spec.to_bound
                    && !spec.rel_bound
                    && spec.distinct_from.is_empty()
                    // A WHERE moved into the expansion (FilterIntoExpand) or a pruned
                    // target: not every relationship counts.
                    && spec.predicates.is_empty()
                    && spec.to_prune.is_none()
                    && spec.frontier.is_none();
                if !plain_scan || !plain_spec || !aggs.iter().all(|a| is_count_of(a, &[spec.rel, spec.to])) {
                    return;
                }
                CountSource::Rels(spec.types.clone())
            }
            _ => return,
        };
        *op = LogicalOp::CountFromStore { source, columns: aggs.len() };
    }
}

/// An aggregation that only counts the rows of a single-hop expansion (and groups by
/// what was bound before it) counts each input row's matching relationships instead
/// of producing one row per relationship: `count(*)` becomes a sum of those counts.
pub struct CountExpansions;

impl Rule for CountExpansions {
    fn name(&self) -> &'static str {
        "CountExpansions"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Aggregate { input, keys, aggs } = op else { return };
        let LogicalOp::Expand { spec, .. } = &**input else { return };
        // With a bound target the count slot overwrites it; nothing above reads it
        // (checked below: keys and aggregates do not read the new slots).
        if spec.length.is_some() || spec.rel_bound || aggs.is_empty() {
            return;
        }
        let new_slots = [spec.rel, spec.to];
        let mut used = std::collections::BTreeSet::new();
        let reads_new = |e: &CExpr, used: &mut std::collections::BTreeSet<usize>| {
            used.clear();
            !crate::cypher::planner::slots_read(e, used) || used.iter().any(|s| new_slots.contains(s))
        };
        if keys.iter().any(|k| reads_new(k, &mut used)) || !aggs.iter().all(|a| is_count_of(a, &new_slots)) {
            return;
        }
        let to = spec.to;
        let LogicalOp::Expand { input: inner, spec } = std::mem::replace(&mut **input, LogicalOp::Start) else {
            return;
        };
        **input = LogicalOp::ExpandCount { input: inner, spec };
        for a in aggs.iter_mut() {
            *a = AggSpec { func: AggFunc::Sum, distinct: false, args: vec![CExpr::Slot(to)] };
        }
    }
}

/// `MATCH (n:L) RETURN count(*), min(n.p), avg(n.q)`: aggregates without grouping
/// over one label's nodes read the property columns chunk by chunk, with no row per
/// node.
pub struct AggregateFromColumns;

impl Rule for AggregateFromColumns {
    fn name(&self) -> &'static str {
        "AggregateFromColumns"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Aggregate { input, keys, aggs } = op else { return };
        if !keys.is_empty() || aggs.is_empty() {
            return;
        }
        let LogicalOp::NodeScan { input: start, slot, source, labels, props, predicates } = &**input else { return };
        if !matches!(**start, LogicalOp::Start) || !props.is_empty() || !predicates.is_empty() {
            return;
        }
        let label = match source {
            ScanSource::AllNodes if labels.is_empty() => None,
            ScanSource::Label(l) if labels.iter().all(|x| x == l) => Some(l.clone()),
            _ => return,
        };
        let mut read = Vec::with_capacity(aggs.len());
        for a in aggs.iter() {
            let plain = matches!(a.func, AggFunc::Count | AggFunc::Sum | AggFunc::Avg | AggFunc::Min | AggFunc::Max);
            match (a.func, a.args.as_slice()) {
                (AggFunc::CountStar, []) => read.push(None),
                (AggFunc::Count, [CExpr::Slot(s)]) if *s == *slot && !a.distinct => read.push(None),
                (_, [CExpr::SlotProperty(s, key)]) if plain && *s == *slot && !a.distinct => {
                    read.push(Some(key.clone()))
                }
                (_, [CExpr::Property(base, key)])
                    if plain && matches!(**base, CExpr::Slot(s) if s == *slot) && !a.distinct =>
                {
                    read.push(Some(key.clone()))
                }
                _ => return,
            }
        }
        // count(n) of a scanned node counts nodes: no argument to read.
        let aggs = aggs
            .iter()
            .zip(&read)
            .map(|(a, r)| match r {
                None => AggSpec { func: AggFunc::CountStar, distinct: false, args: Vec::new() },
                Some(_) => a.clone(),
            })
            .collect();
        *op = LogicalOp::ColumnAggregate { label, aggs, props: read };
    }
}

/// The property key of `e` when it reads a property of the node in `slot`.
pub(super) fn property_of_slot(e: &CExpr, slot: usize) -> Option<String> {
    match e {
        CExpr::SlotProperty(s, key) if *s == slot => Some(key.clone()),
        CExpr::Property(base, key) if matches!(**base, CExpr::Slot(s) if s == slot) => Some(key.clone()),
        _ => None,
    }
}

/// `MATCH (p:L)-[:T]->(:M) RETURN p.name, count(*)` after `CountExpansions`: the
/// label scan, the counting expansion and the grouping run as one pass over the
/// label's chunks (`DegreeAggregate`), grouping by the node's property columns.
pub struct DegreeAggregation;

impl Rule for DegreeAggregation {
    fn name(&self) -> &'static str {
        "DegreeAggregation"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Aggregate { input, keys, aggs } = op else { return };
        let LogicalOp::ExpandCount { input: scan, spec } = &**input else { return };
        let LogicalOp::NodeScan { input: start, slot, source, labels, props, predicates } = &**scan else { return };
        if !matches!(**start, LogicalOp::Start) || !props.is_empty() || !predicates.is_empty() {
            return;
        }
        let label = match source {
            ScanSource::AllNodes if labels.is_empty() => None,
            ScanSource::Label(l) if labels.iter().all(|x| x == l) => Some(l.clone()),
            _ => return,
        };
        let rel = spec.rel;
        // Only relationship-column tests may filter (they run on columns, not rows).
        let column_tests = spec.predicates.iter().all(|p| {
            matches!(p, CExpr::SlotPropertyCompare { slot, value: V::Int(_) | V::Float(_) | V::Bool(_), .. } if *slot == rel)
        });
        let plain = spec.from == *slot
            && spec.length.is_none()
            && spec.dir != ExpandDir::Both
            && !spec.to_bound
            && !spec.rel_bound
            && spec.rel_props.is_empty()
            && spec.to_props.is_empty()
            && spec.distinct_from.is_empty()
            && column_tests;
        let sums_count = aggs.iter().all(|a| {
            a.func == AggFunc::Sum && !a.distinct && matches!(a.args.as_slice(), [CExpr::Slot(s)] if *s == spec.to)
        });
        let Some(key_props) = keys.iter().map(|k| property_of_slot(k, *slot)).collect::<Option<Vec<_>>>() else {
            return;
        };
        if !plain || !sums_count || aggs.is_empty() {
            return;
        }
        *op = LogicalOp::DegreeAggregate { label, spec: spec.clone(), keys: key_props, aggs: std::mem::take(aggs) };
    }
}

/// After `CountExpansions`: a count of closing checks (`(b)-[:T]->(c)` with `c`
/// bound) over an expansion that reached `b` counts, per row before `b`, the
/// checks of every `b` without building a row for each: triangles, colleagues who
/// know each other.
pub struct CountThroughExpand;

impl Rule for CountThroughExpand {
    fn name(&self) -> &'static str {
        "CountThroughExpand"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Aggregate { input, keys, aggs } = op else { return };
        let LogicalOp::ExpandCount { input: below, spec: then } = &**input else { return };
        let LogicalOp::Expand { spec: first, .. } = &**below else { return };
        let sums_count = aggs.iter().all(|a| {
            a.func == AggFunc::Sum && !a.distinct && matches!(a.args.as_slice(), [CExpr::Slot(s)] if *s == then.to)
        });
        let chained = then.to_bound
            && !then.rel_bound
            && then.length.is_none()
            && then.from == first.to
            && first.length.is_none()
            && !first.rel_bound
            && !first.to_bound;
        // The first hop's slots are not in the output: no key may read them.
        let hidden = [first.rel, first.to];
        let mut used = std::collections::BTreeSet::new();
        let keys_ok = keys.iter().all(|k| {
            used.clear();
            crate::cypher::planner::slots_read(k, &mut used) && !used.iter().any(|s| hidden.contains(s))
        });
        if !sums_count || !chained || !keys_ok || aggs.is_empty() {
            return;
        }
        let LogicalOp::ExpandCount { input: below, spec: then } = std::mem::replace(&mut **input, LogicalOp::Start)
        else {
            return;
        };
        let LogicalOp::Expand { input: source, spec: first } = *below else { return };
        **input = LogicalOp::ExpandIntoCount { input: source, first, then };
    }
}
