//! The planner's questions to the cost model (`plan::cost`) about the nodes and
//! relationships of a pattern, with their WHERE conjuncts. Predicates and the labels
//! at a relationship's far end are measured on a sample (`sample`), text predicates
//! also by LIndex lookups. A sample is measured once per graph size (the store
//! remembers it), an LIndex lookup once per statement.

use std::collections::BTreeSet;

use crate::cypher::plan::cost;
use crate::cypher::plan::expr::CExpr;

use super::sample;
use super::*;

/// The WHERE conjuncts that read only `slot`.
fn conjuncts_of(slot: usize, conjuncts: &[(CExpr, Option<BTreeSet<usize>>)]) -> Vec<&CExpr> {
    conjuncts
        .iter()
        .filter(|(_, slots)| slots.as_ref().is_some_and(|s| s.len() == 1 && s.contains(&slot)))
        .map(|(e, _)| e)
        .collect()
}

impl Planner<'_> {
    /// The share of node `n`'s label that single-node `conjuncts` on it keep:
    /// measured on a sample of the label where the sampler can evaluate them, the
    /// cost model's guess for the rest, and an LIndex lookup (a measured superset)
    /// when one covers its text tests. Kept for the statement.
    pub(super) fn node_filter(&mut self, n: &PNode, conjuncts: &[(CExpr, Option<BTreeSet<usize>>)]) -> f64 {
        let mine = conjuncts_of(n.slot, conjuncts);
        if mine.is_empty() {
            return 1.0;
        }
        let key = (n.slot, format!("{:?}{mine:?}", n.labels));
        if let Some(share) = self.filter_shares.get(&key) {
            return *share;
        }
        let label = self.rarest_label(&n.labels);
        let share = sample::filter_share(self.graph, label.as_deref(), &mine, n.slot)
            .unwrap_or_else(|| mine.iter().map(|e| cost::predicate_factor(e)).product());
        let share = match self.lindex_share(n, &mine) {
            Some(s) => share.min(s),
            None => share,
        };
        self.filter_shares.insert(key, share);
        share
    }

    /// The share of `n`'s label an LIndex lookup keeps for its text conjuncts.
    fn lindex_share(&mut self, n: &PNode, mine: &[&CExpr]) -> Option<f64> {
        if !self.lindex {
            return None;
        }
        let mine: Vec<CExpr> = mine.iter().map(|e| (*e).clone()).collect();
        let key = (n.slot, format!("{:?}{mine:?}", n.labels));
        if let Some(s) = self.lindex_shares.get(&key) {
            return *s;
        }
        let share = crate::cypher::text_prune::prune_for(self.graph, &n.labels, &mine, n.slot, false).and_then(
            |(label, prune)| {
                let found = self.graph.lindex_candidates(&prune.index, &[], &prune.property, &prune.tests).ok()??;
                let nodes = self.graph.label_nodes(Some(&label)).ok()?;
                Some(found.intersection_len(&nodes) as f64 / nodes.len().max(1) as f64)
            },
        );
        self.lindex_shares.insert(key, share);
        share
    }

    /// The label of `labels` with the fewest nodes.
    pub(super) fn rarest_label(&mut self, labels: &[String]) -> Option<String> {
        let mut best: Option<(f64, &String)> = None;
        for l in labels {
            let n = cost::label_count(self.graph, l);
            if best.is_none_or(|(m, _)| n < m) {
                best = Some((n, l));
            }
        }
        best.map(|(_, l)| l.clone())
    }

    /// Average relationships per node of `from_labels`, following `rel` in `dir`.
    pub(super) fn degree(&mut self, rel: &PRel, dir: ExpandDir, from_labels: &[String]) -> f64 {
        cost::degree(self.graph, &rel.types, dir, rel.length, from_labels)
    }

    /// The share of `rel`'s far ends (followed in `dir` from nodes of `from_labels`)
    /// that carry `to_labels`, measured on a sample of the near ends; `None` for a
    /// variable-length or unlabelled target, or a sample too small to say.
    pub(super) fn far_end_share(
        &mut self,
        rel: &PRel,
        dir: ExpandDir,
        from_labels: &[String],
        to_labels: &[String],
    ) -> Option<f64> {
        if to_labels.is_empty() || rel.length.is_some() {
            return None;
        }
        let key = format!("{:?}{dir:?}{from_labels:?}{to_labels:?}", rel.types);
        if let Some(share) = self.far_end_shares.get(&key) {
            return *share;
        }
        let label = self.rarest_label(from_labels);
        let share = sample::far_end_share(self.graph, label.as_deref(), &rel.types, dir, to_labels);
        self.far_end_shares.insert(key, share);
        share
    }

    /// The share of candidates that node `n` keeps as the far end of `rel`, followed
    /// in `dir` from a node of `from_labels`.
    pub(super) fn target_factor(
        &mut self,
        rel: &PRel,
        dir: ExpandDir,
        from_labels: &[String],
        n: &PNode,
        bound: &BTreeSet<usize>,
        conjuncts: &[(CExpr, Option<BTreeSet<usize>>)],
    ) -> f64 {
        if bound.contains(&n.slot) {
            return 1.0 / cost::node_count(self.graph);
        }
        let labels = match self.far_end_share(rel, dir, from_labels, &n.labels) {
            Some(share) => share,
            None => cost::label_share(self.graph, &n.labels),
        };
        labels * cost::property_map_factor(n.props.len()) * self.node_filter(n, conjuncts)
    }

    /// Whether binding `n` tests its properties (a property map or WHERE conjuncts
    /// of its own), not only its labels.
    pub(super) fn tests_properties(&self, n: &PNode, conjuncts: &[(CExpr, Option<BTreeSet<usize>>)]) -> bool {
        !n.props.is_empty() || !conjuncts_of(n.slot, conjuncts).is_empty()
    }

    pub(super) fn estimate_scan(&mut self, labels: &[String], props: &[(String, CExpr)]) -> u64 {
        cost::scan_rows(self.graph, labels, props)
    }
}
