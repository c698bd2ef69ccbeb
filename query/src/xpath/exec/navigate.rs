//! The navigational XPath evaluator: axes are walks over region labels
//! ([XPath 1.0 section 2](https://www.w3.org/TR/xpath/#location-paths)).
//!
//! Descendant steps with a name test read the name's posting list and keep the part
//! inside the context node's region; everything else reads node records in pre order.

use std::collections::HashMap;

use std::rc::Rc;

use roaring::RoaringBitmap;

use sprig_index::{Collection, Document, NameTable, NodeKind, NodeRecord, XML_NAMESPACE};

use crate::xpath::compile::{Expr, PathFrom};

use crate::xpath::plan::PhysicalPlan;

use crate::xpath::syntax::ast::{ArithOp, CompareOp};

use crate::xpath::value::{number_to_string, string_to_number, Node, Value};

use crate::common::stop::StopCheck;
use crate::{Error, Result};

/// The evaluation context of [section 1](https://www.w3.org/TR/xpath/#section-Introduction).
#[derive(Debug, Clone, Copy)]
pub(super) struct Context {
    pub(super) node: Node,
    pub(super) position: usize,
    pub(super) size: usize,
}

/// Evaluates plans over one pinned collection.
pub struct Navigator<'c> {
    pub(super) collection: &'c Collection,
    pub(super) docs: Vec<Document>,
    /// Descendant postings per (document, test index), read once per query.
    pub(super) postings: HashMap<(u32, usize), Rc<RoaringBitmap>>,
    /// The query's deadline and interrupt flag.
    pub(super) stop: StopCheck,
    /// Per-operator counters when profiling, keyed by (path expression, pattern step).
    pub(super) profile: Option<HashMap<(usize, usize), OperatorStats>>,
}

/// What one operator did, summed over its executions.
#[derive(Debug, Clone, Copy, Default)]
pub struct OperatorStats {
    pub executions: u64,
    /// Rows it produced.
    pub rows: u64,
    /// Region labels it read from the index.
    pub labels_read: u64,
    pub time: std::time::Duration,
    /// The most cores one of its executions split its work over (1 or 0: one).
    pub workers: usize,
}

impl<'c> Navigator<'c> {
    pub fn new(collection: &'c Collection) -> Result<Self> {
        let docs = (0..collection.len()).map(|i| collection.document(i)).collect::<Result<_, _>>()?;
        Ok(Navigator { collection, docs, postings: HashMap::new(), stop: StopCheck::default(), profile: None })
    }

    /// Records per-operator counters while evaluating, for PROFILE.
    pub fn with_profile(mut self) -> Self {
        self.profile = Some(HashMap::new());
        self
    }

    /// Stops evaluation with [`Error::Interrupted`] once `flag` is set.
    pub fn with_interrupt(mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.stop.interrupt = Some(flag);
        self
    }

    /// Stops evaluation with [`Error::Timeout`] once `deadline` has passed.
    pub fn with_deadline(mut self, deadline: std::time::Instant) -> Self {
        self.stop.deadline = Some(deadline);
        self
    }

    /// The collection this navigator reads.
    pub fn collection(&self) -> &'c Collection {
        self.collection
    }

    pub fn documents(&self) -> &[Document] {
        &self.docs
    }

    /// Evaluates `plan` with the root of the first document as the context node.
    pub fn evaluate(&mut self, plan: &PhysicalPlan) -> Result<Value> {
        let context = Context { node: Node::stored(0, 0), position: 1, size: 1 };
        if self.docs.is_empty() {
            return Ok(Value::NodeSet(Vec::new()));
        }
        let mut eval = Eval { nav: self, plan };
        eval.expr(&plan.logical.root, context)
    }
}

pub(super) struct Eval<'n, 'c> {
    pub(super) nav: &'n mut Navigator<'c>,
    pub(super) plan: &'n PhysicalPlan,
}

pub(super) fn type_error(what: &str) -> Error {
    Error::type_error(what.to_string())
}

impl Eval<'_, '_> {
    pub(super) fn doc(&self, node: Node) -> Result<&Document> {
        self.nav.docs.get(node.doc as usize).ok_or_else(|| Error::type_error(format!("no document {}", node.doc)))
    }

    pub(super) fn record(&self, node: Node) -> Result<NodeRecord> {
        Ok(self.doc(node)?.node(node.pre)?)
    }

