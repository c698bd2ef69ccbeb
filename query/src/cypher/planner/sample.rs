//! Statistics measured on a sample of the data while planning, where fixed guesses
//! go wrong as the graph grows: how many of a label's nodes a predicate keeps
//! (`bio CONTAINS 'duvepa'` keeps 0.07% of persons, not the 10% a guess gives), and
//! how many of a relationship type's far ends carry a label (every `LIVES_IN` ends
//! at a `City`, although cities are 0.1% of the nodes).
//!
//! A sample is up to [`SAMPLE_CHUNKS`] stored chunks spread evenly over the label's
//! ids, so it has the same size at 10k and at 10M nodes and reads few chunks (which
//! the scan that follows reads anyway). It is deterministic: the same data plans the
//! same way. Measurements are kept per statement.

use std::collections::BTreeSet;

use sprig_index::graph::{chunk_of, Cell, Direction, NodeId, Overlay, RawValue, CHUNK_LEN};

use crate::cypher::eval::expr::compare_raw;
use crate::cypher::plan::cost;
use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::ExpandDir;
use crate::cypher::syntax::ast::{BinaryOp, CompareOp};
use crate::cypher::value::CypherValue as V;

/// Chunks of a label read for one sample (up to 1024 nodes each).
pub const SAMPLE_CHUNKS: u64 = 4;

/// Below this many sampled nodes a measured share says too little: keep the guess.
const MIN_SAMPLE: usize = 64;

/// Relationships whose far end is looked at, at most, for one far-end share.
const FAR_END_ENOUGH: usize = 2048;

/// Ids of nodes with `label` (all nodes with `None`) in up to [`SAMPLE_CHUNKS`]
/// chunks spread over the label's ids.
pub(crate) fn sample_nodes(graph: &mut Overlay, label: Option<&str>) -> Vec<NodeId> {
    let Ok(members) = graph.label_nodes(label) else { return Vec::new() };
    let n = members.len();
    let mut chunks = BTreeSet::new();
    for i in 0..SAMPLE_CHUNKS.min(n) {
        if let Some(id) = members.select(n * i / SAMPLE_CHUNKS.min(n)) {
            chunks.insert(chunk_of(id).0);
        }
    }
    let mut out = Vec::new();
    for chunk in chunks {
        let start = chunk * CHUNK_LEN as u64;
        let mut ids = members.iter();
        ids.advance_to(start);
        out.extend(ids.take_while(|&id| id < start + CHUNK_LEN as u64));
    }
    out
}

/// A single-node test the sampler can evaluate on stored values: `v.key OP const`,
/// or a string search on `v.key`.
enum Test<'e> {
    Compare { key: &'e str, op: CompareOp, value: &'e V },
    Search { key: &'e str, op: BinaryOp, needle: &'e str },
}

