//! Filtering a twig pattern step's candidates: branch predicates joined
//! structurally (SISJ against the matched leaf partitions, the baselines against
//! every element with the branch's names), value tests on branch leaves, residual
//! predicates per node, and SISJ's outermost-node filter before descendant edges.

use std::collections::HashMap;

use sprig_index::PathSummary;

use super::navigate::{compare_string, Context, Eval};
use crate::xpath::compile::Step;
use crate::xpath::exec::joins::{ancestor_semijoin, descendants_at, Edge, LevelGap, Region};
use crate::xpath::plan::structure::StepNames;
use crate::xpath::plan::twig::Branch;
use crate::xpath::plan::value_seek::ValueSeek;
use crate::xpath::plan::PathPlan;
use crate::xpath::value::Node;
use crate::Result;

impl Eval<'_, '_> {
    /// Whether the node of `region` passes the residual (non-branch) predicates of
    /// pattern step `i`.
    pub(super) fn keep(
        &mut self,
        doc: u32,
        steps: &[Step],
        plan: &PathPlan,
        i: usize,
        region: &Region,
    ) -> Result<bool> {
        let context = Context { node: Node::stored(doc, region.pre), position: 1, size: 1 };
        for (p, predicate) in steps[i].predicates.iter().enumerate() {
            if plan.pattern.is_residual(i, p) && !self.boolean(predicate, context)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Keeps the regions whose node passes the residual predicates of pattern step `i`.
    pub(super) fn filter_residual(
        &mut self,
        doc: u32,
        steps: &[Step],
        plan: &PathPlan,
        i: usize,
        regions: Vec<Region>,
    ) -> Result<Vec<Region>> {
        let residual = (0..steps[i].predicates.len()).any(|p| plan.pattern.is_residual(i, p));
        if !residual {
            return Ok(regions);
        }
        let keep = self.test_each(&regions, |eval, r| eval.keep(doc, steps, plan, i, r))?;
        Ok(regions.into_iter().zip(keep).filter(|(_, k)| *k).map(|(r, _)| r).collect())
    }

    /// [`Self::filter_residual`] over the regions of several partitions (`order`
    /// lists the keys of `parts`), tested together so that a large step is split
    /// over both cores once, whatever the sizes of its partitions. Returns the
    /// number of regions kept.
    pub(super) fn filter_residual_parts(
        &mut self,
        doc: u32,
        steps: &[Step],
        plan: &PathPlan,
        i: usize,
        parts: &mut HashMap<u32, Vec<Region>>,
        order: &[u32],
    ) -> Result<usize> {
        let residual = (0..steps[i].predicates.len()).any(|p| plan.pattern.is_residual(i, p));
        if !residual {
            return Ok(parts.values().map(Vec::len).sum());
        }
        let all: Vec<Region> = order.iter().filter_map(|p| parts.get(p)).flatten().copied().collect();
        let mut keep = self.test_each(&all, |eval, r| eval.keep(doc, steps, plan, i, r))?.into_iter();
        let mut kept = 0;
        for p in order {
            if let Some(regions) = parts.get_mut(p) {
                regions.retain(|_| keep.next().unwrap_or(false));
                kept += regions.len();
            }
        }
        Ok(kept)
    }

    /// SISJ's branch filter: a semi-join with the leaf partitions the structure-context
    /// index matched below the step's partitions. Returns the kept regions and the
    /// labels read.
    /// With `defer_values`, branches that compare a leaf exactly below with a value
    /// are left to [`Self::outermost_passing`].
    pub(super) fn sisj_branches(
        &mut self,
        doc: u32,
        plan: &PathPlan,
        i: usize,
        mut regions: Vec<Region>,
        defer_values: bool,
    ) -> Result<(Vec<Region>, u64)> {
        let mut read = 0;
        let branches = plan.pattern.branches[i].iter().zip(&plan.partitions[i].branch_leaves).enumerate();
        for (b, (branch, leaves)) in branches {
            if regions.is_empty() {
                break;
            }
            if plan.branch_source.get(i).copied().flatten() == Some(b) {
                continue; // the candidates came from this branch's leaves
            }
            if defer_values && is_deferred(plan, i, b) {
                continue;
            }
            if let (true, LevelGap::Exactly(depth)) =
                (self.searches_beat_reading(plan, i, b, regions.len()), plan.pattern.branches[i][b].gap())
            {
                // An existence test with far more leaves than candidates: search
                // each candidate's span in the leaf partitions instead of reading them.
                let keep = self.having_leaves(doc, leaves, depth, &regions)?;
                read += regions.len() as u64;
                regions = regions.into_iter().zip(keep).filter(|(_, k)| *k).map(|(r, _)| r).collect();
                continue;
            }
            let leaves = self.partitions(doc, leaves)?;
            read += leaves.len() as u64;
            let leaves = self.filter_leaves(doc, branch, seek_of(plan, i, b), leaves)?;
            regions = ancestor_semijoin(&regions, &leaves, branch.gap());
        }
        Ok((regions, read))
    }

    /// For each of `regions`, whether a leaf on one of `leaf_paths` lies `depth`
    /// levels below it. A leaf inside a region whose level is the leaf's less
    /// `depth` is such a descendant (the region is its ancestor at that level), so
    /// the leaf partitions of each level are searched within the regions of the
    /// level `depth` above, which never nest.
    fn having_leaves(&self, doc: u32, leaf_paths: &[u32], depth: u16, regions: &[Region]) -> Result<Vec<bool>> {
        let summary = self.nav.collection.paths();
        let mut by_level: std::collections::BTreeMap<u16, Vec<u32>> = Default::default();
        for &path in leaf_paths {
            if let Some(entry) = summary.get(path) {
                by_level.entry(entry.level).or_default().push(path);
            }
        }
        let document = self.document(doc)?;
        let mut keep = vec![false; regions.len()];
        for (level, paths) in by_level {
            let Some(above) = level.checked_sub(depth) else { continue };
            let at: Vec<usize> = (0..regions.len()).filter(|&r| regions[r].level == above).collect();
            let within: Vec<(u32, u32)> = at.iter().map(|&r| (regions[r].pre, regions[r].end)).collect();
            for (r, found) in at.into_iter().zip(document.any_within(&paths, &within)?) {
                keep[r] |= found;
            }
        }
        Ok(keep)
    }

    /// Whether branch `b` of step `i` is an existence test (`a[b]`, `a[x/y]`: no value,
    /// a fixed depth) whose leaves outnumber `candidates` so far that a search per
    /// candidate beats reading the leaves (see [`Self::having_leaves`]).
    fn searches_beat_reading(&self, plan: &PathPlan, i: usize, b: usize, candidates: usize) -> bool {
        let branch = &plan.pattern.branches[i][b];
        let leaves = plan.partitions[i].branch_leaf_nodes.get(b).copied().unwrap_or(0);
        branch.value.is_none()
            && matches!(branch.gap(), LevelGap::Exactly(_))
            && (candidates as u64).saturating_mul(LEAF_SEARCH_PROBES) < leaves
    }

    /// The branch leaves that pass the branch's comparison with a literal, if any:
    /// the per-node test XPath applies when it compares a node-set with a literal,
    /// or membership in what the value index found for it (`seek`).
    fn filter_leaves(
        &self,
        doc: u32,
        branch: &Branch,
        seek: Option<&ValueSeek>,
        leaves: Vec<Region>,
    ) -> Result<Vec<Region>> {
        let Some(cmp) = &branch.value else { return Ok(leaves) };
        if let Some(seek) = seek {
            return Ok(leaves.into_iter().filter(|r| seek.passes(doc, r.pre)).collect());
        }
        let pres: Vec<u32> = leaves.iter().map(|r| r.pre).collect();
        let keep =
            self.document(doc)?.string_values_pass(&pres, |s| compare_string(cmp.op, s, &cmp.literal, cmp.swapped))?;
        Ok(leaves.into_iter().zip(keep).filter(|(_, k)| *k).map(|(r, _)| r).collect())
    }

    /// The distinct ancestors `depth` levels above `leaves` (`(pre, path)`, in
    /// document order), in document order with their paths. A leaf's ancestor lies on
    /// the path `depth` steps shorter than the leaf's, so it is found by searching
    /// that partition of the region table: no node record is read.
    fn ancestors_at(&self, doc: u32, leaves: &[(u32, u32)], depth: u16) -> Result<Vec<(Region, u32)>> {
        let summary = self.nav.collection.paths();
        let parents = summary.parent_ids();
        let mut by_path: HashMap<u32, Vec<u32>> = HashMap::new();
        for &(pre, path) in leaves {
            let mut up = path;
            for _ in 0..depth {
                up = parents.get(up as usize).copied().unwrap_or(PathSummary::NO_PARENT);
            }
            if up != PathSummary::NO_PARENT {
                by_path.entry(up).or_default().push(pre);
            }
        }
        let document = self.document(doc)?;
        let mut res = Vec::new();
        for (path, pres) in by_path {
            let level = summary.get(path).map_or(0, |e| e.level);
            let found = document.enclosing(path, &pres)?;
            res.extend(found.into_iter().map(|(pre, end)| (Region { pre, end, level }, path)));
        }
        radsort::sort_by_key(&mut res, |(r, _)| r.pre);
        res.dedup_by_key(|(r, _)| r.pre);
        Ok(res)
    }

    /// Step `i`'s candidates from the leaves of branch `b` (see [`ChooseBranchSource`]),
    /// with their partitions; the leaves read.
    ///
    /// [`ChooseBranchSource`]: crate::xpath::plan::rules::ChooseBranchSource
    pub(super) fn candidates_from_branch(
        &mut self,
        doc: u32,
        plan: &PathPlan,
        i: usize,
        b: usize,
    ) -> Result<(Vec<(Region, u32)>, u64)> {
        let branch = &plan.pattern.branches[i][b];
        let leaf_paths = &plan.partitions[i].branch_leaves[b];
        let document = self.document(doc)?;
        let leaves: Vec<(u32, u32)> = match seek_of(plan, i, b) {
            // The leaves the value index found, if they lie on the branch's paths.
            Some(seek) => {
                let found: Vec<u32> = seek.per_doc.get(doc as usize).into_iter().flatten().collect();
                document.locate(leaf_paths, &found)?.into_iter().map(|(pre, _, path)| (pre, path)).collect()
            }
            None => {
                let leaves = document.regions_of(leaf_paths)?;
                let keep = match &branch.value {
                    None => vec![true; leaves.len()],
                    Some(cmp) => {
                        let pres: Vec<u32> = leaves.iter().map(|r| r.0).collect();
                        document.string_values_pass(&pres, |s| compare_string(cmp.op, s, &cmp.literal, cmp.swapped))?
                    }
                };
                leaves.into_iter().zip(keep).filter(|(_, k)| *k).map(|((pre, _, path), _)| (pre, path)).collect()
            }
        };
        let read = leaves.len() as u64;
        Ok((self.ancestors_at(doc, &leaves, branch.tests.len() as u16)?, read))
    }

    /// The outermost of `regions` (in document order) that pass the deferred value
    /// branches and the residual predicates of step `i`; a region inside one already
    /// kept is skipped without evaluation. Returns them and the labels read.
    pub(super) fn outermost_passing(
        &mut self,
        doc: u32,
        steps: &[Step],
        plan: &PathPlan,
        i: usize,
        regions: Vec<Region>,
    ) -> Result<(Vec<Region>, u64)> {
        let mut read = 0;
        let mut deferred = Vec::new();
        for (b, branch) in plan.pattern.branches[i].iter().enumerate() {
            let (Some(cmp), LevelGap::Exactly(gap)) = (&branch.value, branch.gap()) else { continue };
            if !is_deferred(plan, i, b) || plan.branch_source.get(i).copied().flatten() == Some(b) {
                continue;
            }
            let test = if branch.attribute_leaf && gap == 1 {
                // `[@a = v]`: the candidate's own attribute records, no leaf list.
                DeferredTest::OwnAttribute(self.plan.tests.step_names(branch.tests[0]))
            } else {
                let leaves = self.partitions(doc, &plan.partitions[i].branch_leaves[b])?;
                read += leaves.len() as u64;
                let (offsets, index) = descendants_at(&regions, &leaves, gap);
                DeferredTest::Leaves { leaves, offsets, index }
            };
            deferred.push((cmp, test));
        }
        let mut reader = self.document(doc)?.reader();
        let mut value = String::new();
        let mut kept = Vec::new();
        let mut covered_until: Option<u32> = None;
        for (r, region) in regions.iter().enumerate() {
            if covered_until.is_some_and(|end| region.pre <= end) {
                continue;
            }
            let mut pass = true;
            for (cmp, test) in &deferred {
                let document = self.document(doc)?;
                let passes = |s: &str| compare_string(cmp.op, s, &cmp.literal, cmp.swapped);
                pass = match test {
                    DeferredTest::OwnAttribute(names) => {
                        reader.any_attribute(document, region.pre, |name, s| names.accepts_name(name) && passes(s))?
                    }
                    DeferredTest::Leaves { leaves, offsets, index } => {
                        let mut any = false;
                        for &l in &index[offsets[r] as usize..offsets[r + 1] as usize] {
                            reader.string_value(document, leaves[l as usize].pre, &mut value)?;
                            if passes(&value) {
                                any = true;
                                break;
                            }
                        }
                        any
                    }
                };
                if !pass {
                    break;
                }
            }
            if pass && self.keep(doc, steps, plan, i, region)? {
                kept.push(*region);
                covered_until = Some(region.end);
            }
        }
        Ok((kept, read))
    }

    /// The baselines' branch filter: every step of the branch is a stream of all
    /// elements with its name, joined bottom-up with Stack-Tree-Anc semi-joins.
    pub(super) fn joined_branches(
        &mut self,
        doc: u32,
        plan: &PathPlan,
        i: usize,
        mut regions: Vec<Region>,
    ) -> Result<(Vec<Region>, u64)> {
        let mut read = 0;
        for (b, (branch, streams)) in plan.pattern.branches[i].iter().zip(&plan.baseline_branches[i]).enumerate() {
            if regions.is_empty() {
                break;
            }
            let mut below: Option<Vec<Region>> = None;
            for partitions in streams {
                let stream = self.partitions(doc, partitions)?;
                read += stream.len() as u64;
                below = Some(match below {
                    None => self.filter_leaves(doc, branch, seek_of(plan, i, b), stream)?,
                    Some(children) => ancestor_semijoin(&stream, &children, LevelGap::Exactly(1)),
                });
            }
            let first_gap = match branch.first {
                Edge::Child => LevelGap::Exactly(1),
                Edge::Descendant => LevelGap::AtLeast(1),
            };
            regions = ancestor_semijoin(&regions, &below.unwrap_or_default(), first_gap);
        }
        Ok((regions, read))
    }
}

/// What a galloping search for one candidate costs, in regions read.
const LEAF_SEARCH_PROBES: u64 = 4;

/// A branch whose value test [`Eval::outermost_passing`] runs per node: a comparison
/// with a leaf a fixed depth below (`[@a = 'v']`, `[x/y = 3]`) that the value index
/// did not answer (an answered one is a cheap semi-join with the leaves it found).
fn is_deferred(plan: &PathPlan, i: usize, b: usize) -> bool {
    let branch = &plan.pattern.branches[i][b];
    branch.value.is_some() && matches!(branch.gap(), LevelGap::Exactly(_)) && seek_of(plan, i, b).is_none()
}

/// What the value index found for branch `b` of step `i`, if it answered.
fn seek_of(plan: &PathPlan, i: usize, b: usize) -> Option<&ValueSeek> {
    plan.value_seeks.get(i)?.get(b)?.as_ref()
}

/// How [`Eval::outermost_passing`] finds a deferred branch's leaves for a candidate.
enum DeferredTest {
    /// The candidate's attributes with these names.
    OwnAttribute(StepNames),
    /// `leaves[index[offsets[r]..offsets[r + 1]]]` lie below candidate `r`.
    Leaves { leaves: Vec<Region>, offsets: Vec<u32>, index: Vec<u32> },
}
