//! Building the EXPLAIN tree of a compiled expression: path plans come from the same
//! planner the evaluator uses, and PROFILE attaches the counters it recorded.

use super::navigate::{Eval, Navigator};
use crate::common::explain::PlanNode;
use crate::xpath::compile::{Expr, Function, PathFrom, Step, Test};
use crate::xpath::plan::structure::pair_count;
use crate::xpath::plan::twig::Edge;
use crate::xpath::plan::{JoinAlgorithm, PathPlan, PhysicalPlan, SisjStrategy};
use crate::xpath::syntax::ast::{ArithOp, Axis};
use crate::xpath::value::Value;

impl Navigator<'_> {
    /// The operator tree of `plan`; after [`Navigator::evaluate`] on a profiling
    /// navigator, with actual rows and times.
    pub fn explain(&mut self, plan: &PhysicalPlan) -> PlanNode {
        let mut eval = Eval { nav: self, plan };
        eval.explain_expr(&plan.logical.root)
    }
}

fn step_text(step: &Step, tests: &[Test]) -> String {
    let test = match &tests[step.test] {
        Test::AnyNode => "node()".to_string(),
        Test::Text => "text()".to_string(),
        Test::Comment => "comment()".to_string(),
        Test::ProcessingInstruction(None) => "processing-instruction()".to_string(),
        Test::ProcessingInstruction(Some(t)) => format!("processing-instruction('{t}')"),
        Test::AnyName => "*".to_string(),
        Test::Namespace(uri) => format!("{{{uri}}}*"),
        Test::Name { uri, local } if uri.is_empty() => local.clone(),
        Test::Name { uri, local } => format!("{{{uri}}}{local}"),
    };
    let predicates =
        if step.predicates.is_empty() { String::new() } else { format!("[{} predicate(s)]", step.predicates.len()) };
    format!("{}::{test}{predicates}", step.axis.name())
}

fn steps_text(steps: &[Step], tests: &[Test]) -> String {
    steps.iter().map(|s| step_text(s, tests)).collect::<Vec<_>>().join("/")
}

/// The branch predicates of pattern step `i`, joined structurally: `child::b, descendant::x/child::y`.
fn branches_text(plan: &PathPlan, i: usize, tests: &[Test]) -> Option<String> {
    let branches = plan.pattern.branches.get(i).filter(|b| !b.is_empty())?;
    let text = branches.iter().map(|b| {
        let path = b
            .tests
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                let axis = match k {
                    _ if k + 1 == b.tests.len() && b.attribute_leaf => Axis::Attribute,
                    0 if b.first == Edge::Descendant => Axis::Descendant,
                    _ => Axis::Child,
                };
                step_text(&Step { axis, test: t, predicates: Vec::new(), position_free: true }, tests)
            })
            .collect::<Vec<_>>()
            .join("/");
        match &b.value {
            None => path,
            Some(cmp) => {
                let literal = match &cmp.literal {
                    Value::String(s) => format!("'{s}'"),
                    Value::Number(n) => crate::xpath::value::number_to_string(*n),
                    other => format!("{other:?}"),
                };
                let (lhs, rhs) = if cmp.swapped { (literal, path) } else { (path, literal) };
                format!("{lhs} {} {rhs}", cmp.op.xpath_symbol())
            }
        }
    });
    Some(text.collect::<Vec<_>>().join(", "))
}

/// Adds the `branches` detail when step `i` has branch predicates, and
/// `value_index` with the leaves the value index found for each branch it answered.
fn with_branches(node: PlanNode, plan: &PathPlan, i: usize, tests: &[Test]) -> PlanNode {
    let node = match branches_text(plan, i, tests) {
        Some(text) => node.detail("branches", text),
        None => return node,
    };
    let found: Vec<String> = plan
        .value_seeks
        .get(i)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(b, seek)| seek.as_ref().map(|s| format!("branch {}: {} leaves", b + 1, s.found)))
        .collect();
    if found.is_empty() {
        node
    } else {
        node.detail("value_index", found.join(", "))
    }
}

