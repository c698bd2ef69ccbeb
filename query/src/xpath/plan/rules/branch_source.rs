use super::{PathPlan, PlanContext, Rule};
use crate::xpath::plan::twig::{Edge, LevelGap};
use crate::xpath::plan::JoinAlgorithm;

/// For SISJ: when a step has a branch of child steps (`a[b]`,
/// `a[x/y]`) whose matched leaves are fewer than the step's matched nodes, the
/// step's candidates are the leaves' ancestors at the branch's depth, found through
/// the parent labels, and the step's own partitions are not read at all. The branch
/// needs no join afterwards. A branch the value index answered counts the leaves it
/// found, not the leaves on its paths.
#[derive(Debug)]
pub struct ChooseBranchSource;

/// A parent lookup is a random access to a node record; reading a region from a
/// partition is sequential. On recursive-20 (`//a[b]//c`: 14,905 leaves against
/// 119,271 candidates) the two plans took the same time warm, and the lookups were
/// 7x slower cold (node chunks to decode), hence the weight.
const PARENT_LOOKUP_COST: u64 = 8;

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
            // Reaching an ancestor k levels up costs k + 1 record lookups per leaf.
            let best = branches
                .iter()
                .enumerate()
                .filter(|(_, b)| b.first == Edge::Child)
                .filter_map(|(j, b)| {
                    let LevelGap::Exactly(k) = b.gap() else { return None };
                    let indexed = plan.value_seeks.get(i).and_then(|s| s.get(j)).and_then(|s| s.as_ref());
                    let leaves = match indexed {
                        Some(seek) => Some(seek.found),
                        None => step.branch_leaf_nodes.get(j).copied(),
                    };
                    leaves.map(|n| (j, n.saturating_mul((u64::from(k) + 1) * PARENT_LOOKUP_COST)))
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
