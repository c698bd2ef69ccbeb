//! MATCH: the nodes and relationships of a pattern bound in the order `join_order`
//! picks, each WHERE conjunct placed right after the operator that binds its last
//! variable.

use std::collections::BTreeSet;

use crate::cypher::plan::expr::CExpr;
use crate::Result;

use super::*;

/// A node of a pattern being planned.
pub(super) struct PNode {
    pub(super) slot: usize,
    pub(super) labels: Vec<String>,
    pub(super) props: Vec<(String, CExpr)>,
}

/// A relationship of a pattern being planned.
pub(super) struct PRel {
    pub(super) slot: usize,
    pub(super) types: Vec<String>,
    pub(super) dir: ExpandDir,
    pub(super) length: Option<(u64, Option<u64>)>,
    pub(super) props: Vec<(String, CExpr)>,
}

/// Adds every conjunct whose slots are all bound as a filter above `plan`.
pub(super) fn place_filters(
    mut plan: LogicalOp,
    conjuncts: &mut Vec<(CExpr, Option<BTreeSet<usize>>)>,
    bound: &BTreeSet<usize>,
) -> LogicalOp {
    let mut i = 0;
    while i < conjuncts.len() {
        let ready = matches!(&conjuncts[i].1, Some(slots) if slots.is_subset(bound));
        if ready {
            let (predicate, _) = conjuncts.remove(i);
            plan = LogicalOp::Filter { input: Box::new(plan), predicate };
        } else {
            i += 1;
        }
    }
    plan
}

