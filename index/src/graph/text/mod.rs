//! Text indexes of a graph, on tantivy: the LIndex (each node's path neighbourhood,
//! for pruning pattern matches seeded by text) and full-text indexes (BM25 search
//! through `db.index.fulltext.query*`). Both are kept in step with the graph inside
//! the transaction that changes it (see [`crate::graph::Overlay`]).

mod handle;
mod neighbourhood;
pub(crate) mod terms;

pub use handle::TextIndexHandle;
pub(crate) use handle::{document_terms, files_prefix, tantivy_error, Fields};
pub(crate) use neighbourhood::{fulltext_document, lindex_document, TextSources};
pub use terms::{StepPattern, TextTest};

/// Which kind of text index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextIndexKind {
    /// Path neighbourhoods up to `hops` relationships away, listing at most `walks`
    /// walks of each length per node.
    LIndex { hops: u32, walks: u32 },
    /// Analysed words of the properties, scored by BM25.
    FullText,
}

/// Default of `OPTIONS {walks: n}`.
pub const DEFAULT_WALKS: u32 = 1024;

/// A text index's definition, kept in the graph's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextIndexDef {
    pub name: String,
    pub kind: TextIndexKind,
    /// True for an index over relationships (of type `label`); only full-text ones.
    pub on_relationships: bool,
    /// The label (or relationship type) whose entities hold the text.
    pub label: String,
    pub properties: Vec<String>,
}

impl TextIndexDef {
    /// The LIndex's hop count; 0 for full-text indexes.
    pub fn hops(&self) -> u32 {
        match self.kind {
            TextIndexKind::LIndex { hops, .. } => hops,
            TextIndexKind::FullText => 0,
        }
    }

    /// The most walks of one length an LIndex document lists.
    pub fn walks(&self) -> u32 {
        match self.kind {
            TextIndexKind::LIndex { walks, .. } => walks,
            TextIndexKind::FullText => 0,
        }
    }

    pub(crate) fn encode(&self, enc: &mut crate::codec::Encoder) {
        enc.str(&self.name);
        match self.kind {
            TextIndexKind::LIndex { hops, walks } => enc.u8(0).u32(hops).u32(walks),
            TextIndexKind::FullText => enc.u8(1).u32(0).u32(0),
        };
        enc.u8(u8::from(self.on_relationships)).str(&self.label);
        enc.u32(self.properties.len() as u32);
        for p in &self.properties {
            enc.str(p);
        }
    }

    pub(crate) fn decode(dec: &mut crate::codec::Decoder<'_>) -> crate::Result<TextIndexDef> {
        let name = dec.string()?;
        let kind = match (dec.u8()?, dec.u32()?, dec.u32()?) {
            (0, hops, walks) => TextIndexKind::LIndex { hops, walks },
            _ => TextIndexKind::FullText,
        };
        let on_relationships = dec.u8()? != 0;
        let label = dec.string()?;
        let mut properties = Vec::new();
        for _ in 0..dec.u32()? {
            properties.push(dec.string()?);
        }
        Ok(TextIndexDef { name, kind, on_relationships, label, properties })
    }
}
