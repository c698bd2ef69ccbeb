//! The XML side of the index: ingest, region-labelled node storage, names, path summary.

pub(crate) mod cache;
pub mod check;
mod check_values;
mod collection_meta;
pub mod document;
pub mod dtd;
pub mod ingest;
pub mod names;
pub mod node;
pub mod path_summary;
pub mod position;
pub(crate) mod region_lists;
pub(crate) mod region_table;
pub mod store;
mod value_feed;
pub mod value_index;

use crate::codec::{Decoder, Encoder};
use crate::Result;
use ingest::DocStats;

/// What is stored about one document besides its chunks.
#[derive(Debug, Clone)]
pub struct DocMeta {
    /// The document's name within its collection (the file stem).
    pub name: String,
    pub node_count: u32,
    /// `(pre, end)` of elements whose chunk was written before they closed, sorted by pre.
    pub(crate) patches: Vec<(u32, u32)>,
    pub stats: DocStats,
}

impl DocMeta {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut enc = Encoder::default();
        enc.str(&self.name).u32(self.node_count).u32(self.patches.len() as u32);
        for (pre, end) in &self.patches {
            enc.u32(*pre).u32(*end);
        }
        let s = &self.stats;
        enc.u64(s.nodes).u64(s.elements).u64(s.attributes).u64(s.texts).u64(s.bytes);
        enc.finish()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let mut dec = Decoder::new(bytes, "document metadata");
        let name = dec.string()?;
        let node_count = dec.u32()?;
        let n = dec.u32()?;
        let mut patches = Vec::with_capacity(n.min(1 << 20) as usize);
        for _ in 0..n {
            patches.push((dec.u32()?, dec.u32()?));
        }
        let stats = DocStats {
            nodes: dec.u64()?,
            elements: dec.u64()?,
            attributes: dec.u64()?,
            texts: dec.u64()?,
            bytes: dec.u64()?,
        };
        Ok(DocMeta { name, node_count, patches, stats })
    }
}
