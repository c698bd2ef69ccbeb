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
                    *source = ScanSource::IndexSeek { index: def.clone(), seek: Seek::Equal(e.clone()), ordered: None };
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
        let Some((key, seek)) = seek_of(predicate, *slot) else { return };
        if let ScanSource::IndexSeek { index, seek: existing, .. } = source {
            // `a <= n.p AND n.p < b` as two filters: the second bound joins the seek.
            if index.property == key {
                if let (Seek::Range { lower, upper }, Seek::Range { lower: new_lower, upper: new_upper }) =
                    (existing, seek)
                {
                    match (lower.is_none(), upper.is_none(), new_lower, new_upper) {
                        (true, false, Some(l), None) => *lower = Some(l),
                        (false, true, None, Some(u)) => *upper = Some(u),
                        _ => {}
                    }
                }
            }
            return;
        }
        for l in labels.iter() {
            if let Some(def) = graph.index_for(l, &key) {
                *source = ScanSource::IndexSeek { index: def.clone(), seek, ordered: None };
                return;
            }
        }
    }
}

/// `ORDER BY n.p` (the only key) right above an index seek of `n` on `p` (through a
/// projection): the seek returns its nodes in the index's order and the sort goes
/// (`ORDER BY ... LIMIT k` then reads about k index entries). Only for a range or
/// equality on a string or temporal value, whose index order is Cypher's order and
/// which leaves out nulls and other types; numbers are left to the sort (large
/// integers may share a key).
pub struct OrderFromIndex;

/// `key` (over a projection's output) as an expression over the projection's input.
fn below_projection(key: &CExpr, exprs: &[CExpr], keep_input: bool) -> Option<CExpr> {
    let slot = |c: usize| -> Option<CExpr> {
        match exprs.get(c) {
            Some(e) => Some(e.clone()),
            None if keep_input => Some(CExpr::Slot(c - exprs.len())),
            None => None,
        }
    };
    match key {
        CExpr::Slot(c) => slot(*c),
        CExpr::SlotProperty(c, p) => match slot(*c)? {
            CExpr::Slot(s) => Some(CExpr::SlotProperty(s, p.clone())),
            _ => None,
        },
        CExpr::Property(base, p) => match &**base {
            CExpr::Slot(c) => below_projection(&CExpr::SlotProperty(*c, p.clone()), exprs, keep_input),
            _ => None,
        },
        _ => None,
    }
}

/// True for a constant string or temporal value (not a duration).
fn orderable_by_index(e: &CExpr) -> bool {
    use crate::cypher::plan::functions::Function;
    match e {
        CExpr::Const(crate::cypher::value::CypherValue::String(_)) => true,
        CExpr::Const(crate::cypher::value::CypherValue::Temporal(t)) => t.index_key().is_some(),
        CExpr::Call(Function::Temporal(f), _) => f.makes_instant() && e.is_constant(),
        _ => false,
    }
}

impl Rule for OrderFromIndex {
    fn name(&self) -> &'static str {
        "OrderFromIndex"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let (input, keys, limit) = match op {
            LogicalOp::Sort { input, keys } => (input, keys, None),
            LogicalOp::TopK { input, keys, limit } => (input, keys, Some(limit.clone())),
            _ => return,
        };
        let [(key, ascending)] = keys.as_slice() else { return };
        let ascending = *ascending;
        let (key, scan) = match &mut **input {
            LogicalOp::Project { input: below, exprs, keep_input } => {
                let Some(k) = below_projection(key, exprs, *keep_input) else { return };
                (k, &mut **below)
            }
            other => (key.clone(), other),
        };
        let (key_slot, key_prop) = match &key {
            CExpr::SlotProperty(s, p) => (*s, p.clone()),
            CExpr::Property(base, p) => match **base {
                CExpr::Slot(s) => (s, p.clone()),
                _ => return,
            },
            _ => return,
        };
        let LogicalOp::NodeScan { input: scan_input, slot, source, .. } = scan else { return };
        // Only one input row: the index's order is then the order of every row.
        if *slot != key_slot || !matches!(**scan_input, LogicalOp::Start) {
            return;
        }
        let ScanSource::IndexSeek { index, seek, ordered } = source else { return };
        let bounds_orderable = match seek {
            Seek::Equal(e) => orderable_by_index(e),
            Seek::Range { lower, upper } => {
                lower.iter().chain(upper.iter()).all(|(e, _)| orderable_by_index(e))
                    && (lower.is_some() || upper.is_some())
            }
            Seek::Prefix(_) => true,
        };
        if index.property != key_prop || ordered.is_some() || !bounds_orderable {
            return;
        }
        *ordered = Some(ascending);
        match limit {
            None => super::replace_by_input(op),
            Some(count) => {
                let LogicalOp::TopK { input, .. } = op else { return };
                let input = std::mem::replace(input, Box::new(LogicalOp::Start));
                *op = LogicalOp::Limit { input, count };
            }
        }
    }
}
