//! The structure-context index: which path partitions can take part in a path
//! pattern at all, decided on the path summary before any node is read.
//!
//! For a pattern `/e1 t1 /e2 t2 ...` (edges child or descendant, tests on element
//! names) step `i` matches partition `p` when `p`'s last label passes `t_i` and some
//! partition matched by step `i - 1` is a prefix of `p` at the right distance (one
//! level for a child edge, any for a descendant edge), and when every branch of the
//! step (`[x/y]`, `[.//b]`) has a leaf partition below `p`. Every other partition with
//! the name is pruned. Because all nodes of a partition share its path, a node of a
//! matched partition has the pattern's ancestors by construction: joins are needed
//! only to apply predicates.
//!
//! "Has an ancestor in set S" is answered per path on demand, with memoization, so a
//! pattern touches only its candidates' ancestors in the summary.

use sprig_index::{NodeKind, PathSummary};

use super::twig::Edge;

/// What the structure-context index says about one step of a pattern.
#[derive(Debug, Clone, Default)]
pub struct StepPartitions {
    /// Element partitions whose last label passes the step's test (what a name index
    /// would read).
    pub candidates: Vec<u32>,
    /// The candidates that can match the pattern so far (what SISJ reads).
    pub matched: Vec<u32>,
    /// `matched` as a mask over path ids.
    pub matched_mask: Vec<bool>,
    /// Per branch of the step: the leaf partitions below a matched partition, and
    /// the nodes in them.
    pub branch_leaves: Vec<Vec<u32>>,
    pub branch_leaf_nodes: Vec<u64>,
    /// Candidates that had the right ancestors but no leaf for some branch.
    pub pruned_by_branches: usize,
    /// Nodes in `candidates` and in `matched`.
    pub candidate_nodes: u64,
    pub matched_nodes: u64,
}

/// The element names a pattern step accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepNames {
    /// `*`: any element.
    Any,
    /// Any of these interned names.
    Some(Vec<u32>),
}

impl StepNames {
    /// Whether a node with this interned name passes.
    pub fn accepts_name(&self, name: u32) -> bool {
        match self {
            StepNames::Any => true,
            StepNames::Some(ids) => ids.contains(&name),
        }
    }

    fn accepts(&self, summary: &PathSummary, path: u32) -> bool {
        summary.get(path).is_some_and(|e| e.kind == NodeKind::Element && self.accepts_name(e.name))
    }

    /// How many element nodes pass the test.
    pub fn node_count(&self, summary: &PathSummary) -> u64 {
        match self {
            StepNames::Any => summary.kind_count(NodeKind::Element),
            StepNames::Some(ids) => ids.iter().map(|&n| summary.label_count(NodeKind::Element, n)).sum(),
        }
    }

    /// The element partitions whose last label passes the test, ascending.
    pub fn partitions(&self, summary: &PathSummary) -> Vec<u32> {
        self.partitions_of(summary, NodeKind::Element)
    }

    /// The partitions of nodes of `kind` whose last label passes the test, ascending.
    pub fn partitions_of(&self, summary: &PathSummary, kind: NodeKind) -> Vec<u32> {
        match self {
            StepNames::Any => {
                (0..summary.len() as u32).filter(|&id| summary.get(id).is_some_and(|e| e.kind == kind)).collect()
            }
            StepNames::Some(ids) => {
                let mut c: Vec<u32> = ids.iter().flat_map(|&n| summary.with_label(kind, n).iter().copied()).collect();
                c.sort_unstable();
                c
            }
        }
    }
}

/// A branch of a pattern step, as the structure-context index sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchNames {
    pub first: Edge,
    pub names: Vec<StepNames>,
    /// Element, or attribute for a branch ending in an attribute step.
    pub leaf_kind: NodeKind,
}

/// One step of a pattern, as the structure-context index sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternStep {
    pub edge: Edge,
    pub names: StepNames,
    pub branches: Vec<BranchNames>,
}

