//! The navigational XPath evaluator: axes are walks over region labels
//! ([XPath 1.0 section 2](https://www.w3.org/TR/xpath/#location-paths)).
//!
//! Descendant steps with a name test read the name's posting list and keep the part
//! inside the context node's region; everything else reads node records in pre order.

use std::collections::HashMap;
use std::rc::Rc;

use roaring::RoaringBitmap;
use sprig_index::{Collection, Document, NameTable, NodeKind, NodeRecord, XML_NAMESPACE};

use crate::xpath::compile::{Expr, Function, PathFrom, Step};
use crate::xpath::plan::{BoundTest, PhysicalPlan};
use crate::xpath::syntax::ast::{ArithOp, Axis, CompareOp};
use crate::xpath::value::{number_to_string, round, string_to_number, Node, Value};
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
    postings: HashMap<(u32, usize), Rc<RoaringBitmap>>,
    deadline: Option<std::time::Instant>,
    interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
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
}

impl<'c> Navigator<'c> {
    pub fn new(collection: &'c Collection) -> Result<Self> {
        let docs = (0..collection.len()).map(|i| collection.document(i)).collect::<Result<_, _>>()?;
        Ok(Navigator { collection, docs, postings: HashMap::new(), deadline: None, interrupt: None, profile: None })
    }

    /// Records per-operator counters while evaluating, for PROFILE.
    pub fn with_profile(mut self) -> Self {
        self.profile = Some(HashMap::new());
        self
    }

    /// Stops evaluation with [`Error::Interrupted`] once `flag` is set.
    pub fn with_interrupt(mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.interrupt = Some(flag);
        self
    }

