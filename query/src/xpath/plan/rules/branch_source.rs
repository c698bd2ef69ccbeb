use super::{PathPlan, PlanContext, Rule};
use crate::xpath::plan::twig::{Edge, LevelGap};
use crate::xpath::plan::JoinAlgorithm;

/// For SISJ: when a step has a branch of child steps (`a[b]`,
/// `a[x/y]`) whose matched leaves are fewer than the step's matched nodes, the
/// step's candidates are the leaves' ancestors at the branch's depth, found by
/// searching the ancestors' partitions of the region table, and the step's own
/// partitions are not read whole. The branch needs no join afterwards. A branch the
/// value index answered counts the leaves it found, not the leaves on its paths.
#[derive(Debug)]
pub struct ChooseBranchSource;

/// A leaf costs a galloping search in its ancestor's partition (and, when the value
/// index found it, one in its own partition): a few probes of sorted regions, where
/// reading a partition costs one region per node. On XMark f1x10
/// (`//person[profile/@income > 50000]`: 47,280 leaves against 255,000 persons)
/// searching took 3.5 ms where reading and joining the partitions took 19 ms.
const LEAF_SEARCH_COST: u64 = 4;

impl Rule for ChooseBranchSource {
    fn name(&self) -> &'static str {
        "choose_branch_source"
    }

    fn rewrite(&self, mut plan: PathPlan, _ctx: &PlanContext) -> PathPlan {
        plan.branch_source = vec![None; plan.pattern.len];
        if plan.algorithm != JoinAlgorithm::Sisj || plan.shortcut {
            return plan;
        }
        for (i, branches) in plan.pattern.branches.iter().enumerate() {
            let step = &plan.partitions[i];
            let best = branches
                .iter()
                .enumerate()
                .filter(|(_, b)| b.first == Edge::Child && matches!(b.gap(), LevelGap::Exactly(_)))
                .filter_map(|(j, _)| {
                    let indexed = plan.value_seeks.get(i).and_then(|s| s.get(j)).and_then(|s| s.as_ref());
                    let leaves = match indexed {
                        Some(seek) => Some(seek.found),
                        None => step.branch_leaf_nodes.get(j).copied(),
                    };
                    leaves.map(|n| (j, n.saturating_mul(LEAF_SEARCH_COST)))
                })
                .min_by_key(|&(_, cost)| cost);
            if let Some((j, cost)) = best {
                if cost < step.matched_nodes {
                    plan.branch_source[i] = Some(j);
                }
            }
        }
        plan
    }
}