impl Eval<'_, '_> {
    fn explain_expr(&mut self, e: &Expr) -> PlanNode {
        match e {
            Expr::Literal(s) => PlanNode::new("Literal").detail("value", s.as_str()),
            Expr::Number(n) => PlanNode::new("Number").detail("value", crate::xpath::value::number_to_string(*n)),
            Expr::Or(a, b) => self.binary("Or", a, b),
            Expr::And(a, b) => self.binary("And", a, b),
            Expr::Union(a, b) => self.binary("Union", a, b),
            Expr::Negate(a) => PlanNode::new("Negate").child(self.explain_expr(a)),
            Expr::Compare(op, a, b) => self.binary("Compare", a, b).detail("op", op.xpath_symbol()),
            Expr::Arith(op, a, b) => {
                let op = match op {
                    ArithOp::Add => "+",
                    ArithOp::Sub => "-",
                    ArithOp::Mul => "*",
                    ArithOp::Div => "div",
                    ArithOp::Mod => "mod",
                };
                self.binary("Arithmetic", a, b).detail("op", op)
            }
            Expr::Call(Function::Count, args) if self.summary_count_unchecked(&args[0]).is_some() => {
                // The count comes from the path summary; show what it summed.
                let child = self.explain_expr(&args[0]);
                let mut node = PlanNode::new("PathSummaryCount")
                    .detail("reason", "count of an unfiltered pattern: partition sizes summed, no regions read")
                    .child(PlanNode { rows: None, time: None, ..child });
                node.estimated_rows = Some(1);
                node
            }
            Expr::Call(f, args) => {
                let mut node = PlanNode::new("Function").detail("name", format!("{f:?}"));
                for a in args {
                    node = node.child(self.explain_expr(a));
                }
                node
            }
            Expr::Filter(primary, predicates) => {
                PlanNode::new("Filter").detail("predicates", predicates.len()).child(self.explain_expr(primary))
            }
            Expr::Path { id, start, steps } => self.explain_path(*id, start, steps),
        }
    }

    fn binary(&mut self, operator: &str, a: &Expr, b: &Expr) -> PlanNode {
        PlanNode::new(operator).child(self.explain_expr(a)).child(self.explain_expr(b))
    }

    fn explain_path(&mut self, id: usize, start: &PathFrom, steps: &[Step]) -> PlanNode {
        let navigate = |from: &str, tests: &[Test]| {
            PlanNode::new("Navigate").detail("from", from).detail("steps", steps_text(steps, tests))
        };
        match start {
            PathFrom::Context => return navigate("context", &self.plan.logical.tests),
            PathFrom::Expr(inner) => {
                let child = self.explain_expr(inner);
                return navigate("expression", &self.plan.logical.tests).child(child);
            }
            PathFrom::Root => {}
        }
        if self.plan.join == JoinAlgorithm::Navigate {
            return navigate("root", &self.plan.logical.tests).detail("reason", "forced by --join navigate");
        }
        let Some(plan) = self.plan.paths.get(&id) else {
            return navigate("root", &self.plan.logical.tests)
                .detail("reason", "the path does not start with child or descendant name steps");
        };
        let pattern = self.explain_pattern(id, steps, plan);
        let rest = &steps[plan.pattern.len..];
        if rest.is_empty() {
            pattern
        } else {
            PlanNode::new("Navigate")
                .detail("from", "pattern")
                .detail("steps", steps_text(rest, &self.plan.logical.tests))
                .child(pattern)
        }
    }

    fn with_actuals(&self, mut node: PlanNode, key: usize, step: usize) -> PlanNode {
        if let Some(profile) = &self.nav.profile {
            let stats = profile.get(&(key, step)).copied().unwrap_or_default();
            node.rows = Some(stats.rows);
            node.time = Some(stats.time);
            node = node.detail("labels_read", stats.labels_read);
            if stats.workers > 1 {
                node = node.detail("workers", stats.workers as u64);
            }
        }
        node
    }

