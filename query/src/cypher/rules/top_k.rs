//! ORDER BY with LIMIT becomes a top-k sort (`SortLimitToTopK`), and a projection
//! above it moves below when it is cheap (`ProjectAfterTopK`).

use sprig_index::graph::Overlay;

use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::*;
use crate::cypher::syntax::ast::BinaryOp;

use super::Rule;

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

/// `ORDER BY ... LIMIT k` over a projection: keep the top k of the input rows, then
/// project only those (a projected string is read k times, not once per row). Only
/// for projections of plain, deterministic expressions and sort keys that are
/// projected columns or plain expressions over the input.
pub struct ProjectAfterTopK;

impl Rule for ProjectAfterTopK {
    fn name(&self) -> &'static str {
        "ProjectAfterTopK"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::TopK { input, keys, .. } = op else { return };
        let LogicalOp::Project { input: below, exprs, keep_input } = &mut **input else { return };
        if !exprs.iter().all(is_plain) {
            return;
        }
        let width = exprs.len();
        let mut new_keys = Vec::with_capacity(keys.len());
        for (k, asc) in keys.iter() {
            let key = match k {
                CExpr::Slot(s) if *s < width => exprs[*s].clone(),
                other if *keep_input => match shift_slots(other, width) {
                    Some(e) => e,
                    None => return,
                },
                _ => return,
            };
            new_keys.push((key, *asc));
        }
        let below = std::mem::replace(below, Box::new(LogicalOp::Start));
        let LogicalOp::TopK { input, keys, limit } = std::mem::replace(op, LogicalOp::Start) else { return };
        let LogicalOp::Project { exprs, keep_input, .. } = *input else { return };
        let _ = keys;
        *op = LogicalOp::Project {
            input: Box::new(LogicalOp::TopK { input: below, keys: new_keys, limit }),
            exprs,
            keep_input,
        };
    }
}

/// True for expressions over slots and constants only, without sub-plans, local
/// variables or nondeterministic calls: evaluating them later, or not at all for a
/// row that is dropped, changes nothing.
pub(super) fn is_plain(e: &CExpr) -> bool {
    match e {
        CExpr::Const(_) | CExpr::Slot(_) | CExpr::SlotProperty(..) | CExpr::SlotPropertyCompare { .. } => true,
        CExpr::List(items) => items.iter().all(is_plain),
        CExpr::Call(f, items) => !f.is_nondeterministic() && items.iter().all(is_plain),
        CExpr::Map(entries) => entries.iter().all(|(_, e)| is_plain(e)),
        CExpr::Property(a, _) | CExpr::Not(a) | CExpr::Neg(a) | CExpr::IsNull(a, _) | CExpr::HasLabels(a, _) => {
            is_plain(a)
        }
        CExpr::Index(a, b) | CExpr::Binary(_, a, b) => is_plain(a) && is_plain(b),
        CExpr::Compare(a, rest) => is_plain(a) && rest.iter().all(|(_, e)| is_plain(e)),
        _ => false,
    }
}

/// A plain expression reading slots `by..` with each slot moved down by `by`;
/// `None` when it reads a slot below `by` or is not plain.
pub(super) fn shift_slots(e: &CExpr, by: usize) -> Option<CExpr> {
    let shift = |e: &CExpr| shift_slots(e, by);
    let boxed = |e: &CExpr| shift_slots(e, by).map(Box::new);
    Some(match e {
        CExpr::Const(v) => CExpr::Const(v.clone()),
        CExpr::Slot(s) => CExpr::Slot(s.checked_sub(by)?),
        CExpr::SlotProperty(s, k) => CExpr::SlotProperty(s.checked_sub(by)?, k.clone()),
        CExpr::SlotPropertyCompare { slot, key, op, value } => {
            CExpr::SlotPropertyCompare { slot: slot.checked_sub(by)?, key: key.clone(), op: *op, value: value.clone() }
        }
        CExpr::List(items) => CExpr::List(items.iter().map(shift).collect::<Option<_>>()?),
        CExpr::Call(f, items) if !f.is_nondeterministic() => {
            CExpr::Call(*f, items.iter().map(shift).collect::<Option<_>>()?)
        }
        CExpr::Map(entries) => {
            CExpr::Map(entries.iter().map(|(k, e)| Some((k.clone(), shift(e)?))).collect::<Option<_>>()?)
        }
        CExpr::Property(a, k) => CExpr::Property(boxed(a)?, k.clone()),
        CExpr::Not(a) => CExpr::Not(boxed(a)?),
        CExpr::Neg(a) => CExpr::Neg(boxed(a)?),
        CExpr::IsNull(a, n) => CExpr::IsNull(boxed(a)?, *n),
        CExpr::HasLabels(a, l) => CExpr::HasLabels(boxed(a)?, l.clone()),
        CExpr::Index(a, b) => CExpr::Index(boxed(a)?, boxed(b)?),
        CExpr::Binary(op, a, b) => CExpr::Binary(*op, boxed(a)?, boxed(b)?),
        CExpr::Compare(a, rest) => {
            CExpr::Compare(boxed(a)?, rest.iter().map(|(op, e)| Some((*op, shift(e)?))).collect::<Option<_>>()?)
        }
        _ => return None,
    })
}
