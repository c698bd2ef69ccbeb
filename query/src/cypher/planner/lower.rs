//! Expressions: AST -> compiled expressions (`CExpr`) over row slots, with the checks
//! openCypher makes at compile time (unknown variables and functions, argument kinds,
//! misplaced aggregates).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::cypher::plan::aggregate::AggFunc;
use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::functions::Function;
use crate::cypher::value::CypherValue as V;
use crate::Result;

use super::*;

/// The comparison with its operands swapped (`a < b` is `b > a`).
/// A literal that can never be a boolean is a compile-time error as an operand of
/// AND, OR, XOR or NOT.
pub(super) fn check_boolean_operand(e: &Expr) -> Result<()> {
    let bad = matches!(
        e,
        Expr::Literal(Literal::Int(_) | Literal::Float(_) | Literal::String(_)) | Expr::List(_) | Expr::Map(_)
    );
    if bad {
        return Err(semantic("InvalidArgumentType", "boolean operators take booleans"));
    }
    Ok(())
}

pub(super) fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Binary(BinaryOp::And, a, b) => {
            split_and(a, out);
            split_and(b, out);
        }
        other => out.push(other),
    }
}

/// Collects the slots an expression reads; false when it runs a sub-plan (whose
/// reads are not tracked) or binds locals.
pub(crate) fn slots_read(e: &CExpr, out: &mut BTreeSet<usize>) -> bool {
    slots_used(e, out)
}

pub(super) fn slots_used(e: &CExpr, out: &mut BTreeSet<usize>) -> bool {
    match e {
        CExpr::Const(_) => true,
        CExpr::Slot(s) => {
            out.insert(*s);
            true
        }
        CExpr::List(items) | CExpr::Call(_, items) => items.iter().all(|i| slots_used(i, out)),
        CExpr::Map(entries) => entries.iter().all(|(_, e)| slots_used(e, out)),
        CExpr::Property(a, _) | CExpr::Not(a) | CExpr::Neg(a) | CExpr::IsNull(a, _) | CExpr::HasLabels(a, _) => {
            slots_used(a, out)
        }
        CExpr::Index(a, b) | CExpr::Binary(_, a, b) => slots_used(a, out) && slots_used(b, out),
        CExpr::Compare(a, rest) => slots_used(a, out) && rest.iter().all(|(_, e)| slots_used(e, out)),
        CExpr::SlotProperty(s, _) | CExpr::SlotPropertyCompare { slot: s, .. } => {
            out.insert(*s);
            true
        }
        _ => false,
    }
}

/// The value of a constant expression (a constant, or a list or map of them).
fn constant_value(e: &CExpr) -> Option<V> {
    match e {
        CExpr::Const(v) => Some(v.clone()),
        CExpr::List(items) => Some(V::list(items.iter().map(constant_value).collect::<Option<_>>()?)),
        CExpr::Map(entries) => Some(V::map(
            entries.iter().map(|(k, e)| Some((k.clone(), constant_value(e)?))).collect::<Option<_>>()?,
        )),
        _ => None,
    }
}

pub(super) fn calls_rand(e: &Expr) -> bool {
    match e {
        Expr::Function { name, .. } if name.eq_ignore_ascii_case("rand") => true,
        _ => {
            let mut found = false;
            for_each_child(e, &mut |c| found = found || calls_rand(c));
            found
        }
    }
}

/// A quantifier over a literal list of strings or booleans whose predicate does
/// arithmetic on the element (`any(x IN ['a'] WHERE x % 2 = 0)`) cannot succeed:
/// openCypher reports it at compile time.
fn check_element_arithmetic(variable: &str, list: &Expr, predicate: &Expr) -> Result<()> {
    let Expr::List(items) = list else { return Ok(()) };
    let class = |e: &Expr| match e {
        Expr::Literal(Literal::String(_)) => Some("String"),
        Expr::Literal(Literal::Bool(_)) => Some("Boolean"),
        _ => None,
    };
    let Some(first) = items.first().and_then(class) else { return Ok(()) };
    if !items.iter().all(|e| class(e) == Some(first)) {
        return Ok(());
    }
    fn uses_in_arithmetic(e: &Expr, variable: &str) -> bool {
        if let Expr::Binary(op, a, b) = e {
            let arithmetic =
                matches!(op, BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Pow);
            let is_var = |x: &Expr| matches!(x, Expr::Variable(v) if v == variable);
            if arithmetic && (is_var(a) || is_var(b)) {
                return true;
            }
        }
        // An inner scope that rebinds the name hides the element.
        if let Expr::Quantified { variable: v, .. } | Expr::ListComprehension { variable: v, .. } = e {
            if v == variable {
                return false;
            }
        }
        let mut found = false;
        for_each_child(e, &mut |c| found = found || uses_in_arithmetic(c, variable));
        found
    }
    if uses_in_arithmetic(predicate, variable) {
        return Err(semantic(
            "InvalidArgumentType",
            format!("'{variable}' is a {first}, which arithmetic cannot take"),
        ));
    }
    Ok(())
}