impl Planner<'_> {
    pub(super) fn node_slot(&self, scope: &mut Scope, np: &NodePattern) -> Result<usize> {
        match &np.variable {
            Some(name) => match scope.lookup(name) {
                Some((slot, Kind::Node | Kind::Any)) => Ok(slot),
                Some((_, Kind::Value)) => Err(semantic("VariableTypeConflict", format!("'{name}' is not a node"))),
                Some(_) => Err(semantic("VariableTypeConflict", format!("'{name}' is not a node"))),
                None => Ok(scope.add(name, Kind::Node)),
            },
            None => Ok(scope.add_hidden(Kind::Node)),
        }
    }

    pub(super) fn plan_match(
        &mut self,
        input: LogicalOp,
        scope: &mut Scope,
        parts: &[PatternPart],
        predicate: Option<&Expr>,
    ) -> Result<LogicalOp> {
        let bound_before = scope.len();
        let mut bound: BTreeSet<usize> = (0..bound_before).collect();
        // Declare every variable first, so that WHERE and property maps can see them.
        let mut declared = Vec::new();
        let mut new_rel_names: Vec<String> = Vec::new();
        for part in parts {
            let mut nodes = Vec::new();
            let mut rels = Vec::new();
            let slot = self.node_slot(scope, &part.element.start)?;
            nodes.push((slot, &part.element.start));
            for (rp, np) in &part.element.chain {
                let kind = if rp.length.is_some() { Kind::RelList } else { Kind::Rel };
                let rslot = match &rp.variable {
                    Some(name) => match scope.lookup(name) {
                        Some((s, k)) if s < bound_before && (k == Kind::Rel || k == Kind::Any) && kind == Kind::Rel => {
                            s
                        }
                        Some((s, k))
                            if s < bound_before
                                && matches!(k, Kind::RelList | Kind::Any | Kind::Value)
                                && kind == Kind::RelList =>
                        {
                            s
                        }
                        Some((_, Kind::Rel | Kind::RelList)) if new_rel_names.contains(name) => {
                            return Err(semantic(
                                "VariableAlreadyBound",
                                format!("relationship '{name}' is used twice in one pattern"),
                            ))
                        }
                        Some(_) => {
                            return Err(semantic("VariableTypeConflict", format!("'{name}' cannot be rebound here")))
                        }
                        None => {
                            new_rel_names.push(name.clone());
                            scope.add(name, kind)
                        }
                    },
                    None => scope.add_hidden(kind),
                };
                rels.push((rslot, rp));
                let nslot = self.node_slot(scope, np)?;
                nodes.push((nslot, np));
            }
            let path_slot = match &part.variable {
                Some(name) => {
                    if scope.lookup(name).is_some() {
                        return Err(semantic("VariableAlreadyBound", format!("variable '{name}' is already defined")));
                    }
                    Some(scope.add(name, Kind::Path))
                }
                None => None,
            };
            declared.push((nodes, rels, path_slot, part.kind));
        }
        // Compile the pieces.
        let mut conjuncts: Vec<(CExpr, Option<BTreeSet<usize>>)> = Vec::new();
        if let Some(p) = predicate {
            let mut parts = Vec::new();
            split_and(p, &mut parts);
            for c in parts {
                if let Expr::Variable(v) = c {
                    if matches!(scope.lookup(v), Some((_, Kind::Node | Kind::Rel | Kind::Path))) {
                        return Err(semantic("InvalidArgumentType", format!("'{v}' is not a predicate")));
                    }
                }
                let ce = self.expr_in(c, scope)?;
                let mut used = BTreeSet::new();
                let slots = slots_used(&ce, &mut used).then_some(used);
                conjuncts.push((ce, slots));
            }
        }
        let mut plan = input;
        // Relationship isomorphism covers every relationship of the pattern, including
        // ones bound by earlier clauses.
        let mut match_rels: Vec<usize> =
            declared.iter().flat_map(|d| d.1.iter().map(|r| r.0)).filter(|s| *s < bound_before).collect();
        // Compile every part; ordinary parts are planned together (greedy joins over
        // the whole pattern), shortest-path parts after them.
        let mut gnodes: Vec<PNode> = Vec::new();
        let mut gedges: Vec<(PRel, usize, usize)> = Vec::new();
        let mut paths: Vec<(usize, Vec<PathStep>)> = Vec::new();
        let mut shortest = Vec::new();
        for (nodes, rels, path_slot, kind) in declared {
            let mut pnodes = Vec::new();
            for (slot, np) in &nodes {
                let props = self.props(&np.properties, scope)?;
                pnodes.push(PNode { slot: *slot, labels: np.labels.clone(), props });
            }
            let mut prels = Vec::new();
            for (slot, rp) in &rels {
                let props = self.props(&rp.properties, scope)?;
                let dir = match rp.direction {
                    RelDirection::Right => ExpandDir::Out,
                    RelDirection::Left => ExpandDir::In,
                    RelDirection::Both => ExpandDir::Both,
                };
                let length = rp.length.map(|(lo, hi)| (lo.unwrap_or(1), hi));
                prels.push(PRel { slot: *slot, types: rp.types.clone(), dir, length, props });
            }
            if kind != PathKind::Normal {
                if prels.len() != 1 {
                    return Err(semantic("InvalidRelationshipPattern", "shortestPath needs exactly one relationship"));
                }
                let (min, _) = prels[0].length.unwrap_or((1, Some(1)));
                if min > 1 {
                    return Err(semantic("InvalidArgumentValue", "shortestPath starts at 0 or 1 hops"));
                }
                shortest.push((pnodes, prels, path_slot, kind));
                continue;
            }
            if let Some(p) = path_slot {
                let mut steps = vec![PathStep::Node(pnodes[0].slot)];
                for (i, r) in prels.iter().enumerate() {
                    steps.push(if r.length.is_some() { PathStep::RelList(r.slot) } else { PathStep::Rel(r.slot) });
                    steps.push(PathStep::Node(pnodes[i + 1].slot));
                }
                paths.push((p, steps));
            }
            let base = gnodes.len();
            let n = pnodes.len();
            gnodes.extend(pnodes);
            for (i, r) in prels.into_iter().enumerate() {
                gedges.push((r, base + i, base + i + 1));
            }
            debug_assert_eq!(gnodes.len(), base + n);
        }
        // Choose the start with the cheapest greedy order; then emit that order.
        let mut best: Option<(f64, Vec<GreedyStep>)> = None;
        for start in 0..gnodes.len() {
            let (cost, steps) = self.greedy_order(start, &gnodes, &gedges, &bound, &conjuncts);
            // Estimates carry sampling noise: a later start must win clearly.
            if best.as_ref().is_none_or(|b| cost < b.0 * 0.9) {
                best = Some((cost, steps));
            }
        }
        let steps = best.map(|b| b.1).unwrap_or_default();
        let mut visited = vec![false; gnodes.len()];
        for step in steps {
            match step {
                GreedyStep::Node(i) => {
                    let n = &gnodes[i];
                    plan = self.bind_or_check(plan, n, &mut bound);
                    visited[i] = true;
                }
                GreedyStep::Expand(e, forward) => {
                    let (r, a, b) = &gedges[e];
                    let (from, to) = if forward { (*a, *b) } else { (*b, *a) };
                    if !visited[from] {
                        plan = self.bind_or_check(plan, &gnodes[from], &mut bound);
                        visited[from] = true;
                    }
                    let to_node = &gnodes[to];
                    let dir = if forward { r.dir } else { r.dir.reversed() };
                    let to_share = self.far_end_share(r, dir, &gnodes[from].labels, &to_node.labels);
                    let spec = ExpandSpec {
                        from: gnodes[from].slot,
                        rel: r.slot,
                        to: to_node.slot,
                        dir,
                        types: r.types.clone(),
                        rel_props: r.props.clone(),
                        to_labels: to_node.labels.clone(),
                        to_props: to_node.props.clone(),
                        to_bound: bound.contains(&to_node.slot),
                        rel_bound: bound.contains(&r.slot),
                        length: r.length,
                        distinct_from: match_rels.iter().copied().filter(|s| *s != r.slot).collect(),
                        reversed: !forward,
                        predicates: Vec::new(),
                        to_prune: None,
                        frontier: None,
                        to_share,
                    };
                    plan = LogicalOp::Expand { input: Box::new(plan), spec: Box::new(spec) };
                    visited[to] = true;
                    bound.insert(to_node.slot);
                    if r.slot >= bound_before {
                        match_rels.push(r.slot);
                    }
                    bound.insert(r.slot);
                }
            }
            plan = place_filters(plan, &mut conjuncts, &bound);
        }
        for (slot, steps) in paths {
            plan = LogicalOp::BuildPath { input: Box::new(plan), slot, steps };
            bound.insert(slot);
            plan = place_filters(plan, &mut conjuncts, &bound);
        }
        for (pnodes, prels, path_slot, kind) in shortest {
            for n in &pnodes {
                plan = self.bind_or_check(plan, n, &mut bound);
                plan = place_filters(plan, &mut conjuncts, &bound);
            }
            let r = &prels[0];
            let (min, max) = r.length.unwrap_or((1, Some(1)));
            plan = LogicalOp::ShortestPath {
                input: Box::new(plan),
                from: pnodes[0].slot,
                to: pnodes[1].slot,
                rel: r.slot,
                path: path_slot,
                dir: r.dir,
                types: r.types.clone(),
                min,
                max,
                all: kind == PathKind::AllShortest,
            };
            bound.insert(r.slot);
            if let Some(p) = path_slot {
                bound.insert(p);
            }
            plan = place_filters(plan, &mut conjuncts, &bound);
        }
        for (predicate, _) in conjuncts {
            plan = LogicalOp::Filter { input: Box::new(plan), predicate };
        }
        Ok(plan)
    }

    /// Scans an unbound node, or checks the labels and properties of a bound one.
    pub(super) fn bind_or_check(&mut self, plan: LogicalOp, n: &PNode, bound: &mut BTreeSet<usize>) -> LogicalOp {
        if bound.contains(&n.slot) {
            if n.labels.is_empty() && n.props.is_empty() {
                return plan;
            }
            return LogicalOp::NodeCheck {
                input: Box::new(plan),
                slot: n.slot,
                labels: n.labels.clone(),
                props: n.props.clone(),
            };
        }
        bound.insert(n.slot);
        self.scan(plan, n.slot, &n.labels, n.props.clone())
    }

    pub(super) fn scan(
        &mut self,
        input: LogicalOp,
        slot: usize,
        labels: &[String],
        props: Vec<(String, CExpr)>,
    ) -> LogicalOp {
        // The rarest label drives the scan; the rules may turn it into an index seek.
        let source = labels
            .iter()
            .min_by_key(|l| self.graph.label_nodes(Some(l)).map(|b| b.len()).unwrap_or(u64::MAX))
            .map_or(ScanSource::AllNodes, |l| ScanSource::Label(l.clone()));
        LogicalOp::NodeScan {
            input: Box::new(input),
            slot,
            source,
            labels: labels.to_vec(),
            props,
            predicates: Vec::new(),
        }
    }
}
