//! LIndex pruning: a text predicate on a node, or on a node a few hops away, becomes
//! a lookup whose candidates the scan or expansion keeps (`LIndexPruning`,
//! `LIndexPathPruning`).

use sprig_index::graph::Overlay;

use sprig_index::graph::text::StepPattern;
use sprig_index::graph::Direction;

use crate::cypher::text_prune::{conjuncts, prune_for};

use crate::cypher::plan::*;

use super::Rule;

/// A label scan or a single-hop expansion whose node has text predicates (`=`,
/// `CONTAINS`, `STARTS WITH`, `ENDS WITH` with a string) on a property an LIndex covers
/// for one of its labels: the scan reads only the LIndex's candidates, the expansion
/// drops targets that are not candidates before their predicates run.
pub struct LIndexPruning {
    /// See [`LIndexPrune::after`] (for the frontier of variable-length walks).
    pub after: u32,
}

impl Rule for LIndexPruning {
    fn name(&self) -> &'static str {
        "LIndexPruning"
    }
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay) {
        match op {
            LogicalOp::NodeScan {
                source: source @ (ScanSource::Label(_) | ScanSource::AllNodes),
                slot,
                labels,
                predicates,
                ..
            } => {
                if let Some((label, prune)) = prune_for(graph, labels, predicates, *slot, false) {
                    *source = ScanSource::LIndex { label: Some(label), prune };
                }
            }
            LogicalOp::Expand { spec, .. } if spec.length.is_none() && !spec.to_bound && spec.to_prune.is_none() => {
                if let Some((_, prune)) = prune_for(graph, &spec.to_labels, &spec.predicates, spec.to, false) {
                    spec.to_prune = Some(prune);
                }
            }
            // A variable-length expansion's target is filtered above it: the walk
            // still runs, but only candidates reach the filter.
            LogicalOp::Filter { input, predicate } => {
                let LogicalOp::Expand { spec, .. } = input.as_mut() else { return };
                if spec.length.is_none() || spec.to_bound || spec.to_prune.is_some() {
                    return;
                }
                let mut parts = Vec::new();
                conjuncts(predicate, &mut parts);
                if let Some((_, prune)) = prune_for(graph, &spec.to_labels, &parts, spec.to, false) {
                    spec.to_prune = Some(prune);
                }
                // With an LIndex of paths, the walk stops at nodes from which no
                // candidate target is within the hops left.
                if let Some((_, mut seed)) = prune_for(graph, &spec.to_labels, &parts, spec.to, true) {
                    let hops = graph.text_index(&seed.index).map_or(0, |d| d.hops());
                    seed.steps = vec![StepPattern { labels: Vec::new(), ..step_towards(spec) }];
                    seed.after = self.after;
                    spec.frontier = Some(FrontierPrune { prune: seed, hops });
                }
            }
            _ => {}
        }
    }
}

/// An expansion reaching a node with LIndex-covered text predicates: every node bound
/// earlier along the chain of expansions that leads to it, within the index's hops,
/// must have that text at the end of the same path, so the expansion (or scan) that
/// binds it keeps only the LIndex's candidates for that path. This prunes before the
/// expansions run, where the text test alone would only run at the end.
pub struct LIndexPathPruning {
    /// See [`LIndexPrune::after`].
    pub after: u32,
}

pub(super) fn step_towards(spec: &ExpandSpec) -> StepPattern {
    StepPattern {
        direction: match spec.dir {
            ExpandDir::Out => Some(Direction::Outgoing),
            ExpandDir::In => Some(Direction::Incoming),
            ExpandDir::Both => None,
        },
        types: spec.types.clone(),
        labels: spec.to_labels.clone(),
    }
}

impl Rule for LIndexPathPruning {
    fn name(&self) -> &'static str {
        "LIndexPathPruning"
    }
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay) {
        let LogicalOp::Expand { spec, input } = op else { return };
        if spec.length.is_some() || spec.to_bound {
            return;
        }
        let Some((_, mut seed)) = prune_for(graph, &spec.to_labels, &spec.predicates, spec.to, true) else { return };
        seed.after = self.after;
        let hops = graph.text_index(&seed.index).map_or(0, |d| d.hops()) as usize;
        prune_chain(input, spec.from, vec![step_towards(spec)], &seed, hops);
    }
}

/// Below an expansion from `node`: finds what bound `node` and, while the path to the
/// text (`steps`, from `node`) is within `hops`, makes it keep only LIndex candidates.
pub(super) fn prune_chain(
    op: &mut LogicalOp,
    node: usize,
    mut steps: Vec<StepPattern>,
    seed: &LIndexPrune,
    hops: usize,
) {
    if steps.len() > hops {
        return;
    }
    match op {
        LogicalOp::Expand { spec: x, input } if x.to == node => {
            if x.length.is_some() || x.to_bound {
                return;
            }
            if x.to_prune.is_none() {
                x.to_prune = Some(LIndexPrune { steps: steps.clone(), ..seed.clone() });
            }
            steps.insert(0, step_towards(x));
            prune_chain(input, x.from, steps, seed, hops);
        }
        LogicalOp::Expand { input, .. } | LogicalOp::Filter { input, .. } | LogicalOp::NodeCheck { input, .. } => {
            prune_chain(input, node, steps, seed, hops)
        }
        LogicalOp::NodeScan { slot, source, labels, .. } if *slot == node => {
            let label = match source {
                ScanSource::Label(l) => Some(l.clone()),
                ScanSource::AllNodes => labels.first().cloned(),
                _ => return,
            };
            *source = ScanSource::LIndex { label, prune: LIndexPrune { steps, ..seed.clone() } };
        }
        _ => {}
    }
}
