use super::{PathPlan, PlanContext, Rule};
use crate::xpath::plan::JoinAlgorithm;

/// A pattern without predicates is answered by the union of its last step's matched
/// partitions: the path summary already proved every structural relation.
#[derive(Debug)]
pub struct PathSummaryShortcut;

impl Rule for PathSummaryShortcut {
    fn name(&self) -> &'static str {
        "path_summary_shortcut"
    }

    fn rewrite(&self, mut plan: PathPlan, ctx: &PlanContext) -> PathPlan {
        // A forced baseline join still runs, so that it can be measured.
        let allowed = matches!(ctx.requested, JoinAlgorithm::Auto | JoinAlgorithm::Sisj);
        if allowed && !plan.pattern.filtered.iter().any(|&f| f) {
            plan.shortcut = true;
            plan.algorithm = JoinAlgorithm::Sisj;
            plan.reason = "no predicates: the path summary answers the pattern".into();
        }
        plan
    }
}
