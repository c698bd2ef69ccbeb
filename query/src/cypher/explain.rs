//! The EXPLAIN and PROFILE tree of a Cypher plan: one node per operator, numbered in
//! pre-order as `exec::build` numbers them, with the cost model's estimates
//! (`plan::cost`, the planner's own) and, after PROFILE, actual rows and times.

use sprig_index::graph::Overlay;

use crate::common::explain::PlanNode;
use crate::cypher::exec::OpStats;
use crate::cypher::plan::cost;
use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::{CountSource, ExpandSpec, LIndexPrune, LogicalOp, ScanSource, Seek};
use crate::cypher::planner::sample::filter_share;

/// What an LIndex lookup keeps, out of `of` nodes: `lindex="bios: 64 of 97000 candidates"`.
/// Returns (`of`, candidates kept).
fn describe_prune(
    node: &mut PlanNode,
    prune: &LIndexPrune,
    graph: &mut Overlay,
    universe: &roaring::RoaringTreemap,
) -> (u64, Option<u64>) {
    let of = universe.len();
    let tests: Vec<String> = prune
        .tests
        .iter()
        .map(|t| match t {
            sprig_index::graph::text::TextTest::Contains(s) => format!("CONTAINS {s:?}"),
            sprig_index::graph::text::TextTest::StartsWith(s) => format!("STARTS WITH {s:?}"),
            sprig_index::graph::text::TextTest::EndsWith(s) => format!("ENDS WITH {s:?}"),
            sprig_index::graph::text::TextTest::Equals(s) => format!("= {s:?}"),
        })
        .collect();
    let mut out = std::mem::replace(node, PlanNode::new(""))
        .detail("hops", prune.steps.len())
        .detail("text", format!("{} {}", prune.property, tests.join(" AND ")));
    let kept = match graph.lindex_candidates(&prune.index, &prune.steps, &prune.property, &prune.tests) {
        Ok(Some(c)) => {
            let kept = c.intersection_len(universe);
            out = out
                .detail("lindex", format!("{}: {kept} of {of} candidates", prune.index))
                .detail("candidates", kept)
                .detail("of", of);
            Some(kept)
        }
        _ => {
            out = out.detail("lindex", format!("{}: cannot prune, all {of} candidates", prune.index));
            None
        }
    };
    *node = out;
    (of, kept)
}

/// The operator tree for EXPLAIN / PROFILE; operators are numbered in pre-order, as
/// `exec::build` numbers them.
pub fn describe(op: &LogicalOp, graph: &mut Overlay, stats: Option<&[OpStats]>) -> PlanNode {
    let mut id = 0;
    let mut node = describe_node(op, graph, stats, &mut id);
    if stats.is_some() {
        own_times(&mut node);
    }
    node
}

/// PROFILE measures each operator including its inputs; keep only its own share.
/// Returns the inclusive time of `node`.
fn own_times(node: &mut PlanNode) -> std::time::Duration {
    let inclusive = node.time.unwrap_or_default();
    let children: std::time::Duration = node.children.iter_mut().map(own_times).sum();
    node.time = Some(inclusive.saturating_sub(children));
    inclusive
}

