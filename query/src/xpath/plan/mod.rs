//! Planning an XPath expression over one collection, before any of it runs: node tests
//! bound to the collection's names, and for every absolute path that starts with a
//! twig pattern, the structure-context index match and the rules' choice of join.
//! The evaluator (`exec`) only reads the [`PhysicalPlan`] this makes.

mod bind;
mod join_algorithm;
pub mod rules;
pub mod structure;
pub mod twig;
pub mod value_seek;

use std::collections::HashMap;

use sprig_index::{Collection, NodeKind};

pub use bind::{BoundTest, BoundTests};
pub use join_algorithm::JoinAlgorithm;
use structure::{match_partitions, BranchNames, PatternStep, StepPartitions};
use twig::TwigPattern;
use value_seek::ValueSeek;

use crate::xpath::compile::{Expr, PathFrom, Step, XPathPlan};

/// A compiled expression planned over one collection.
#[derive(Debug)]
pub struct PhysicalPlan {
    pub logical: XPathPlan,
    /// `logical.tests`, bound to the collection's name table.
    pub tests: BoundTests,
    /// The plan of every absolute path that starts with a twig pattern, by path id.
    /// A path without one (or every path, under `--join navigate`) is navigated.
    pub paths: HashMap<usize, PathPlan>,
    /// The algorithm asked for (`--join`); `Auto` lets the rules choose per path.
    pub join: JoinAlgorithm,
}

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
    /// For the baseline joins (Stack-Tree, TwigStack), which read every partition
    /// with a branch step's names: per pattern step, per branch, per branch step from
    /// the leaf up, those partitions. Empty for SISJ, which reads matched leaves only.
    pub baseline_branches: Vec<Vec<Vec<Vec<u32>>>>,
    /// For SISJ by partition pairs: per pattern step, per matched partition (in the
    /// order of `partitions[i].matched`), the matched partitions of the step before
    /// that it is joined with. Empty for the other plans.
    pub partition_pairs: Vec<Vec<Vec<u32>>>,
    /// Per pattern step, per branch: what the value index found for the branch's
    /// comparison, when it could answer it.
    pub value_seeks: Vec<Vec<Option<ValueSeek>>>,
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

/// Plans `logical` over `collection`: binds its node tests and plans every absolute
/// path, wherever it occurs (predicates and function arguments included).
pub fn plan(logical: XPathPlan, collection: &Collection, join: JoinAlgorithm) -> PhysicalPlan {
    let tests = BoundTests::bind(&logical, collection);
    let mut paths = HashMap::new();
    if join != JoinAlgorithm::Navigate {
        let mut absolute = Vec::new();
        absolute_paths(&logical.root, &mut absolute);
        for (id, steps) in absolute {
            if let Some(plan) = path_plan(steps, &logical, &tests, collection, join) {
                paths.insert(id, plan);
            }
        }
    }
    PhysicalPlan { logical, tests, paths, join }
}

/// The plan of one absolute path, `None` when it does not start with a twig pattern.
fn path_plan(
    steps: &[Step],
    logical: &XPathPlan,
    tests: &BoundTests,
    collection: &Collection,
    join: JoinAlgorithm,
) -> Option<PathPlan> {
    let pattern = twig::lower(steps, &logical.tests)?;
    let pattern_steps: Vec<PatternStep> = steps[..pattern.len]
        .iter()
        .zip(&pattern.edges)
        .zip(&pattern.branches)
        .map(|((s, &edge), branches)| PatternStep {
            edge,
            names: tests.step_names(s.test),
            branches: branches
                .iter()
                .map(|b| BranchNames {
                    first: b.first,
                    names: b.tests.iter().map(|&t| tests.step_names(t)).collect(),
                    leaf_kind: if b.attribute_leaf { NodeKind::Attribute } else { NodeKind::Element },
                })
                .collect(),
        })
        .collect();
    let summary = collection.paths();
    let partitions = match_partitions(summary, &pattern_steps);
    let value_seeks: Vec<Vec<Option<ValueSeek>>> = pattern
        .branches
        .iter()
        .map(|branches| branches.iter().map(|b| value_seek::seek(b, tests, collection)).collect())
        .collect();
    let ctx = rules::PlanContext { requested: join, value_seeks: &value_seeks };
    let mut plan = rules::optimize(pattern, partitions, &ctx);
    if !plan.shortcut && matches!(plan.algorithm, JoinAlgorithm::StackTree | JoinAlgorithm::TwigStack) {
        plan.baseline_branches = pattern_steps
            .iter()
            .map(|step| {
                step.branches
                    .iter()
                    .map(|branch| {
                        let leaf = branch.names.len() - 1;
                        (0..branch.names.len())
                            .rev()
                            .map(|k| {
                                let kind = if k == leaf { branch.leaf_kind } else { NodeKind::Element };
                                branch.names[k].partitions_of(summary, kind)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
    }
    if !plan.shortcut && plan.algorithm == JoinAlgorithm::Sisj && plan.sisj_strategy == SisjStrategy::PartitionPairs {
        plan.partition_pairs = (0..plan.partitions.len())
            .map(|i| {
                let before = i.checked_sub(1).map(|j| &plan.partitions[j]);
                let edge = plan.pattern.edges[i];
                plan.partitions[i].matched.iter().map(|&p| structure::parents_of(summary, p, edge, before)).collect()
            })
            .collect();
    }
    Some(plan)
}

/// Every path of `e` that starts at the root, with its id, outermost first.
fn absolute_paths<'e>(e: &'e Expr, out: &mut Vec<(usize, &'e [Step])>) {
    match e {
        Expr::Or(a, b) | Expr::And(a, b) | Expr::Compare(_, a, b) | Expr::Arith(_, a, b) | Expr::Union(a, b) => {
            absolute_paths(a, out);
            absolute_paths(b, out);
        }
        Expr::Negate(a) => absolute_paths(a, out),
        Expr::Filter(primary, predicates) => {
            absolute_paths(primary, out);
            predicates.iter().for_each(|p| absolute_paths(p, out));
        }
        Expr::Path { id, start, steps } => {
            match start {
                PathFrom::Root => out.push((*id, steps)),
                PathFrom::Expr(inner) => absolute_paths(inner, out),
                PathFrom::Context => {}
            }
            for step in steps {
                step.predicates.iter().for_each(|p| absolute_paths(p, out));
            }
        }
        Expr::Call(_, args) => args.iter().for_each(|a| absolute_paths(a, out)),
        Expr::Literal(_) | Expr::Number(_) => {}
    }
}