fn parent(summary: &PathSummary, path: u32) -> Option<u32> {
    summary.parent_ids().get(path as usize).copied().filter(|&p| p != PathSummary::NO_PARENT)
}

/// "Does some proper ancestor of a path lie in `set`?", answered on demand and
/// remembered: a query touches the candidates' ancestors only, not the whole summary
/// (which has a hundred thousand paths on recursive documents).
struct Below<'a> {
    summary: &'a PathSummary,
    set: &'a [bool],
    /// 0: not known yet, 1: yes, 2: no.
    memo: Vec<u8>,
    chain: Vec<u32>,
}

impl<'a> Below<'a> {
    fn new(summary: &'a PathSummary, set: &'a [bool]) -> Self {
        Below { summary, set, memo: vec![0; summary.len()], chain: Vec::new() }
    }

    fn contains(&self, id: u32) -> bool {
        self.set.get(id as usize).copied().unwrap_or(false)
    }

    fn test(&mut self, id: u32) -> bool {
        let mut cur = id;
        let answer = loop {
            match self.memo.get(cur as usize) {
                Some(1) => break true,
                Some(2) => break false,
                _ => {}
            }
            match parent(self.summary, cur) {
                None => break false,
                Some(p) if self.contains(p) => break true,
                Some(p) => {
                    self.chain.push(cur);
                    cur = p;
                }
            }
        };
        // `cur` and every path on the chain share the answer: none of the chain's
        // parents is in the set.
        let mark = if answer { 1 } else { 2 };
        if let Some(m) = self.memo.get_mut(cur as usize) {
            *m = mark;
        }
        for c in self.chain.drain(..) {
            if let Some(m) = self.memo.get_mut(c as usize) {
                *m = mark;
            }
        }
        answer
    }
}

/// The leaf partitions of `branch` below partitions of `anchors`, and which anchors
/// have at least one.
fn match_branch(summary: &PathSummary, anchors: &[bool], branch: &BranchNames) -> (Vec<u32>, Vec<bool>) {
    let mut leaves = Vec::new();
    let mut has_leaf = vec![false; summary.len()];
    let Some(last) = branch.names.last() else { return (leaves, has_leaf) };
    let mut below_anchor = Below::new(summary, anchors);
    let mut visited = vec![false; summary.len()];
    let is = |mask: &[bool], id: u32| mask.get(id as usize).copied().unwrap_or(false);
    'leaf: for leaf in last.partitions_of(summary, branch.leaf_kind) {
        // Walk up the branch's child chain: the leaf's ancestors must pass the tests.
        let mut top = leaf;
        for names in branch.names[..branch.names.len() - 1].iter().rev() {
            match parent(summary, top) {
                Some(p) if names.accepts(summary, p) => top = p,
                _ => continue 'leaf,
            }
        }
        let Some(anchor) = parent(summary, top) else { continue };
        match branch.first {
            Edge::Child => {
                if is(anchors, anchor) {
                    leaves.push(leaf);
                    has_leaf[anchor as usize] = true;
                }
            }
            Edge::Descendant => {
                if is(anchors, anchor) || below_anchor.test(anchor) {
                    leaves.push(leaf);
                    // Every anchor above `top` has this leaf; stop where an earlier leaf
                    // already marked the rest of the chain.
                    let mut cur = Some(anchor);
                    while let Some(q) = cur {
                        if visited[q as usize] {
                            break;
                        }
                        visited[q as usize] = true;
                        has_leaf[q as usize] |= is(anchors, q);
                        cur = parent(summary, q);
                    }
                }
            }
        }
    }
    (leaves, has_leaf)
}

