//! Location paths as twig patterns.
//!
//! The leading steps of an absolute path that are child or descendant steps with an
//! element name test (`name`, `p:name` or `*`) and position-free predicates form a
//! pattern that structural joins can evaluate; their predicates become filters on the
//! pattern's nodes (predicate pushdown). The steps after the pattern are navigated from
//! its result.

use super::xpath::{Step, Test};
use crate::physical::joins::Edge;
use crate::syntax::xpath::ast::Axis;

/// The twig pattern of a path: its first `len` steps.
#[derive(Debug, Clone, PartialEq)]
pub struct TwigPattern {
    pub len: usize,
    /// The edge into each pattern node from the one before (the root first).
    pub edges: Vec<Edge>,
    /// Whether each pattern node has predicates (filters).
    pub filtered: Vec<bool>,
}

/// The twig pattern at the start of `steps`, if the first step qualifies.
pub fn lower(steps: &[Step], tests: &[Test]) -> Option<TwigPattern> {
    let mut edges = Vec::new();
    let mut filtered = Vec::new();
    for step in steps {
        let edge = match step.axis {
            Axis::Child => Edge::Child,
            Axis::Descendant => Edge::Descendant,
            _ => break,
        };
        if !matches!(tests[step.test], Test::Name { .. } | Test::AnyName | Test::Namespace(_)) || !step.position_free {
            break;
        }
        edges.push(edge);
        filtered.push(!step.predicates.is_empty());
    }
    if edges.is_empty() {
        return None;
    }
    Some(TwigPattern { len: edges.len(), edges, filtered })
}