    pub(super) fn expr(&mut self, e: &Expr, ctx: Context) -> Result<Value> {
        Ok(match e {
            Expr::Literal(s) => Value::String(s.clone()),
            Expr::Number(n) => Value::Number(*n),
            Expr::Or(a, b) => Value::Boolean(self.boolean(a, ctx)? || self.boolean(b, ctx)?),
            Expr::And(a, b) => Value::Boolean(self.boolean(a, ctx)? && self.boolean(b, ctx)?),
            Expr::Negate(a) => Value::Number(-self.number(a, ctx)?),
            Expr::Arith(op, a, b) => {
                let x = self.number(a, ctx)?;
                let y = self.number(b, ctx)?;
                Value::Number(match op {
                    ArithOp::Add => x + y,
                    ArithOp::Sub => x - y,
                    ArithOp::Mul => x * y,
                    ArithOp::Div => x / y,
                    // Truncating remainder, as Java's and ECMAScript's %.
                    ArithOp::Mod => x % y,
                })
            }
            Expr::Compare(op, a, b) => {
                let x = self.expr(a, ctx)?;
                let y = self.expr(b, ctx)?;
                Value::Boolean(self.compare(*op, &x, &y)?)
            }
            Expr::Union(a, b) => {
                let (Value::NodeSet(mut x), Value::NodeSet(y)) = (self.expr(a, ctx)?, self.expr(b, ctx)?) else {
                    return Err(type_error("the operands of '|' must be node-sets"));
                };
                x.extend(y);
                x.sort_unstable();
                x.dedup();
                Value::NodeSet(x)
            }
            Expr::Filter(primary, predicates) => {
                let Value::NodeSet(nodes) = self.expr(primary, ctx)? else {
                    return Err(type_error("a predicate can only filter a node-set"));
                };
                Value::NodeSet(self.filter(nodes, predicates, false)?)
            }
            Expr::Path { id, start, steps } => {
                if let Some(plan) = self.plan.paths.get(id) {
                    debug_assert!(*start == PathFrom::Root, "only absolute paths have path plans");
                    let mut nodes = self.eval_pattern(*id, steps, plan)?;
                    for step in &steps[plan.pattern.len..] {
                        nodes = self.step(&nodes, step)?;
                    }
                    return Ok(Value::NodeSet(nodes));
                }
                let mut nodes = match start {
                    PathFrom::Root => self.roots(),
                    PathFrom::Context => vec![ctx.node],
                    PathFrom::Expr(e) => match self.expr(e, ctx)? {
                        Value::NodeSet(n) => n,
                        _ => return Err(type_error("a path can only continue from a node-set")),
                    },
                };
                for step in steps {
                    nodes = self.step(&nodes, step)?;
                }
                Value::NodeSet(nodes)
            }
            Expr::Call(f, args) => self.call(*f, args, ctx)?,
        })
    }

    /// `/`: every document's root, so that absolute paths range over the whole
    /// collection (SPEC section 4).
    pub(super) fn roots(&self) -> Vec<Node> {
        (0..self.nav.docs.len() as u32).map(|d| Node::stored(d, 0)).collect()
    }

    pub(super) fn boolean(&mut self, e: &Expr, ctx: Context) -> Result<bool> {
        let v = self.expr(e, ctx)?;
        Ok(to_boolean(&v))
    }

    pub(super) fn number(&mut self, e: &Expr, ctx: Context) -> Result<f64> {
        let v = self.expr(e, ctx)?;
        self.to_number(&v)
    }

    pub(super) fn string(&mut self, e: &Expr, ctx: Context) -> Result<String> {
        let v = self.expr(e, ctx)?;
        self.to_string(&v)
    }

    pub(super) fn to_number(&self, v: &Value) -> Result<f64> {
        Ok(match v {
            Value::Number(n) => *n,
            Value::Boolean(b) => f64::from(u8::from(*b)),
            Value::String(s) => string_to_number(s),
            Value::NodeSet(_) => string_to_number(&self.to_string(v)?),
        })
    }

