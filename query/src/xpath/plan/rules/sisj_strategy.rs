use super::{PathPlan, PlanContext, Rule, SisjStrategy};
use crate::xpath::plan::JoinAlgorithm;

/// Partitions at least this large on average are joined pair by pair.
const LARGE_PARTITION: u64 = 64;

/// Chooses how SISJ joins: partition pairs when the matched partitions are large on
/// average, one pruned stream join when they are many and small.
#[derive(Debug)]
pub struct ChooseSisjStrategy;

impl Rule for ChooseSisjStrategy {
    fn name(&self) -> &'static str {
        "choose_sisj_strategy"
    }

    fn rewrite(&self, mut plan: PathPlan, _ctx: &PlanContext) -> PathPlan {
        if plan.algorithm != JoinAlgorithm::Sisj || plan.shortcut {
            return plan;
        }
        let partitions: u64 = plan.partitions.iter().map(|s| s.matched.len() as u64).sum();
        let nodes: u64 = plan.partitions.iter().map(|s| s.matched_nodes).sum();
        plan.sisj_strategy = if nodes >= LARGE_PARTITION * partitions.max(1) {
            SisjStrategy::PartitionPairs
        } else {
            SisjStrategy::PrunedStream
        };
        plan
    }
}