    fn explain_pattern(&self, key: usize, steps: &[Step], plan: &PathPlan) -> PlanNode {
        let tests = &self.plan.logical.tests;
        let last = plan.pattern.len - 1;
        if plan.shortcut {
            let p = &plan.partitions[last];
            let node = PlanNode::new("PathSummaryScan")
                .detail("pattern", steps_text(&steps[..plan.pattern.len], tests))
                .detail("reason", plan.reason.as_str())
                .detail("partitions_read", p.matched.len())
                .detail("partitions_total", p.candidates.len())
                .detail("candidates", p.matched_nodes)
                .detail("of", p.candidate_nodes)
                .detail("labels_skipped", p.candidate_nodes - p.matched_nodes);
            let node = PlanNode { estimated_rows: Some(p.matched_nodes), ..node };
            return self.with_actuals(node, key, last);
        }
        let index_scan = |i: usize| {
            let p = &plan.partitions[i];
            let node = PlanNode {
                estimated_rows: Some(p.candidate_nodes),
                ..PlanNode::new("IndexScan")
                    .detail("step", step_text(&steps[i], tests))
                    .detail("partitions", p.candidates.len())
                    .detail("labels", p.candidate_nodes)
            };
            with_branches(node, plan, i, tests)
        };
        match plan.algorithm {
            JoinAlgorithm::TwigStack => {
                let mut node = PlanNode::new("TwigStack")
                    .detail("pattern", steps_text(&steps[..plan.pattern.len], tests))
                    .detail("reason", plan.reason.as_str());
                node.estimated_rows = Some(plan.partitions[last].candidate_nodes);
                for i in 0..plan.pattern.len {
                    node = node.child(index_scan(i));
                }
                self.with_actuals(node, key, last)
            }
            JoinAlgorithm::StackTree => {
                let mut node = PlanNode::new("Root");
                for (i, step) in steps[..plan.pattern.len].iter().enumerate() {
                    let mut join = PlanNode::new("StackTreeDesc")
                        .detail("step", step_text(step, tests))
                        .child(node)
                        .child(index_scan(i));
                    if i == last {
                        join = join.detail("reason", plan.reason.as_str());
                    }
                    join.estimated_rows = Some(plan.partitions[i].candidate_nodes);
                    node = self.with_actuals(join, key, i);
                }
                node
            }
            _ => {
                let mut node = PlanNode::new("Root");
                for (i, step) in steps[..plan.pattern.len].iter().enumerate() {
                    let p = &plan.partitions[i];
                    let before = i.checked_sub(1).map(|j| &plan.partitions[j]);
                    let summary = self.nav.collection.paths();
                    let pairs = pair_count(summary, p, plan.pattern.edges[i], before);
                    let mut join = PlanNode::new("SISJ")
                        .detail("step", step_text(step, tests))
                        .detail("partitions_read", p.matched.len())
                        .detail("partitions_total", p.candidates.len())
                        .detail("partition_pairs", pairs)
                        .detail("candidates", p.matched_nodes)
                        .detail("of", p.candidate_nodes)
                        .detail("labels_skipped", p.candidate_nodes - p.matched_nodes)
                        .child(node);
                    join = with_branches(join, plan, i, tests);
                    if let Some(b) = plan.branch_source.get(i).copied().flatten() {
                        let depth = plan.pattern.branches[i][b].tests.len();
                        join = join
                            .detail(
                                "candidates_from",
                                format!("ancestors {depth} level(s) above branch {}'s leaves", b + 1),
                            )
                            .detail("leaf_partitions", p.branch_leaves[b].len());
                    }
                    let stream = plan.sisj_strategy == SisjStrategy::PrunedStream;
                    if stream && plan.pattern.filtered[i] && plan.pattern.edges.get(i + 1) == Some(&Edge::Descendant) {
                        join = join.detail("keeps", "outermost passing nodes");
                    }
                    if p.pruned_by_branches > 0 {
                        join = join.detail("pruned_by_branches", p.pruned_by_branches);
                    }
                    if i == last {
                        join =
                            join.detail("reason", plan.reason.as_str()).detail("strategy", plan.sisj_strategy.name());
                    }
                    join.estimated_rows = Some(p.matched_nodes);
                    node = self.with_actuals(join, key, i);
                }
                node
            }
        }
    }
}