impl<'e> Test<'e> {
    fn of(e: &'e CExpr, slot: usize) -> Option<Test<'e>> {
        match e {
            CExpr::SlotPropertyCompare { slot: s, key, op, value } if *s == slot => {
                Some(Test::Compare { key, op: *op, value })
            }
            CExpr::Binary(op @ (BinaryOp::Contains | BinaryOp::StartsWith | BinaryOp::EndsWith), a, b) => {
                match (&**a, &**b) {
                    (CExpr::SlotProperty(s, key), CExpr::Const(V::String(needle))) if *s == slot => {
                        Some(Test::Search { key, op: *op, needle })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The test without its slot: what a remembered statistic is keyed by.
    fn describe(&self) -> String {
        match self {
            Test::Compare { key, op, value } => format!("{key} {op:?} {value:?}"),
            Test::Search { key, op, needle } => format!("{key} {op:?} {needle:?}"),
        }
    }

    fn key(&self) -> &str {
        match self {
            Test::Compare { key, .. } | Test::Search { key, .. } => key,
        }
    }

    fn passes(&self, raw: Option<RawValue<'_>>) -> bool {
        let Some(raw) = raw else { return false };
        match self {
            Test::Compare { op, value, .. } => compare_raw(&raw, *op, value) == Some(true),
            Test::Search { op, needle, .. } => match raw {
                RawValue::Str(s) => match op {
                    BinaryOp::Contains => s.contains(*needle),
                    BinaryOp::StartsWith => s.starts_with(*needle),
                    _ => s.ends_with(*needle),
                },
                _ => false,
            },
        }
    }
}

/// The share of nodes with `label` that pass all of `predicates` on `slot`: measured
/// on a sample for the tests the sampler can evaluate, the cost model's guess
/// ([`cost::predicate_factor`]) for the others; `None` when nothing was measured.
pub(crate) fn filter_share(
    graph: &mut Overlay,
    label: Option<&str>,
    predicates: &[&CExpr],
    slot: usize,
) -> Option<f64> {
    let tests: Vec<String> = predicates.iter().filter_map(|e| Test::of(e, slot)).map(|t| t.describe()).collect();
    if tests.is_empty() {
        return None;
    }
    // Measured once per graph size, not per statement.
    let key = format!("filter {label:?} {tests:?}");
    let measured = match graph.statistic(&key) {
        Some(remembered) => remembered,
        None => {
            let sample = sample_nodes(graph, label);
            let measured = predicate_share(graph, &sample, predicates, slot);
            graph.remember_statistic(&key, measured);
            measured
        }
    }?;
    let guessed: f64 = predicates.iter().filter(|e| !can_sample(e, slot)).map(|e| cost::predicate_factor(e)).product();
    Some(measured * guessed)
}

/// Whether the sampler can evaluate `e` on the node in `slot`.
pub(crate) fn can_sample(e: &CExpr, slot: usize) -> bool {
    Test::of(e, slot).is_some()
}

/// The share of `sample` (nodes) that passes every predicate of `predicates` on
/// `slot` that the sampler can evaluate; `None` when none can be, or the sample is
/// too small. The share is smoothed (`(k + 0.5) / (n + 1)`), so a term the sample
/// misses counts as rarer than one in the sample's size, never as absent.
pub(crate) fn predicate_share(
    graph: &mut Overlay,
    sample: &[NodeId],
    predicates: &[&CExpr],
    slot: usize,
) -> Option<f64> {
    let tests: Vec<Test> = predicates.iter().filter_map(|e| Test::of(e, slot)).collect();
    if tests.is_empty() || sample.len() < MIN_SAMPLE {
        return None;
    }
    let mut kept = 0usize;
    // The sample lies in a few chunks: read each test's column once per chunk.
    let mut columns: Option<(u64, Vec<sprig_index::graph::SharedColumn>)> = None;
    for &id in sample {
        let (chunk, slot) = chunk_of(id);
        if columns.as_ref().is_none_or(|(c, _)| *c != chunk) {
            let view = graph.node_chunk_view(chunk).ok().flatten();
            let cols = match view {
                Some(view) => {
                    tests.iter().map(|t| view.column(t.key())).collect::<sprig_index::Result<Vec<_>>>().ok()?
                }
                None => Vec::new(),
            };
            columns = Some((chunk, cols));
        }
        let cols = columns.as_ref().map(|(_, c)| c.as_slice()).unwrap_or_default();
        let mut all = true;
        for (i, t) in tests.iter().enumerate() {
            let cell = cols.get(i).map(|c| c.as_ref().as_ref().map_or(Cell::Absent, |col| col.get(slot)));
            let passes = match cell {
                Some(Cell::Int(n)) => t.passes(Some(RawValue::Int(n))),
                Some(Cell::Float(x)) => t.passes(Some(RawValue::Float(x))),
                Some(Cell::Bool(b)) => t.passes(Some(RawValue::Bool(b))),
                Some(Cell::Str(s)) => t.passes(Some(RawValue::Str(s))),
                Some(Cell::Absent) => false,
                // A list, or a chunk this transaction changed: read the record.
                Some(Cell::Other) | None => {
                    matches!(graph.with_node_property(id, t.key(), |raw| t.passes(raw)), Ok(Some(true)))
                }
            };
            if !passes {
                all = false;
                break;
            }
        }
        kept += usize::from(all);
    }
    Some((kept as f64 + 0.5) / (sample.len() as f64 + 1.0))
}

/// Of the relationships of `types` (all when empty) leaving a sample of the nodes
/// with `from_label` in `dir`, the share whose far end has every label of
/// `to_labels`; `None` when the sample has too few such relationships. Measured once
/// per graph size.
pub(crate) fn far_end_share(
    graph: &mut Overlay,
    from_label: Option<&str>,
    types: &[String],
    dir: ExpandDir,
    to_labels: &[String],
) -> Option<f64> {
    let key = format!("far end {from_label:?} {types:?} {dir:?} {to_labels:?}");
    if let Some(remembered) = graph.statistic(&key) {
        return remembered;
    }
    let sample = sample_nodes(graph, from_label);
    let share = measure_far_end(graph, &sample, types, dir, to_labels);
    graph.remember_statistic(&key, share);
    share
}

fn measure_far_end(
    graph: &mut Overlay,
    sample: &[NodeId],
    types: &[String],
    dir: ExpandDir,
    to_labels: &[String],
) -> Option<f64> {
    let tokens: Vec<u32> = types.iter().filter_map(|t| graph.meta().type_token(t)).collect();
    if !types.is_empty() && tokens.is_empty() {
        return None;
    }
    let mut bitmaps = Vec::new();
    for l in to_labels {
        bitmaps.push(graph.label_nodes(Some(l)).ok()?);
    }
    let dirs: &[Direction] = match dir {
        ExpandDir::Out => &[Direction::Outgoing],
        ExpandDir::In => &[Direction::Incoming],
        ExpandDir::Both => &[Direction::Outgoing, Direction::Incoming],
    };
    let (mut seen, mut kept) = (0usize, 0usize);
    for &id in sample {
        // Enough relationships seen: the share is known well enough.
        if seen >= FAR_END_ENOUGH {
            break;
        }
        for &d in dirs {
            let lists = if tokens.is_empty() {
                vec![graph.adjacency(id, d).ok()?]
            } else {
                tokens.iter().map(|&t| graph.typed_adjacency(id, d, t)).collect::<sprig_index::Result<Vec<_>>>().ok()?
            };
            for e in lists.iter().flat_map(|l| l.iter()) {
                seen += 1;
                kept += usize::from(bitmaps.iter().all(|b| b.contains(e.other)));
            }
        }
    }
    (seen >= MIN_SAMPLE).then(|| (kept as f64 + 0.5) / (seen as f64 + 1.0))
}
