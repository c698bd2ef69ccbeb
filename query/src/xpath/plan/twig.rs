//! Location paths as twig patterns.
//!
//! The leading steps of an absolute path that are child or descendant steps with an
//! element name test (`name`, `p:name` or `*`) and position-free predicates form a
//! pattern that structural joins can evaluate; their predicates become filters on the
//! pattern's nodes (predicate pushdown). A predicate that is itself a short path of
//! element steps (`[b]`, `[x/y]`, `[.//b]`, `[.//x/y]`) becomes a branch of the twig,
//! evaluated by a structural semi-join; the other predicates stay residual filters,
//! evaluated per node. The steps after the pattern are navigated from its result.

use crate::xpath::compile::{Expr, PathFrom, Step, Test};
use crate::xpath::syntax::ast::{Axis, CompareOp};
use crate::xpath::value::Value;

/// The two structural axes a pattern edge can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Child,
    Descendant,
}

/// How far below an ancestor a branch's leaf must lie: exactly `k` levels for a
/// branch of child steps (`[x/y]`), at least `k` when it starts with a descendant step
/// (`[.//x/y]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelGap {
    Exactly(u16),
    AtLeast(u16),
}

/// The twig pattern of a path: its first `len` steps.
#[derive(Debug, Clone, PartialEq)]
pub struct TwigPattern {
    pub len: usize,
    /// The edge into each pattern node from the one before (the root first).
    pub edges: Vec<Edge>,
    /// Whether each pattern node has predicates (branches or residual filters).
    pub filtered: Vec<bool>,
    /// The branch predicates of each pattern node.
    pub branches: Vec<Vec<Branch>>,
}

/// An existential branch `[e1 t1 / t2 / ... / tk]` below a pattern node: the first
/// edge is child or descendant, the others child, every test an element name test,
/// except that the last step may be an attribute step (`[x/@a]`, `[@a]`). The branch
/// may compare its leaf with a literal (`[x/y = 'v']`, `[@a != 3]`): then some leaf
/// must pass the comparison, as XPath compares a node-set with a string or number.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// Which predicate of the step this is.
    pub predicate: usize,
    pub first: Edge,
    /// The node test (index into the plan's tests) of each branch step.
    pub tests: Vec<usize>,
    /// Whether the leaf step is on the attribute axis.
    pub attribute_leaf: bool,
    pub value: Option<LeafComparison>,
}

/// `leaf OP literal`, or `literal OP leaf` when `swapped`.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafComparison {
    pub op: CompareOp,
    pub swapped: bool,
    /// A string or a number.
    pub literal: Value,
}

impl Branch {
    /// How far below the pattern node the branch's leaf lies.
    pub fn gap(&self) -> LevelGap {
        let k = self.tests.len() as u16;
        match self.first {
            Edge::Child => LevelGap::Exactly(k),
            Edge::Descendant => LevelGap::AtLeast(k),
        }
    }
}

impl TwigPattern {
    /// Whether predicate `p` of pattern step `i` is evaluated per node (not a branch).
    pub fn is_residual(&self, i: usize, p: usize) -> bool {
        !self.branches.get(i).is_some_and(|b| b.iter().any(|b| b.predicate == p))
    }
}

fn is_name_test(test: &Test) -> bool {
    matches!(test, Test::Name { .. } | Test::AnyName | Test::Namespace(_))
}

/// The branch a predicate is, if it is a path of element steps from the context node
/// (possibly ending in an attribute step), alone or compared with a literal.
fn branch(predicate: usize, expr: &Expr, tests: &[Test]) -> Option<Branch> {
    let literal = |e: &Expr| match e {
        Expr::Literal(s) => Some(Value::String(s.clone())),
        Expr::Number(n) => Some(Value::Number(*n)),
        _ => None,
    };
    let (path, value) = match expr {
        Expr::Compare(op, lhs, rhs) => match (literal(lhs), literal(rhs)) {
            (None, Some(literal)) => (&**lhs, Some(LeafComparison { op: *op, swapped: false, literal })),
            (Some(literal), None) => (&**rhs, Some(LeafComparison { op: *op, swapped: true, literal })),
            _ => return None,
        },
        _ => (expr, None),
    };
    let Expr::Path { start: PathFrom::Context, steps, .. } = path else { return None };
    // `.//b` is `self::node()/descendant::b`.
    let steps = match steps.first() {
        Some(s) if s.axis == Axis::SelfAxis && tests[s.test] == Test::AnyNode && s.predicates.is_empty() => &steps[1..],
        _ => &steps[..],
    };
    let (last, inner) = steps.split_last()?;
    let attribute_leaf = last.axis == Axis::Attribute;
    let first = match steps[0].axis {
        Axis::Child => Edge::Child,
        Axis::Descendant => Edge::Descendant,
        Axis::Attribute if inner.is_empty() => Edge::Child,
        _ => return None,
    };
    let element_steps = if attribute_leaf { inner } else { steps };
    let simple = |s: &Step| s.predicates.is_empty() && is_name_test(&tests[s.test]);
    let shaped = element_steps.iter().enumerate().all(|(i, s)| simple(s) && (i == 0 || s.axis == Axis::Child));
    if !shaped || (attribute_leaf && !(last.predicates.is_empty() && is_name_test(&tests[last.test]))) {
        return None;
    }
    Some(Branch { predicate, first, tests: steps.iter().map(|s| s.test).collect(), attribute_leaf, value })
}

/// The twig pattern at the start of `steps`, if the first step qualifies.
pub fn lower(steps: &[Step], tests: &[Test]) -> Option<TwigPattern> {
    let mut edges = Vec::new();
    let mut filtered = Vec::new();
    let mut branches = Vec::new();
    for step in steps {
        let edge = match step.axis {
            Axis::Child => Edge::Child,
            Axis::Descendant => Edge::Descendant,
            _ => break,
        };
        if !is_name_test(&tests[step.test]) || !step.position_free {
            break;
        }
        edges.push(edge);
        filtered.push(!step.predicates.is_empty());
        branches.push(step.predicates.iter().enumerate().filter_map(|(i, p)| branch(i, p, tests)).collect());
    }
    if edges.is_empty() {
        return None;
    }
    Some(TwigPattern { len: edges.len(), edges, filtered, branches })
}