pub(crate) fn contains_aggregate(e: &Expr) -> bool {
    match e {
        Expr::CountStar => true,
        Expr::Function { name, .. } if AggFunc::lookup(name).is_some() => true,
        _ => {
            let mut found = false;
            for_each_child(e, &mut |c| found = found || contains_aggregate(c));
            found
        }
    }
}

pub(super) fn contains_aggregate_marker(e: &Expr) -> bool {
    match e {
        Expr::Variable(v) => v.starts_with(AGG_PREFIX),
        _ => {
            let mut found = false;
            for_each_child(e, &mut |c| found = found || contains_aggregate_marker(c));
            found
        }
    }
}

/// Defines a visitor of an expression's direct children, by shared or by mutable
/// reference (one body for both).
macro_rules! define_for_each_child {
    ($name:ident $(, $m:tt)?) => {
        pub(super) fn $name(e: &$($m)? Expr, f: &mut dyn FnMut(&$($m)? Expr)) {
            match e {
                Expr::Literal(_) | Expr::Parameter(_) | Expr::Variable(_) | Expr::CountStar => {}
                Expr::List(items) => {
                    for x in items {
                        f(x)
                    }
                }
                Expr::Map(entries) => {
                    for (_, v) in entries {
                        f(v)
                    }
                }
                Expr::Property(a, _) | Expr::Unary(_, a) | Expr::IsNull { expr: a, .. } | Expr::HasLabels(a, _) => f(a),
                Expr::Index(a, b) | Expr::Binary(_, a, b) => {
                    f(a);
                    f(b);
                }
                Expr::Slice(a, b, c) => {
                    f(a);
                    if let Some(b) = b {
                        f(b);
                    }
                    if let Some(c) = c {
                        f(c);
                    }
                }
                Expr::Compare(a, rest) => {
                    f(a);
                    for (_, e) in rest {
                        f(e)
                    }
                }
                Expr::Function { args, .. } => {
                    for a in args {
                        f(a)
                    }
                }
                Expr::Case { subject, whens, otherwise } => {
                    if let Some(s) = subject {
                        f(s);
                    }
                    for (w, t) in whens {
                        f(w);
                        f(t);
                    }
                    if let Some(o) = otherwise {
                        f(o);
                    }
                }
                Expr::ListComprehension { list, predicate, map, .. } => {
                    f(list);
                    if let Some(p) = predicate {
                        f(p);
                    }
                    if let Some(m) = map {
                        f(m);
                    }
                }
                Expr::Quantified { list, predicate, .. } => {
                    f(list);
                    f(predicate);
                }
                Expr::Reduce { init, list, expr, .. } => {
                    f(init);
                    f(list);
                    f(expr);
                }
                Expr::PatternComprehension { predicate, map, .. } => {
                    if let Some(p) = predicate {
                        f(p);
                    }
                    f(map);
                }
                Expr::Pattern(_) | Expr::Exists { .. } | Expr::ExistsQuery(_) => {}
            }
        }
    };
}

define_for_each_child!(for_each_child);
define_for_each_child!(for_each_child_mut, mut);