/// Matches a pattern against the path summary. Step results are in pattern order;
/// the root partition is the implicit step before the first.
pub fn match_partitions(summary: &PathSummary, steps: &[PatternStep]) -> Vec<StepPartitions> {
    let mut root = vec![false; summary.len()];
    if let Some(r) = root.get_mut(PathSummary::ROOT as usize) {
        *r = true;
    }
    let mut res: Vec<StepPartitions> = Vec::with_capacity(steps.len());
    for step in steps {
        // The previous step's matched partitions, or the root before the first.
        let previous = res.last().map_or(root.as_slice(), |s| s.matched_mask.as_slice());
        let mut below = Below::new(summary, previous);
        let mut out = StepPartitions { candidates: step.names.partitions(summary), ..Default::default() };
        let mut mask = vec![false; summary.len()];
        // Partition sizes are summed per label (or over the few unmatched partitions
        // below): reading each candidate's entry would cost a cache miss apiece.
        out.candidate_nodes = step.names.node_count(summary);
        for &id in &out.candidates {
            let matched = match step.edge {
                Edge::Child => parent(summary, id).is_some_and(|p| previous.get(p as usize).copied().unwrap_or(false)),
                Edge::Descendant => below.test(id),
            };
            if let Some(m) = mask.get_mut(id as usize) {
                *m = matched;
            }
        }
        for branch in &step.branches {
            let (leaves, has_leaf) = match_branch(summary, &mask, branch);
            for (m, h) in mask.iter_mut().zip(&has_leaf) {
                if *m && !*h {
                    *m = false;
                    out.pruned_by_branches += 1;
                }
            }
            out.branch_leaf_nodes.push(leaves.iter().filter_map(|&l| summary.get(l)).map(|e| e.count).sum());
            out.branch_leaves.push(leaves);
        }
        out.matched = out.candidates.iter().copied().filter(|&id| mask[id as usize]).collect();
        let size =
            |ids: &mut dyn Iterator<Item = u32>| -> u64 { ids.filter_map(|id| summary.get(id)).map(|e| e.count).sum() };
        out.matched_nodes = if out.matched.len() * 2 >= out.candidates.len() {
            out.candidate_nodes - size(&mut out.candidates.iter().copied().filter(|&id| !mask[id as usize]))
        } else {
            size(&mut out.matched.iter().copied())
        };
        out.matched_mask = mask;
        res.push(out);
    }
    res
}

/// How many partition pairs SISJ joins for `step`: per matched partition, the
/// matched partitions of the previous step that are its prefixes at the distance
/// `edge` allows. One forward pass, for EXPLAIN.
pub fn pair_count(summary: &PathSummary, step: &StepPartitions, edge: Edge, previous: Option<&StepPartitions>) -> u64 {
    let in_previous = |q: usize| match previous {
        Some(p) => p.matched_mask.get(q).copied().unwrap_or(false),
        None => q == PathSummary::ROOT as usize,
    };
    // above[id]: matched partitions of the previous step among id's proper ancestors.
    let mut above = vec![0u64; summary.len()];
    for id in 0..summary.len() {
        if let Some(p) = parent(summary, id as u32) {
            let p = p as usize;
            let own = u64::from(in_previous(p));
            above[id] = if edge == Edge::Child { own } else { own + above.get(p).copied().unwrap_or(0) };
        }
    }
    step.matched.iter().map(|&m| above.get(m as usize).copied().unwrap_or(0)).sum()
}

/// The matched partitions of the previous step (`previous`, or the root for the first
/// step) that are prefixes of `path` at the distance `edge` allows: the partition
/// pairs SISJ joins.
pub fn parents_of(summary: &PathSummary, path: u32, edge: Edge, previous: Option<&StepPartitions>) -> Vec<u32> {
    let in_previous = |q: u32| match previous {
        Some(step) => step.matched_mask.get(q as usize).copied().unwrap_or(false),
        None => q == PathSummary::ROOT,
    };
    let mut res = Vec::new();
    let mut cur = parent(summary, path);
    while let Some(q) = cur {
        if in_previous(q) {
            res.push(q);
        }
        if edge == Edge::Child {
            break;
        }
        cur = parent(summary, q);
    }
    res
}
