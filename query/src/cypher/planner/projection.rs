//! WITH and RETURN: projections, grouping and aggregation, DISTINCT, ORDER BY, SKIP
//! and LIMIT, with openCypher's scoping rules for ORDER BY.

use crate::cypher::plan::aggregate::{AggFunc, AggSpec};
use crate::cypher::plan::expr::CExpr;
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};

use super::*;

/// The error for an ORDER BY item after an aggregating projection that the projected
/// columns cannot answer. Reusing a projected expression more complex than a variable
/// or its property beside an aggregate is ambiguous (openCypher); otherwise the item
/// names a variable the projection did not keep.
pub(super) fn order_by_scope_error(original: &Expr, items: &[(Expr, String)]) -> Error {
    let reuses_complex = items
        .iter()
        .any(|(item, _)| !is_simple_key(item) && !contains_aggregate(item) && contains_subexpr(original, item));
    if reuses_complex {
        ambiguous_order_by()
    } else {
        semantic("UndefinedVariable", "ORDER BY after an aggregation can only use the projected columns")
    }
}

/// A grouping key that may be reused beside an aggregate: a variable or a property of
/// one (openCypher); anything more complex is ambiguous there.
pub(super) fn is_simple_key(e: &Expr) -> bool {
    matches!(e, Expr::Variable(_)) || matches!(e, Expr::Property(b, _) if matches!(**b, Expr::Variable(_)))
}

pub(super) fn ambiguous_order_by() -> Error {
    semantic(
        "AmbiguousAggregationExpression",
        "ORDER BY beside an aggregate can only reuse projected variables and their properties",
    )
}

pub(super) fn contains_subexpr(e: &Expr, target: &Expr) -> bool {
    if e == target {
        return true;
    }
    let mut found = false;
    for_each_child(e, &mut |c| found = found || contains_subexpr(c, target));
    found
}

/// True when `e` names a variable that is not one of `columns`.
pub(super) fn mentions_variable_outside(e: &Expr, columns: &[String]) -> bool {
    if let Expr::Variable(v) = e {
        return !columns.contains(v);
    }
    let mut found = false;
    for_each_child(e, &mut |c| found = found || mentions_variable_outside(c, columns));
    found
}

pub(super) fn replace_subexpr(e: &mut Expr, target: &Expr, with: &Expr) {
    if e == target {
        *e = with.clone();
        return;
    }
    for_each_child_mut(e, &mut |c| replace_subexpr(c, target, with));
}

