//! Rewrite rules over the logical plan, one job each. The planner already picks the
//! start node of each pattern by selectivity and places each WHERE conjunct right
//! after the operator that binds its last variable (filter push-down); these rules
//! refine the tree it builds.

use sprig_index::graph::Overlay;

use super::expr::CExpr;
use super::plan::*;
use crate::syntax::cypher::ast::{BinaryOp, CompareOp};

/// One rewrite.
pub trait Rule {
    fn name(&self) -> &'static str;
    /// Rewrites `op` in place (children are visited by the driver).
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay);
}

/// Runs every rule over every operator, bottom-up.
pub fn optimize(plan: &mut LogicalOp, graph: &Overlay) {
    let rules: [&dyn Rule; 3] = [&PropertyIndexSeek, &FilterIndexSeek, &SortLimitToTopK];
    visit(plan, &rules, graph);
}

fn visit(op: &mut LogicalOp, rules: &[&dyn Rule], graph: &Overlay) {
    for child in op.inputs_mut() {
        visit(child, rules, graph);
    }
    for r in rules {
        r.rewrite(op, graph);
    }
}

/// `(n:L {p: const})` with an index on `L(p)`: seek the index instead of scanning `L`.
pub struct PropertyIndexSeek;

impl Rule for PropertyIndexSeek {
    fn name(&self) -> &'static str {
        "PropertyIndexSeek"
    }
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay) {
        let LogicalOp::NodeScan { source, labels, props, .. } = op else { return };
        if matches!(source, ScanSource::IndexSeek { .. }) {
            return;
        }
        for l in labels.iter() {
            for (k, e) in props.iter() {
                if !e.is_constant() {
                    continue;
                }
                if let Some(def) = graph.index_for(l, k) {
                    *source = ScanSource::IndexSeek { index: def.clone(), seek: Seek::Equal(e.clone()) };
                    return;
                }
            }
        }
    }
}

/// A filter `n.p = c`, `n.p < c` (and the like) or `n.p STARTS WITH c` right above a
/// label scan of `n` with an index on the label's `p`: the scan becomes an index seek
/// (the filter stays and re-checks).
pub struct FilterIndexSeek;

fn seek_of(pred: &CExpr, slot: usize) -> Option<(String, Seek)> {
    let prop_of = |e: &CExpr| -> Option<String> {
        match e {
            CExpr::Property(base, key) if matches!(**base, CExpr::Slot(s) if s == slot) => Some(key.clone()),
            _ => None,
        }
    };
    match pred {
        CExpr::Compare(a, rest) if rest.len() == 1 => {
            let (op, b) = &rest[0];
            let (key, value, op) = if let (Some(k), true) = (prop_of(a), b.is_constant()) {
                (k, b.clone(), *op)
            } else if let (Some(k), true) = (prop_of(b), a.is_constant()) {
                let flipped = match op {
                    CompareOp::Lt => CompareOp::Gt,
                    CompareOp::Le => CompareOp::Ge,
                    CompareOp::Gt => CompareOp::Lt,
                    CompareOp::Ge => CompareOp::Le,
                    other => *other,
                };
                (k, (**a).clone(), flipped)
            } else {
                return None;
            };
            let seek = match op {
                CompareOp::Eq => Seek::Equal(value),
                CompareOp::Lt | CompareOp::Le => Seek::Range { lower: None, upper: Some((value, op == CompareOp::Le)) },
                CompareOp::Gt | CompareOp::Ge => Seek::Range { lower: Some((value, op == CompareOp::Ge)), upper: None },
                CompareOp::Ne => return None,
            };
            Some((key, seek))
        }
        CExpr::Binary(BinaryOp::StartsWith, a, b) if b.is_constant() => Some((prop_of(a)?, Seek::Prefix((**b).clone()))),
        _ => None,
    }
}

impl Rule for FilterIndexSeek {
    fn name(&self) -> &'static str {
        "FilterIndexSeek"
    }
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay) {
        let LogicalOp::Filter { input, predicate } = op else { return };
        let LogicalOp::NodeScan { slot, source, labels, .. } = &mut **input else { return };
        if matches!(source, ScanSource::IndexSeek { .. }) {
            return;
        }
        let Some((key, seek)) = seek_of(predicate, *slot) else { return };
        for l in labels.iter() {
            if let Some(def) = graph.index_for(l, &key) {
                *source = ScanSource::IndexSeek { index: def.clone(), seek };
                return;
            }
        }
    }
}

/// `ORDER BY ... LIMIT n` (with or without SKIP): a sort that keeps only the rows it
/// can return.
pub struct SortLimitToTopK;

impl Rule for SortLimitToTopK {
    fn name(&self) -> &'static str {
        "SortLimitToTopK"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Limit { input, count } = op else { return };
        let limit = count.clone();
        let (sort, keep) = match &mut **input {
            LogicalOp::Skip { input: inner, count: skip } => {
                let skip = skip.clone();
                (&mut **inner, Some(skip))
            }
            other => (other, None),
        };
        let LogicalOp::Sort { input, keys } = sort else { return };
        let total = match keep {
            Some(skip) => CExpr::Binary(BinaryOp::Add, Box::new(skip), Box::new(limit)),
            None => limit,
        };
        let input = std::mem::replace(input, Box::new(LogicalOp::Start));
        *sort = LogicalOp::TopK { input, keys: std::mem::take(keys), limit: total };
    }
}
