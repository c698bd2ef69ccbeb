//! AST -> logical plan, with the checks openCypher makes before running a query
//! (undefined or rebound variables, misplaced aggregates, bad CREATE patterns...).

use std::collections::HashMap;

use sprig_index::graph::text::{TextIndexDef, TextIndexKind, DEFAULT_WALKS};
use sprig_index::graph::{IndexDef, Overlay};

use crate::cypher::plan::*;
use crate::cypher::syntax::ast::*;
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};

mod call;
mod estimates;
mod join_order;
mod lower;
mod matching;
mod projection;
pub(crate) mod sample;
mod scope;
mod updates;

use join_order::GreedyStep;
use lower::{calls_rand, contains_aggregate_marker, for_each_child, for_each_child_mut, slots_used, split_and};
pub(crate) use lower::{contains_aggregate, slots_read};
use matching::{PNode, PRel};
use scope::{Kind, Scope, Var};

fn semantic(kind: &'static str, message: impl Into<String>) -> Error {
    Error::Semantic { kind, message: message.into() }
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
    procedures: &'a crate::cypher::plan::procedure::Registry,
    graph: &'a mut Overlay,
    writes: bool,
    /// Estimate text predicates with LIndex lookups (off with `--no-lindex`).
    lindex: bool,
    /// Per (slot, labels and conjuncts): the share of its label an LIndex keeps.
    lindex_shares: HashMap<(usize, String), Option<f64>>,
    /// Per (slot, labels and conjuncts): the share of its label the conjuncts keep.
    filter_shares: HashMap<(usize, String), f64>,
    /// Per expansion (types, direction, labels at both ends): the share of far ends
    /// with the target's labels, measured on a sample.
    far_end_shares: HashMap<String, Option<f64>>,
}

const AGG_PREFIX: &str = "\u{0}agg";

const KEY_PREFIX: &str = "\u{0}key";

impl<'a> Planner<'a> {
    pub fn new(
        params: &'a HashMap<String, V>,
        procedures: &'a crate::cypher::plan::procedure::Registry,
        graph: &'a mut Overlay,
    ) -> Self {
        Planner {
            params,
            procedures,
            graph,
            writes: false,
            lindex: false,
            lindex_shares: HashMap::new(),
            filter_shares: HashMap::new(),
            far_end_shares: HashMap::new(),
        }
    }

    /// Lets the estimates count the candidates of LIndex lookups.
    pub fn with_lindex(mut self, lindex: bool) -> Self {
        self.lindex = lindex;
        self
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
        self.plan_single_from(q, LogicalOp::Start, Scope::default())
    }

    /// Plans `q` on top of `plan`, whose rows bind `scope` (a subquery starts from
    /// the outer row: `LogicalOp::Argument` and the outer scope).
    fn plan_single_from(
        &mut self,
        q: &SingleQuery,
        mut plan: LogicalOp,
        mut scope: Scope,
    ) -> Result<(LogicalOp, Vec<String>)> {
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
                    let standalone = n == 1;
                    let call =
                        self.plan_call(plan, &mut scope, procedure, args.as_deref(), yields.as_deref(), standalone)?;
                    plan = call.0;
                    if let Some(p) = predicate {
                        let predicate = self.expr(p, &scope)?;
                        plan = LogicalOp::Filter { input: Box::new(plan), predicate };
                    }
                    if last {
                        columns = call.1;
                        if columns.is_empty() {
                            // A procedure that yields nothing returns no rows of its own.
                            plan = LogicalOp::Discard { input: Box::new(plan) };
                        }
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
            Some(c) if c.writes() => plan = LogicalOp::Discard { input: Box::new(plan) },
            _ => {
                return Err(semantic("InvalidClauseComposition", "a query must end with RETURN or an updating clause"))
            }
        }
        Ok((plan, columns))
    }

    fn param(&self, name: &str) -> Result<V> {
        self.params
            .get(name)
            .cloned()
            .ok_or_else(|| semantic("ParameterMissing", format!("expected parameter ${name}")))
    }
}
