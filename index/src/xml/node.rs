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

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// `to` as stored relative to node `pre`: 0 for `none`, else the zigzag distance + 1.
fn distance(pre: u32, to: u32, none: u32) -> u64 {
    if to == none {
        0
    } else {
        zigzag(i64::from(pre) - i64::from(to)) + 1
    }
}

/// Reverses [`distance`].
fn from_distance(pre: u32, stored: u64, none: u32) -> Result<u32> {
    if stored == 0 {
        return Ok(none);
    }
    let to = i64::from(pre) - unzigzag(stored - 1);
    u32::try_from(to).map_err(|_| Error::corrupted("node chunk", "a region label out of range"))
}

fn small(v: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::corrupted("node chunk", "a number out of range"))
}

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

    /// The stored form of a chunk whose first node is `first_pre`: the record count,
    /// then each field as a column of varints, then the text, zstd-compressed.
    /// Parents and ends are stored as distances from the node (most are a few nodes
    /// away), levels as the change from the node before, names and paths as small
    /// numbers: a record takes 6-8 bytes before compression where a fixed row took
    /// 27, and zstd keeps XML text in about two thirds of LZ4's bytes.
    pub(crate) fn encode(&self, first_pre: u32) -> Result<Vec<u8>> {
        let mut enc = Encoder::default();
        enc.u32(self.records.len() as u32);
        for r in &self.records {
            enc.u8(r.kind as u8);
        }
        let mut level = 0u16;
        for r in &self.records {
            enc.var(zigzag(i64::from(r.level) - i64::from(level)));
            level = r.level;
        }
        for r in &self.records {
            enc.var(if r.name == NO_NAME { 0 } else { u64::from(r.name) + 1 });
        }
        for (pre, r) in (first_pre..).zip(&self.records) {
            enc.var(distance(pre, r.parent, NO_PARENT));
        }
        for (pre, r) in (first_pre..).zip(&self.records) {
            enc.var(distance(pre, r.end, OPEN_END));
        }
        for r in &self.records {
            enc.var(u64::from(r.path));
        }
        for w in self.text_bounds.windows(2) {
            enc.var(u64::from(w[1] - w[0]));
        }
        let mut raw = enc.finish();
        raw.extend_from_slice(self.text.as_bytes());
        crate::codec::compress_dense(&raw)
    }

    /// Reverses [`Chunk::encode`] for the chunk whose first node is `first_pre`.
    pub(crate) fn decode(stored: &[u8], first_pre: u32) -> Result<Chunk> {
        let bytes = crate::codec::decompress_dense(stored, "node chunk")?;
        let mut dec = Decoder::new(&bytes, "node chunk");
        let n = dec.u32()? as usize;
        // Every record takes at least one byte per column.
        if n > CHUNK_NODES as usize || bytes.len() < 4 + n * 7 {
            return Err(Error::corrupted("node chunk", "record count out of range"));
        }
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            let kind = NodeKind::from_u8(dec.u8()?)?;
            records.push(NodeRecord { kind, level: 0, name: NO_NAME, parent: NO_PARENT, end: OPEN_END, path: 0 });
        }
        let mut level = 0i64;
        for r in &mut records {
            level += unzigzag(dec.var()?);
            r.level = u16::try_from(level).map_err(|_| Error::corrupted("node chunk", "level out of range"))?;
        }
        for r in &mut records {
            r.name = match dec.var()? {
                0 => NO_NAME,
                v => small(v - 1)?,
            };
        }
        for (pre, r) in (first_pre..).zip(records.iter_mut()) {
            r.parent = from_distance(pre, dec.var()?, NO_PARENT)?;
        }
        for (pre, r) in (first_pre..).zip(records.iter_mut()) {
            r.end = from_distance(pre, dec.var()?, OPEN_END)?;
        }
        for r in &mut records {
            r.path = small(dec.var()?)?;
        }
        let mut text_bounds = Vec::with_capacity(n + 1);
        text_bounds.push(0u32);
        let mut acc = 0u32;
        for _ in 0..n {
            acc = acc
                .checked_add(small(dec.var()?)?)
                .ok_or_else(|| Error::corrupted("node chunk", "text length overflow"))?;
            text_bounds.push(acc);
        }
        let rest = dec.rest();
        if rest.len() != acc as usize {
            return Err(Error::corrupted("node chunk", "text length mismatch"));
        }
        let text = String::from_utf8(rest.to_vec()).map_err(|e| Error::corrupted("node chunk", e))?;
        Ok(Chunk { records, text_bounds, text })
    }
}
