//! The cost model: how many rows a scan, an expansion or a filter yields, from the
//! graph's counts (nodes per label, relationships per type). The planner orders
//! patterns by these estimates (`planner::join_order`), and EXPLAIN shows the same
//! estimates for every operator (`cypher::explain`), so what EXPLAIN prints is what
//! the planner believed.

use sprig_index::graph::Overlay;

use super::{ExpandDir, ExpandSpec, LogicalOp, ScanSource, Seek};
use crate::cypher::plan::expr::CExpr;
use crate::cypher::syntax::ast::CompareOp;
use crate::cypher::value::CypherValue;

/// The cost of testing one expansion candidate's labels, relative to producing one
/// row (a bitmap probe).
pub const EXAMINE_COST: f64 = 0.1;

/// The cost of testing one expansion candidate's properties: a read of a node
/// scattered over the graph, about as costly as producing a row. At 1M nodes,
/// `(c:Company)<-[:WORKS_AT]-(p) WHERE p.age > 60` took 263 ns per candidate.
pub const PROPERTY_TEST_COST: f64 = 1.0;

/// The cost of testing one scanned node against a filter, relative to producing a
/// row: scans test a chunk's column at a time (39 ns per node at 1M nodes).
pub const SCAN_TEST_COST: f64 = 0.1;

/// The share of rows a predicate keeps: an equality one in a hundred, anything else
/// one in ten.
pub fn predicate_factor(e: &CExpr) -> f64 {
    let equality = matches!(e, CExpr::Compare(_, ops) if ops.iter().all(|(op, _)| *op == CompareOp::Eq))
        || matches!(e, CExpr::SlotPropertyCompare { op: CompareOp::Eq, .. });
    if equality {
        0.01
    } else {
        0.1
    }
}

/// The share of rows a property map (`{k: v, ...}`, equalities) keeps.
pub fn property_map_factor(props: usize) -> f64 {
    0.1f64.powi(props as i32)
}

pub fn node_count(graph: &Overlay) -> f64 {
    graph.meta().node_count.max(1) as f64
}

/// The nodes with `label`.
pub fn label_count(graph: &mut Overlay, label: &str) -> f64 {
    graph.label_nodes(Some(label)).map_or(0.0, |b| b.len() as f64)
}

/// The share of all nodes that carry every label of `labels` (its rarest label's).
pub fn label_share(graph: &mut Overlay, labels: &[String]) -> f64 {
    let all = node_count(graph);
    labels.iter().fold(1.0f64, |f, l| f.min(label_count(graph, l) / all))
}

/// Average relationships per node of `from_labels` of `types` (all types when empty)
/// in `dir`; for a variable-length run, that to the power of its maximum length
/// (capped at 3).
pub fn degree(
    graph: &mut Overlay,
    types: &[String],
    dir: ExpandDir,
    length: Option<(u64, Option<u64>)>,
    from_labels: &[String],
) -> f64 {
    let meta = graph.meta();
    let total: f64 = if types.is_empty() {
        meta.rel_count as f64
    } else {
        types.iter().filter_map(|t| meta.type_token(t).map(|k| meta.type_counts[k as usize] as f64)).sum()
    };
    let mut side = node_count(graph);
    for l in from_labels {
        side = side.min(label_count(graph, l).max(1.0));
    }
    let d = total / side;
    let d = if dir == ExpandDir::Both { 2.0 * d } else { d };
    match length {
        Some((_, max)) => d.max(1.0).powi(max.unwrap_or(3).min(3) as i32),
        None => d,
    }
}

/// Rows of a scan of the nodes with `labels` and property map `props`: the rarest
/// label, or one in a thousand of it when a property index answers a constant.
pub fn scan_rows(graph: &mut Overlay, labels: &[String], props: &[(String, CExpr)]) -> u64 {
    let mut best = graph.meta().node_count;
    for l in labels {
        let n = graph.label_nodes(Some(l)).map(|b| b.len()).unwrap_or(best);
        if props.iter().any(|(k, e)| e.is_constant() && graph.index_for(l, k).is_some()) {
            best = best.min(seek_rows(n, true));
        }
        best = best.min(n);
    }
    if !props.is_empty() {
        // Equality on a property, as `predicate_factor` counts it.
        best = best / 100 + 1;
    }
    best
}