impl Planner<'_> {
    pub(super) fn plan_projection(
        &mut self,
        input: LogicalOp,
        scope: &Scope,
        p: &Projection,
        is_return: bool,
    ) -> Result<(LogicalOp, Scope, Vec<String>)> {
        let mut items: Vec<(Expr, String)> = Vec::new();
        if p.star {
            let names = scope.visible_names();
            if names.is_empty() && is_return {
                return Err(semantic("NoVariablesInScope", "RETURN * needs variables in scope"));
            }
            for n in names {
                items.push((Expr::Variable(n.clone()), n));
            }
        }
        for it in &p.items {
            let name = match (&it.alias, &it.expr) {
                (Some(a), _) => a.clone(),
                (None, Expr::Variable(v)) => v.clone(),
                (None, _) if !is_return => {
                    // Reused beside an aggregate in ORDER BY, the expression is
                    // ambiguous whatever its name: that is the error to report.
                    let beside_aggregate =
                        p.order_by.iter().any(|s| contains_aggregate(&s.expr) && contains_subexpr(&s.expr, &it.expr));
                    if beside_aggregate {
                        return Err(ambiguous_order_by());
                    }
                    return Err(semantic("NoExpressionAlias", format!("'{}' needs an alias (AS name)", it.text)));
                }
                (None, _) => it.text.clone(),
            };
            if items.iter().any(|(_, n)| n == &name) {
                return Err(semantic("ColumnNameConflict", format!("column '{name}' appears twice")));
            }
            items.push((it.expr.clone(), name));
        }
        if items.iter().any(|(e, _)| matches!(e, Expr::Pattern(_))) {
            return Err(semantic("UnexpectedSyntax", "a pattern can only be used as a predicate"));
        }
        let columns: Vec<String> = items.iter().map(|(_, n)| n.clone()).collect();
        let aggregating = items.iter().any(|(e, _)| contains_aggregate(e));
        let mut plan = input;
        let mut out_scope = Scope::default();
        for c in &columns {
            out_scope.add(c, Kind::Any);
        }
        // Give projected variables their kind back (for later patterns).
        for (i, (e, _)) in items.iter().enumerate() {
            match e {
                Expr::Variable(v) => {
                    if let Some((_, k)) = scope.lookup(v) {
                        out_scope.vars[i].kind = k;
                    }
                }
                Expr::Literal(Literal::Null) => {}
                Expr::Literal(_) | Expr::List(_) | Expr::Map(_) | Expr::Compare(..) => {
                    out_scope.vars[i].kind = Kind::Value
                }
                Expr::Binary(op, ..) if !matches!(op, BinaryOp::Add) => out_scope.vars[i].kind = Kind::Value,
                _ => {}
            }
        }
        let mut order: Vec<(Expr, bool)> = p
            .order_by
            .iter()
            .map(|s| {
                let mut e = s.expr.clone();
                for (item, name) in &items {
                    if e == *item {
                        e = Expr::Variable(name.clone());
                        break;
                    }
                    // Next to an aggregate only aggregates and simple keys can be
                    // reused (as in RETURN items).
                    let reusable = !aggregating || contains_aggregate(item) || is_simple_key(item);
                    if reusable {
                        replace_subexpr(&mut e, item, &Expr::Variable(name.clone()));
                    }
                }
                (e, s.ascending)
            })
            .collect();
        let keep_input;
        if aggregating {
            let mut key_items: Vec<(usize, Expr)> = Vec::new();
            for (i, (e, _)) in items.iter().enumerate() {
                if !contains_aggregate(e) {
                    key_items.push((i, e.clone()));
                }
            }
            let mut aggs = Vec::new();
            let mut agg_scope = Scope::default();
            for k in 0..key_items.len() {
                agg_scope.add(&format!("{KEY_PREFIX}{k}"), Kind::Any);
            }
            let mut rewritten = Vec::new();
            for (e, _) in &items {
                let mut e = e.clone();
                if !contains_aggregate(&e) {
                    rewritten.push(e);
                    continue;
                }
                self.extract_aggregates(&mut e, scope, &mut aggs)?;
                for (k, (_, key)) in key_items.iter().enumerate() {
                    // Only a variable or a property of one can be reused next to an
                    // aggregate; anything more complex is ambiguous (openCypher).
                    if is_simple_key(key) {
                        replace_subexpr(&mut e, key, &Expr::Variable(format!("{KEY_PREFIX}{k}")));
                    }
                }
                rewritten.push(e);
            }
            for a in 0..aggs.len() {
                agg_scope.add(&format!("{AGG_PREFIX}{a}"), Kind::Any);
            }
            let keys = key_items.iter().map(|(_, e)| self.expr(e, scope)).collect::<Result<Vec<_>>>()?;
            plan = LogicalOp::Aggregate { input: Box::new(plan), keys, aggs };
            let mut exprs = Vec::new();
            let mut key_index = 0;
            for e in &rewritten {
                if contains_aggregate_marker(e) {
                    exprs.push(self.expr(e, &agg_scope).map_err(|err| match err {
                        Error::Semantic { kind: "UndefinedVariable", .. } => semantic(
                            "AmbiguousAggregationExpression",
                            "an expression mixing aggregates and variables must group by those variables",
                        ),
                        other => other,
                    })?);
                } else {
                    exprs.push(CExpr::Slot(key_index));
                    key_index += 1;
                }
            }
            // Keys are projected in item order; skip the key counter for aggregate items.
            let mut exprs_fixed = Vec::new();
            let mut k = 0;
            for (i, e) in exprs.into_iter().enumerate() {
                if contains_aggregate(&items[i].0) {
                    exprs_fixed.push(e);
                } else {
                    exprs_fixed.push(CExpr::Slot(k));
                    k += 1;
                }
            }
            plan = LogicalOp::Project { input: Box::new(plan), exprs: exprs_fixed, keep_input: false };
            for ((e, _), sort) in order.iter().zip(&p.order_by) {
                if contains_aggregate(e) {
                    if mentions_variable_outside(e, &columns) {
                        return Err(order_by_scope_error(&sort.expr, &items));
                    }
                    return Err(semantic("InvalidAggregation", "ORDER BY cannot aggregate what RETURN does not"));
                }
            }
            keep_input = false;
        } else {
            let exprs = items.iter().map(|(e, _)| self.expr(e, scope)).collect::<Result<Vec<_>>>()?;
            keep_input = (!order.is_empty() || p.predicate.is_some()) && !p.distinct;
            for (e, _) in &order {
                if contains_aggregate(e) {
                    return Err(semantic(
                        "InvalidAggregation",
                        "ORDER BY cannot aggregate in a non-aggregating projection",
                    ));
                }
            }
            plan = LogicalOp::Project { input: Box::new(plan), exprs, keep_input };
        }
        if p.distinct {
            plan = LogicalOp::Distinct { input: Box::new(plan), width: columns.len() };
        }
        // ORDER BY and WITH ... WHERE see the projected columns and, without
        // aggregation or DISTINCT, the variables before the projection too.
        let mut sort_scope = out_scope.clone();
        if keep_input {
            for v in &scope.vars {
                let shadowed = columns.contains(&v.name);
                sort_scope.vars.push(Var { name: v.name.clone(), kind: v.kind, hidden: v.hidden || shadowed });
            }
        }
        if !order.is_empty() {
            let mut keys = Vec::new();
            for ((e, asc), sort) in order.drain(..).zip(&p.order_by) {
                let ce = self.expr(&e, &sort_scope).map_err(|err| match err {
                    Error::Semantic { kind: "UndefinedVariable", .. } if aggregating => {
                        order_by_scope_error(&sort.expr, &items)
                    }
                    other => other,
                })?;
                keys.push((ce, asc));
            }
            plan = LogicalOp::Sort { input: Box::new(plan), keys };
        }
        if let Some(s) = &p.skip {
            let count = self.count_expr(s, "SKIP")?;
            plan = LogicalOp::Skip { input: Box::new(plan), count };
        }
        if let Some(l) = &p.limit {
            let count = self.count_expr(l, "LIMIT")?;
            plan = LogicalOp::Limit { input: Box::new(plan), count };
        }
        if let Some(w) = &p.predicate {
            if contains_aggregate(w) {
                return Err(semantic("InvalidAggregation", "WHERE cannot aggregate"));
            }
            let mut w = w.clone();
            for (item, name) in &items {
                if !matches!(item, Expr::Variable(_)) {
                    replace_subexpr(&mut w, item, &Expr::Variable(name.clone()));
                }
            }
            let predicate = self.expr(&w, &sort_scope)?;
            plan = LogicalOp::Filter { input: Box::new(plan), predicate };
        }
        if keep_input {
            plan = LogicalOp::Truncate { input: Box::new(plan), width: columns.len() };
        }
        Ok((plan, out_scope, columns))
    }

    pub(super) fn count_expr(&mut self, e: &Expr, what: &str) -> Result<CExpr> {
        let ce = self.expr(e, &Scope::default()).map_err(|err| match err {
            Error::Semantic { kind: "UndefinedVariable", .. } => {
                semantic("NonConstantExpression", format!("{what} must not depend on variables"))
            }
            other => other,
        })?;
        // A parameter's value is only checked when the query runs (a runtime error);
        // a literal is checked now.
        if let (CExpr::Const(v), false) = (&ce, matches!(e, Expr::Parameter(_))) {
            match v {
                V::Int(i) if *i < 0 => {
                    return Err(semantic("NegativeIntegerArgument", format!("{what} must not be negative")))
                }
                V::Int(_) => {}
                _ => return Err(semantic("InvalidArgumentType", format!("{what} must be an integer"))),
            }
        }
        Ok(ce)
    }

    /// Replaces every aggregate call in `e` by a marker variable and records it.
    pub(super) fn extract_aggregates(&mut self, e: &mut Expr, scope: &Scope, aggs: &mut Vec<AggSpec>) -> Result<()> {
        let spec = match e {
            Expr::CountStar => Some(AggSpec { func: AggFunc::CountStar, distinct: false, args: Vec::new() }),
            Expr::Function { name, distinct, args } if AggFunc::lookup(name).is_some() => {
                let func = AggFunc::lookup(name).unwrap_or(AggFunc::Count);
                if args.len() != func.arity() {
                    return Err(semantic(
                        "InvalidNumberOfArguments",
                        format!("{name}() takes {} arguments", func.arity()),
                    ));
                }
                if args.iter().any(contains_aggregate) {
                    return Err(semantic("NestedAggregation", "aggregates cannot be nested"));
                }
                if args.iter().any(calls_rand) {
                    return Err(semantic("NonConstantExpression", "an aggregate cannot take rand()"));
                }
                let args = args.iter().map(|a| self.expr(a, scope)).collect::<Result<Vec<_>>>()?;
                Some(AggSpec { func, distinct: *distinct, args })
            }
            _ => None,
        };
        if let Some(spec) = spec {
            *e = Expr::Variable(format!("{AGG_PREFIX}{}", aggs.len()));
            aggs.push(spec);
            return Ok(());
        }
        if let Expr::ListComprehension { predicate, map, .. } = e {
            if predicate.as_deref().is_some_and(contains_aggregate) || map.as_deref().is_some_and(contains_aggregate) {
                return Err(semantic("InvalidAggregation", "a list comprehension cannot aggregate"));
            }
        }
        let mut result = Ok(());
        for_each_child_mut(e, &mut |c| {
            if result.is_ok() {
                result = self.extract_aggregates(c, scope, aggs);
            }
        });
        result
    }
}
