//! The order in which a pattern is bound: greedy, by the cost model's estimates.

use std::collections::BTreeSet;

use crate::cypher::plan::expr::CExpr;

use super::*;

/// One step of a greedy pattern order: bind (scan or check) a node, or expand a
/// relationship from its first (`true`) or second endpoint.
#[derive(Debug, Clone, Copy)]
pub(super) enum GreedyStep {
    Node(usize),
    Expand(usize, bool),
}

impl Planner<'_> {
    /// The order in which to bind a pattern from node `start`: repeatedly the
    /// expansion (from a bound node) with the fewest estimated rows, a relationship
    /// between two bound nodes counting as a cheap check; a new scan only when no
    /// expansion is possible. Returns the summed estimated rows and the steps.
    pub(super) fn greedy_order(
        &mut self,
        start: usize,
        nodes: &[PNode],
        edges: &[(PRel, usize, usize)],
        bound: &BTreeSet<usize>,
        conjuncts: &[(CExpr, Option<BTreeSet<usize>>)],
    ) -> (f64, Vec<GreedyStep>) {
        let mut bound = bound.clone();
        let mut steps = Vec::new();
        let mut done = vec![false; edges.len()];
        let mut seen = vec![false; nodes.len()];
        let scan_rows = |this: &mut Self, n: &PNode, bound: &BTreeSet<usize>| -> f64 {
            if bound.contains(&n.slot) {
                1.0
            } else {
                let filter = this.node_filter(n, conjuncts);
                (this.estimate_scan(&n.labels, &n.props) as f64 * filter).max(1.0)
            }
        };
        // A filtered scan tests every node of the label, a column at a time.
        let scan_cost = |this: &mut Self, n: &PNode, bound: &BTreeSet<usize>| -> f64 {
            let rows = scan_rows(this, n, bound);
            if bound.contains(&n.slot) || !this.tests_properties(n, conjuncts) {
                return rows;
            }
            rows + crate::cypher::plan::cost::SCAN_TEST_COST * this.estimate_scan(&n.labels, &[]) as f64
        };
        let mut rows = scan_rows(self, &nodes[start], &bound);
        let mut cost = scan_cost(self, &nodes[start], &bound);
        steps.push(GreedyStep::Node(start));
        seen[start] = true;
        bound.insert(nodes[start].slot);
        loop {
            // (output rows, cost of the candidates examined, edge, forward)
            let mut pick: Option<(f64, f64, usize, bool)> = None;
            for (e, (r, a, b)) in edges.iter().enumerate() {
                if done[e] {
                    continue;
                }
                let (a_bound, b_bound) = (bound.contains(&nodes[*a].slot), bound.contains(&nodes[*b].slot));
                let options: &[bool] = match (a_bound, b_bound) {
                    (true, true) => &[true, false],
                    (true, false) => &[true],
                    (false, true) => &[false],
                    (false, false) => &[],
                };
                for &forward in options {
                    let (from, to) = if forward { (*a, *b) } else { (*b, *a) };
                    let dir = if forward { r.dir } else { r.dir.reversed() };
                    let examined = rows * self.degree(r, dir, &nodes[from].labels);
                    let est = examined * self.target_factor(r, dir, &nodes[from].labels, &nodes[to], &bound, conjuncts);
                    // A check between bound nodes reads one list per row, whatever its
                    // length; a candidate costs a label test, or a property read when
                    // the target has property tests.
                    let per_candidate = if self.tests_properties(&nodes[to], conjuncts) {
                        crate::cypher::plan::cost::PROPERTY_TEST_COST
                    } else {
                        crate::cypher::plan::cost::EXAMINE_COST
                    };
                    let examined = if bound.contains(&nodes[to].slot) { 0.0 } else { examined * per_candidate };
                    // Sampled estimates carry noise: leave the pattern's written
                    // order (the first option) only for a clear win.
                    if pick.is_none_or(|p| est < p.0 * 0.9) {
                        pick = Some((est, examined, e, forward));
                    }
                }
            }
            match pick {
                Some((est, examined, e, forward)) => {
                    let (r, a, b) = &edges[e];
                    let to = if forward { *b } else { *a };
                    done[e] = true;
                    seen[*a] = true;
                    seen[*b] = true;
                    bound.insert(nodes[to].slot);
                    bound.insert(r.slot);
                    rows = est.max(1.0);
                    // Every candidate costs a label or property test, passing or not.
                    cost += rows + examined;
                    steps.push(GreedyStep::Expand(e, forward));
                }
                None => {
                    // Nothing connects: a new scan (a cartesian product) or checks.
                    let Some(next) = (0..nodes.len()).filter(|i| !seen[*i]).min_by(|x, y| {
                        let (cx, cy) = (scan_rows(self, &nodes[*x], &bound), scan_rows(self, &nodes[*y], &bound));
                        cx.total_cmp(&cy)
                    }) else {
                        break;
                    };
                    let scanned = scan_rows(self, &nodes[next], &bound);
                    cost += rows * (scan_cost(self, &nodes[next], &bound) - scanned) + rows * scanned;
                    rows *= scanned;
                    seen[next] = true;
                    bound.insert(nodes[next].slot);
                    steps.push(GreedyStep::Node(next));
                }
            }
        }
        (cost, steps)
    }
}
