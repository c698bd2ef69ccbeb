//! Region-labelled node records and their chunked storage form.
//!
//! Every node of a document (root, elements, attributes, namespace declarations, text,
//! comments, processing instructions) gets a pre-order number `pre`. Attributes and
//! namespace declarations follow their element directly, before its children, so that
//! document order is `pre` order.
//!
//! Region label: `(pre, end, level, parent)` where `end` is the pre-order number of
//! the last node in the subtree. Invariant: `a` is an ancestor of `d` iff
//! `a.pre < d.pre && d.pre <= a.end`; attributes and leaves have `end == pre`.

use crate::codec::{Decoder, Encoder};
use crate::{Error, Result};

/// Nodes per stored chunk.
pub const CHUNK_NODES: u32 = 4096;
/// `name` of a node that has none (root, text, comment).
pub const NO_NAME: u32 = u32::MAX;
/// `parent` of the root node.
pub const NO_PARENT: u32 = u32::MAX;
/// `end` of an element whose chunk was written before the element closed; the real end
/// is in the document's patch list.
pub(crate) const OPEN_END: u32 = u32::MAX;

/// The kind of a stored node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum NodeKind {
    Root = 0,
    Element = 1,
    Attribute = 2,
    Text = 3,
    Comment = 4,
    ProcessingInstruction = 5,
    /// An `xmlns` or `xmlns:p` declaration on its element; the XPath namespace nodes are
    /// derived from these. Never returned by any axis itself.
    NamespaceDecl = 6,
}

impl NodeKind {
    pub fn from_u8(v: u8) -> Result<Self> {
        Ok(match v {
            0 => NodeKind::Root,
            1 => NodeKind::Element,
            2 => NodeKind::Attribute,
            3 => NodeKind::Text,
            4 => NodeKind::Comment,
            5 => NodeKind::ProcessingInstruction,
            6 => NodeKind::NamespaceDecl,
            _ => return Err(Error::corrupted("node chunk", format!("unknown node kind {v}"))),
        })
    }

    /// Attributes and namespace declarations hang off an element but are not its children.
    pub fn is_attribute_like(self) -> bool {
        matches!(self, NodeKind::Attribute | NodeKind::NamespaceDecl)
    }
}

/// The region label and names of one node. Text lives beside it in the chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeRecord {
    pub kind: NodeKind,
    pub level: u16,
    /// Interned name (elements, attributes, namespace declarations, PI targets) or [`NO_NAME`].
    pub name: u32,
    pub parent: u32,
    pub end: u32,
    /// Path-summary id of the node's root-to-node label path.
    pub path: u32,
}

const RECORD_BYTES: usize = 1 + 2 + 4 + 4 + 4 + 4 + 4;

/// A decoded chunk: up to [`CHUNK_NODES`] consecutive records and their text.
#[derive(Debug, Default)]
pub struct Chunk {
    pub(crate) records: Vec<NodeRecord>,
    /// `text_bounds[i]..text_bounds[i + 1]` is the byte range of record `i`'s text.
    text_bounds: Vec<u32>,
    text: String,
}

impl Chunk {
    pub(crate) fn push(&mut self, record: NodeRecord, text: &str) {
        if self.text_bounds.is_empty() {
            self.text_bounds.push(0);
        }
        self.records.push(record);
        self.text.push_str(text);
        self.text_bounds.push(self.text.len() as u32);
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Decoded size in bytes, for the read cache's budget.
    pub(crate) fn decoded_bytes(&self) -> usize {
        self.records.len() * std::mem::size_of::<NodeRecord>() + self.text_bounds.len() * 4 + self.text.len()
    }

    pub(crate) fn record(&self, idx: usize) -> Option<&NodeRecord> {
        self.records.get(idx)
    }

    pub(crate) fn record_mut(&mut self, idx: usize) -> Option<&mut NodeRecord> {
        self.records.get_mut(idx)
    }

    pub(crate) fn text(&self, idx: usize) -> &str {
        match (self.text_bounds.get(idx), self.text_bounds.get(idx + 1)) {
            (Some(&a), Some(&b)) => self.text.get(a as usize..b as usize).unwrap_or(""),
            _ => "",
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut enc = Encoder::default();
        enc.u32(self.records.len() as u32);
        for (i, r) in self.records.iter().enumerate() {
            let len = self.text_bounds[i + 1] - self.text_bounds[i];
            enc.u8(r.kind as u8).u16(r.level).u32(r.name).u32(r.parent).u32(r.end).u32(r.path).u32(len);
        }
        let mut raw = enc.finish();
        raw.extend_from_slice(self.text.as_bytes());
        // Records repeat most of their bytes (kinds, levels, names, paths), so LZ4 shrinks
        // a chunk several times over; that is less to write, to store, and for the
        // storage engine to hold in memory during a load.
        crate::codec::compress(&raw)
    }

    pub(crate) fn decode(stored: &[u8]) -> Result<Chunk> {
        let bytes = crate::codec::decompress(stored, "node chunk")?;
        let bytes = &bytes[..];
        let mut dec = Decoder::new(bytes, "node chunk");
        let n = dec.u32()? as usize;
        if n > CHUNK_NODES as usize || bytes.len() < 4 + n * RECORD_BYTES {
            return Err(Error::corrupted("node chunk", "record count out of range"));
        }
        let mut records = Vec::with_capacity(n);
        let mut text_bounds = Vec::with_capacity(n + 1);
        text_bounds.push(0u32);
        let mut acc = 0u32;
        for _ in 0..n {
            let kind = NodeKind::from_u8(dec.u8()?)?;
            let level = dec.u16()?;
            let name = dec.u32()?;
            let parent = dec.u32()?;
            let end = dec.u32()?;
            let path = dec.u32()?;
            acc = acc.checked_add(dec.u32()?).ok_or_else(|| Error::corrupted("node chunk", "text length overflow"))?;
            text_bounds.push(acc);
            records.push(NodeRecord { kind, level, name, parent, end, path });
        }
        let rest = dec.rest();
        if rest.len() != acc as usize {
            return Err(Error::corrupted("node chunk", "text length mismatch"));
        }
        let text = String::from_utf8(rest.to_vec()).map_err(|e| Error::corrupted("node chunk", e))?;
        Ok(Chunk { records, text_bounds, text })
    }
}
