use super::{PathPlan, PlanContext, Rule};
use crate::xpath::plan::JoinAlgorithm;

/// Picks the join algorithm: the requested one, or under `auto` the cheapest by the
/// labels each would read. Stack-Tree-Desc and TwigStack read every partition with a
/// step's name; SISJ reads only the partitions the structure-context index matched.
#[derive(Debug)]
pub struct ChooseJoin;

impl Rule for ChooseJoin {
    fn name(&self) -> &'static str {
        "choose_join"
    }

    fn rewrite(&self, mut plan: PathPlan, ctx: &PlanContext) -> PathPlan {
        if plan.shortcut {
            return plan;
        }
        let all: u64 = plan.partitions.iter().map(|s| s.candidate_nodes).sum();
        let matched: u64 = plan.partitions.iter().map(|s| s.matched_nodes).sum();
        if ctx.requested != JoinAlgorithm::Auto {
            plan.algorithm = ctx.requested;
            plan.reason = format!("forced by --join {}", ctx.requested.name());
            return plan;
        }
        let costs = [(JoinAlgorithm::Sisj, matched), (JoinAlgorithm::TwigStack, all), (JoinAlgorithm::StackTree, all)];
        let (best, cost) = costs.iter().copied().min_by_key(|&(_, c)| c).unwrap_or((JoinAlgorithm::Sisj, matched));
        plan.algorithm = best;
        plan.reason = format!("cheapest by labels read: {} reads {cost} of {all}", best.name());
        plan
    }
}
