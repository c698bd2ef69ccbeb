//! Which LIndex lookup can prune a node: the text tests (`=`, `CONTAINS`,
//! `STARTS WITH`, `ENDS WITH` with a string) among its predicates, and the index that
//! covers them. Shared by the rewrite rules and the planner's estimates.

use sprig_index::graph::text::{TextIndexKind, TextTest};
use sprig_index::graph::Overlay;

use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::LIndexPrune;
use crate::cypher::syntax::ast::{BinaryOp, CompareOp};
use crate::cypher::value::CypherValue as V;

/// The text test `pred` makes of a property of the node in `slot`.
pub(super) fn text_test_of(pred: &CExpr, slot: usize) -> Option<(String, TextTest)> {
    let prop = |e: &CExpr| match e {
        CExpr::SlotProperty(s, key) if *s == slot => Some(key.clone()),
        _ => None,
    };
    let text = |e: &CExpr| match e {
        CExpr::Const(V::String(v)) => Some(v.to_string()),
        _ => None,
    };
    match pred {
        CExpr::SlotPropertyCompare { slot: s, key, op: CompareOp::Eq, value: V::String(v) } if *s == slot => {
            Some((key.clone(), TextTest::Equals(v.to_string())))
        }
        CExpr::Binary(op @ (BinaryOp::Contains | BinaryOp::StartsWith | BinaryOp::EndsWith), a, b) => {
            let (key, needle) = (prop(a)?, text(b)?);
            Some((
                key,
                match op {
                    BinaryOp::Contains => TextTest::Contains(needle),
                    BinaryOp::StartsWith => TextTest::StartsWith(needle),
                    _ => TextTest::EndsWith(needle),
                },
            ))
        }
        CExpr::Compare(a, rest) if rest.len() == 1 && rest[0].0 == CompareOp::Eq => {
            let b = &rest[0].1;
            let (key, value) = match (prop(a), text(b)) {
                (Some(k), Some(v)) => (k, v),
                _ => (prop(b)?, text(a)?),
            };
            Some((key, TextTest::Equals(value)))
        }
        _ => None,
    }
}

/// The conjuncts of `e` (`a AND b AND c` -> `[a, b, c]`).
pub(super) fn conjuncts(e: &CExpr, out: &mut Vec<CExpr>) {
    match e {
        CExpr::Binary(BinaryOp::And, a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other.clone()),
    }
}

/// The LIndex lookup for the node in `slot` with `labels` and `predicates`, from the
/// LIndex of fewest hops, or (`paths`) of most hops, at least one.
pub(super) fn prune_for(
    graph: &Overlay,
    labels: &[String],
    predicates: &[CExpr],
    slot: usize,
    paths: bool,
) -> Option<(String, LIndexPrune)> {
    let tests: Vec<(String, TextTest)> = predicates.iter().filter_map(|p| text_test_of(p, slot)).collect();
    if tests.is_empty() {
        return None;
    }
    let mut defs: Vec<_> = graph
        .text_indexes()
        .iter()
        .filter(|d| matches!(d.kind, TextIndexKind::LIndex { .. }) && labels.contains(&d.label))
        .filter(|d| !paths || d.hops() > 0)
        .collect();
    defs.sort_by_key(|d| if paths { u32::MAX - d.hops() } else { d.hops() });
    for def in defs {
        for prop in &def.properties {
            let mine: Vec<TextTest> = tests.iter().filter(|(k, _)| k == prop).map(|(_, t)| t.clone()).collect();
            if !mine.is_empty() {
                let prune = LIndexPrune {
                    index: def.name.clone(),
                    steps: Vec::new(),
                    property: prop.clone(),
                    tests: mine,
                    after: 0,
                };
                return Some((def.label.clone(), prune));
            }
        }
    }
    None
}
