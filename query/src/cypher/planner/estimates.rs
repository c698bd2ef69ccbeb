//! The planner's questions to the cost model (`plan::cost`) about the nodes and
//! relationships of a pattern, with their WHERE conjuncts; text predicates are
//! estimated by LIndex lookups, measured once per statement.

use std::collections::BTreeSet;

use crate::cypher::plan::cost;
use crate::cypher::plan::expr::CExpr;

use super::*;

/// Selectivity of the WHERE conjuncts that read only `slot`.
pub(super) fn filter_factor(slot: usize, conjuncts: &[(CExpr, Option<BTreeSet<usize>>)]) -> f64 {
    conjuncts
        .iter()
        .filter(|(_, slots)| slots.as_ref().is_some_and(|s| s.len() == 1 && s.contains(&slot)))
        .map(|(e, _)| cost::predicate_factor(e))
        .product()
}

impl Planner<'_> {
    /// The share of node `n`'s label that single-node `conjuncts` on it keep, with an
    /// LIndex lookup (a measured superset) when one covers its text tests.
    pub(super) fn node_filter(&mut self, n: &PNode, conjuncts: &[(CExpr, Option<BTreeSet<usize>>)]) -> f64 {
        let fixed = filter_factor(n.slot, conjuncts);
        if !self.lindex {
            return fixed;
        }
        let mine: Vec<CExpr> = conjuncts
            .iter()
            .filter(|(_, slots)| slots.as_ref().is_some_and(|s| s.len() == 1 && s.contains(&n.slot)))
            .map(|(e, _)| e.clone())
            .collect();
        if mine.is_empty() {
            return fixed;
        }
        let key = (n.slot, format!("{:?}{mine:?}", n.labels));
        let share = match self.lindex_shares.get(&key) {
            Some(s) => *s,
            None => {
                let share = crate::cypher::text_prune::prune_for(self.graph, &n.labels, &mine, n.slot, false).and_then(
                    |(label, prune)| {
                        let found =
                            self.graph.lindex_candidates(&prune.index, &[], &prune.property, &prune.tests).ok()??;
                        let nodes = self.graph.label_nodes(Some(&label)).ok()?;
                        Some(found.intersection_len(&nodes) as f64 / nodes.len().max(1) as f64)
                    },
                );
                self.lindex_shares.insert(key, share);
                share
            }
        };
        share.map_or(fixed, |s| fixed.min(s))
    }

    /// Average relationships per node of `from_labels`, following `rel` in `dir`.
    pub(super) fn degree(&mut self, rel: &PRel, dir: ExpandDir, from_labels: &[String]) -> f64 {
        cost::degree(self.graph, &rel.types, dir, rel.length, from_labels)
    }

    /// The share of candidates that node `n` keeps as the target of an expansion.
    pub(super) fn target_factor(
        &mut self,
        n: &PNode,
        bound: &BTreeSet<usize>,
        conjuncts: &[(CExpr, Option<BTreeSet<usize>>)],
    ) -> f64 {
        if bound.contains(&n.slot) {
            return 1.0 / cost::node_count(self.graph);
        }
        cost::label_share(self.graph, &n.labels)
            * cost::property_map_factor(n.props.len())
            * self.node_filter(n, conjuncts)
    }

    pub(super) fn estimate_scan(&mut self, labels: &[String], props: &[(String, CExpr)]) -> u64 {
        cost::scan_rows(self.graph, labels, props)
    }
}
