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

use crate::logical::twig::TwigPattern;
use crate::physical::structure::StepPartitions;
use crate::physical::JoinAlgorithm;

/// How a twig pattern will be evaluated.
#[derive(Debug, Clone)]
pub struct PathPlan {
    pub pattern: TwigPattern,
    /// What the structure-context index matched, per pattern step.
    pub partitions: Vec<StepPartitions>,
    /// Answer with the union of the last step's matched partitions: no join at all.
    pub shortcut: bool,
    /// The join algorithm; never `Auto` after [`optimize`].
    pub algorithm: JoinAlgorithm,
    /// Why the algorithm was chosen, for EXPLAIN.
    pub reason: String,
    /// How SISJ joins, when it does.
    pub sisj_strategy: SisjStrategy,
    /// Per pattern step: the branch whose leaves give the step's candidates (their
    /// ancestors at the branch's depth), instead of reading the step's partitions.
    pub branch_source: Vec<Option<usize>>,
}

/// The two ways SISJ joins a step with the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SisjStrategy {
    /// Each matched partition against each matched parent partition, by a stackless
    /// merge of disjoint regions: best when partitions are few and large.
    PartitionPairs,
    /// One stack join of the union of the matched partitions against the previous
    /// result: best when there are many small partitions (recursive data), where
    /// per-partition work would dominate. Pruned partitions are still never read.
    PrunedStream,
}

impl SisjStrategy {
    pub fn name(self) -> &'static str {
        match self {
            SisjStrategy::PartitionPairs => "partition-pairs",
            SisjStrategy::PrunedStream => "pruned-stream",
        }
    }
}

/// What the rules may look at.
#[derive(Debug, Clone, Copy)]
pub struct PlanContext {
    /// The algorithm the user asked for (`--join`).
    pub requested: JoinAlgorithm,
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
    use crate::physical::joins::Edge;

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
        let ctx = PlanContext { requested: JoinAlgorithm::Auto };
        let plan = optimize(pattern(vec![false, false]), vec![step(10, 5), step(100, 20)], &ctx);
        assert!(plan.shortcut);
        assert_eq!(plan.algorithm, JoinAlgorithm::Sisj);
    }

    #[test]
    fn filtered_patterns_join_by_cost_unless_forced() {
        let plan = optimize(
            pattern(vec![true, false]),
            vec![step(10, 5), step(100, 20)],
            &PlanContext { requested: JoinAlgorithm::Auto },
        );
        assert!(!plan.shortcut);
        assert_eq!(plan.algorithm, JoinAlgorithm::Sisj);
        assert!(plan.reason.contains("25 of 110"), "{}", plan.reason);
        let forced = PlanContext { requested: JoinAlgorithm::StackTree };
        let plan = optimize(pattern(vec![false]), vec![step(10, 5)], &forced);
        assert!(!plan.shortcut);
        assert_eq!(plan.algorithm, JoinAlgorithm::StackTree);
    }
}
