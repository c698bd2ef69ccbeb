//! Where tests run: filters into scans and expansions, target labels into
//! expansions, cheap checks before costly predicates.

use sprig_index::graph::Overlay;

use crate::cypher::plan::*;

use super::{replace_by_input, Rule};

/// A filter right above a single-hop expansion is checked inside it, on each
/// candidate, before the candidate's row is built.
pub struct FilterIntoExpand;

impl Rule for FilterIntoExpand {
    fn name(&self) -> &'static str {
        "FilterIntoExpand"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Filter { input, predicate } = op else { return };
        let LogicalOp::Expand { spec, .. } = &mut **input else { return };
        if spec.length.is_some() {
            return;
        }
        spec.predicates.push(predicate.clone());
        replace_by_input(op);
    }
}

/// A filter right above a node scan is checked inside it, before the node's row is
/// built; string predicates on the node also let the scan skip whole chunks whose
/// stored bytes cannot match.
pub struct FilterIntoScan;

impl Rule for FilterIntoScan {
    fn name(&self) -> &'static str {
        "FilterIntoScan"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Filter { input, predicate } = op else { return };
        let LogicalOp::NodeScan { predicates, .. } = &mut **input else { return };
        predicates.push(predicate.clone());
        replace_by_input(op);
    }
}

/// A label check of the node an expansion just reached is done inside the
/// expansion, on each candidate, from the label bitmaps.
pub struct LabelsIntoExpand;

impl Rule for LabelsIntoExpand {
    fn name(&self) -> &'static str {
        "LabelsIntoExpand"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::NodeCheck { input, slot, labels, props } = op else { return };
        let LogicalOp::Expand { spec, .. } = &mut **input else { return };
        if !props.is_empty() || spec.to != *slot || spec.to_bound || spec.length.is_some() {
            return;
        }
        for l in labels.iter() {
            if !spec.to_labels.contains(l) {
                spec.to_labels.push(l.clone());
            }
        }
        replace_by_input(op);
    }
}

/// `(a)-[:T]->(b)` with predicates, then a check that `b` and `a` are also joined
/// by a relationship: the check runs first, the predicates after it. The check
/// reads `a`'s adjacency list, which every row of one `a` shares, while predicates
/// usually read properties of each `b`; most rows fail the check.
pub struct ChecksBeforePredicates;

impl Rule for ChecksBeforePredicates {
    fn name(&self) -> &'static str {
        "ChecksBeforePredicates"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let (LogicalOp::Expand { input, spec: outer } | LogicalOp::ExpandCount { input, spec: outer }) = op else {
            return;
        };
        let LogicalOp::Expand { spec: inner, .. } = &mut **input else { return };
        let is_check = outer.to_bound && !outer.rel_bound && outer.length.is_none();
        let shares_list = outer.from == inner.from || outer.to == inner.from;
        let joins_inner = [outer.from, outer.to].contains(&inner.to);
        if !is_check || !shares_list || !joins_inner || inner.predicates.is_empty() || inner.length.is_some() {
            return;
        }
        let moved = std::mem::take(&mut inner.predicates);
        outer.predicates.splice(0..0, moved);
    }
}
