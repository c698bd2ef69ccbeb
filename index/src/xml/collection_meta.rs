//! A collection generation's metadata (name table, path summary, per-document
//! metadata), decoded once: the store reads it, the read cache keeps it.

use std::collections::HashMap;
use std::sync::Arc;

use super::names::NameTable;
use super::path_summary::PathSummary;
use super::DocMeta;

/// A document's metadata and its patched region ends (elements that closed after
/// their chunk was written), by `pre`.
pub(crate) type DocEntry = (Arc<DocMeta>, Arc<HashMap<u32, u32>>);

/// What a collection's generation says about itself, decoded once and shared by
/// every reader of that generation through the read cache.
#[derive(Debug)]
pub(crate) struct CollectionMeta {
    pub(crate) names: Arc<NameTable>,
    pub(crate) paths: Arc<PathSummary>,
    pub(crate) docs: Vec<DocEntry>,
}

impl CollectionMeta {
    /// A rough decoded size, for the cache's budget.
    pub(crate) fn decoded_bytes(&self) -> usize {
        let patches: usize = self.docs.iter().map(|(_, p)| p.len() * 24).sum();
        self.paths.len() * 96 + self.names.len() * 64 + patches
    }
}
