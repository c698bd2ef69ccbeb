//! Location steps: the thirteen axes as walks over region labels, node tests, and
//! predicates applied to a step's result
//! ([XPath 1.0 section 2](https://www.w3.org/TR/xpath/#location-paths)).

use std::rc::Rc;

use roaring::RoaringBitmap;
use sprig_index::{NodeKind, NodeRecord};

use crate::xpath::compile::{Expr, Step};
use crate::xpath::plan::BoundTest;
use crate::xpath::syntax::ast::Axis;
use crate::xpath::value::{Node, Value};
use crate::{Error, Result};

use super::navigate::*;

impl Eval<'_, '_> {
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
    pub(super) fn filter(&mut self, mut nodes: Vec<Node>, predicates: &[Expr], reverse: bool) -> Result<Vec<Node>> {
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

    pub(super) fn matches(&self, test: usize, rec: &NodeRecord, principal: NodeKind) -> bool {
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
    pub(super) fn axis(&mut self, node: Node, axis: Axis, test: usize, out: &mut Vec<Node>) -> Result<()> {
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
    pub(super) fn scan_range(&self, doc_idx: u32, from: u32, to: u32, test: usize, out: &mut Vec<Node>) -> Result<()> {
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
    pub(super) fn descendant_postings(&mut self, doc_idx: u32, test: usize) -> Result<Option<Rc<RoaringBitmap>>> {
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

    pub(super) fn in_scope_namespaces(&self, doc_idx: u32, pre: u32) -> Result<Vec<(String, String)>> {
        let doc = self.doc(Node::stored(doc_idx, 0))?;
        in_scope_namespaces(doc, self.nav.collection.names(), pre)
    }

    /// The (prefix, URI) of a namespace node.
    pub(super) fn namespace_node(&self, node: Node) -> Result<(String, String)> {
        let scope = self.in_scope_namespaces(node.doc, node.pre)?;
        scope.into_iter().nth(node.ns as usize - 1).ok_or_else(|| Error::type_error("namespace node out of range"))
    }

    pub(super) fn namespace_test(&self, test: usize, prefix: &str) -> bool {
        match &self.plan.tests.for_namespaces[test] {
            BoundTest::AnyNode | BoundTest::AnyName => true,
            BoundTest::NamespacePrefix(p) => p == prefix,
            _ => false,
        }
    }

    // ---- functions (section 4) ----
}
