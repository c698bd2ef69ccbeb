//! Compiled expressions: variables resolved to row slots, parameters to constants,
//! functions to `Function`s. What the planner produces and the rules rewrite;
//! `eval::expr` evaluates them.

use std::sync::Arc;

use super::functions::Function;
use super::LogicalOp;
use crate::cypher::syntax::ast::{BinaryOp, CompareOp, Quantifier};
use crate::cypher::value::CypherValue as V;

/// An expression ready to evaluate against a row.
#[derive(Debug, Clone)]
pub enum CExpr {
    Const(V),
    Slot(usize),
    List(Vec<CExpr>),
    Map(Vec<(String, CExpr)>),
    Property(Box<CExpr>, String),
    /// `v.key` where `v` is a slot (the common case, without a nested evaluation).
    SlotProperty(usize, String),
    /// `v.key OP constant`, compared on the stored bytes without building a value.
    SlotPropertyCompare {
        slot: usize,
        key: String,
        op: CompareOp,
        value: V,
    },
    Index(Box<CExpr>, Box<CExpr>),
    Slice(Box<CExpr>, Option<Box<CExpr>>, Option<Box<CExpr>>),
    Not(Box<CExpr>),
    Neg(Box<CExpr>),
    Binary(BinaryOp, Box<CExpr>, Box<CExpr>),
    Compare(Box<CExpr>, Vec<(CompareOp, CExpr)>),
    IsNull(Box<CExpr>, bool),
    HasLabels(Box<CExpr>, Vec<String>),
    Call(Function, Vec<CExpr>),
    Case {
        subject: Option<Box<CExpr>>,
        whens: Vec<(CExpr, CExpr)>,
        otherwise: Option<Box<CExpr>>,
    },
    /// `[x IN list WHERE p | m]`; `x` lives in slot `slot` (the row is extended).
    ListComprehension {
        slot: usize,
        list: Box<CExpr>,
        predicate: Option<Box<CExpr>>,
        map: Option<Box<CExpr>>,
    },
    Quantified {
        quantifier: Quantifier,
        slot: usize,
        list: Box<CExpr>,
        predicate: Box<CExpr>,
    },
    Reduce {
        acc_slot: usize,
        init: Box<CExpr>,
        slot: usize,
        list: Box<CExpr>,
        expr: Box<CExpr>,
    },
    /// True when the sub-plan (rooted at an `Argument`) yields a row.
    Exists(Arc<LogicalOp>),
    /// The values of `map` (evaluated on the sub-plan's rows), as a list.
    Collect(Arc<LogicalOp>, Box<CExpr>),
}

impl CExpr {
    /// True when the expression reads no slot and no sub-plan (its value is known
    /// before any row exists).
    pub fn is_constant(&self) -> bool {
        match self {
            CExpr::Const(_) => true,
            CExpr::Slot(_) | CExpr::Exists(_) | CExpr::Collect(..) => false,
            CExpr::List(items) => items.iter().all(CExpr::is_constant),
            CExpr::Map(entries) => entries.iter().all(|(_, e)| e.is_constant()),
            CExpr::Property(e, _) | CExpr::Not(e) | CExpr::Neg(e) | CExpr::IsNull(e, _) | CExpr::HasLabels(e, _) => {
                e.is_constant()
            }
            CExpr::SlotProperty(..) | CExpr::SlotPropertyCompare { .. } => false,
            CExpr::Index(a, b) | CExpr::Binary(_, a, b) => a.is_constant() && b.is_constant(),
            CExpr::Call(f, args) => !f.is_nondeterministic() && args.iter().all(CExpr::is_constant),
            _ => false,
        }
    }

    /// True when the value depends on nothing but the input row, and not on `slot`
    /// (the variable a scan binds): a scan can then evaluate it once per input row,
    /// as it does a constant.
    pub fn is_row_constant(&self, slot: usize) -> bool {
        let this = |e: &CExpr| e.is_row_constant(slot);
        match self {
            CExpr::Const(_) => true,
            CExpr::Slot(s) | CExpr::SlotProperty(s, _) => *s != slot,
            CExpr::Exists(_) | CExpr::Collect(..) | CExpr::SlotPropertyCompare { .. } => false,
            CExpr::List(items) => items.iter().all(this),
            CExpr::Map(entries) => entries.iter().all(|(_, e)| this(e)),
            CExpr::Property(e, _) | CExpr::Not(e) | CExpr::Neg(e) | CExpr::IsNull(e, _) | CExpr::HasLabels(e, _) => {
                this(e)
            }
            CExpr::Index(a, b) | CExpr::Binary(_, a, b) => this(a) && this(b),
            CExpr::Call(f, args) => !f.is_nondeterministic() && args.iter().all(this),
            _ => false,
        }
    }
}