    pub(super) fn to_string(&self, v: &Value) -> Result<String> {
        Ok(match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => number_to_string(*n),
            Value::Boolean(b) => b.to_string(),
            Value::NodeSet(nodes) => match nodes.first() {
                Some(n) => self.string_value(*n)?,
                None => String::new(),
            },
        })
    }

    /// The string-value of a node ([section 5](https://www.w3.org/TR/xpath/#data-model)).
    pub(super) fn string_value(&self, node: Node) -> Result<String> {
        if node.is_namespace() {
            return Ok(self.namespace_node(node)?.1);
        }
        Ok(self.doc(node)?.string_value(node.pre)?)
    }

    // ---- comparisons (section 3.4) ----

    pub(super) fn compare(&self, op: CompareOp, x: &Value, y: &Value) -> Result<bool> {
        match (x, y) {
            (Value::NodeSet(a), Value::NodeSet(b)) => {
                let sa = self.strings(a)?;
                let sb = self.strings(b)?;
                Ok(match op {
                    CompareOp::Eq | CompareOp::Ne => {
                        sa.iter().any(|s| sb.iter().any(|t| if op == CompareOp::Eq { s == t } else { s != t }))
                    }
                    _ => {
                        let na: Vec<f64> = sa.iter().map(|s| string_to_number(s)).collect();
                        let nb: Vec<f64> = sb.iter().map(|s| string_to_number(s)).collect();
                        na.iter().any(|p| nb.iter().any(|q| compare_numbers(op, *p, *q)))
                    }
                })
            }
            (Value::NodeSet(a), other) => self.compare_set(op, a, other, false),
            (other, Value::NodeSet(b)) => self.compare_set(op, b, other, true),
            _ => Ok(compare_atomic(op, x, y)),
        }
    }

    /// A node-set against a number, string or boolean; `swapped` when the set is on the right.
    pub(super) fn compare_set(&self, op: CompareOp, set: &[Node], other: &Value, swapped: bool) -> Result<bool> {
        if let Value::Boolean(b) = other {
            let op = if swapped { op.flipped() } else { op };
            return Ok(compare_atomic(op, &Value::Boolean(!set.is_empty()), &Value::Boolean(*b)));
        }
        for n in set {
            if compare_string(op, &self.string_value(*n)?, other, swapped) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(super) fn strings(&self, nodes: &[Node]) -> Result<Vec<String>> {
        nodes.iter().map(|n| self.string_value(*n)).collect()
    }

    // ---- location steps ----

    pub(super) fn check_deadline(&self) -> Result<()> {
        self.nav.stop.check()
    }
}

pub(crate) fn to_boolean(v: &Value) -> bool {
    match v {
        Value::Boolean(b) => *b,
        Value::Number(n) => *n != 0.0 && !n.is_nan(),
        Value::String(s) => !s.is_empty(),
        Value::NodeSet(n) => !n.is_empty(),
    }
}

fn compare_numbers(op: CompareOp, a: f64, b: f64) -> bool {
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Lt => a < b,
        CompareOp::Le => a <= b,
        CompareOp::Gt => a > b,
        CompareOp::Ge => a >= b,
    }
}

/// The operator with its operands exchanged.
/// How a node-set is compared with a number or string, for one node: its
/// string-value `s` against `other` (on the left of `op` when `swapped`).
pub(super) fn compare_string(op: CompareOp, s: &str, other: &Value, swapped: bool) -> bool {
    let op = if swapped { op.flipped() } else { op };
    match (op, other) {
        (CompareOp::Eq, Value::String(t)) => s == t,
        (CompareOp::Ne, Value::String(t)) => s != t,
        _ => compare_atomic(op, &Value::Number(string_to_number(s)), other),
    }
}

/// Compares two values none of which is a node-set.
fn compare_atomic(op: CompareOp, x: &Value, y: &Value) -> bool {
    let num = |v: &Value| match v {
        Value::Number(n) => *n,
        Value::Boolean(b) => f64::from(u8::from(*b)),
        Value::String(s) => string_to_number(s),
        Value::NodeSet(_) => f64::NAN,
    };
    match op {
        CompareOp::Eq | CompareOp::Ne => {
            let eq = match (x, y) {
                (Value::Boolean(_), _) | (_, Value::Boolean(_)) => to_boolean(x) == to_boolean(y),
                (Value::Number(_), _) | (_, Value::Number(_)) => num(x) == num(y),
                (Value::String(a), Value::String(b)) => a == b,
                _ => false,
            };
            if op == CompareOp::Eq {
                eq
            } else {
                !eq
            }
        }
        _ => compare_numbers(op, num(x), num(y)),
    }
}

/// The in-scope namespaces of element `pre`, sorted by prefix (the default namespace
/// has prefix ""); the `xml` prefix is always in scope, and `xmlns=""` removes the default.
pub(crate) fn in_scope_namespaces(doc: &Document, names: &NameTable, pre: u32) -> Result<Vec<(String, String)>> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut cur = pre;
    loop {
        let rec = doc.node(cur)?;
        if rec.kind != NodeKind::Element {
            break;
        }
        let mut a = cur + 1;
        while a <= rec.end {
            let arec = doc.node(a)?;
            if arec.kind != NodeKind::NamespaceDecl {
                break;
            }
            if let Some(q) = names.get(arec.name) {
                if !seen.iter().any(|(p, _)| *p == q.local) {
                    seen.push((q.local.clone(), q.uri.clone()));
                }
            }
            a += 1;
        }
        cur = rec.parent;
    }
    if !seen.iter().any(|(p, _)| p == "xml") {
        seen.push(("xml".to_string(), XML_NAMESPACE.to_string()));
    }
    seen.retain(|(_, uri)| !uri.is_empty());
    seen.sort();
    Ok(seen)
}
