//! Property-index seeks: an inline property map (`PropertyIndexSeek`) or a WHERE
//! comparison (`FilterIndexSeek`) on an indexed property becomes a seek.

use sprig_index::graph::Overlay;

use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::*;
use crate::cypher::syntax::ast::{BinaryOp, CompareOp};

use super::Rule;

/// `(n:L {p: e})` with an index on `L(p)`, where `e` is a constant or depends only on
/// the input row (`UNWIND $rows AS row MATCH (n:L {p: row.k})`): seek the index, once
/// per input row, instead of scanning `L`.
pub struct PropertyIndexSeek;

impl Rule for PropertyIndexSeek {
    fn name(&self) -> &'static str {
        "PropertyIndexSeek"
    }
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay) {
        let LogicalOp::NodeScan { slot, source, labels, props, .. } = op else { return };
        if matches!(source, ScanSource::IndexSeek { .. }) {
            return;
        }
        for l in labels.iter() {
            for (k, e) in props.iter() {
                if !e.is_row_constant(*slot) {
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

pub(super) fn seek_of(pred: &CExpr, slot: usize) -> Option<(String, Seek)> {
    let prop_of = |e: &CExpr| -> Option<String> {
        match e {
            CExpr::Property(base, key) if matches!(**base, CExpr::Slot(s) if s == slot) => Some(key.clone()),
            CExpr::SlotProperty(s, key) if *s == slot => Some(key.clone()),
            _ => None,
        }
    };
    if let CExpr::SlotPropertyCompare { slot: s, key, op, value } = pred {
        if *s != slot {
            return None;
        }
        let value = CExpr::Const(value.clone());
        let seek = match op {
            CompareOp::Eq => Seek::Equal(value),
            CompareOp::Lt | CompareOp::Le => Seek::Range { lower: None, upper: Some((value, *op == CompareOp::Le)) },
            CompareOp::Gt | CompareOp::Ge => Seek::Range { lower: Some((value, *op == CompareOp::Ge)), upper: None },
            CompareOp::Ne => return None,
        };
        return Some((key.clone(), seek));
    }
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
        CExpr::Binary(BinaryOp::StartsWith, a, b) if b.is_constant() => {
            Some((prop_of(a)?, Seek::Prefix((**b).clone())))
        }
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
