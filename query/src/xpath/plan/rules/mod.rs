//! Rewrite rules that turn a twig pattern into a physical path plan. Each rule is a
//! small type with one job; they run in the order of [`RULES`].

mod branch_source;
mod choose_join;
mod path_summary_shortcut;
mod sisj_strategy;

pub use branch_source::ChooseBranchSource;
pub use choose_join::ChooseJoin;
pub use path_summary_shortcut::PathSummaryShortcut;
pub use sisj_strategy::ChooseSisjStrategy;

use super::structure::StepPartitions;
use super::twig::TwigPattern;
use super::value_seek::ValueSeek;
use super::{JoinAlgorithm, PathPlan, SisjStrategy};

/// What the rules may look at.
#[derive(Debug, Clone, Copy)]
pub struct PlanContext<'a> {
    /// The algorithm the user asked for (`--join`).
    pub requested: JoinAlgorithm,
    /// Per pattern step, per branch: what the value index found (see `value_seek`).
    pub value_seeks: &'a [Vec<Option<ValueSeek>>],
}

/// A rewrite of a path plan.
pub trait Rule {
    fn name(&self) -> &'static str;
    fn rewrite(&self, plan: PathPlan, ctx: &PlanContext) -> PathPlan;
}

/// The rules in order. The shortcut runs first: a pattern it answers needs no join;
/// the SISJ strategy is chosen once the algorithm is known, and the branch sources
/// once the strategy is.
pub const RULES: &[&dyn Rule] = &[&PathSummaryShortcut, &ChooseJoin, &ChooseSisjStrategy, &ChooseBranchSource];

/// Plans a pattern whose partitions the structure-context index has matched.
pub fn optimize(pattern: TwigPattern, partitions: Vec<StepPartitions>, ctx: &PlanContext) -> PathPlan {
    let mut plan = PathPlan {
        pattern,
        partitions,
        shortcut: false,
        algorithm: ctx.requested,
        reason: String::new(),
        sisj_strategy: SisjStrategy::PrunedStream,
        branch_source: Vec::new(),
        baseline_branches: Vec::new(),
        partition_pairs: Vec::new(),
        value_seeks: ctx.value_seeks.to_vec(),
    };
    for rule in RULES {
        plan = rule.rewrite(plan, ctx);
    }
    debug_assert!(plan.algorithm != JoinAlgorithm::Auto, "ChooseJoin must resolve auto");
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xpath::plan::twig::Edge;

    fn step(candidate_nodes: u64, matched_nodes: u64) -> StepPartitions {
        StepPartitions { candidate_nodes, matched_nodes, ..Default::default() }
    }

    fn pattern(filtered: Vec<bool>) -> TwigPattern {
        TwigPattern {
            len: filtered.len(),
            edges: vec![Edge::Descendant; filtered.len()],
            branches: vec![Vec::new(); filtered.len()],
            filtered,
        }
    }

    #[test]
    fn unfiltered_patterns_need_no_join() {
        let ctx = PlanContext { requested: JoinAlgorithm::Auto, value_seeks: &[] };
        let plan = optimize(pattern(vec![false, false]), vec![step(10, 5), step(100, 20)], &ctx);
        assert!(plan.shortcut);
        assert_eq!(plan.algorithm, JoinAlgorithm::Sisj);
    }

    #[test]
    fn filtered_patterns_join_by_cost_unless_forced() {
        let plan = optimize(
            pattern(vec![true, false]),
            vec![step(10, 5), step(100, 20)],
            &PlanContext { requested: JoinAlgorithm::Auto, value_seeks: &[] },
        );
        assert!(!plan.shortcut);
        assert_eq!(plan.algorithm, JoinAlgorithm::Sisj);
        assert!(plan.reason.contains("25 of 110"), "{}", plan.reason);
        let forced = PlanContext { requested: JoinAlgorithm::StackTree, value_seeks: &[] };
        let plan = optimize(pattern(vec![false]), vec![step(10, 5)], &forced);
        assert!(!plan.shortcut);
        assert_eq!(plan.algorithm, JoinAlgorithm::StackTree);
    }
}