    /// Stops evaluation with [`Error::Timeout`] once `deadline` has passed.
    pub fn with_deadline(mut self, deadline: std::time::Instant) -> Self {
        self.deadline = Some(deadline);
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

fn type_error(what: &str) -> Error {
    Error::type_error(what.to_string())
}

impl Eval<'_, '_> {
    pub(super) fn doc(&self, node: Node) -> Result<&Document> {
        self.nav.docs.get(node.doc as usize).ok_or_else(|| Error::type_error(format!("no document {}", node.doc)))
    }

    fn record(&self, node: Node) -> Result<NodeRecord> {
        Ok(self.doc(node)?.node(node.pre)?)
    }

    fn expr(&mut self, e: &Expr, ctx: Context) -> Result<Value> {
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
    fn roots(&self) -> Vec<Node> {
        (0..self.nav.docs.len() as u32).map(|d| Node::stored(d, 0)).collect()
    }

    pub(super) fn boolean(&mut self, e: &Expr, ctx: Context) -> Result<bool> {
        let v = self.expr(e, ctx)?;
        Ok(to_boolean(&v))
    }

    fn number(&mut self, e: &Expr, ctx: Context) -> Result<f64> {
        let v = self.expr(e, ctx)?;
        self.to_number(&v)
    }

    fn string(&mut self, e: &Expr, ctx: Context) -> Result<String> {
        let v = self.expr(e, ctx)?;
        self.to_string(&v)
    }

    fn to_number(&self, v: &Value) -> Result<f64> {
        Ok(match v {
            Value::Number(n) => *n,
            Value::Boolean(b) => f64::from(u8::from(*b)),
            Value::String(s) => string_to_number(s),
            Value::NodeSet(_) => string_to_number(&self.to_string(v)?),
        })
    }

    fn to_string(&self, v: &Value) -> Result<String> {
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
    fn string_value(&self, node: Node) -> Result<String> {
        if node.is_namespace() {
            return Ok(self.namespace_node(node)?.1);
        }
        Ok(self.doc(node)?.string_value(node.pre)?)
    }

    // ---- comparisons (section 3.4) ----

    fn compare(&self, op: CompareOp, x: &Value, y: &Value) -> Result<bool> {
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
    fn compare_set(&self, op: CompareOp, set: &[Node], other: &Value, swapped: bool) -> Result<bool> {
        if let Value::Boolean(b) = other {
            let op = if swapped { flip(op) } else { op };
            return Ok(compare_atomic(op, &Value::Boolean(!set.is_empty()), &Value::Boolean(*b)));
        }
        for n in set {
            if compare_string(op, &self.string_value(*n)?, other, swapped) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn strings(&self, nodes: &[Node]) -> Result<Vec<String>> {
        nodes.iter().map(|n| self.string_value(*n)).collect()
    }

    // ---- location steps ----

    pub(super) fn check_deadline(&self) -> Result<()> {
        if self.nav.interrupt.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) {
            return Err(Error::Interrupted);
        }
        match self.nav.deadline {
            Some(d) if std::time::Instant::now() >= d => Err(Error::Timeout),
            _ => Ok(()),
        }
    }

    pub(super) fn step(&mut self, input: &[Node], step: &Step) -> Result<Vec<Node>> {
        self.check_deadline()?;
        let mut res = Vec::new();
        let mut axis_nodes = Vec::new();
        // Set-at-a-time shortcut: a descendant step from nested context nodes adds
        // nothing for the inner ones when no predicate looks at positions.
        let skip_nested = step.position_free && matches!(step.axis, Axis::Descendant | Axis::DescendantOrSelf);
        let mut covered: Option<(u32, u32)> = None; // (doc, region end)
        for (i, &node) in input.iter().enumerate() {
            if i % 1024 == 1023 {
                self.check_deadline()?;
            }
            if skip_nested && !node.is_namespace() {
                if let Some((doc, end)) = covered {
                    if doc == node.doc && node.pre <= end {
                        continue;
                    }
                }
                let rec = self.record(node)?;
                covered = Some((node.doc, rec.end));
            }
            axis_nodes.clear();
            self.axis(node, step.axis, step.test, &mut axis_nodes)?;
            if step.predicates.is_empty() {
                res.extend_from_slice(&axis_nodes);
            } else {
                let kept = self.filter(std::mem::take(&mut axis_nodes), &step.predicates, step.axis.is_reverse())?;
                res.extend(kept);
            }
        }
        // One context node on a forward axis yields document order already.
        if step.axis.is_reverse() || input.len() > 1 {
            res.sort_unstable();
            res.dedup();
        }
        Ok(res)
    }

    /// Applies predicates in turn; `nodes` is in axis order (reverse document order for
    /// reverse axes) and positions count in that order. Returns document order.
    fn filter(&mut self, mut nodes: Vec<Node>, predicates: &[Expr], reverse: bool) -> Result<Vec<Node>> {
        for p in predicates {
            let size = nodes.len();
            let mut kept = Vec::with_capacity(size);
            for (i, &node) in nodes.iter().enumerate() {
                let ctx = Context { node, position: i + 1, size };
                let keep = match self.expr(p, ctx)? {
                    Value::Number(n) => n == (i + 1) as f64,
                    v => to_boolean(&v),
                };
                if keep {
                    kept.push(node);
                }
            }
            nodes = kept;
        }
        if reverse {
            nodes.reverse();
        }
        Ok(nodes)
    }

    fn matches(&self, test: usize, rec: &NodeRecord, principal: NodeKind) -> bool {
        match &self.plan.tests.named[test] {
            BoundTest::AnyNode => true,
            BoundTest::Text => rec.kind == NodeKind::Text,
            BoundTest::Comment => rec.kind == NodeKind::Comment,
            BoundTest::ProcessingInstruction(None) => rec.kind == NodeKind::ProcessingInstruction,
            BoundTest::ProcessingInstruction(Some(id)) => {
                rec.kind == NodeKind::ProcessingInstruction && rec.name == *id
            }
            BoundTest::AnyName => rec.kind == principal,
            BoundTest::Names(ids) => rec.kind == principal && ids.contains(&rec.name),
            BoundTest::Nothing | BoundTest::NamespacePrefix(_) => false,
        }
    }

    /// Pushes the nodes of `axis` from `node` that pass `test`, in axis order.
    fn axis(&mut self, node: Node, axis: Axis, test: usize, out: &mut Vec<Node>) -> Result<()> {
        let doc_idx = node.doc;
        if node.is_namespace() {
            // A namespace node has a parent (its element) and ancestors, nothing else.
            return match axis {
                // Only the namespace axis has namespace nodes as its principal node
                // type: on self, descendant-or-self and ancestor-or-self a name test asks
                // for elements. A namespace node has no descendants.
                Axis::SelfAxis | Axis::DescendantOrSelf => {
                    if matches!(self.plan.tests.named[test], BoundTest::AnyNode) {
                        out.push(node);
                    }
                    Ok(())
                }
                Axis::Parent | Axis::Ancestor | Axis::AncestorOrSelf => {
                    if axis == Axis::AncestorOrSelf && matches!(self.plan.tests.named[test], BoundTest::AnyNode) {
                        out.push(node);
                    }
                    let element = Node::stored(doc_idx, node.pre);
                    let a = if axis == Axis::Parent { Axis::SelfAxis } else { Axis::AncestorOrSelf };
                    self.axis(element, a, test, out)
                }
                Axis::Following => {
                    // The element's descendants and everything after it (attribute-like
                    // nodes are skipped by the scan).
                    self.scan_range(doc_idx, node.pre + 1, self.doc(node)?.len(), test, out)
                }
                Axis::Preceding => {
                    let element = Node::stored(doc_idx, node.pre);
                    self.axis(element, Axis::Preceding, test, out)
                }
                _ => Ok(()),
            };
        }
        let rec = self.record(node)?;
        let pre = node.pre;
        match axis {
            Axis::SelfAxis => {
                if self.matches(test, &rec, NodeKind::Element) {
                    out.push(node);
                }
            }
            Axis::Child => {
                if matches!(rec.kind, NodeKind::Root | NodeKind::Element) {
                    let mut c = pre + 1;
                    while c <= rec.end {
                        let crec = self.record(Node::stored(doc_idx, c))?;
                        if !crec.kind.is_attribute_like() {
                            if self.matches(test, &crec, NodeKind::Element) {
                                out.push(Node::stored(doc_idx, c));
                            }
                            c = crec.end + 1;
                        } else {
                            c += 1;
                        }
                    }
                }
            }
            Axis::Descendant | Axis::DescendantOrSelf => {
                if axis == Axis::DescendantOrSelf && self.matches(test, &rec, NodeKind::Element) {
                    out.push(node);
                }
                if rec.end > pre {
                    if let Some(bitmap) = self.descendant_postings(doc_idx, test)? {
                        out.extend(bitmap.range(pre + 1..=rec.end).map(|p| Node::stored(doc_idx, p)));
                    } else {
                        self.scan_range(doc_idx, pre + 1, rec.end + 1, test, out)?;
                    }
                }
            }
            Axis::Attribute => {
                if rec.kind == NodeKind::Element {
                    let mut a = pre + 1;
                    while a <= rec.end {
                        let arec = self.record(Node::stored(doc_idx, a))?;
                        if !arec.kind.is_attribute_like() {
                            break;
                        }
                        if arec.kind == NodeKind::Attribute && self.matches(test, &arec, NodeKind::Attribute) {
                            out.push(Node::stored(doc_idx, a));
                        }
                        a += 1;
                    }
                }
            }
            Axis::Namespace => {
                if rec.kind == NodeKind::Element {
                    let scope = self.in_scope_namespaces(doc_idx, pre)?;
                    for (i, (prefix, _)) in scope.iter().enumerate() {
                        let n = Node { doc: doc_idx, pre, ns: i as u32 + 1 };
                        if self.namespace_test(test, prefix) {
                            out.push(n);
                        }
                    }
                }
            }
            Axis::Parent => {
                if rec.kind != NodeKind::Root {
                    let p = Node::stored(doc_idx, rec.parent);
                    let prec = self.record(p)?;
                    if self.matches(test, &prec, NodeKind::Element) {
                        out.push(p);
                    }
                }
            }
            Axis::Ancestor | Axis::AncestorOrSelf => {
                if axis == Axis::AncestorOrSelf && self.matches(test, &rec, NodeKind::Element) {
                    out.push(node);
                }
                let mut cur = rec;
                while cur.kind != NodeKind::Root {
                    let p = Node::stored(doc_idx, cur.parent);
                    cur = self.record(p)?;
                    if self.matches(test, &cur, NodeKind::Element) {
                        out.push(p);
                    }
                }
            }
            Axis::FollowingSibling | Axis::PrecedingSibling => {
                if rec.kind.is_attribute_like() || rec.kind == NodeKind::Root {
                    return Ok(());
                }
                let parent = self.record(Node::stored(doc_idx, rec.parent))?;
                if axis == Axis::FollowingSibling {
                    let mut c = rec.end + 1;
                    while c <= parent.end {
                        let crec = self.record(Node::stored(doc_idx, c))?;
                        if self.matches(test, &crec, NodeKind::Element) {
                            out.push(Node::stored(doc_idx, c));
                        }
                        c = crec.end + 1;
                    }
                } else {
                    let mut siblings = Vec::new();
                    let mut c = rec.parent + 1;
                    while c < pre {
                        let crec = self.record(Node::stored(doc_idx, c))?;
                        if crec.kind.is_attribute_like() {
                            c += 1;
                            continue;
                        }
                        if self.matches(test, &crec, NodeKind::Element) {
                            siblings.push(Node::stored(doc_idx, c));
                        }
                        c = crec.end + 1;
                    }
                    out.extend(siblings.into_iter().rev());
                }
            }
            Axis::Following => {
                let len = self.doc(node)?.len();
                // Attributes' following nodes include their element's children.
                let from = if rec.kind.is_attribute_like() { pre + 1 } else { rec.end + 1 };
                self.scan_range(doc_idx, from, len, test, out)?;
            }
            Axis::Preceding => {
                // Everything before, minus the ancestors: nodes whose region ends before `pre`.
                let anchor = if rec.kind.is_attribute_like() { rec.parent } else { pre };
                let mut found = Vec::new();
                let mut p = 1;
                while p < anchor {
                    let prec = self.record(Node::stored(doc_idx, p))?;
                    if prec.end >= anchor {
                        // An ancestor: descend into it.
                        p += 1;
                        continue;
                    }
                    if !prec.kind.is_attribute_like() && self.matches(test, &prec, NodeKind::Element) {
                        found.push(Node::stored(doc_idx, p));
                    }
                    p += 1;
                }
                out.extend(found.into_iter().rev());
            }
        }
        Ok(())
    }

    /// Pushes nodes with `from <= pre < to` that are not attribute-like and pass `test`.
    fn scan_range(&self, doc_idx: u32, from: u32, to: u32, test: usize, out: &mut Vec<Node>) -> Result<()> {
        let doc = self.doc(Node::stored(doc_idx, 0))?;
        for p in from..to {
            if p % 65536 == 0 {
                self.check_deadline()?;
            }
            let rec = doc.node(p)?;
            if !rec.kind.is_attribute_like() && self.matches(test, &rec, NodeKind::Element) {
                out.push(Node::stored(doc_idx, p));
            }
        }
        Ok(())
    }

    /// The element postings of a name test, cached per query; `None` for tests that
    /// postings do not answer.
    fn descendant_postings(&mut self, doc_idx: u32, test: usize) -> Result<Option<Rc<RoaringBitmap>>> {
        let BoundTest::Names(ids) = &self.plan.tests.named[test] else {
            return Ok(match &self.plan.tests.named[test] {
                BoundTest::Nothing => Some(Rc::new(RoaringBitmap::new())),
                _ => None,
            });
        };
        if let Some(b) = self.nav.postings.get(&(doc_idx, test)) {
            return Ok(Some(b.clone()));
        }
        let doc = self.doc(Node::stored(doc_idx, 0))?;
        let mut acc = RoaringBitmap::new();
        for &id in ids {
            acc |= doc.name_postings(NodeKind::Element, id)?;
        }
        let acc = Rc::new(acc);
        self.nav.postings.insert((doc_idx, test), acc.clone());
        Ok(Some(acc))
    }

    // ---- namespace nodes ----

    fn in_scope_namespaces(&self, doc_idx: u32, pre: u32) -> Result<Vec<(String, String)>> {
        let doc = self.doc(Node::stored(doc_idx, 0))?;
        in_scope_namespaces(doc, self.nav.collection.names(), pre)
    }

    /// The (prefix, URI) of a namespace node.
    fn namespace_node(&self, node: Node) -> Result<(String, String)> {
        let scope = self.in_scope_namespaces(node.doc, node.pre)?;
        scope.into_iter().nth(node.ns as usize - 1).ok_or_else(|| Error::type_error("namespace node out of range"))
    }

    fn namespace_test(&self, test: usize, prefix: &str) -> bool {
        match &self.plan.tests.for_namespaces[test] {
            BoundTest::AnyNode | BoundTest::AnyName => true,
            BoundTest::NamespacePrefix(p) => p == prefix,
            _ => false,
        }
    }

    // ---- functions (section 4) ----

    fn node_set_arg(&mut self, args: &[Expr], ctx: Context, name: &str) -> Result<Vec<Node>> {
        match args.first() {
            None => Ok(vec![ctx.node]),
            Some(a) => match self.expr(a, ctx)? {
                Value::NodeSet(n) => Ok(n),
                _ => Err(Error::type_error(format!("{name}() expects a node-set"))),
            },
        }
    }

    fn string_arg(&mut self, args: &[Expr], i: usize, ctx: Context) -> Result<String> {
        match args.get(i) {
            Some(a) => self.string(a, ctx),
            None => self.string_value(ctx.node),
        }
    }

    fn call(&mut self, f: Function, args: &[Expr], ctx: Context) -> Result<Value> {
        use Function as F;
        Ok(match f {
            F::Last => Value::Number(ctx.size as f64),
            F::Position => Value::Number(ctx.position as f64),
            F::Count => match self.summary_count(&args[0])? {
                Some(n) => Value::Number(n as f64),
                None => Value::Number(self.node_set_arg(args, ctx, "count")?.len() as f64),
            },
            F::Id => {
                let tokens = match self.expr(&args[0], ctx)? {
                    Value::NodeSet(nodes) => {
                        let mut all = Vec::new();
                        for n in nodes {
                            all.push(self.string_value(n)?);
                        }
                        all.join(" ")
                    }
                    v => self.to_string(&v)?,
                };
                let doc = self.doc(ctx.node)?;
                let mut res = Vec::new();
                for token in tokens.split([' ', '\t', '\r', '\n']).filter(|t| !t.is_empty()) {
                    if let Some(pre) = doc.element_by_id(token)? {
                        res.push(Node::stored(ctx.node.doc, pre));
                    }
                }
                res.sort_unstable();
                res.dedup();
                Value::NodeSet(res)
            }
            F::LocalName | F::NamespaceUri | F::Name => {
                let nodes = self.node_set_arg(args, ctx, "name")?;
                let Some(&n) = nodes.first() else { return Ok(Value::String(String::new())) };
                let (prefix, local, uri) = self.name_parts(n)?;
                Value::String(match f {
                    F::LocalName => local,
                    F::NamespaceUri => uri,
                    _ if prefix.is_empty() => local,
                    _ => format!("{prefix}:{local}"),
                })
            }
            F::String => Value::String(self.string_arg(args, 0, ctx)?),
            F::Concat => {
                let mut s = String::new();
                for a in args {
                    s.push_str(&self.string(a, ctx)?);
                }
                Value::String(s)
            }
            F::StartsWith => {
                let (a, b) = (self.string(&args[0], ctx)?, self.string(&args[1], ctx)?);
                Value::Boolean(a.starts_with(&b))
            }
            F::Contains => {
                let (a, b) = (self.string(&args[0], ctx)?, self.string(&args[1], ctx)?);
                Value::Boolean(a.contains(&b))
            }
            F::SubstringBefore => {
                let (a, b) = (self.string(&args[0], ctx)?, self.string(&args[1], ctx)?);
                Value::String(a.find(&b).map(|i| a[..i].to_string()).unwrap_or_default())
            }
            F::SubstringAfter => {
                let (a, b) = (self.string(&args[0], ctx)?, self.string(&args[1], ctx)?);
                Value::String(a.find(&b).map(|i| a[i + b.len()..].to_string()).unwrap_or_default())
            }
            F::Substring => {
                let s = self.string(&args[0], ctx)?;
                let start = round(self.number(&args[1], ctx)?);
                let end = match args.get(2) {
                    Some(len) => start + round(self.number(len, ctx)?),
                    None => f64::INFINITY,
                };
                // Characters at 1-based positions p with start <= p < end; NaN fails both.
                Value::String(
                    s.chars()
                        .enumerate()
                        .filter(|(i, _)| {
                            let p = (*i + 1) as f64;
                            p >= start && p < end
                        })
                        .map(|(_, c)| c)
                        .collect(),
                )
            }
            F::StringLength => Value::Number(self.string_arg(args, 0, ctx)?.chars().count() as f64),
            F::NormalizeSpace => {
                let s = self.string_arg(args, 0, ctx)?;
                Value::String(s.split([' ', '\t', '\r', '\n']).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" "))
            }
            F::Translate => {
                let s = self.string(&args[0], ctx)?;
                let from: Vec<char> = self.string(&args[1], ctx)?.chars().collect();
                let to: Vec<char> = self.string(&args[2], ctx)?.chars().collect();
                Value::String(
                    s.chars()
                        .filter_map(|c| match from.iter().position(|&f| f == c) {
                            Some(i) => to.get(i).copied(),
                            None => Some(c),
                        })
                        .collect(),
                )
            }
            F::Boolean => Value::Boolean(self.boolean(&args[0], ctx)?),
            F::Not => Value::Boolean(!self.boolean(&args[0], ctx)?),
            F::True => Value::Boolean(true),
            F::False => Value::Boolean(false),
            F::Lang => {
                let want = self.string(&args[0], ctx)?.to_lowercase();
                Value::Boolean(match self.xml_lang(ctx.node)? {
                    Some(lang) => {
                        let lang = lang.to_lowercase();
                        lang == want || lang.strip_prefix(&want).is_some_and(|r| r.starts_with('-'))
                    }
                    None => false,
                })
            }
            F::Number => Value::Number(match args.first() {
                Some(a) => self.number(a, ctx)?,
                None => string_to_number(&self.string_value(ctx.node)?),
            }),
            F::Sum => {
                let Value::NodeSet(nodes) = self.expr(&args[0], ctx)? else {
                    return Err(type_error("sum() expects a node-set"));
                };
                let mut acc = 0.0;
                for n in nodes {
                    acc += string_to_number(&self.string_value(n)?);
                }
                Value::Number(acc)
            }
            F::Floor => Value::Number(self.number(&args[0], ctx)?.floor()),
            F::Ceiling => Value::Number(self.number(&args[0], ctx)?.ceil()),
            F::Round => Value::Number(round(self.number(&args[0], ctx)?)),
        })
    }

    /// (prefix, local name, namespace URI) of a node; empty strings where it has none.
    fn name_parts(&self, node: Node) -> Result<(String, String, String)> {
        if node.is_namespace() {
            let (prefix, _) = self.namespace_node(node)?;
            return Ok((String::new(), prefix, String::new()));
        }
        let rec = self.record(node)?;
        let names = self.nav.collection.names();
        Ok(match (rec.kind, names.get(rec.name)) {
            (NodeKind::Element | NodeKind::Attribute, Some(q)) => (q.prefix.clone(), q.local.clone(), q.uri.clone()),
            (NodeKind::ProcessingInstruction, Some(q)) => (String::new(), q.local.clone(), String::new()),
            _ => (String::new(), String::new(), String::new()),
        })
    }

    /// The `xml:lang` in effect at `node`.
    fn xml_lang(&self, node: Node) -> Result<Option<String>> {
        let doc = self.doc(node)?;
        let lang_ids = self.nav.collection.names().matching(XML_NAMESPACE, Some("lang"));
        if lang_ids.is_empty() {
            return Ok(None);
        }
        // A namespace node's `pre` is its element's; other nodes that are not
        // elements look from their parent on.
        let mut pre = node.pre;
        let mut cur = doc.node(pre)?;
        loop {
            if cur.kind == NodeKind::Element {
                let mut a = pre + 1;
                while a <= cur.end {
                    let arec = doc.node(a)?;
                    if !arec.kind.is_attribute_like() {
                        break;
                    }
                    if arec.kind == NodeKind::Attribute && lang_ids.contains(&arec.name) {
                        return Ok(Some(doc.text(a)?));
                    }
                    a += 1;
                }
            }
            if cur.kind == NodeKind::Root {
                return Ok(None);
            }
            pre = cur.parent;
            cur = doc.node(pre)?;
        }
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
fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        o => o,
    }
}

/// How a node-set is compared with a number or string, for one node: its
/// string-value `s` against `other` (on the left of `op` when `swapped`).
pub(super) fn compare_string(op: CompareOp, s: &str, other: &Value, swapped: bool) -> bool {
    let op = if swapped { flip(op) } else { op };
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
