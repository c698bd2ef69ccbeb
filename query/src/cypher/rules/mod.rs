//! Rewrite rules over the logical plan, one job each. The planner already picks the
//! start node of each pattern by selectivity and places each WHERE conjunct right
//! after the operator that binds its last variable (filter push-down); these rules
//! refine the tree it builds. Each rule is a small type with one job; the rules of
//! a family share a file.

use sprig_index::graph::Overlay;

use crate::cypher::plan::*;

mod counting;
mod filters;
mod index_seek;
mod lindex;
mod top_k;

pub use counting::{AggregateFromColumns, CountExpansions, CountFromStore, CountThroughExpand, DegreeAggregation};
pub use filters::{ChecksBeforePredicates, FilterIntoExpand, FilterIntoScan, LabelsIntoExpand};
pub use index_seek::{FilterIndexSeek, OrderFromIndex, PropertyIndexSeek};
pub use lindex::{LIndexPathPruning, LIndexPruning};
pub use top_k::{ProjectAfterTopK, SortLimitToTopK};

/// One rewrite.
pub trait Rule {
    fn name(&self) -> &'static str;
    /// Rewrites `op` in place (children are visited by the driver).
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay);
}

/// Runs every rule over every operator, bottom-up.
/// Whether and how LIndexes prune: `--no-lindex` / `CYPHER lindex=off` turn it off,
/// `CYPHER lindex=eager` looks path candidates up before the first target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LIndexUse {
    Off,
    On,
    Eager,
}

/// Which rewrite rules run: all (the default), none (`CYPHER rules=off`), or all but
/// one (`CYPHER skip=RuleName`). Turning rules off must never change a result; the
/// metamorphic tests (`tests/metamorphic/`) check that it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSelection<'a> {
    All,
    None,
    AllBut(&'a str),
}

impl RuleSelection<'_> {
    fn allows(&self, rule: &dyn Rule) -> bool {
        match self {
            RuleSelection::All => true,
            RuleSelection::None => false,
            RuleSelection::AllBut(name) => !rule.name().eq_ignore_ascii_case(name),
        }
    }
}

/// The names of every rewrite rule, as `CYPHER skip=` takes them.
pub fn rule_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = first_pass().iter().map(|r| r.name()).collect();
    names.extend([LIndexPruning { after: 0 }.name(), LIndexPathPruning { after: 0 }.name(), ProjectAfterTopK.name()]);
    names
}

fn first_pass() -> [&'static dyn Rule; 13] {
    [
        &PropertyIndexSeek,
        &FilterIndexSeek,
        &OrderFromIndex,
        &FilterIntoScan,
        &FilterIntoExpand,
        &LabelsIntoExpand,
        &ChecksBeforePredicates,
        &SortLimitToTopK,
        &CountFromStore,
        &AggregateFromColumns,
        &CountExpansions,
        &DegreeAggregation,
        &CountThroughExpand,
    ]
}

pub fn optimize(plan: &mut LogicalOp, graph: &Overlay, lindex: LIndexUse, selection: RuleSelection<'_>) {
    let chosen = |rules: &[&'static dyn Rule]| -> Vec<&'static dyn Rule> {
        rules.iter().copied().filter(|r| selection.allows(*r)).collect()
    };
    visit(plan, &chosen(&first_pass()), graph);
    if lindex != LIndexUse::Off {
        // After the filters moved into scans and expansions.
        let after = if lindex == LIndexUse::Eager { 0 } else { PATH_PRUNE_AFTER };
        let prune: [&dyn Rule; 2] = [&LIndexPruning { after }, &LIndexPathPruning { after }];
        let prune: Vec<&dyn Rule> = prune.into_iter().filter(|r| selection.allows(*r)).collect();
        visit(plan, &prune, graph);
    }
    // Needs the top-k operators the first pass makes.
    visit(plan, &chosen(&[&ProjectAfterTopK]), graph);
}

fn visit(op: &mut LogicalOp, rules: &[&dyn Rule], graph: &Overlay) {
    for child in op.inputs_mut() {
        visit(child, rules, graph);
    }
    for r in rules {
        r.rewrite(op, graph);
    }
}

/// Replaces `op` by its input, once the input took over what `op` did.
fn replace_by_input(op: &mut LogicalOp) {
    let Some(input) = op.inputs_mut().into_iter().next() else { return };
    let input = std::mem::replace(input, LogicalOp::Start);
    *op = input;
}
