//! The XML store's keys in the database's [`SharedCache`]: decoded node chunks,
//! region segments, region directories and collection metadata, keyed by
//! generation. Generations never change once written, so entries never go stale; a
//! dropped generation's entries are forgotten with it.

use std::sync::Arc;

use super::collection_meta::CollectionMeta;
use super::node::Chunk;
use crate::cache::{CacheKey, CacheSpace, CacheValue, SharedCache};
use crate::Result;

impl CacheValue for Chunk {}
impl CacheValue for CollectionMeta {}

/// A region segment: (start, end) of each region.
#[derive(Debug)]
pub(crate) struct Regions(pub(crate) Vec<(u32, u32)>);
impl CacheValue for Regions {}

/// A region directory: per path id, (first region, number of regions).
#[derive(Debug)]
pub(crate) struct Directory(pub(crate) Vec<(u64, u32)>);
impl CacheValue for Directory {}

/// The XML store's view of the shared cache.
#[derive(Debug, Clone)]
pub(crate) struct XmlCache {
    shared: Arc<SharedCache>,
    owner: u32,
}

const XML_SPACES: [CacheSpace; 4] =
    [CacheSpace::XmlNodes, CacheSpace::XmlRegions, CacheSpace::XmlDirectory, CacheSpace::XmlCollection];

impl XmlCache {
    pub(crate) fn new(shared: Arc<SharedCache>) -> Self {
        let owner = shared.register_owner();
        XmlCache { shared, owner }
    }

    fn key(&self, space: CacheSpace, gen: u64, doc: u32, no: u32) -> CacheKey {
        CacheKey { owner: self.owner, space, group: gen, item: (u64::from(doc) << 32) | u64::from(no) }
    }

    pub(crate) fn chunk_key(&self, gen: u64, doc: u32, no: u32) -> CacheKey {
        self.key(CacheSpace::XmlNodes, gen, doc, no)
    }

    pub(crate) fn segment_key(&self, gen: u64, doc: u32, no: u32) -> CacheKey {
        self.key(CacheSpace::XmlRegions, gen, doc, no)
    }

    pub(crate) fn directory_key(&self, gen: u64, doc: u32) -> CacheKey {
        self.key(CacheSpace::XmlDirectory, gen, doc, 0)
    }

    pub(crate) fn collection_key(&self, gen: u64) -> CacheKey {
        self.key(CacheSpace::XmlCollection, gen, 0, 0)
    }

    /// The entry under `key`, or `load()`'s (value, decoded size), cached.
    pub(crate) fn get_or_load<T: CacheValue>(
        &self,
        key: CacheKey,
        load: impl FnOnce() -> Result<(T, usize)>,
    ) -> Result<Arc<T>> {
        self.shared.get_or_load(key, load)
    }

    /// Drops every entry of generation `gen`.
    pub(crate) fn forget_generation(&self, gen: u64) {
        let owner = self.owner;
        self.shared.retain(|k| !(k.owner == owner && k.group == gen && XML_SPACES.contains(&k.space)));
    }
}
