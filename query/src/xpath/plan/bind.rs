//! Node tests bound to one collection's name table: names become name ids once, so
//! evaluation compares integers.

use sprig_index::Collection;

use super::structure::StepNames;
use crate::xpath::compile::{Test, XPathPlan};

/// A node test bound to one collection's name table.
#[derive(Debug)]
pub enum BoundTest {
    AnyNode,
    Text,
    Comment,
    ProcessingInstruction(Option<u32>),
    /// Principal node type only.
    AnyName,
    /// Principal node type with one of these name ids.
    Names(Vec<u32>),
    /// Matches no node (a name absent from the collection).
    Nothing,
    /// `name` for namespace nodes (the prefix).
    NamespacePrefix(String),
}

/// Node tests of a plan, bound twice: for principal type element/attribute (by name id)
/// and for namespace nodes (by prefix or URI).
#[derive(Debug)]
pub struct BoundTests {
    pub named: Vec<BoundTest>,
    pub for_namespaces: Vec<BoundTest>,
}

impl BoundTests {
    pub fn bind(plan: &XPathPlan, collection: &Collection) -> BoundTests {
        let names = collection.names();
        let mut named = Vec::new();
        let mut for_namespaces = Vec::new();
        for t in &plan.tests {
            let (a, b) = match t {
                Test::AnyNode => (BoundTest::AnyNode, BoundTest::AnyNode),
                Test::Text => (BoundTest::Text, BoundTest::Nothing),
                Test::Comment => (BoundTest::Comment, BoundTest::Nothing),
                Test::ProcessingInstruction(target) => {
                    let bound = match target {
                        None => BoundTest::ProcessingInstruction(None),
                        Some(t) => match names
                            .matching("", Some(t))
                            .into_iter()
                            .find(|&id| names.get(id).is_some_and(|q| q.prefix.is_empty()))
                        {
                            Some(id) => BoundTest::ProcessingInstruction(Some(id)),
                            None => BoundTest::Nothing,
                        },
                    };
                    (bound, BoundTest::Nothing)
                }
                Test::AnyName => (BoundTest::AnyName, BoundTest::AnyName),
                Test::Namespace(uri) => {
                    let ids = names.matching(uri, None);
                    (if ids.is_empty() { BoundTest::Nothing } else { BoundTest::Names(ids) }, BoundTest::Nothing)
                }
                Test::Name { uri, local } => {
                    let ids = names.matching(uri, Some(local));
                    let ns =
                        if uri.is_empty() { BoundTest::NamespacePrefix(local.clone()) } else { BoundTest::Nothing };
                    (if ids.is_empty() { BoundTest::Nothing } else { BoundTest::Names(ids) }, ns)
                }
            };
            named.push(a);
            for_namespaces.push(b);
        }
        BoundTests { named, for_namespaces }
    }

    /// The element names bound test `test` accepts, as the structure-context index
    /// matches them.
    pub fn step_names(&self, test: usize) -> StepNames {
        match &self.named[test] {
            BoundTest::Names(ids) => StepNames::Some(ids.clone()),
            BoundTest::AnyName => StepNames::Any,
            _ => StepNames::Some(Vec::new()),
        }
    }
}
