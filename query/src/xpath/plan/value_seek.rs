//! Value-index seeks: a branch that compares its leaf with a literal (`[@id =
//! 'person0']`, `[payment = 'Creditcard']`, `[profile/@income > 50000]`) is looked up
//! in each document's value index while planning. The nodes found replace reading
//! every leaf's value: the SISJ branch filter and the baselines keep the leaves the
//! index found, and a branch source reads only those leaves
//! (the branch-source rule weighs the count found).

use roaring::RoaringBitmap;
use sprig_index::{Collection, ValueOwner};

use super::bind::BoundTests;
use super::structure::StepNames;
use super::twig::Branch;
use crate::xpath::syntax::ast::CompareOp;
use crate::xpath::value::Value;

/// What the value index found for one branch.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSeek {
    /// Per document of the collection: the leaves that pass the comparison.
    pub per_doc: Vec<RoaringBitmap>,
    /// Leaves found, over all documents.
    pub found: u64,
}

impl ValueSeek {
    /// Whether leaf `pre` of document `doc` passes.
    pub fn passes(&self, doc: u32, pre: u32) -> bool {
        self.per_doc.get(doc as usize).is_some_and(|b| b.contains(pre))
    }
}

/// The value index's answer for `branch`, or `None` when it cannot give one (no
/// comparison, a wildcard leaf, an operator or literal it does not index, a long
/// literal, elements with mixed content, or a storage error: the plan then reads
/// values as without an index).
pub fn seek(branch: &Branch, tests: &BoundTests, collection: &Collection) -> Option<ValueSeek> {
    let cmp = branch.value.as_ref()?;
    let StepNames::Some(names) = tests.step_names(*branch.tests.last()?) else { return None };
    let owner = if branch.attribute_leaf { ValueOwner::Attribute } else { ValueOwner::Element };
    let op = if cmp.swapped { cmp.op.flipped() } else { cmp.op };
    let mut per_doc = Vec::with_capacity(collection.len() as usize);
    for idx in 0..collection.len() {
        let doc = collection.document(idx).ok()?;
        let found = match (op, &cmp.literal) {
            (CompareOp::Eq, Value::String(s)) => doc.value_equals(owner, &names, s),
            (CompareOp::Ne, _) => return None,
            (op, Value::Number(n)) => {
                let n = *n;
                let passes = move |x: f64| match op {
                    CompareOp::Eq => x == n,
                    CompareOp::Lt => x < n,
                    CompareOp::Le => x <= n,
                    CompareOp::Gt => x > n,
                    CompareOp::Ge => x >= n,
                    CompareOp::Ne => false,
                };
                doc.value_numbers(owner, &names, &passes)
            }
            _ => return None,
        };
        per_doc.push(found.ok()??);
    }
    let found = per_doc.iter().map(|b| b.len()).sum();
    Some(ValueSeek { per_doc, found })
}
