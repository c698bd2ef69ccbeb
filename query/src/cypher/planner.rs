//! AST -> logical plan, with the checks openCypher makes before running a query
//! (undefined or rebound variables, misplaced aggregates, bad CREATE patterns...).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use sprig_index::graph::text::{TextIndexDef, TextIndexKind, DEFAULT_WALKS};
use sprig_index::graph::{IndexDef, Overlay};

use crate::cypher::eval::aggregate::{AggFunc, AggSpec};
use crate::cypher::eval::expr::CExpr;
use crate::cypher::eval::functions::Function;
use crate::cypher::plan::*;
use crate::cypher::syntax::ast::*;
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};

fn semantic(kind: &'static str, message: impl Into<String>) -> Error {
    Error::Semantic { kind, message: message.into() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Node,
    Rel,
    RelList,
    Path,
    /// A value that is known not to be a node, relationship or path.
    Value,
    Any,
}

#[derive(Debug, Clone)]
struct Var {
    name: String,
    kind: Kind,
    hidden: bool,
}

/// Variables in scope, in slot order.
#[derive(Debug, Clone, Default)]
struct Scope {
    vars: Vec<Var>,
}

impl Scope {
    fn lookup(&self, name: &str) -> Option<(usize, Kind)> {
        self.vars.iter().enumerate().rev().find(|(_, v)| !v.hidden && v.name == name).map(|(i, v)| (i, v.kind))
    }

    fn add(&mut self, name: &str, kind: Kind) -> usize {
        self.vars.push(Var { name: name.to_string(), kind, hidden: false });
        self.vars.len() - 1
    }

    fn add_hidden(&mut self, kind: Kind) -> usize {
        self.vars.push(Var { name: String::new(), kind, hidden: true });
        self.vars.len() - 1
    }

    fn len(&self) -> usize {
        self.vars.len()
    }

    fn visible_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.vars.iter().filter(|v| !v.hidden).map(|v| v.name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}

/// One step of a greedy pattern order: bind (scan or check) a node, or expand a
/// relationship from its first (`true`) or second endpoint.
#[derive(Debug, Clone, Copy)]
enum GreedyStep {
    Node(usize),
    Expand(usize, bool),
}

/// A node of a pattern being planned.
struct PNode {
    slot: usize,
    labels: Vec<String>,
    props: Vec<(String, CExpr)>,
}

/// A relationship of a pattern being planned.
struct PRel {
    slot: usize,
    types: Vec<String>,
    dir: ExpandDir,
    length: Option<(u64, Option<u64>)>,
    props: Vec<(String, CExpr)>,
}

/// Selectivity of the WHERE conjuncts that read only `slot`.
fn filter_factor(slot: usize, conjuncts: &[(CExpr, Option<BTreeSet<usize>>)]) -> f64 {
    let mut f = 1.0;
    for (e, slots) in conjuncts {
        if slots.as_ref().is_some_and(|s| s.len() == 1 && s.contains(&slot)) {
            let equality = matches!(e, CExpr::Compare(_, ops) if ops.iter().all(|(op, _)| *op == CompareOp::Eq))
                || matches!(e, CExpr::SlotPropertyCompare { op: CompareOp::Eq, .. });
            f *= if equality { 0.01 } else { 0.1 };
        }
    }
    f
}

/// The definition a `CREATE LINDEX` / `CREATE FULLTEXT INDEX` clause makes, with its
/// `OPTIONS` checked.
fn text_index_def(clause: &Clause) -> Result<TextIndexDef> {
    let Clause::CreateTextIndex { name, lindex, on_relationships, label, properties, options, .. } = clause else {
        return Err(semantic("UnexpectedSyntax", "not a text index definition"));
    };
    let (mut hops, mut walks) = (2, DEFAULT_WALKS);
    for (key, value) in options {
        match (key.as_str(), value) {
            ("hops", Expr::Literal(Literal::Int(h))) if *lindex && (0..=4).contains(h) => hops = *h as u32,
            ("hops", _) if *lindex => {
                return Err(semantic("InvalidArgumentType", "OPTIONS hops takes an integer from 0 to 4"))
            }
            ("walks", Expr::Literal(Literal::Int(w))) if *lindex && (1..=1 << 20).contains(w) => walks = *w as u32,
            ("walks", _) if *lindex => {
                return Err(semantic("InvalidArgumentType", "OPTIONS walks takes an integer from 1 to 1048576"))
            }
            _ => return Err(semantic("InvalidArgumentType", format!("unknown index option '{key}'"))),
        }
    }
    Ok(TextIndexDef {
        name: name.clone(),
        kind: if *lindex { TextIndexKind::LIndex { hops, walks } } else { TextIndexKind::FullText },
        on_relationships: *on_relationships,
        label: label.clone(),
        properties: properties.clone(),
    })
}

/// Plans statements against one graph (whose statistics guide the choices).
pub struct Planner<'a> {
    params: &'a HashMap<String, V>,
    graph: &'a mut Overlay,
    writes: bool,
    /// Estimate text predicates with LIndex lookups (off with `--no-lindex`).
    lindex: bool,
    /// Per (slot, labels and conjuncts): the share of its label an LIndex keeps.
    lindex_shares: HashMap<(usize, String), Option<f64>>,
}

/// The cost of testing one expansion candidate, relative to producing one row.
const EXAMINE_COST: f64 = 0.1;

const AGG_PREFIX: &str = "\u{0}agg";
const KEY_PREFIX: &str = "\u{0}key";

impl<'a> Planner<'a> {
    pub fn new(params: &'a HashMap<String, V>, graph: &'a mut Overlay) -> Self {
        Planner { params, graph, writes: false, lindex: false, lindex_shares: HashMap::new() }
    }

    /// Lets the estimates count the candidates of LIndex lookups.
    pub fn with_lindex(mut self, lindex: bool) -> Self {
        self.lindex = lindex;
        self
    }

    /// The share of node `n`'s label that single-node `conjuncts` on it keep, with an
    /// LIndex lookup (a measured superset) when one covers its text tests.
    fn node_filter(&mut self, n: &PNode, conjuncts: &[(CExpr, Option<BTreeSet<usize>>)]) -> f64 {
        let fixed = filter_factor(n.slot, conjuncts);
        if !self.lindex {
            return fixed;
        }
        let mine: Vec<CExpr> = conjuncts
            .iter()
            .filter(|(_, slots)| slots.as_ref().is_some_and(|s| s.len() == 1 && s.contains(&n.slot)))
            .map(|(e, _)| e.clone())
            .collect();
        if mine.is_empty() {
            return fixed;
        }
        let key = (n.slot, format!("{:?}{mine:?}", n.labels));
        let share = match self.lindex_shares.get(&key) {
            Some(s) => *s,
            None => {
                let share = crate::cypher::text_prune::prune_for(self.graph, &n.labels, &mine, n.slot, false).and_then(
                    |(label, prune)| {
                        let found =
                            self.graph.lindex_candidates(&prune.index, &[], &prune.property, &prune.tests).ok()??;
                        let nodes = self.graph.label_nodes(Some(&label)).ok()?;
                        Some(found.intersection_len(&nodes) as f64 / nodes.len().max(1) as f64)
                    },
                );
                self.lindex_shares.insert(key, share);
                share
            }
        };
        share.map_or(fixed, |s| fixed.min(s))
    }

    /// Plans a whole statement (all parts of a UNION).
    pub fn plan(mut self, stmt: &Statement) -> Result<CypherPlan> {
        let mut roots = Vec::new();
        let mut columns: Option<Vec<String>> = None;
        for q in &stmt.queries {
            let (root, cols) = self.plan_single(q)?;
            if let Some(prev) = &columns {
                if prev != &cols {
                    return Err(semantic(
                        "DifferentColumnsInUnion",
                        "all parts of a UNION must return the same columns",
                    ));
                }
            }
            columns = Some(cols);
            roots.push(root);
        }
        let columns = columns.unwrap_or_default();
        let root = if roots.len() == 1 {
            roots.pop().unwrap_or(LogicalOp::Start)
        } else {
            let distinct = stmt.union_all.iter().any(|all| !all);
            if stmt.union_all.iter().any(|a| *a) && distinct {
                return Err(semantic("InvalidClauseComposition", "cannot mix UNION and UNION ALL"));
            }
            LogicalOp::Union { inputs: roots, distinct }
        };
        Ok(CypherPlan { root, columns, graph: self.graph.name().to_string(), writes: self.writes })
    }

    fn plan_single(&mut self, q: &SingleQuery) -> Result<(LogicalOp, Vec<String>)> {
        let mut plan = LogicalOp::Start;
        let mut scope = Scope::default();
        let mut columns = Vec::new();
        let n = q.clauses.len();
        let mut writing = false;
        for (i, clause) in q.clauses.iter().enumerate() {
            let last = i + 1 == n;
            let is_write = matches!(
                clause,
                Clause::Create(_) | Clause::Merge { .. } | Clause::Set(_) | Clause::Remove(_) | Clause::Delete { .. }
            );
            // CREATE after CREATE reads nothing of the graph: the two become one
            // operator (a script of many CREATE clauses stays a shallow tree).
            let create_after_create = matches!(clause, Clause::Create(_)) && matches!(plan, LogicalOp::Create { .. });
            if is_write {
                writing = true;
                self.writes = true;
                if !matches!(plan, LogicalOp::Start) && !create_after_create {
                    plan = LogicalOp::Eager { input: Box::new(plan) };
                }
            } else if writing {
                // Every write of earlier clauses happens before later clauses read,
                // and whatever LIMIT follows.
                plan = LogicalOp::Eager { input: Box::new(plan) };
                writing = false;
            }
            match clause {
                Clause::Match { optional, pattern, predicate } => {
                    if *optional {
                        let mut inner_scope = scope.clone();
                        let inner =
                            self.plan_match(LogicalOp::Argument, &mut inner_scope, pattern, predicate.as_ref())?;
                        let added = inner_scope.len() - scope.len();
                        scope = inner_scope;
                        plan = LogicalOp::Optional { input: Box::new(plan), inner: Box::new(inner), added };
                    } else {
                        plan = self.plan_match(plan, &mut scope, pattern, predicate.as_ref())?;
                    }
                }
                Clause::Unwind { expr, alias } => {
                    let e = self.expr(expr, &scope)?;
                    if scope.lookup(alias).is_some() {
                        return Err(semantic("VariableAlreadyBound", format!("variable '{alias}' is already defined")));
                    }
                    let slot = scope.add(alias, Kind::Any);
                    plan = LogicalOp::Unwind { input: Box::new(plan), expr: e, slot };
                }
                Clause::With(p) => {
                    let (next, next_scope, _) = self.plan_projection(plan, &scope, p, false)?;
                    plan = next;
                    scope = next_scope;
                }
                Clause::Return(p) => {
                    if !last {
                        return Err(semantic("InvalidClauseComposition", "RETURN can only be the last clause"));
                    }
                    let (next, next_scope, cols) = self.plan_projection(plan, &scope, p, true)?;
                    plan = next;
                    scope = next_scope;
                    columns = cols;
                }
                Clause::Create(parts) => {
                    let more = self.create_pattern(&mut scope, parts)?;
                    plan = match plan {
                        LogicalOp::Create { input, mut pattern } => {
                            pattern.nodes.extend(more.nodes);
                            pattern.rels.extend(more.rels);
                            pattern.paths.extend(more.paths);
                            LogicalOp::Create { input, pattern }
                        }
                        other => LogicalOp::Create { input: Box::new(other), pattern: Box::new(more) },
                    };
                }
                Clause::Merge { part, on_create, on_match } => {
                    plan = self.plan_merge(plan, &mut scope, part, on_create, on_match)?;
                }
                Clause::Set(items) => {
                    let ops = items.iter().map(|it| self.set_op(it, &scope)).collect::<Result<Vec<_>>>()?;
                    plan = LogicalOp::Update { input: Box::new(plan), ops };
                }
                Clause::Remove(items) => {
                    let ops = items.iter().map(|it| self.remove_op(it, &scope)).collect::<Result<Vec<_>>>()?;
                    plan = LogicalOp::Update { input: Box::new(plan), ops };
                }
                Clause::Delete { detach, exprs } => {
                    let mut compiled = Vec::new();
                    for e in exprs {
                        if matches!(e, Expr::Literal(_) | Expr::HasLabels(..) | Expr::Binary(..) | Expr::Map(_)) {
                            return Err(semantic("InvalidDelete", "DELETE takes nodes, relationships or paths"));
                        }
                        compiled.push(self.expr(e, &scope)?);
                    }
                    plan = LogicalOp::Delete { input: Box::new(plan), exprs: compiled, detach: *detach };
                }
                Clause::Call { procedure, args, yields, predicate } => {
                    let proc = Procedure::lookup(procedure)
                        .ok_or_else(|| semantic("ProcedureNotFound", format!("there is no procedure '{procedure}'")))?;
                    let given = args.as_ref().map_or(0, |a| a.len());
                    if given != proc.arity() {
                        return Err(semantic(
                            "InvalidNumberOfArguments",
                            format!("{} takes {} argument(s), not {given}", proc.name(), proc.arity()),
                        ));
                    }
                    let mut compiled = Vec::new();
                    for a in args.iter().flatten() {
                        compiled.push(self.expr(a, &scope)?);
                    }
                    let names = proc.outputs();
                    let chosen: Vec<(usize, String)> = match yields {
                        None if n != 1 => {
                            return Err(semantic("UnexpectedSyntax", "CALL inside a query needs YIELD"));
                        }
                        None => names.iter().enumerate().map(|(i, o)| (i, o.to_string())).collect(),
                        Some(items) if items.is_empty() => {
                            names.iter().enumerate().map(|(i, o)| (i, o.to_string())).collect()
                        }
                        Some(items) => {
                            let mut out = Vec::new();
                            for (name, alias) in items {
                                let Some(pos) = names.iter().position(|o| o == name) else {
                                    return Err(semantic(
                                        "UndefinedVariable",
                                        format!("{} yields {}, not '{name}'", proc.name(), names.join(", ")),
                                    ));
                                };
                                out.push((pos, alias.clone().unwrap_or_else(|| name.clone())));
                            }
                            out
                        }
                    };
                    let mut outputs = Vec::new();
                    for (pos, alias) in &chosen {
                        let kind = match (proc, names[*pos]) {
                            (Procedure::FulltextNodes, "node") => Kind::Node,
                            (Procedure::FulltextRelationships, "relationship") => Kind::Rel,
                            _ => Kind::Value,
                        };
                        outputs.push((*pos, scope.add(alias, kind)));
                    }
                    plan = LogicalOp::ProcedureCall { input: Box::new(plan), procedure: proc, args: compiled, outputs };
                    if let Some(p) = predicate {
                        let predicate = self.expr(p, &scope)?;
                        plan = LogicalOp::Filter { input: Box::new(plan), predicate };
                    }
                    if last {
                        columns = chosen.into_iter().map(|(_, a)| a).collect();
                    }
                }
                Clause::CreateTextIndex { if_not_exists, .. } => {
                    self.writes = true;
                    plan = LogicalOp::CreateTextIndex { def: text_index_def(clause)?, if_not_exists: *if_not_exists };
                }
                Clause::CreateIndex { name, label, property } => {
                    self.writes = true;
                    let name = name.clone().unwrap_or_else(|| format!("index_{label}_{property}"));
                    plan = LogicalOp::CreateIndex {
                        def: IndexDef { name, label: label.clone(), property: property.clone() },
                    };
                }
                Clause::DropIndex { name } => {
                    self.writes = true;
                    plan = LogicalOp::DropIndex { name: name.clone() };
                }
            }
        }
        let last = q.clauses.last();
        match last {
            Some(Clause::Return(_)) | Some(Clause::Call { .. }) => {}
            Some(
                Clause::Create(_)
                | Clause::Merge { .. }
                | Clause::Set(_)
                | Clause::Remove(_)
                | Clause::Delete { .. }
                | Clause::CreateIndex { .. }
                | Clause::CreateTextIndex { .. }
                | Clause::DropIndex { .. },
            ) => plan = LogicalOp::Discard { input: Box::new(plan) },
            _ => {
                return Err(semantic("InvalidClauseComposition", "a query must end with RETURN or an updating clause"))
            }
        }
        Ok((plan, columns))
    }

    // -----------------------------------------------------------------------
    // Expressions

    fn param(&self, name: &str) -> Result<V> {
        self.params
            .get(name)
            .cloned()
            .ok_or_else(|| semantic("ParameterMissing", format!("expected parameter ${name}")))
    }

    fn expr(&mut self, e: &Expr, scope: &Scope) -> Result<CExpr> {
        let mut scope = scope.clone();
        self.expr_in(e, &mut scope)
    }

    fn exprs(&mut self, es: &[Expr], scope: &mut Scope) -> Result<Vec<CExpr>> {
        es.iter().map(|e| self.expr_in(e, scope)).collect()
    }

    fn boxed(&mut self, e: &Expr, scope: &mut Scope) -> Result<Box<CExpr>> {
        Ok(Box::new(self.expr_in(e, scope)?))
    }

    fn expr_in(&mut self, e: &Expr, scope: &mut Scope) -> Result<CExpr> {
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
                        CExpr::SlotPropertyCompare { slot: *slot, key: key.clone(), op: flip(*op), value }
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
                CExpr::Call(f, self.exprs(args, scope)?)
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
    fn check_literal_args(&self, f: Function, args: &[Expr]) -> Result<()> {
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
    fn check_argument_kinds(&self, f: Function, args: &[Expr], scope: &Scope) -> Result<()> {
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

    fn pattern_predicate(&mut self, el: &PatternElement, scope: &mut Scope) -> Result<CExpr> {
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

    // -----------------------------------------------------------------------
    // MATCH

    fn props(&mut self, props: &Option<Box<Expr>>, scope: &mut Scope) -> Result<Vec<(String, CExpr)>> {
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

    fn node_slot(&self, scope: &mut Scope, np: &NodePattern) -> Result<usize> {
        match &np.variable {
            Some(name) => match scope.lookup(name) {
                Some((slot, Kind::Node | Kind::Any)) => Ok(slot),
                Some((_, Kind::Value)) => Err(semantic("VariableTypeConflict", format!("'{name}' is not a node"))),
                Some(_) => Err(semantic("VariableTypeConflict", format!("'{name}' is not a node"))),
                None => Ok(scope.add(name, Kind::Node)),
            },
            None => Ok(scope.add_hidden(Kind::Node)),
        }
    }

    fn plan_match(
        &mut self,
        input: LogicalOp,
        scope: &mut Scope,
        parts: &[PatternPart],
        predicate: Option<&Expr>,
    ) -> Result<LogicalOp> {
        let bound_before = scope.len();
        let mut bound: BTreeSet<usize> = (0..bound_before).collect();
        // Declare every variable first, so that WHERE and property maps can see them.
        let mut declared = Vec::new();
        let mut new_rel_names: Vec<String> = Vec::new();
        for part in parts {
            let mut nodes = Vec::new();
            let mut rels = Vec::new();
            let slot = self.node_slot(scope, &part.element.start)?;
            nodes.push((slot, &part.element.start));
            for (rp, np) in &part.element.chain {
                let kind = if rp.length.is_some() { Kind::RelList } else { Kind::Rel };
                let rslot = match &rp.variable {
                    Some(name) => match scope.lookup(name) {
                        Some((s, k)) if s < bound_before && (k == Kind::Rel || k == Kind::Any) && kind == Kind::Rel => {
                            s
                        }
                        Some((s, k))
                            if s < bound_before
                                && matches!(k, Kind::RelList | Kind::Any | Kind::Value)
                                && kind == Kind::RelList =>
                        {
                            s
                        }
                        Some((_, Kind::Rel | Kind::RelList)) if new_rel_names.contains(name) => {
                            return Err(semantic(
                                "VariableAlreadyBound",
                                format!("relationship '{name}' is used twice in one pattern"),
                            ))
                        }
                        Some(_) => {
                            return Err(semantic("VariableTypeConflict", format!("'{name}' cannot be rebound here")))
                        }
                        None => {
                            new_rel_names.push(name.clone());
                            scope.add(name, kind)
                        }
                    },
                    None => scope.add_hidden(kind),
                };
                rels.push((rslot, rp));
                let nslot = self.node_slot(scope, np)?;
                nodes.push((nslot, np));
            }
            let path_slot = match &part.variable {
                Some(name) => {
                    if scope.lookup(name).is_some() {
                        return Err(semantic("VariableAlreadyBound", format!("variable '{name}' is already defined")));
                    }
                    Some(scope.add(name, Kind::Path))
                }
                None => None,
            };
            declared.push((nodes, rels, path_slot, part.kind));
        }
        // Compile the pieces.
        let mut conjuncts: Vec<(CExpr, Option<BTreeSet<usize>>)> = Vec::new();
        if let Some(p) = predicate {
            let mut parts = Vec::new();
            split_and(p, &mut parts);
            for c in parts {
                if let Expr::Variable(v) = c {
                    if matches!(scope.lookup(v), Some((_, Kind::Node | Kind::Rel | Kind::Path))) {
                        return Err(semantic("InvalidArgumentType", format!("'{v}' is not a predicate")));
                    }
                }
                let ce = self.expr_in(c, scope)?;
                let mut used = BTreeSet::new();
                let slots = slots_used(&ce, &mut used).then_some(used);
                conjuncts.push((ce, slots));
            }
        }
        let mut plan = input;
        // Relationship isomorphism covers every relationship of the pattern, including
        // ones bound by earlier clauses.
        let mut match_rels: Vec<usize> =
            declared.iter().flat_map(|d| d.1.iter().map(|r| r.0)).filter(|s| *s < bound_before).collect();
        // Compile every part; ordinary parts are planned together (greedy joins over
        // the whole pattern), shortest-path parts after them.
        let mut gnodes: Vec<PNode> = Vec::new();
        let mut gedges: Vec<(PRel, usize, usize)> = Vec::new();
        let mut paths: Vec<(usize, Vec<PathStep>)> = Vec::new();
        let mut shortest = Vec::new();
        for (nodes, rels, path_slot, kind) in declared {
            let mut pnodes = Vec::new();
            for (slot, np) in &nodes {
                let props = self.props(&np.properties, scope)?;
                pnodes.push(PNode { slot: *slot, labels: np.labels.clone(), props });
            }
            let mut prels = Vec::new();
            for (slot, rp) in &rels {
                let props = self.props(&rp.properties, scope)?;
                let dir = match rp.direction {
                    RelDirection::Right => ExpandDir::Out,
                    RelDirection::Left => ExpandDir::In,
                    RelDirection::Both => ExpandDir::Both,
                };
                let length = rp.length.map(|(lo, hi)| (lo.unwrap_or(1), hi));
                prels.push(PRel { slot: *slot, types: rp.types.clone(), dir, length, props });
            }
            if kind != PathKind::Normal {
                if prels.len() != 1 {
                    return Err(semantic("InvalidRelationshipPattern", "shortestPath needs exactly one relationship"));
                }
                let (min, _) = prels[0].length.unwrap_or((1, Some(1)));
                if min > 1 {
                    return Err(semantic("InvalidArgumentValue", "shortestPath starts at 0 or 1 hops"));
                }
                shortest.push((pnodes, prels, path_slot, kind));
                continue;
            }
            if let Some(p) = path_slot {
                let mut steps = vec![PathStep::Node(pnodes[0].slot)];
                for (i, r) in prels.iter().enumerate() {
                    steps.push(if r.length.is_some() { PathStep::RelList(r.slot) } else { PathStep::Rel(r.slot) });
                    steps.push(PathStep::Node(pnodes[i + 1].slot));
                }
                paths.push((p, steps));
            }
            let base = gnodes.len();
            let n = pnodes.len();
            gnodes.extend(pnodes);
            for (i, r) in prels.into_iter().enumerate() {
                gedges.push((r, base + i, base + i + 1));
            }
            debug_assert_eq!(gnodes.len(), base + n);
        }
        // Choose the start with the cheapest greedy order; then emit that order.
        let mut best: Option<(f64, Vec<GreedyStep>)> = None;
        for start in 0..gnodes.len() {
            let (cost, steps) = self.greedy_order(start, &gnodes, &gedges, &bound, &conjuncts);
            if best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, steps));
            }
        }
        let steps = best.map(|b| b.1).unwrap_or_default();
        let mut visited = vec![false; gnodes.len()];
        for step in steps {
            match step {
                GreedyStep::Node(i) => {
                    let n = &gnodes[i];
                    plan = self.bind_or_check(plan, n, &mut bound);
                    visited[i] = true;
                }
                GreedyStep::Expand(e, forward) => {
                    let (r, a, b) = &gedges[e];
                    let (from, to) = if forward { (*a, *b) } else { (*b, *a) };
                    if !visited[from] {
                        plan = self.bind_or_check(plan, &gnodes[from], &mut bound);
                        visited[from] = true;
                    }
                    let to_node = &gnodes[to];
                    let spec = ExpandSpec {
                        from: gnodes[from].slot,
                        rel: r.slot,
                        to: to_node.slot,
                        dir: if forward { r.dir } else { r.dir.reversed() },
                        types: r.types.clone(),
                        rel_props: r.props.clone(),
                        to_labels: to_node.labels.clone(),
                        to_props: to_node.props.clone(),
                        to_bound: bound.contains(&to_node.slot),
                        rel_bound: bound.contains(&r.slot),
                        length: r.length,
                        distinct_from: match_rels.iter().copied().filter(|s| *s != r.slot).collect(),
                        reversed: !forward,
                        predicates: Vec::new(),
                        to_prune: None,
                        frontier: None,
                    };
                    plan = LogicalOp::Expand { input: Box::new(plan), spec: Box::new(spec) };
                    visited[to] = true;
                    bound.insert(to_node.slot);
                    if r.slot >= bound_before {
                        match_rels.push(r.slot);
                    }
                    bound.insert(r.slot);
                }
            }
            plan = place_filters(plan, &mut conjuncts, &bound);
        }
        for (slot, steps) in paths {
            plan = LogicalOp::BuildPath { input: Box::new(plan), slot, steps };
            bound.insert(slot);
            plan = place_filters(plan, &mut conjuncts, &bound);
        }
        for (pnodes, prels, path_slot, kind) in shortest {
            for n in &pnodes {
                plan = self.bind_or_check(plan, n, &mut bound);
                plan = place_filters(plan, &mut conjuncts, &bound);
            }
            let r = &prels[0];
            let (min, max) = r.length.unwrap_or((1, Some(1)));
            plan = LogicalOp::ShortestPath {
                input: Box::new(plan),
                from: pnodes[0].slot,
                to: pnodes[1].slot,
                rel: r.slot,
                path: path_slot,
                dir: r.dir,
                types: r.types.clone(),
                min,
                max,
                all: kind == PathKind::AllShortest,
            };
            bound.insert(r.slot);
            if let Some(p) = path_slot {
                bound.insert(p);
            }
            plan = place_filters(plan, &mut conjuncts, &bound);
        }
        for (predicate, _) in conjuncts {
            plan = LogicalOp::Filter { input: Box::new(plan), predicate };
        }
        Ok(plan)
    }

    /// Scans an unbound node, or checks the labels and properties of a bound one.
    fn bind_or_check(&mut self, plan: LogicalOp, n: &PNode, bound: &mut BTreeSet<usize>) -> LogicalOp {
        if bound.contains(&n.slot) {
            if n.labels.is_empty() && n.props.is_empty() {
                return plan;
            }
            return LogicalOp::NodeCheck {
                input: Box::new(plan),
                slot: n.slot,
                labels: n.labels.clone(),
                props: n.props.clone(),
            };
        }
        bound.insert(n.slot);
        self.scan(plan, n.slot, &n.labels, n.props.clone())
    }

    /// The order in which to bind a pattern from node `start`: repeatedly the
    /// expansion (from a bound node) with the fewest estimated rows, a relationship
    /// between two bound nodes counting as a cheap check; a new scan only when no
    /// expansion is possible. Returns the summed estimated rows and the steps.
    fn greedy_order(
        &mut self,
        start: usize,
        nodes: &[PNode],
        edges: &[(PRel, usize, usize)],
        bound: &BTreeSet<usize>,
        conjuncts: &[(CExpr, Option<BTreeSet<usize>>)],
    ) -> (f64, Vec<GreedyStep>) {
        let mut bound = bound.clone();
        let mut steps = Vec::new();
        let mut done = vec![false; edges.len()];
        let mut seen = vec![false; nodes.len()];
        let scan_rows = |this: &mut Self, n: &PNode, bound: &BTreeSet<usize>| -> f64 {
            if bound.contains(&n.slot) {
                1.0
            } else {
                let filter = this.node_filter(n, conjuncts);
                (this.estimate_scan(&n.labels, &n.props) as f64 * filter).max(1.0)
            }
        };
        let mut rows = scan_rows(self, &nodes[start], &bound);
        let mut cost = rows;
        steps.push(GreedyStep::Node(start));
        seen[start] = true;
        bound.insert(nodes[start].slot);
        loop {
            // (output rows, candidates examined, edge, forward)
            let mut pick: Option<(f64, f64, usize, bool)> = None;
            for (e, (r, a, b)) in edges.iter().enumerate() {
                if done[e] {
                    continue;
                }
                let (a_bound, b_bound) = (bound.contains(&nodes[*a].slot), bound.contains(&nodes[*b].slot));
                let options: &[bool] = match (a_bound, b_bound) {
                    (true, true) => &[true, false],
                    (true, false) => &[true],
                    (false, true) => &[false],
                    (false, false) => &[],
                };
                for &forward in options {
                    let (from, to) = if forward { (*a, *b) } else { (*b, *a) };
                    let dir = if forward { r.dir } else { r.dir.reversed() };
                    let examined = rows * self.degree(r, dir, &nodes[from].labels);
                    let est = examined * self.target_factor(&nodes[to], &bound, conjuncts);
                    // A check between bound nodes reads one list per row, whatever its length.
                    let examined = if bound.contains(&nodes[to].slot) { 0.0 } else { examined };
                    if pick.is_none_or(|p| est < p.0) {
                        pick = Some((est, examined, e, forward));
                    }
                }
            }
            match pick {
                Some((est, examined, e, forward)) => {
                    let (r, a, b) = &edges[e];
                    let to = if forward { *b } else { *a };
                    done[e] = true;
                    seen[*a] = true;
                    seen[*b] = true;
                    bound.insert(nodes[to].slot);
                    bound.insert(r.slot);
                    rows = est.max(1.0);
                    // Every candidate costs a label or property test, passing or not.
                    cost += rows + EXAMINE_COST * examined;
                    steps.push(GreedyStep::Expand(e, forward));
                }
                None => {
                    // Nothing connects: a new scan (a cartesian product) or checks.
                    let Some(next) = (0..nodes.len()).filter(|i| !seen[*i]).min_by(|x, y| {
                        let (cx, cy) = (scan_rows(self, &nodes[*x], &bound), scan_rows(self, &nodes[*y], &bound));
                        cx.total_cmp(&cy)
                    }) else {
                        break;
                    };
                    rows *= scan_rows(self, &nodes[next], &bound);
                    cost += rows;
                    seen[next] = true;
                    bound.insert(nodes[next].slot);
                    steps.push(GreedyStep::Node(next));
                }
            }
        }
        (cost, steps)
    }

    fn label_count(&mut self, label: &str) -> f64 {
        self.graph.label_nodes(Some(label)).map_or(0.0, |b| b.len() as f64)
    }

    /// Average relationships per node of `from_labels`, following `rel` in `dir`.
    fn degree(&mut self, rel: &PRel, dir: ExpandDir, from_labels: &[String]) -> f64 {
        let meta = self.graph.meta();
        let total: f64 = if rel.types.is_empty() {
            meta.rel_count as f64
        } else {
            rel.types.iter().filter_map(|t| meta.type_token(t).map(|k| meta.type_counts[k as usize] as f64)).sum()
        };
        let mut side = meta.node_count.max(1) as f64;
        for l in from_labels {
            side = side.min(self.label_count(l).max(1.0));
        }
        let d = total / side;
        let d = if dir == ExpandDir::Both { 2.0 * d } else { d };
        match rel.length {
            Some((_, max)) => d.max(1.0).powi(max.unwrap_or(3).min(3) as i32),
            None => d,
        }
    }

    fn target_factor(
        &mut self,
        n: &PNode,
        bound: &BTreeSet<usize>,
        conjuncts: &[(CExpr, Option<BTreeSet<usize>>)],
    ) -> f64 {
        let all = self.graph.meta().node_count.max(1) as f64;
        if bound.contains(&n.slot) {
            return 1.0 / all;
        }
        let mut f: f64 = 1.0;
        for l in &n.labels {
            f = f.min(self.label_count(l) / all);
        }
        f * 0.1f64.powi(n.props.len() as i32) * self.node_filter(n, conjuncts)
    }

    fn estimate_scan(&mut self, labels: &[String], props: &[(String, CExpr)]) -> u64 {
        let mut best = self.graph.meta().node_count;
        for l in labels {
            let n = self.graph.label_nodes(Some(l)).map(|b| b.len()).unwrap_or(best);
            if props.iter().any(|(k, e)| e.is_constant() && self.graph.index_for(l, k).is_some()) {
                best = best.min(1 + n / 1000);
            }
            best = best.min(n);
        }
        if !props.is_empty() {
            // Equality on a property, as `filter_factor` counts it.
            best = best / 100 + 1;
        }
        best
    }

    fn scan(&mut self, input: LogicalOp, slot: usize, labels: &[String], props: Vec<(String, CExpr)>) -> LogicalOp {
        // The rarest label drives the scan; the rules may turn it into an index seek.
        let source = labels
            .iter()
            .min_by_key(|l| self.graph.label_nodes(Some(l)).map(|b| b.len()).unwrap_or(u64::MAX))
            .map_or(ScanSource::AllNodes, |l| ScanSource::Label(l.clone()));
        LogicalOp::NodeScan {
            input: Box::new(input),
            slot,
            source,
            labels: labels.to_vec(),
            props,
            predicates: Vec::new(),
        }
    }

    // -----------------------------------------------------------------------
    // WITH / RETURN

    fn plan_projection(
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

    fn count_expr(&mut self, e: &Expr, what: &str) -> Result<CExpr> {
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
    fn extract_aggregates(&mut self, e: &mut Expr, scope: &Scope, aggs: &mut Vec<AggSpec>) -> Result<()> {
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

    // -----------------------------------------------------------------------
    // Writes

    fn create_pattern(&mut self, scope: &mut Scope, parts: &[PatternPart]) -> Result<CreatePattern> {
        self.create_pattern_with(scope, parts, false)
    }

    /// `undirected_out`: MERGE creates an undirected relationship pointing right.
    fn create_pattern_with(
        &mut self,
        scope: &mut Scope,
        parts: &[PatternPart],
        undirected_out: bool,
    ) -> Result<CreatePattern> {
        let mut pattern = CreatePattern::default();
        for part in parts {
            // `MATCH (n) CREATE (n)` would create nothing: a lone node must be new.
            if let (true, Some(name)) = (part.element.chain.is_empty(), &part.element.start.variable) {
                if scope.lookup(name).is_some() {
                    return Err(semantic("VariableAlreadyBound", format!("variable '{name}' is already defined")));
                }
            }
            let mut steps = Vec::new();
            let mut prev = self.create_node(scope, &part.element.start, &mut pattern)?;
            steps.push(PathStep::Node(prev));
            for (rp, np) in &part.element.chain {
                let next = self.create_node(scope, np, &mut pattern)?;
                if rp.length.is_some() {
                    return Err(semantic("CreatingVarLength", "CREATE cannot make variable-length relationships"));
                }
                if rp.types.len() != 1 {
                    return Err(semantic("NoSingleRelationshipType", "a created relationship needs exactly one type"));
                }
                let (start, end) = match rp.direction {
                    RelDirection::Right => (prev, next),
                    RelDirection::Left => (next, prev),
                    RelDirection::Both if undirected_out => (prev, next),
                    RelDirection::Both => {
                        return Err(semantic(
                            "RequiresDirectedRelationship",
                            "a created relationship needs a direction",
                        ))
                    }
                };
                let slot = match &rp.variable {
                    Some(name) => {
                        if scope.lookup(name).is_some() {
                            return Err(semantic(
                                "VariableAlreadyBound",
                                format!("variable '{name}' is already defined"),
                            ));
                        }
                        scope.add(name, Kind::Rel)
                    }
                    None => scope.add_hidden(Kind::Rel),
                };
                let props = self.create_props(&rp.properties, scope)?;
                pattern.rels.push(CreateRel { slot, start, end, rel_type: rp.types[0].clone(), props });
                steps.push(PathStep::Rel(slot));
                steps.push(PathStep::Node(next));
                prev = next;
            }
            if let Some(name) = &part.variable {
                if scope.lookup(name).is_some() {
                    return Err(semantic("VariableAlreadyBound", format!("variable '{name}' is already defined")));
                }
                let slot = scope.add(name, Kind::Path);
                pattern.paths.push((slot, steps));
            }
        }
        Ok(pattern)
    }

    fn create_props(&mut self, props: &Option<Box<Expr>>, scope: &mut Scope) -> Result<Option<CExpr>> {
        match props.as_deref() {
            None => Ok(None),
            Some(e @ (Expr::Map(_) | Expr::Parameter(_))) => Ok(Some(self.expr_in(e, scope)?)),
            Some(_) => Err(semantic("InvalidArgumentType", "expected a property map")),
        }
    }

    fn create_node(&mut self, scope: &mut Scope, np: &NodePattern, pattern: &mut CreatePattern) -> Result<usize> {
        if let Some(name) = &np.variable {
            if let Some((slot, kind)) = scope.lookup(name) {
                if !matches!(kind, Kind::Node | Kind::Any) {
                    return Err(semantic("VariableTypeConflict", format!("'{name}' is not a node")));
                }
                if !np.labels.is_empty() || np.properties.is_some() {
                    return Err(semantic("VariableAlreadyBound", format!("variable '{name}' is already defined")));
                }
                if !pattern.nodes.iter().any(|n| n.slot == slot) {
                    pattern.nodes.push(CreateNode { slot, bound: true, labels: Vec::new(), props: None });
                }
                return Ok(slot);
            }
        }
        let props = self.create_props(&np.properties, scope)?;
        let slot = match &np.variable {
            Some(name) => scope.add(name, Kind::Node),
            None => scope.add_hidden(Kind::Node),
        };
        pattern.nodes.push(CreateNode { slot, bound: false, labels: np.labels.clone(), props });
        Ok(slot)
    }

    fn plan_merge(
        &mut self,
        input: LogicalOp,
        scope: &mut Scope,
        part: &PatternPart,
        on_create: &[SetItem],
        on_match: &[SetItem],
    ) -> Result<LogicalOp> {
        for (rp, _) in &part.element.chain {
            if rp.types.len() != 1 {
                return Err(semantic("NoSingleRelationshipType", "MERGE needs exactly one relationship type"));
            }
            if rp.length.is_some() {
                return Err(semantic("CreatingVarLength", "MERGE cannot make variable-length relationships"));
            }
        }
        if part.element.chain.is_empty() {
            if let Some(name) = &part.element.start.variable {
                if scope.lookup(name).is_some() {
                    return Err(semantic("VariableAlreadyBound", format!("variable '{name}' is already defined")));
                }
            }
        }
        let before = scope.len();
        let mut match_scope = scope.clone();
        let matcher = self.plan_match(LogicalOp::Argument, &mut match_scope, std::slice::from_ref(part), None)?;
        let mut create_scope = scope.clone();
        let create = self.create_pattern_with(&mut create_scope, std::slice::from_ref(part), true)?;
        // Both scopes must lay out the new variables the same way.
        let match_names: Vec<&str> =
            match_scope.vars[before..].iter().filter(|v| !v.hidden).map(|v| v.name.as_str()).collect();
        let create_names: Vec<&str> =
            create_scope.vars[before..].iter().filter(|v| !v.hidden).map(|v| v.name.as_str()).collect();
        let mut remap = Vec::new();
        if match_names != create_names || match_scope.len() != create_scope.len() {
            // Fall back to a mapping from create slots to match slots by name.
            for (i, v) in create_scope.vars.iter().enumerate().skip(before) {
                if v.hidden {
                    continue;
                }
                if let Some((s, _)) = match_scope.lookup(&v.name) {
                    remap.push((i, s));
                }
            }
        }
        let create = if remap.is_empty() && match_scope.len() == create_scope.len() {
            create
        } else {
            remap_create(create, &remap, match_scope.len())
        };
        *scope = match_scope;
        let on_create = on_create.iter().map(|it| self.set_op(it, scope)).collect::<Result<Vec<_>>>()?;
        let on_match = on_match.iter().map(|it| self.set_op(it, scope)).collect::<Result<Vec<_>>>()?;
        Ok(LogicalOp::Merge {
            input: Box::new(input),
            matcher: Arc::new(matcher),
            create: Box::new(create),
            on_create,
            on_match,
            added: scope.len() - before,
        })
    }

    fn entity_slot(&self, name: &str, scope: &Scope) -> Result<usize> {
        match scope.lookup(name) {
            Some((slot, Kind::Node | Kind::Rel | Kind::Any)) => Ok(slot),
            Some(_) => Err(semantic("VariableTypeConflict", format!("'{name}' is not a node or relationship"))),
            None => Err(semantic("UndefinedVariable", format!("variable '{name}' is not defined"))),
        }
    }

    fn set_op(&mut self, item: &SetItem, scope: &Scope) -> Result<SetOp> {
        Ok(match item {
            SetItem::Property { value: Expr::Pattern(_), .. } => {
                return Err(semantic("UnexpectedSyntax", "a pattern can only be used as a predicate"))
            }
            SetItem::Property { target, key, value } => {
                SetOp::Property { target: self.expr(target, scope)?, key: key.clone(), value: self.expr(value, scope)? }
            }
            SetItem::Replace { variable, value } => {
                SetOp::Replace { slot: self.entity_slot(variable, scope)?, value: self.expr(value, scope)? }
            }
            SetItem::Merge { variable, value } => {
                SetOp::MergeMap { slot: self.entity_slot(variable, scope)?, value: self.expr(value, scope)? }
            }
            SetItem::Labels { variable, labels } => {
                SetOp::AddLabels { slot: self.entity_slot(variable, scope)?, labels: labels.clone() }
            }
        })
    }

    fn remove_op(&mut self, item: &RemoveItem, scope: &Scope) -> Result<SetOp> {
        Ok(match item {
            RemoveItem::Property { target, key } => {
                SetOp::RemoveProperty { target: self.expr(target, scope)?, key: key.clone() }
            }
            RemoveItem::Labels { variable, labels } => {
                SetOp::RemoveLabels { slot: self.entity_slot(variable, scope)?, labels: labels.clone() }
            }
        })
    }
}

fn remap_create(mut create: CreatePattern, remap: &[(usize, usize)], _len: usize) -> CreatePattern {
    let map = |s: usize| remap.iter().find(|(from, _)| *from == s).map_or(s, |(_, to)| *to);
    for n in &mut create.nodes {
        n.slot = map(n.slot);
    }
    for r in &mut create.rels {
        r.slot = map(r.slot);
        r.start = map(r.start);
        r.end = map(r.end);
    }
    create
}

/// The comparison with its operands swapped (`a < b` is `b > a`).
fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        other => other,
    }
}

/// A literal that can never be a boolean is a compile-time error as an operand of
/// AND, OR, XOR or NOT.
fn check_boolean_operand(e: &Expr) -> Result<()> {
    let bad = matches!(
        e,
        Expr::Literal(Literal::Int(_) | Literal::Float(_) | Literal::String(_)) | Expr::List(_) | Expr::Map(_)
    );
    if bad {
        return Err(semantic("InvalidArgumentType", "boolean operators take booleans"));
    }
    Ok(())
}

/// Adds every conjunct whose slots are all bound as a filter above `plan`.
fn place_filters(
    mut plan: LogicalOp,
    conjuncts: &mut Vec<(CExpr, Option<BTreeSet<usize>>)>,
    bound: &BTreeSet<usize>,
) -> LogicalOp {
    let mut i = 0;
    while i < conjuncts.len() {
        let ready = matches!(&conjuncts[i].1, Some(slots) if slots.is_subset(bound));
        if ready {
            let (predicate, _) = conjuncts.remove(i);
            plan = LogicalOp::Filter { input: Box::new(plan), predicate };
        } else {
            i += 1;
        }
    }
    plan
}

fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
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

fn slots_used(e: &CExpr, out: &mut BTreeSet<usize>) -> bool {
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

fn calls_rand(e: &Expr) -> bool {
    match e {
        Expr::Function { name, .. } if name.eq_ignore_ascii_case("rand") => true,
        _ => {
            let mut found = false;
            for_each_child(e, &mut |c| found = found || calls_rand(c));
            found
        }
    }
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

fn contains_aggregate_marker(e: &Expr) -> bool {
    match e {
        Expr::Variable(v) => v.starts_with(AGG_PREFIX),
        _ => {
            let mut found = false;
            for_each_child(e, &mut |c| found = found || contains_aggregate_marker(c));
            found
        }
    }
}

/// The error for an ORDER BY item after an aggregating projection that the projected
/// columns cannot answer. Reusing a projected expression more complex than a variable
/// or its property beside an aggregate is ambiguous (openCypher); otherwise the item
/// names a variable the projection did not keep.
fn order_by_scope_error(original: &Expr, items: &[(Expr, String)]) -> Error {
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
fn is_simple_key(e: &Expr) -> bool {
    matches!(e, Expr::Variable(_)) || matches!(e, Expr::Property(b, _) if matches!(**b, Expr::Variable(_)))
}

fn ambiguous_order_by() -> Error {
    semantic(
        "AmbiguousAggregationExpression",
        "ORDER BY beside an aggregate can only reuse projected variables and their properties",
    )
}

fn contains_subexpr(e: &Expr, target: &Expr) -> bool {
    if e == target {
        return true;
    }
    let mut found = false;
    for_each_child(e, &mut |c| found = found || contains_subexpr(c, target));
    found
}

/// True when `e` names a variable that is not one of `columns`.
fn mentions_variable_outside(e: &Expr, columns: &[String]) -> bool {
    if let Expr::Variable(v) = e {
        return !columns.contains(v);
    }
    let mut found = false;
    for_each_child(e, &mut |c| found = found || mentions_variable_outside(c, columns));
    found
}

fn replace_subexpr(e: &mut Expr, target: &Expr, with: &Expr) {
    if e == target {
        *e = with.clone();
        return;
    }
    for_each_child_mut(e, &mut |c| replace_subexpr(c, target, with));
}

/// Defines a visitor of an expression's direct children, by shared or by mutable
/// reference (one body for both).
macro_rules! define_for_each_child {
    ($name:ident $(, $m:tt)?) => {
        fn $name(e: &$($m)? Expr, f: &mut dyn FnMut(&$($m)? Expr)) {
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
                Expr::Pattern(_) | Expr::Exists { .. } => {}
            }
        }
    };
}

define_for_each_child!(for_each_child);
define_for_each_child!(for_each_child_mut, mut);
