//! Node and relationship records, adjacency lists and per-graph metadata, with their
//! stored form.

use std::collections::BTreeSet;

use super::value::{decode_properties, encode_properties, find_raw_property, Properties, RawValue};
use crate::codec::{Decoder, Encoder};
use crate::Result;

/// Node ids are unique within a graph and never reused.
pub type NodeId = u64;
/// Relationship ids are unique within a graph and never reused.
pub type RelId = u64;

/// Which way a relationship is followed from a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    Outgoing,
    Incoming,
}

impl Direction {
    pub(crate) fn tag(self) -> u8 {
        match self {
            Direction::Outgoing => b'o',
            Direction::Incoming => b'i',
        }
    }
}

/// A node: its labels (sorted, distinct) and properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeRecord {
    pub labels: Vec<String>,
    pub properties: Properties,
}

/// A relationship: its type, endpoints and properties.
#[derive(Debug, Clone, PartialEq)]
pub struct RelRecord {
    pub rel_type: String,
    pub start: NodeId,
    pub end: NodeId,
    pub properties: Properties,
}

/// One entry of a node's adjacency list in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AdjEntry {
    /// The relationship type's token (see [`GraphMeta::types`]).
    pub type_token: u32,
    pub rel: RelId,
    /// The node at the other end.
    pub other: NodeId,
}

/// A property index: nodes with `label`, by the value of `property`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    pub label: String,
    pub property: String,
}

/// Counters, tokens and index definitions of one graph.
#[derive(Debug, Clone, Default)]
pub struct GraphMeta {
    pub next_node: NodeId,
    pub next_rel: RelId,
    pub node_count: u64,
    pub rel_count: u64,
    /// Relationship type tokens: `types[token]` is the type's name.
    pub types: Vec<String>,
    /// Relationships per type token.
    pub type_counts: Vec<u64>,
    /// Every label ever used.
    pub labels: BTreeSet<String>,
    /// Every property key ever used.
    pub property_keys: BTreeSet<String>,
    pub indexes: Vec<IndexDef>,
    /// LIndexes and full-text indexes (stored after the property indexes, so metadata
    /// written before text indexes existed still decodes).
    pub text_indexes: Vec<super::text::TextIndexDef>,
    /// Entities a bulk load added that the text indexes do not hold yet: (nodes,
    /// relationships). Set in the load's batch and cleared by the commit that indexes
    /// them, so a crash in between leaves a mark: until then the text indexes are not
    /// used (a lookup would miss these entities).
    pub text_pending: Option<(std::ops::Range<u64>, std::ops::Range<u64>)>,
}

impl GraphMeta {
    /// The token of relationship type `name`, if it was ever used.
    pub fn type_token(&self, name: &str) -> Option<u32> {
        self.types.iter().position(|t| t == name).map(|p| p as u32)
    }

    pub(crate) fn type_token_or_add(&mut self, name: &str) -> u32 {
        match self.type_token(name) {
            Some(t) => t,
            None => {
                self.types.push(name.to_string());
                self.type_counts.push(0);
                (self.types.len() - 1) as u32
            }
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut enc = Encoder::default();
        enc.u64(self.next_node).u64(self.next_rel).u64(self.node_count).u64(self.rel_count);
        enc.u32(self.types.len() as u32);
        for (t, c) in self.types.iter().zip(&self.type_counts) {
            enc.str(t).u64(*c);
        }
        for set in [&self.labels, &self.property_keys] {
            enc.u32(set.len() as u32);
            for s in set {
                enc.str(s);
            }
        }
        enc.u32(self.indexes.len() as u32);
        for i in &self.indexes {
            enc.str(&i.name).str(&i.label).str(&i.property);
        }
        if !self.text_indexes.is_empty() || self.text_pending.is_some() {
            enc.u32(self.text_indexes.len() as u32);
            for t in &self.text_indexes {
                t.encode(&mut enc);
            }
            if let Some((nodes, rels)) = &self.text_pending {
                enc.u8(1).u64(nodes.start).u64(nodes.end).u64(rels.start).u64(rels.end);
            }
        }
        enc.finish()
    }

    pub(crate) fn decode(buf: &[u8]) -> Result<GraphMeta> {
        let mut dec = Decoder::new(buf, "graph metadata");
        let mut meta = GraphMeta {
            next_node: dec.u64()?,
            next_rel: dec.u64()?,
            node_count: dec.u64()?,
            rel_count: dec.u64()?,
            ..GraphMeta::default()
        };
        for _ in 0..dec.u32()? {
            meta.types.push(dec.string()?);
            meta.type_counts.push(dec.u64()?);
        }
        for _ in 0..dec.u32()? {
            meta.labels.insert(dec.string()?);
        }
        for _ in 0..dec.u32()? {
            meta.property_keys.insert(dec.string()?);
        }
        for _ in 0..dec.u32()? {
            meta.indexes.push(IndexDef { name: dec.string()?, label: dec.string()?, property: dec.string()? });
        }
        if !dec.is_empty() {
            for _ in 0..dec.u32()? {
                meta.text_indexes.push(super::text::TextIndexDef::decode(&mut dec)?);
            }
            if !dec.is_empty() && dec.u8()? == 1 {
                meta.text_pending = Some((dec.u64()?..dec.u64()?, dec.u64()?..dec.u64()?));
            }
        }
        Ok(meta)
    }
}

impl NodeRecord {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut enc = Encoder::default();
        enc.u32(self.labels.len() as u32);
        for l in &self.labels {
            enc.str(l);
        }
        encode_properties(&mut enc, &self.properties);
        enc.finish()
    }

    pub(crate) fn decode(buf: &[u8]) -> Result<NodeRecord> {
        let mut dec = Decoder::new(buf, "graph node");
        let n = dec.u32()? as usize;
        let mut labels = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            labels.push(dec.string()?);
        }
        Ok(NodeRecord { labels, properties: decode_properties(&mut dec)? })
    }

    /// True when the node has `label`.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels.binary_search_by(|l| l.as_str().cmp(label)).is_ok()
    }
}

impl RelRecord {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut enc = Encoder::default();
        enc.str(&self.rel_type).u64(self.start).u64(self.end);
        encode_properties(&mut enc, &self.properties);
        enc.finish()
    }

    pub(crate) fn decode(buf: &[u8]) -> Result<RelRecord> {
        let mut dec = Decoder::new(buf, "graph relationship");
        Ok(RelRecord {
            rel_type: dec.string()?,
            start: dec.u64()?,
            end: dec.u64()?,
            properties: decode_properties(&mut dec)?,
        })
    }
}

/// Property `key` of an encoded node record, read without decoding the record.
pub(crate) fn raw_node_property<'a>(buf: &'a [u8], key: &str) -> Result<Option<RawValue<'a>>> {
    let mut dec = Decoder::new(buf, "graph node");
    for _ in 0..dec.u32()? {
        dec.bytes()?;
    }
    find_raw_property(&mut dec, key)
}

/// Property `key` of an encoded relationship record, read without decoding the record.
pub(crate) fn raw_rel_property<'a>(buf: &'a [u8], key: &str) -> Result<Option<RawValue<'a>>> {
    let mut dec = Decoder::new(buf, "graph relationship");
    dec.bytes()?;
    dec.u64()?;
    dec.u64()?;
    find_raw_property(&mut dec, key)
}