/// Rows of an index seek into a label of `label_rows` nodes: one in a thousand for
/// an equality, one in ten for a range or a prefix.
pub fn seek_rows(label_rows: u64, equality: bool) -> u64 {
    if equality {
        1 + label_rows / 1000
    } else {
        1 + label_rows / 10
    }
}

/// Rows of a scan from `source` (`kept`: what an LIndex lookup measured, if it ran).
pub fn source_rows(graph: &mut Overlay, source: &ScanSource, kept: Option<u64>) -> u64 {
    match source {
        ScanSource::AllNodes => graph.meta().node_count,
        ScanSource::Label(l) => label_count(graph, l) as u64,
        ScanSource::LIndex { label, .. } => {
            kept.unwrap_or_else(|| graph.label_nodes(label.as_deref()).map_or(0, |b| b.len()))
        }
        ScanSource::IndexSeek { index, seek, .. } => {
            seek_rows(label_count(graph, &index.label) as u64, matches!(seek, Seek::Equal(_)))
        }
    }
}

/// Rows out of a node scan run once per input row: its source, narrowed by the
/// predicates checked on each candidate (`measured`: the share of them a sample
/// passed, if measured) and by an inline property map of `props` keys.
pub fn node_scan_rows(
    graph: &mut Overlay,
    input_rows: u64,
    source: &ScanSource,
    kept: Option<u64>,
    predicates: &[CExpr],
    measured: Option<f64>,
    props: usize,
) -> u64 {
    let filtered = measured.unwrap_or_else(|| predicates.iter().map(predicate_factor).product::<f64>());
    let per_row = source_rows(graph, source, kept) as f64 * filtered * property_map_factor(props);
    rows(input_rows as f64 * per_row)
}

/// Rows out of a single-hop or variable-length expansion of `input_rows` rows
/// (`to_kept`: the share of target candidates an LIndex lookup keeps, if measured).
pub fn expand_rows(graph: &mut Overlay, input_rows: u64, spec: &ExpandSpec, to_kept: Option<f64>) -> u64 {
    let examined = input_rows as f64 * degree(graph, &spec.types, spec.dir, spec.length, &[]);
    let target = if spec.to_bound {
        1.0 / node_count(graph)
    } else {
        let filters: f64 = spec.predicates.iter().map(predicate_factor).product();
        spec.to_share.unwrap_or_else(|| label_share(graph, &spec.to_labels))
            * property_map_factor(spec.to_props.len())
            * filters
            * to_kept.unwrap_or(1.0)
    };
    rows(examined * target)
}

/// The estimated rows of `op`, given its first input's (EXPLAIN). Scans and
/// expansions are estimated by [`node_scan_rows`] and [`expand_rows`] by the caller,
/// which knows what LIndex lookups kept.
pub fn operator_rows(graph: &mut Overlay, op: &LogicalOp, input_rows: u64) -> u64 {
    match op {
        LogicalOp::Start | LogicalOp::Argument => 1,
        LogicalOp::Filter { predicate, .. } => rows(input_rows as f64 * predicate_factor(predicate)),
        LogicalOp::NodeCheck { labels, props, .. } => {
            let share = label_share(graph, labels) * property_map_factor(props.len());
            rows(input_rows as f64 * share)
        }
        LogicalOp::DegreeAggregate { .. } | LogicalOp::ColumnAggregate { .. } | LogicalOp::CountFromStore { .. } => 1,
        LogicalOp::Aggregate { keys, .. } if keys.is_empty() => 1,
        LogicalOp::Aggregate { .. } | LogicalOp::Distinct { .. } => (input_rows / 2).max(1),
        LogicalOp::Limit { count: CExpr::Const(CypherValue::Int(n)), .. }
        | LogicalOp::TopK { limit: CExpr::Const(CypherValue::Int(n)), .. } => input_rows.min(*n as u64),
        LogicalOp::CreateIndex { .. } => 0,
        _ => input_rows,
    }
}

/// An estimate as a row count: at least one.
fn rows(estimate: f64) -> u64 {
    estimate.max(1.0).min(u64::MAX as f64) as u64
}