impl Planner<'_> {
    pub(super) fn expr(&mut self, e: &Expr, scope: &Scope) -> Result<CExpr> {
        let mut scope = scope.clone();
        self.expr_in(e, &mut scope)
    }

    pub(super) fn exprs(&mut self, es: &[Expr], scope: &mut Scope) -> Result<Vec<CExpr>> {
        es.iter().map(|e| self.expr_in(e, scope)).collect()
    }

    pub(super) fn boxed(&mut self, e: &Expr, scope: &mut Scope) -> Result<Box<CExpr>> {
        Ok(Box::new(self.expr_in(e, scope)?))
    }

    pub(super) fn expr_in(&mut self, e: &Expr, scope: &mut Scope) -> Result<CExpr> {
        Ok(match e {
            Expr::Literal(l) => CExpr::Const(match l {
                Literal::Null => V::Null,
                Literal::Bool(b) => V::Bool(*b),
                Literal::Int(i) => V::Int(*i),
                Literal::Float(f) => V::Float(*f),
                Literal::String(s) => V::string(s.as_str()),
            }),
            Expr::Parameter(p) => CExpr::Const(self.param(p)?),
            Expr::Variable(name) => match scope.lookup(name) {
                Some((slot, _)) => CExpr::Slot(slot),
                None => return Err(semantic("UndefinedVariable", format!("variable '{name}' is not defined"))),
            },
            Expr::List(items) => CExpr::List(self.exprs(items, scope)?),
            Expr::Map(entries) => {
                let mut out = Vec::new();
                for (k, v) in entries {
                    out.push((k.clone(), self.expr_in(v, scope)?));
                }
                CExpr::Map(out)
            }
            Expr::Property(base, key) => {
                if let Expr::Variable(v) = &**base {
                    if matches!(scope.lookup(v), Some((_, Kind::Path))) {
                        return Err(semantic("InvalidArgumentType", format!("a path ('{v}') has no properties")));
                    }
                }
                if let Expr::Literal(l) = &**base {
                    if !matches!(l, Literal::Null) {
                        return Err(semantic("InvalidArgumentType", "a literal has no properties"));
                    }
                }
                match self.expr_in(base, scope)? {
                    CExpr::Slot(s) => CExpr::SlotProperty(s, key.clone()),
                    other => CExpr::Property(Box::new(other), key.clone()),
                }
            }
            Expr::Index(base, idx) => {
                if let (Expr::Map(_), Expr::Literal(Literal::Int(_) | Literal::Float(_) | Literal::Bool(_))) =
                    (&**base, &**idx)
                {
                    return Err(semantic("MapElementAccessByNonString", "a map is indexed by strings"));
                }
                if let (Expr::List(_), Expr::Literal(Literal::String(_) | Literal::Float(_) | Literal::Bool(_))) =
                    (&**base, &**idx)
                {
                    return Err(semantic("InvalidArgumentType", "a list is indexed by integers"));
                }
                CExpr::Index(self.boxed(base, scope)?, self.boxed(idx, scope)?)
            }
            Expr::Slice(base, from, to) => CExpr::Slice(
                self.boxed(base, scope)?,
                match from {
                    Some(f) => Some(self.boxed(f, scope)?),
                    None => None,
                },
                match to {
                    Some(t) => Some(self.boxed(t, scope)?),
                    None => None,
                },
            ),
            Expr::Unary(UnaryOp::Not, inner) => {
                check_boolean_operand(inner)?;
                CExpr::Not(self.boxed(inner, scope)?)
            }
            Expr::Unary(UnaryOp::Neg, inner) => CExpr::Neg(self.boxed(inner, scope)?),
            Expr::Unary(UnaryOp::Pos, inner) => self.expr_in(inner, scope)?,
            Expr::Binary(op, a, b) => {
                if *op == BinaryOp::In
                    && matches!(&**b, Expr::Literal(l) if !matches!(l, Literal::Null)) | matches!(&**b, Expr::Map(_))
                {
                    return Err(semantic("InvalidArgumentType", "IN takes a list"));
                }
                if matches!(op, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor) {
                    check_boolean_operand(a)?;
                    check_boolean_operand(b)?;
                }
                CExpr::Binary(*op, self.boxed(a, scope)?, self.boxed(b, scope)?)
            }
            Expr::Compare(first, rest) => {
                let first = self.boxed(first, scope)?;
                let mut ops = Vec::new();
                for (op, e) in rest {
                    ops.push((*op, self.expr_in(e, scope)?));
                }
                // `v.key OP constant` (either way round) compares on stored bytes.
                match (*first, ops.as_slice()) {
                    (CExpr::SlotProperty(slot, key), [(op, CExpr::Const(value))]) => {
                        CExpr::SlotPropertyCompare { slot, key, op: *op, value: value.clone() }
                    }
                    (CExpr::Const(value), [(op, CExpr::SlotProperty(slot, key))]) => {
                        CExpr::SlotPropertyCompare { slot: *slot, key: key.clone(), op: op.flipped(), value }
                    }
                    (first, _) => CExpr::Compare(Box::new(first), ops),
                }
            }
            Expr::IsNull { expr, negated } => CExpr::IsNull(self.boxed(expr, scope)?, *negated),
            Expr::HasLabels(base, labels) => CExpr::HasLabels(self.boxed(base, scope)?, labels.clone()),
            Expr::CountStar => return Err(semantic("InvalidAggregation", "count(*) cannot be used here")),
            Expr::Function { name, distinct, args } => {
                if AggFunc::lookup(name).is_some() {
                    return Err(semantic("InvalidAggregation", format!("{name}() cannot be used here")));
                }
                let f = Function::lookup(name)
                    .ok_or_else(|| semantic("UnknownFunction", format!("unknown function '{name}'")))?;
                if *distinct {
                    return Err(semantic(
                        "InvalidAggregation",
                        format!("DISTINCT is only for aggregates, not {name}()"),
                    ));
                }
                let (lo, hi) = f.arity();
                if args.len() < lo || args.len() > hi {
                    return Err(semantic(
                        "InvalidNumberOfArguments",
                        format!("{name}() takes {lo}..{hi} arguments, got {}", args.len()),
                    ));
                }
                if f != Function::Exists && args.iter().any(|a| matches!(a, Expr::Pattern(_))) {
                    return Err(semantic("UnexpectedSyntax", "a pattern can only be used as a predicate"));
                }
                if f == Function::Exists {
                    match &args[0] {
                        Expr::Pattern(el) => return self.pattern_predicate(el, scope),
                        Expr::Property(..) => {}
                        _ => return Err(semantic("InvalidArgumentType", "exists() takes a property or a pattern")),
                    }
                }
                self.check_literal_args(f, args)?;
                self.check_argument_kinds(f, args, scope)?;
                let args = self.exprs(args, scope)?;
                if let Function::Temporal(t) = f {
                    let constants: Option<Vec<V>> = args.iter().map(constant_value).collect();
                    if let Some(v) = constants.and_then(|c| crate::cypher::temporal::fold(t, &c)) {
                        return Ok(CExpr::Const(v));
                    }
                }
                CExpr::Call(f, args)
            }
            Expr::Case { subject, whens, otherwise } => {
                let subject = match subject {
                    Some(s) => Some(self.boxed(s, scope)?),
                    None => None,
                };
                let mut ws = Vec::new();
                for (w, t) in whens {
                    ws.push((self.expr_in(w, scope)?, self.expr_in(t, scope)?));
                }
                let otherwise = match otherwise {
                    Some(o) => Some(self.boxed(o, scope)?),
                    None => None,
                };
                CExpr::Case { subject, whens: ws, otherwise }
            }
            Expr::ListComprehension { variable, list, predicate, map } => {
                let list = self.boxed(list, scope)?;
                let mark = scope.len();
                let slot = scope.add(variable, Kind::Any);
                let predicate = match predicate {
                    Some(p) => Some(self.boxed(p, scope)?),
                    None => None,
                };
                let map = match map {
                    Some(m) => Some(self.boxed(m, scope)?),
                    None => None,
                };
                scope.vars.truncate(mark);
                CExpr::ListComprehension { slot, list, predicate, map }
            }
            Expr::Quantified { quantifier, variable, list, predicate } => {
                check_element_arithmetic(variable, list, predicate)?;
                let list = self.boxed(list, scope)?;
                let mark = scope.len();
                let slot = scope.add(variable, Kind::Any);
                let predicate = self.boxed(predicate, scope)?;
                scope.vars.truncate(mark);
                CExpr::Quantified { quantifier: *quantifier, slot, list, predicate }
            }
            Expr::Reduce { accumulator, init, variable, list, expr } => {
                let init = self.boxed(init, scope)?;
                let list = self.boxed(list, scope)?;
                let mark = scope.len();
                let acc_slot = scope.add(accumulator, Kind::Any);
                let slot = scope.add(variable, Kind::Any);
                let expr = self.boxed(expr, scope)?;
                scope.vars.truncate(mark);
                CExpr::Reduce { acc_slot, init, slot, list, expr }
            }
            Expr::Pattern(el) => self.pattern_predicate(el, scope)?,
            Expr::Exists { pattern, predicate } => {
                let mut inner = scope.clone();
                let plan = self.plan_match(LogicalOp::Argument, &mut inner, pattern, predicate.as_deref())?;
                CExpr::Exists(Arc::new(plan))
            }
            Expr::ExistsQuery(query) => {
                let (plan, _) = self.plan_single_from(query, LogicalOp::Argument, scope.clone())?;
                CExpr::Exists(Arc::new(plan))
            }
            Expr::PatternComprehension { variable, pattern, predicate, map } => {
                let mut inner = scope.clone();
                let part = PatternPart { variable: variable.clone(), kind: PathKind::Normal, element: pattern.clone() };
                let plan = self.plan_match(LogicalOp::Argument, &mut inner, &[part], predicate.as_deref())?;
                let map = self.expr_in(map, &mut inner)?;
                CExpr::Collect(Arc::new(plan), Box::new(map))
            }
        })
    }

    /// Catches literal arguments of the wrong type before running (openCypher reports
    /// these at compile time).
    pub(super) fn check_literal_args(&self, f: Function, args: &[Expr]) -> Result<()> {
        use Function as F;
        let bad = |e: &Expr| -> bool {
            match f {
                F::ToInteger | F::ToFloat | F::ToString | F::ToBoolean => {
                    matches!(e, Expr::List(_) | Expr::Map(_))
                        || matches!(e, Expr::Literal(Literal::Bool(_)) if f == F::ToFloat)
                }
                F::Labels | F::Type | F::Length | F::Nodes | F::Relationships | F::StartNode | F::EndNode | F::Id => {
                    matches!(e, Expr::Literal(l) if !matches!(l, Literal::Null))
                        || matches!(e, Expr::List(_) | Expr::Map(_))
                }
                F::Size => {
                    matches!(e, Expr::Literal(Literal::Int(_) | Literal::Float(_) | Literal::Bool(_)) | Expr::Map(_))
                }
                F::Properties => {
                    matches!(e, Expr::Literal(l) if !matches!(l, Literal::Null)) || matches!(e, Expr::List(_))
                }
                _ => false,
            }
        };
        if args.first().is_some_and(bad) {
            return Err(semantic("InvalidArgumentType", format!("{}() cannot take that argument", f.name())));
        }
        Ok(())
    }

    /// Variables whose kind is known must suit the function (`labels(path)`,
    /// `type(node)`, `length(node)`, `size(path)` are compile-time errors).
    pub(super) fn check_argument_kinds(&self, f: Function, args: &[Expr], scope: &Scope) -> Result<()> {
        use Function as F;
        let Some(Expr::Variable(v)) = args.first() else { return Ok(()) };
        let Some((_, kind)) = scope.lookup(v) else { return Ok(()) };
        let ok = match f {
            F::Labels => !matches!(kind, Kind::Path | Kind::Rel | Kind::RelList),
            F::Type | F::StartNode | F::EndNode => !matches!(kind, Kind::Node | Kind::Path),
            F::Length | F::Nodes | F::Relationships => !matches!(kind, Kind::Node | Kind::Rel),
            F::Size => !matches!(kind, Kind::Path | Kind::Node | Kind::Rel),
            F::Properties => !matches!(kind, Kind::Path),
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(semantic("InvalidArgumentType", format!("{}() cannot take '{v}'", f.name())))
        }
    }

    pub(super) fn pattern_predicate(&mut self, el: &PatternElement, scope: &mut Scope) -> Result<CExpr> {
        let names = el
            .chain
            .iter()
            .flat_map(|(r, n)| [r.variable.as_ref(), n.variable.as_ref()])
            .chain([el.start.variable.as_ref()])
            .flatten();
        for name in names {
            if scope.lookup(name).is_none() {
                return Err(semantic("UndefinedVariable", format!("variable '{name}' is not defined")));
            }
        }
        let mut inner = scope.clone();
        let part = PatternPart { variable: None, kind: PathKind::Normal, element: el.clone() };
        let plan = self.plan_match(LogicalOp::Argument, &mut inner, &[part], None)?;
        Ok(CExpr::Exists(Arc::new(plan)))
    }

    pub(super) fn props(&mut self, props: &Option<Box<Expr>>, scope: &mut Scope) -> Result<Vec<(String, CExpr)>> {
        match props.as_deref() {
            None => Ok(Vec::new()),
            Some(Expr::Map(entries)) => {
                let mut out = Vec::new();
                for (k, v) in entries {
                    out.push((k.clone(), self.expr_in(v, scope)?));
                }
                Ok(out)
            }
            Some(Expr::Parameter(_)) => {
                Err(semantic("InvalidParameterUse", "a parameter cannot stand for a property map in MATCH"))
            }
            Some(_) => Err(semantic("InvalidArgumentType", "expected a property map")),
        }
    }
}