fn describe_node(op: &LogicalOp, graph: &mut Overlay, stats: Option<&[OpStats]>, id: &mut usize) -> PlanNode {
    let my_id = *id;
    *id += 1;
    let mut node = PlanNode::new(op.name());
    let children: Vec<PlanNode> = op.inputs().into_iter().map(|c| describe_node(c, graph, stats, id)).collect();
    let input_rows = children.first().and_then(|c| c.estimated_rows).unwrap_or(1);
    let node_count = graph.meta().node_count.max(1);
    let estimate = match op {
        LogicalOp::NodeScan { source, predicates, props, slot, .. } => {
            if !predicates.is_empty() {
                node = node.detail("predicates", predicates.len());
            }
            let mut kept = None;
            match source {
                ScanSource::LIndex { label, prune } => {
                    let universe = graph.label_nodes(label.as_deref()).unwrap_or_default();
                    node = node.detail("index", prune.index.as_str()).detail("label", label.as_deref().unwrap_or("*"));
                    kept = describe_prune(&mut node, prune, graph, &universe).1;
                }
                ScanSource::AllNodes => node = node.detail("candidates", node_count),
                ScanSource::Label(l) => {
                    let n = graph.label_nodes(Some(l)).map(|b| b.len()).unwrap_or(0);
                    node = node.detail("label", l.as_str()).detail("candidates", n).detail("of", node_count);
                }
                ScanSource::IndexSeek { index, seek, ordered } => {
                    let n = graph.label_nodes(Some(&index.label)).map(|b| b.len()).unwrap_or(0);
                    let kind = match seek {
                        Seek::Equal(_) => "equality",
                        Seek::Range { .. } => "range",
                        Seek::Prefix(_) => "prefix",
                    };
                    node = node
                        .detail("index", index.name.as_str())
                        .detail("on", format!(":{}({})", index.label, index.property))
                        .detail("seek", kind)
                        .detail("of", n);
                    if let Some(ascending) = ordered {
                        node = node.detail("order", if *ascending { "ascending" } else { "descending" });
                    }
                }
            }
            let label = match (source, kept) {
                (ScanSource::Label(l), None) => Some(Some(l.as_str())),
                (ScanSource::AllNodes, None) => Some(None),
                _ => None,
            };
            let measured = label.and_then(|label| {
                let predicates: Vec<&CExpr> = predicates.iter().collect();
                filter_share(graph, label, &predicates, *slot)
            });
            cost::node_scan_rows(graph, input_rows, source, kept, predicates, measured, props.len())
        }
        LogicalOp::ExpandIntoCount { first, then, .. } => {
            let hop = |s: &ExpandSpec| format!("({})-[{}]{}({})", s.from, s.types.join("|"), s.dir.arrow(), s.to);
            node = node.detail("pattern", format!("{} then {}", hop(first), hop(then)));
            cost::operator_rows(graph, op, input_rows)
        }
        LogicalOp::DegreeAggregate { label, spec, keys, .. } => {
            node = node
                .detail("label", label.as_deref().unwrap_or("*"))
                .detail(
                    "pattern",
                    format!("({})-[{}]{}({})", spec.from, spec.types.join("|"), spec.dir.arrow(), spec.to),
                )
                .detail("keys", keys.join(","));
            if !spec.predicates.is_empty() {
                node = node.detail("predicates", spec.predicates.len());
            }
            cost::operator_rows(graph, op, input_rows)
        }
        LogicalOp::ColumnAggregate { label, props, .. } => {
            let mut read: Vec<&str> = props.iter().flatten().map(String::as_str).collect();
            read.dedup();
            node = node.detail("label", label.as_deref().unwrap_or("*")).detail("columns", read.join(","));
            cost::operator_rows(graph, op, input_rows)
        }
        LogicalOp::CountFromStore { source, .. } => {
            node = node.detail(
                "counts",
                match source {
                    CountSource::Nodes(l) => format!("nodes:{}", l.as_deref().unwrap_or("*")),
                    CountSource::Rels(t) => {
                        format!("relationships:{}", if t.is_empty() { "*".into() } else { t.join("|") })
                    }
                },
            );
            cost::operator_rows(graph, op, input_rows)
        }
        LogicalOp::Expand { spec, .. } | LogicalOp::ExpandCount { spec, .. } => {
            node = node.detail(
                "pattern",
                format!("({})-[{}]{}({})", spec.from, spec.types.join("|"), spec.dir.arrow(), spec.to),
            );
            if !spec.predicates.is_empty() {
                node = node.detail("predicates", spec.predicates.len());
            }
            let mut to_kept = None;
            if let Some(prune) = &spec.to_prune {
                let universe = graph.label_nodes(spec.to_labels.first().map(String::as_str)).unwrap_or_default();
                if let (of, Some(kept)) = describe_prune(&mut node, prune, graph, &universe) {
                    to_kept = Some(kept as f64 / of.max(1) as f64);
                }
            }
            if let Some(f) = &spec.frontier {
                node = node.detail(
                    "frontier",
                    format!("{}: walks go on only within {} hops of the text", f.prune.index, f.hops),
                );
            }
            if let Some((lo, hi)) = spec.length {
                node = node.detail("length", format!("{lo}..{}", hi.map_or(String::new(), |h| h.to_string())));
            }
            cost::expand_rows(graph, input_rows, spec, to_kept)
        }
        LogicalOp::CreateIndex { def } => {
            node = node.detail("index", def.name.as_str());
            cost::operator_rows(graph, op, input_rows)
        }
        _ => cost::operator_rows(graph, op, input_rows),
    };
    node.estimated_rows = Some(estimate);
    if let Some(s) = stats.and_then(|s| s.get(my_id)) {
        node.rows = Some(s.rows);
        node.time = Some(s.time);
    } else if stats.is_some() {
        node.rows = Some(0);
        node.time = Some(std::time::Duration::ZERO);
    }
    node.children = children;
    node
}
