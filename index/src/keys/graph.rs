//! Graph key layouts (keyspace [`Keyspace::Graph`](crate::Keyspace::Graph), and for
//! chunks [`Keyspace::GraphChunks`](crate::Keyspace::GraphChunks); `G` is the graph's
//! name, which holds no NUL):
//! ```text
//! 0x00 G                        -> graph exists
//! G 0x00 'm'                    -> GraphMeta (counters, type tokens, labels, keys, indexes)
//! G 0x00 'n' chunk:u64          -> lz4(node records of ids chunk*1024 ..+1024)      (GraphChunks)
//! G 0x00 'r' chunk:u64          -> lz4(relationship records, likewise)               (GraphChunks)
//! G 0x00 'a' chunk:u64 dir:u8   -> lz4(adjacency lists of 1024 nodes, each sorted by (type token, rel)) (GraphChunks)
//! G 0x00 'l' label              -> roaring treemap of node ids ("" = every node)
//! G 0x00 'x' label 0 prop 0 value-key node:u64 -> ()   property index entry
//! G 0x00 't' name 0x00 file     -> one file of a text index (see `graph::text::handle`)
//! ```
//! Integers are big-endian, so that byte order is numeric order.

use crate::graph::chunk::ChunkKind;
use crate::graph::{Direction, IndexDef, NodeId, PropertyValue};

pub fn graph_prefix(graph: &str, tag: u8) -> Vec<u8> {
    let mut k = Vec::with_capacity(graph.len() + 2);
    k.extend_from_slice(graph.as_bytes());
    k.push(0);
    k.push(tag);
    k
}

pub fn registry_key(graph: &str) -> Vec<u8> {
    let mut k = vec![0];
    k.extend_from_slice(graph.as_bytes());
    k
}

pub fn chunk_key(graph: &str, kind: ChunkKind, chunk: u64) -> Vec<u8> {
    let tag = match kind {
        ChunkKind::Nodes => b'n',
        ChunkKind::Rels => b'r',
        ChunkKind::Out | ChunkKind::In => b'a',
    };
    let mut k = graph_prefix(graph, tag);
    k.extend_from_slice(&chunk.to_be_bytes());
    match kind {
        ChunkKind::Out => k.push(Direction::Outgoing.tag()),
        ChunkKind::In => k.push(Direction::Incoming.tag()),
        _ => {}
    }
    k
}

pub fn adj_kind(dir: Direction) -> ChunkKind {
    match dir {
        Direction::Outgoing => ChunkKind::Out,
        Direction::Incoming => ChunkKind::In,
    }
}

pub fn label_key(graph: &str, label: &str) -> Vec<u8> {
    let mut k = graph_prefix(graph, b'l');
    k.extend_from_slice(label.as_bytes());
    k
}

pub fn index_prefix(graph: &str, label: &str, prop: &str) -> Vec<u8> {
    let mut k = graph_prefix(graph, b'x');
    k.extend_from_slice(label.as_bytes());
    k.push(0);
    k.extend_from_slice(prop.as_bytes());
    k.push(0);
    k
}

pub fn index_entry(graph: &str, def: &IndexDef, value: &PropertyValue, node: NodeId) -> Option<Vec<u8>> {
    let mut k = index_prefix(graph, &def.label, &def.property);
    k.extend_from_slice(&value.index_key()?);
    k.extend_from_slice(&node.to_be_bytes());
    Some(k)
}
