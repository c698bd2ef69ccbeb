//! `shortestPath` and `allShortestPaths`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use sprig_index::graph::{NodeId, RelId};

use crate::cypher::plan::*;
use crate::cypher::value::{CypherValue as V, PathValue};
use crate::Result;

use super::context::{set, BoxOp, Ctx, Operator, Row};
use super::expand::{neighbours, type_tokens};

pub(super) struct Shortest {
    pub(super) input: BoxOp,
    pub(super) from: usize,
    pub(super) to: usize,
    pub(super) rel: usize,
    pub(super) path: Option<usize>,
    pub(super) dir: ExpandDir,
    pub(super) types: Vec<String>,
    pub(super) min: u64,
    pub(super) max: Option<u64>,
    pub(super) all: bool,
    pub(super) pending: VecDeque<Row>,
    /// Searches run so far; after [`PROJECT_AFTER_SEARCHES`] the rest use a projection.
    pub(super) searches: usize,
    pub(super) projection: Option<crate::cypher::exec::projection::GraphProjection>,
}

/// Building a petgraph projection costs about as much as a few searches that reach
/// most of a graph; an operator that runs more searches than this builds one.
pub const PROJECT_AFTER_SEARCHES: usize = 4;

impl Shortest {
    fn neighbours(&self, n: NodeId, tokens: &Option<Vec<u32>>, ctx: &mut Ctx<'_>) -> Result<Vec<(RelId, NodeId)>> {
        match &self.projection {
            Some(p) => Ok(p.neighbours(n, self.dir)),
            None => neighbours(n, self.dir, tokens, ctx),
        }
    }

    fn search(&mut self, row: Row, ctx: &mut Ctx<'_>) -> Result<()> {
        let (Some(V::Node(a)), Some(V::Node(b))) = (row.get(self.from).cloned(), row.get(self.to).cloned()) else {
            return Ok(());
        };
        let tokens = type_tokens(&self.types, ctx);
        self.searches += 1;
        if self.projection.is_none() && self.searches > PROJECT_AFTER_SEARCHES {
            self.projection = Some(crate::cypher::exec::projection::GraphProjection::build(ctx, &tokens)?);
        }
        let mut paths: Vec<(Vec<NodeId>, Vec<RelId>)> = Vec::new();
        if a == b {
            if self.min == 0 {
                paths.push((vec![a], Vec::new()));
            }
        } else {
            // Breadth-first by levels; parents keep every shortest way in.
            let mut parents: HashMap<NodeId, Vec<(NodeId, RelId)>> = HashMap::new();
            let mut seen: HashSet<NodeId> = HashSet::from([a]);
            let mut frontier = vec![a];
            let mut depth = 0u64;
            let mut found = false;
            while !frontier.is_empty() && !found && self.max.is_none_or(|m| depth < m) {
                depth += 1;
                let mut next: Vec<NodeId> = Vec::new();
                let mut level: HashMap<NodeId, Vec<(NodeId, RelId)>> = HashMap::new();
                for &n in &frontier {
                    for (rel, other) in self.neighbours(n, &tokens, ctx)? {
                        ctx.tick()?;
                        if seen.contains(&other) {
                            continue;
                        }
                        let e = level.entry(other).or_default();
                        if e.is_empty() {
                            next.push(other);
                        }
                        e.push((n, rel));
                    }
                }
                for n in &next {
                    seen.insert(*n);
                }
                if level.contains_key(&b) {
                    found = true;
                }
                parents.extend(level);
                frontier = next;
            }
            if found {
                let mut stack: Vec<(NodeId, Vec<NodeId>, Vec<RelId>)> = vec![(b, vec![b], Vec::new())];
                while let Some((n, nodes, rels)) = stack.pop() {
                    if n == a {
                        let mut nodes = nodes;
                        let mut rels = rels;
                        nodes.reverse();
                        rels.reverse();
                        paths.push((nodes, rels));
                        if !self.all {
                            break;
                        }
                        continue;
                    }
                    for (p, r) in parents.get(&n).cloned().unwrap_or_default() {
                        let mut ns = nodes.clone();
                        ns.push(p);
                        let mut rs = rels.clone();
                        rs.push(r);
                        stack.push((p, ns, rs));
                    }
                }
            }
        }
        for (nodes, rels) in paths {
            let mut out = row.clone();
            set(&mut out, self.rel, V::list(rels.iter().map(|r| V::Rel(*r)).collect()));
            if let Some(p) = self.path {
                set(&mut out, p, V::Path(Arc::new(PathValue { nodes, rels })));
            }
            self.pending.push_back(out);
        }
        Ok(())
    }
}

impl Operator for Shortest {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            self.search(row, ctx)?;
        }
    }
    fn reset(&mut self, arg: &Row) {
        // The projection stays: a reset does not change the graph within a statement.
        self.pending.clear();
        self.input.reset(arg);
    }
}
