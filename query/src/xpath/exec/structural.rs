//! Evaluating a path's twig pattern with structural joins: the physical side of
//! the planner. The pattern's result feeds the navigational steps after it.

use std::collections::HashMap;
use std::time::Instant;

use sprig_index::Document;

use super::joins::{disjoint_semijoin, stack_tree_desc, twig_stack_path, union_sorted, Edge, Region, TwigStats};
use super::navigate::{Eval, OperatorStats};
use crate::xpath::compile::{Expr, PathFrom, Step};
use crate::xpath::plan::{JoinAlgorithm, PathPlan, SisjStrategy};
use crate::xpath::value::Node;
use crate::Result;

impl Eval<'_, '_> {
    /// `count()` of an absolute path that the path summary answers whole (no
    /// predicates, no steps after the pattern): the sizes of the matched partitions,
    /// which are disjoint, summed. No node or region is read.
    pub(super) fn summary_count(&mut self, arg: &Expr) -> Result<Option<u64>> {
        self.check_deadline()?;
        Ok(self.summary_count_unchecked(arg))
    }

    pub(super) fn summary_count_unchecked(&self, arg: &Expr) -> Option<u64> {
        let Expr::Path { id, start: PathFrom::Root, steps } = arg else { return None };
        let plan = self.plan.paths.get(id)?;
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

    pub(super) fn document(&self, doc: u32) -> Result<&Document> {
        self.doc(Node::stored(doc, 0))
    }

    fn root_region(&self, doc: u32) -> Result<Region> {
        let len = self.document(doc)?.len();
        Ok(Region { pre: 0, end: len.saturating_sub(1), level: 0 })
    }

    /// The regions of one path partition of `doc`.
    pub(super) fn partition(&self, doc: u32, path: u32) -> Result<Vec<Region>> {
        let level = self.nav.collection.paths().get(path).map_or(0, |e| e.level);
        Ok(self.document(doc)?.regions(path)?.into_iter().map(|(pre, end)| Region { pre, end, level }).collect())
    }

    /// Whether the ancestors joined with partition `path` are so few that binary
    /// searches (about 20 segment probes each) beat reading the partition.
    fn few_ancestors(&self, previous: &HashMap<u32, Vec<Region>>, pairs: &[u32], path: u32) -> bool {
        let ancestors: usize = pairs.iter().filter_map(|q| previous.get(q)).map(Vec::len).sum();
        let size = self.nav.collection.paths().get(path).map_or(0, |e| e.count);
        (ancestors as u64).saturating_mul(256) < size
    }

    /// The regions of partition `path` of `doc` inside `ancestors` (sorted, disjoint).
    fn partition_within(&self, doc: u32, path: u32, ancestors: &[Region]) -> Result<Vec<Region>> {
        let level = self.nav.collection.paths().get(path).map_or(0, |e| e.level);
        let within: Vec<(u32, u32)> = ancestors.iter().map(|r| (r.pre, r.end)).collect();
        Ok(self
            .document(doc)?
            .regions_within(path, &within)?
            .into_iter()
            .map(|(pre, end)| Region { pre, end, level })
            .collect())
    }

    /// Every region of `partitions` in `doc`, in document order.
    pub(super) fn partitions(&self, doc: u32, partitions: &[u32]) -> Result<Vec<Region>> {
        let summary = self.nav.collection.paths();
        Ok(self
            .document(doc)?
            .regions_of(partitions)?
            .into_iter()
            .map(|(pre, end, path)| Region { pre, end, level: summary.get(path).map_or(0, |e| e.level) })
            .collect())
    }

    fn record_stats(&mut self, key: usize, step: usize, rows: usize, labels_read: u64, started: Instant) {
        if let Some(profile) = self.nav.profile.as_mut() {
            let stats: &mut OperatorStats = profile.entry((key, step)).or_default();
            stats.executions += 1;
            stats.rows += rows as u64;
            stats.labels_read += labels_read;
            stats.time += started.elapsed();
            stats.workers = stats.workers.max(sprig_index::parallel::take_workers_used());
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
            let (candidates, mut read) = match plan.branch_source[i] {
                Some(b) => {
                    let (candidates, read) = self.candidates_from_branch(doc, plan, i, b)?;
                    (candidates.into_iter().map(|(r, _)| r).collect(), read)
                }
                None => {
                    let candidates = self.partitions(doc, &step_partitions.matched)?;
                    let read = candidates.len() as u64;
                    (candidates, read)
                }
            };
            let joined =
                if exact { candidates } else { stack_tree_desc(&previous, &candidates, plan.pattern.edges[i]) };
            // Before a descendant edge only the outermost passing nodes matter: the ones
            // inside them add no descendants. Value tests and residual predicates,
            // the costly part, then run only on nodes that no passing node covers.
            let outermost = plan.pattern.filtered[i] && plan.pattern.edges.get(i + 1) == Some(&Edge::Descendant);
            let (branched, leaves_read) = self.sisj_branches(doc, plan, i, joined, outermost)?;
            read += leaves_read;
            previous = if outermost {
                let (kept, leaves_read) = self.outermost_passing(doc, steps, plan, i, branched)?;
                read += leaves_read;
                kept
            } else {
                self.filter_residual(doc, steps, plan, i, branched)?
            };
            exact &= !plan.pattern.filtered[i];
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
            let mut current = HashMap::with_capacity(step_partitions.matched.len());
            let (mut rows, mut read) = (0, 0u64);
            let mut from_branch: Option<HashMap<u32, Vec<Region>>> = None;
            if let Some(b) = plan.branch_source[i] {
                let (candidates, leaves_read) = self.candidates_from_branch(doc, plan, i, b)?;
                read += leaves_read;
                let mut by_partition: HashMap<u32, Vec<Region>> = HashMap::new();
                for (region, path) in candidates {
                    by_partition.entry(path).or_default().push(region);
                }
                from_branch = Some(by_partition);
            }
            for (&p, pairs) in step_partitions.matched.iter().zip(&plan.partition_pairs[i]) {
                let candidates = match from_branch.as_mut() {
                    Some(by_partition) => by_partition.remove(&p).unwrap_or_default(),
                    None if !exact && self.few_ancestors(&previous, pairs, p) => {
                        // A handful of ancestors (a value lookup before): find their
                        // descendants by binary search instead of reading the partition.
                        let ancestors = union_sorted(pairs.iter().filter_map(|q| previous.get(q)).cloned().collect());
                        let candidates = self.partition_within(doc, p, &ancestors)?;
                        read += candidates.len() as u64;
                        candidates
                    }
                    None => {
                        let candidates = self.partition(doc, p)?;
                        read += candidates.len() as u64;
                        candidates
                    }
                };
                let joined = if exact {
                    candidates
                } else {
                    let lists = pairs
                        .iter()
                        .filter_map(|q| previous.get(q))
                        .map(|ancestors| disjoint_semijoin(ancestors, &candidates))
                        .collect();
                    union_sorted(lists)
                };
                current.insert(p, joined);
            }
            // A branch the candidates came from needs no join.
            let sourced = usize::from(plan.branch_source[i].is_some());
            if plan.pattern.branches[i].len() > sourced {
                // One semi-join per branch over the whole step, then back to partitions.
                let all = union_sorted(current.values().cloned().collect());
                let (branched, leaves_read) = self.sisj_branches(doc, plan, i, all, false)?;
                read += leaves_read;
                for regions in current.values_mut() {
                    retain_sorted(regions, &branched);
                }
            }
            rows += self.filter_residual_parts(doc, steps, plan, i, &mut current, &step_partitions.matched)?;
            exact &= !plan.pattern.filtered[i];
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
            let mut read = descendants.len() as u64;
            let joined = stack_tree_desc(&ancestors, &descendants, plan.pattern.edges[i]);
            let (branched, leaves_read) = self.joined_branches(doc, plan, i, joined)?;
            read += leaves_read;
            ancestors = self.filter_residual(doc, steps, plan, i, branched)?;
            self.record_stats(key, i, ancestors.len(), read, started);
        }
        Ok(ancestors)
    }

    /// Baseline: one holistic TwigStack pass over one stream per pattern node. Branches
    /// are joined into their node's stream first; residual predicates are checked as
    /// TwigStack pushes a node.
    fn run_twig_stack(&mut self, key: usize, doc: u32, steps: &[Step], plan: &PathPlan) -> Result<Vec<Region>> {
        let started = Instant::now();
        let mut streams = vec![vec![self.root_region(doc)?]];
        let mut read = 0;
        for (i, step_partitions) in plan.partitions.iter().enumerate() {
            let stream = self.partitions(doc, &step_partitions.candidates)?;
            read += stream.len() as u64;
            let (branched, leaves_read) = self.joined_branches(doc, plan, i, stream)?;
            read += leaves_read;
            streams.push(branched);
        }
        let mut stats = TwigStats::default();
        // Stream 0 is the root; stream i is pattern step i - 1.
        let mut keep = |q: usize, r: &Region| if q == 0 { Ok(true) } else { self.keep(doc, steps, plan, q - 1, r) };
        let res = twig_stack_path(&streams, &plan.pattern.edges, &mut keep, &mut stats)?;
        self.record_stats(key, plan.pattern.len - 1, res.len(), read, started);
        Ok(res)
    }
}

/// Keeps the regions of `regions` that are in `keep`: both sorted by `pre`, so one
/// merge (a binary search per region showed in profiles of `//a[b]//c`).
fn retain_sorted(regions: &mut Vec<Region>, keep: &[Region]) {
    let mut k = 0;
    regions.retain(|r| {
        while keep.get(k).is_some_and(|x| x.pre < r.pre) {
            k += 1;
        }
        keep.get(k).is_some_and(|x| x.pre == r.pre)
    });
}
