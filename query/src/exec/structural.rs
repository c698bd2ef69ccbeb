//! Evaluating a path's twig pattern with structural joins: the physical side of
//! the planner. The pattern's result feeds the navigational steps after it.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use sprig_index::Document;

use super::navigate::{BoundTest, Context, Eval, OperatorStats};
use crate::logical::twig;
use crate::logical::xpath::PathFrom;
use crate::logical::{Expr, Step};
use crate::optimizer::{optimize, PathPlan, PlanContext, SisjStrategy};
use crate::physical::joins::{disjoint_semijoin, stack_tree_desc, twig_stack_path, union_sorted, Region, TwigStats};
use crate::physical::structure::{match_partitions, StepNames};
use crate::physical::JoinAlgorithm;
use crate::value::Node;
use crate::Result;

impl Eval<'_, '_> {
    /// The plan for an absolute path's twig pattern, made once per query; `None` when
    /// the path does not start with one.
    pub(super) fn path_plan(&mut self, expr: &Expr, steps: &[Step]) -> Option<Rc<PathPlan>> {
        let key = expr as *const Expr as usize;
        if let Some(plan) = self.nav.path_plans.get(&key) {
            return Some(plan.clone());
        }
        let pattern = twig::lower(steps, self.plan_tests)?;
        let names: Vec<StepNames> = steps[..pattern.len]
            .iter()
            .map(|s| match &self.tests.named[s.test] {
                BoundTest::Names(ids) => StepNames::Some(ids.clone()),
                BoundTest::AnyName => StepNames::Any,
                _ => StepNames::Some(Vec::new()),
            })
            .collect();
        let partitions = match_partitions(self.nav.collection.paths(), &pattern.edges, &names);
        let plan = Rc::new(optimize(pattern, partitions, &PlanContext { requested: self.nav.join }));
        self.nav.path_plans.insert(key, plan.clone());
        Some(plan)
    }

    /// `count()` of an absolute path that the path summary answers whole (no
    /// predicates, no steps after the pattern): the sizes of the matched partitions,
    /// which are disjoint, summed. No node or region is read.
    pub(super) fn summary_count(&mut self, arg: &Expr) -> Result<Option<u64>> {
        self.check_deadline()?;
        Ok(self.summary_count_unchecked(arg))
    }

    pub(super) fn summary_count_unchecked(&mut self, arg: &Expr) -> Option<u64> {
        let Expr::Path { start: PathFrom::Root, steps } = arg else { return None };
        if self.nav.join == JoinAlgorithm::Navigate {
            return None;
        }
        let plan = self.path_plan(arg, steps)?;
        if !plan.shortcut || plan.pattern.len != steps.len() {
            return None;
        }
        let summary = self.nav.collection.paths();
        let last = plan.partitions.last()?;
        Some(last.matched.iter().filter_map(|&p| summary.get(p)).map(|e| e.count).sum())
    }

    /// The nodes matched by the pattern of `plan`, in document order.
    pub(super) fn eval_pattern(&mut self, key: usize, steps: &[Step], plan: &PathPlan) -> Result<Vec<Node>> {
        let mut res = Vec::new();
        for doc in 0..self.nav.docs.len() as u32 {
            self.check_deadline()?;
            let regions = if plan.shortcut {
                self.run_shortcut(key, doc, plan)?
            } else {
                match plan.algorithm {
                    JoinAlgorithm::StackTree => self.run_stack_tree(key, doc, steps, plan)?,
                    JoinAlgorithm::TwigStack => self.run_twig_stack(key, doc, steps, plan)?,
                    _ => self.run_sisj(key, doc, steps, plan)?,
                }
            };
            res.extend(regions.into_iter().map(|r| Node::stored(doc, r.pre)));
        }
        Ok(res)
    }

    fn document(&self, doc: u32) -> Result<&Document> {
        self.doc(Node::stored(doc, 0))
    }

    fn root_region(&self, doc: u32) -> Result<Region> {
        let len = self.document(doc)?.len();
        Ok(Region { pre: 0, end: len.saturating_sub(1), level: 0 })
    }

    /// The regions of one path partition of `doc`.
    fn partition(&self, doc: u32, path: u32) -> Result<Vec<Region>> {
        let level = self.nav.collection.paths().get(path).map_or(0, |e| e.level);
        Ok(self.document(doc)?.regions(path)?.into_iter().map(|(pre, end)| Region { pre, end, level }).collect())
    }

    /// Every region of `partitions` in `doc`, in document order.
    fn partitions(&self, doc: u32, partitions: &[u32]) -> Result<Vec<Region>> {
        let summary = self.nav.collection.paths();
        Ok(self
            .document(doc)?
            .regions_of(partitions)?
            .into_iter()
            .map(|(pre, end, path)| Region { pre, end, level: summary.get(path).map_or(0, |e| e.level) })
            .collect())
    }

