//! The structure-context index: which path partitions can take part in a path
//! pattern at all, decided on the path summary before any node is read.
//!
//! For a pattern `/e1 t1 /e2 t2 ...` (edges child or descendant, tests on element
//! names) step `i` matches partition `p` when `p`'s last label passes `t_i` and some
//! partition matched by step `i - 1` is a prefix of `p` at the right distance (one
//! level for a child edge, any for a descendant edge). Every other partition with the
//! name is pruned. Because all nodes of a partition share its path, a node of a
//! matched partition has the pattern's ancestors by construction: joins are needed
//! only to apply predicates.

use std::collections::HashMap;

use sprig_index::{NodeKind, PathSummary};

use super::joins::Edge;

/// What the structure-context index says about one step of a pattern.
#[derive(Debug, Clone, Default)]
pub struct StepPartitions {
    /// Element partitions whose last label passes the step's test (what a name index
    /// would read).
    pub candidates: Vec<u32>,
    /// The candidates that can match the pattern so far (what SISJ reads).
    pub matched: Vec<u32>,
    /// For each matched partition, the matched partitions of the previous step that
    /// are its prefixes at the right distance: the partition pairs to join.
    pub parents: HashMap<u32, Vec<u32>>,
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

/// Matches a pattern against the path summary. Step results are in pattern order;
/// the root partition is the implicit step before the first.
pub fn match_partitions(summary: &PathSummary, edges: &[Edge], names: &[StepNames]) -> Vec<StepPartitions> {
    let entries = summary.entries();
    let mut previous = vec![false; entries.len()];
    if let Some(root) = previous.get_mut(PathSummary::ROOT as usize) {
        *root = true;
    }
    let mut res = Vec::with_capacity(edges.len());
    for (edge, step_names) in edges.iter().zip(names) {
        let mut step = StepPartitions::default();
        step.candidates = match step_names {
            StepNames::Any => (0..entries.len() as u32).filter(|&id| entries[id as usize].kind == NodeKind::Element).collect(),
            StepNames::Some(ids) => {
                let mut c: Vec<u32> =
                    ids.iter().flat_map(|&n| summary.with_label(NodeKind::Element, n).iter().copied()).collect();
                c.sort_unstable();
                c
            }
        };
        let mut current = vec![false; entries.len()];
        for &id in &step.candidates {
            let Some(entry) = entries.get(id as usize) else { continue };
            step.candidate_nodes += entry.count;
            let mut parents = Vec::new();
            let mut cur = entry.parent;
            while let Some(q) = cur {
                if previous.get(q as usize).copied().unwrap_or(false) {
                    parents.push(q);
                }
                if *edge == Edge::Child {
                    break;
                }
                cur = entries.get(q as usize).and_then(|e| e.parent);
            }
            if !parents.is_empty() {
                step.matched.push(id);
                step.matched_nodes += entry.count;
                step.parents.insert(id, parents);
                current[id as usize] = true;
            }
        }
        previous = current;
        res.push(step);
    }
    res
}
