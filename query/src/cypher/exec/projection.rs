//! A petgraph projection of one graph (its nodes and the relationships of some
//! types), for whole-graph algorithms. Shortest-path searches switch to it once an
//! operator has run enough searches for building it to pay off; more algorithms can
//! run on the same projection.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction as PgDirection;
use rustc_hash::FxHashMap;
use sprig_index::graph::{Direction, NodeId, RelId};

use crate::cypher::exec::Ctx;
use crate::cypher::plan::ExpandDir;
use crate::Result;

/// Nodes weighted by their id, edges by their relationship id.
#[derive(Debug, Default)]
pub struct GraphProjection {
    graph: DiGraph<NodeId, RelId>,
    index: FxHashMap<NodeId, NodeIndex>,
}

impl GraphProjection {
    /// Projects every node and the relationships whose type token is in `tokens`
    /// (all relationships for `None`).
    pub fn build(ctx: &mut Ctx<'_>, tokens: &Option<Vec<u32>>) -> Result<Self> {
        let nodes = ctx.graph.label_nodes(None)?;
        let mut graph = DiGraph::with_capacity(nodes.len() as usize, ctx.graph.meta().rel_count as usize);
        let mut index = FxHashMap::default();
        index.reserve(nodes.len() as usize);
        for id in nodes.iter() {
            index.insert(id, graph.add_node(id));
        }
        for id in nodes.iter() {
            let from = index[&id];
            let out = ctx.graph.adjacency(id, Direction::Outgoing)?;
            for e in out.iter() {
                if tokens.as_ref().is_some_and(|t| !t.contains(&e.type_token)) {
                    continue;
                }
                if let Some(to) = index.get(&e.other) {
                    graph.add_edge(from, *to, e.rel);
                }
            }
        }
        Ok(GraphProjection { graph, index })
    }

    /// The relationships of `node` in `dir`, as (relationship, other node).
    pub fn neighbours(&self, node: NodeId, dir: ExpandDir) -> Vec<(RelId, NodeId)> {
        let Some(&ix) = self.index.get(&node) else { return Vec::new() };
        let mut out = Vec::new();
        if matches!(dir, ExpandDir::Out | ExpandDir::Both) {
            for e in self.graph.edges_directed(ix, PgDirection::Outgoing) {
                out.push((*e.weight(), self.graph[e.target()]));
            }
        }
        if matches!(dir, ExpandDir::In | ExpandDir::Both) {
            for e in self.graph.edges_directed(ix, PgDirection::Incoming) {
                // A self-loop was already listed as outgoing.
                if dir == ExpandDir::Both && e.source() == ix {
                    continue;
                }
                out.push((*e.weight(), self.graph[e.source()]));
            }
        }
        out
    }
}