    /// Keeps the regions whose node passes the predicates of pattern step `i`.
    fn keep(&mut self, doc: u32, step: &Step, region: &Region) -> Result<bool> {
        let context = Context { node: Node::stored(doc, region.pre), position: 1, size: 1 };
        for p in &step.predicates {
            if !self.boolean(p, context)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn filter_regions(&mut self, doc: u32, step: &Step, regions: Vec<Region>) -> Result<Vec<Region>> {
        if step.predicates.is_empty() {
            return Ok(regions);
        }
        let mut kept = Vec::with_capacity(regions.len());
        for r in regions {
            if self.keep(doc, step, &r)? {
                kept.push(r);
            }
        }
        Ok(kept)
    }

    fn record_stats(&mut self, key: usize, step: usize, rows: usize, labels_read: u64, started: Instant) {
        if let Some(profile) = self.nav.profile.as_mut() {
            let stats: &mut OperatorStats = profile.entry((key, step)).or_default();
            stats.executions += 1;
            stats.rows += rows as u64;
            stats.labels_read += labels_read;
            stats.time += started.elapsed();
        }
    }

    /// No predicates: the last step's matched partitions are the answer.
    fn run_shortcut(&mut self, key: usize, doc: u32, plan: &PathPlan) -> Result<Vec<Region>> {
        let started = Instant::now();
        let last = plan.partitions.last().map(|s| s.matched.as_slice()).unwrap_or_default();
        let res = self.partitions(doc, last)?;
        self.record_stats(key, plan.pattern.len - 1, res.len(), res.len() as u64, started);
        Ok(res)
    }

    /// SISJ: only matched partitions are read, and joins run only where predicates
    /// filtered an earlier step (elsewhere the path summary proves the structure).
    fn run_sisj(&mut self, key: usize, doc: u32, steps: &[Step], plan: &PathPlan) -> Result<Vec<Region>> {
        match plan.sisj_strategy {
            SisjStrategy::PartitionPairs => self.run_sisj_pairs(key, doc, steps, plan),
            SisjStrategy::PrunedStream => self.run_sisj_stream(key, doc, steps, plan),
        }
    }

    /// SISJ over the union of each step's matched partitions: one stack join per
    /// filtered edge.
    fn run_sisj_stream(&mut self, key: usize, doc: u32, steps: &[Step], plan: &PathPlan) -> Result<Vec<Region>> {
        let mut previous = vec![self.root_region(doc)?];
        let mut exact = true;
        for (i, step_partitions) in plan.partitions.iter().enumerate() {
            let started = Instant::now();
            let candidates = self.partitions(doc, &step_partitions.matched)?;
            let read = candidates.len() as u64;
            let joined =
                if exact { candidates } else { stack_tree_desc(&previous, &candidates, plan.pattern.edges[i]) };
            previous = self.filter_regions(doc, &steps[i], joined)?;
            exact &= steps[i].predicates.is_empty();
            self.record_stats(key, i, previous.len(), read, started);
        }
        Ok(previous)
    }

    /// SISJ per matched partition: merge-join with the filtered nodes of each matched
    /// parent partition.
    fn run_sisj_pairs(&mut self, key: usize, doc: u32, steps: &[Step], plan: &PathPlan) -> Result<Vec<Region>> {
        let mut previous: HashMap<u32, Vec<Region>> = HashMap::from([(0, vec![self.root_region(doc)?])]);
        // While no predicate has filtered anything, a matched partition is its own answer.
        let mut exact = true;
        for (i, step_partitions) in plan.partitions.iter().enumerate() {
            let started = Instant::now();
            let step = &steps[i];
            let mut current = HashMap::with_capacity(step_partitions.matched.len());
            let (mut rows, mut read) = (0, 0u64);
            for &p in &step_partitions.matched {
                let candidates = self.partition(doc, p)?;
                read += candidates.len() as u64;
                let joined = if exact {
                    candidates
                } else {
                    let parents = step_partitions.parents.get(&p).map(Vec::as_slice).unwrap_or_default();
                    let lists = parents
                        .iter()
                        .filter_map(|q| previous.get(q))
                        .map(|ancestors| disjoint_semijoin(ancestors, &candidates))
                        .collect();
                    union_sorted(lists)
                };
                let kept = self.filter_regions(doc, step, joined)?;
                rows += kept.len();
                current.insert(p, kept);
            }
            exact &= step.predicates.is_empty();
            previous = current;
            self.record_stats(key, i, rows, read, started);
        }
        let last = plan.partitions.last().map(|s| s.matched.as_slice()).unwrap_or_default();
        Ok(union_sorted(last.iter().filter_map(|p| previous.remove(p)).collect()))
    }

    /// Baseline: one Stack-Tree-Desc join per edge over every partition with the name.
    fn run_stack_tree(&mut self, key: usize, doc: u32, steps: &[Step], plan: &PathPlan) -> Result<Vec<Region>> {
        let mut ancestors = vec![self.root_region(doc)?];
        for (i, step_partitions) in plan.partitions.iter().enumerate() {
            let started = Instant::now();
            let descendants = self.partitions(doc, &step_partitions.candidates)?;
            let read = descendants.len() as u64;
            let joined = stack_tree_desc(&ancestors, &descendants, plan.pattern.edges[i]);
            ancestors = self.filter_regions(doc, &steps[i], joined)?;
            self.record_stats(key, i, ancestors.len(), read, started);
        }
        Ok(ancestors)
    }

    /// Baseline: one holistic TwigStack pass over one stream per pattern node.
    fn run_twig_stack(&mut self, key: usize, doc: u32, steps: &[Step], plan: &PathPlan) -> Result<Vec<Region>> {
        let started = Instant::now();
        let mut streams = vec![vec![self.root_region(doc)?]];
        for step_partitions in &plan.partitions {
            streams.push(self.partitions(doc, &step_partitions.candidates)?);
        }
        let read = streams.iter().map(|s| s.len() as u64).sum::<u64>() - 1;
        let mut stats = TwigStats::default();
        // Stream 0 is the root; stream i is pattern step i - 1.
        let mut keep = |q: usize, r: &Region| if q == 0 { Ok(true) } else { self.keep(doc, &steps[q - 1], r) };
        let res = twig_stack_path(&streams, &plan.pattern.edges, &mut keep, &mut stats)?;
        self.record_stats(key, plan.pattern.len - 1, res.len(), read, started);
        Ok(res)
    }
}
