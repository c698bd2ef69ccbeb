//! The read cache shared by every query of a store: decoded node chunks, region
//! segments, region directories and collection metadata (names, path summary,
//! documents), keyed by generation. Generations never change
//! once written, so entries never go stale; a dropped generation's entries are
//! forgotten with it. Eviction is first-in first-out by decoded size.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::collection_meta::CollectionMeta;
use super::node::Chunk;
use crate::{Error, Result};

/// Decoded bytes kept at most.
pub const READ_CACHE_BYTES: usize = 128 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CacheKey {
    Chunk { gen: u64, doc: u32, no: u32 },
    Segment { gen: u64, doc: u32, no: u32 },
    Directory { gen: u64, doc: u32 },
    Collection { gen: u64 },
}

impl CacheKey {
    fn generation(&self) -> u64 {
        match *self {
            CacheKey::Chunk { gen, .. }
            | CacheKey::Segment { gen, .. }
            | CacheKey::Directory { gen, .. }
            | CacheKey::Collection { gen } => gen,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Entry {
    Chunk(Arc<Chunk>),
    Regions(Arc<Vec<(u32, u32)>>),
    Directory(Arc<Vec<(u64, u32)>>),
    Collection(Arc<CollectionMeta>),
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<CacheKey, (Entry, usize)>,
    order: VecDeque<CacheKey>,
    bytes: usize,
}

#[derive(Debug)]
pub(crate) struct ReadCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl ReadCache {
    pub(crate) fn new(capacity: usize) -> Self {
        ReadCache { inner: Mutex::new(Inner::default()), capacity }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>> {
        self.inner.lock().map_err(|_| Error::corrupted("read cache", "lock poisoned"))
    }

    /// The cached entry for `key`, or `load()`'s (entry, decoded size), cached.
    /// Loading runs outside the lock, so readers never wait on each other's I/O.
    pub(crate) fn get_or_load(&self, key: CacheKey, load: impl FnOnce() -> Result<(Entry, usize)>) -> Result<Entry> {
        if let Some((entry, _)) = self.lock()?.entries.get(&key) {
            return Ok(entry.clone());
        }
        let (entry, size) = load()?;
        let mut inner = self.lock()?;
        if !inner.entries.contains_key(&key) {
            while inner.bytes + size > self.capacity {
                let Some(old) = inner.order.pop_front() else { break };
                if let Some((_, s)) = inner.entries.remove(&old) {
                    inner.bytes -= s;
                }
            }
            inner.entries.insert(key, (entry.clone(), size));
            inner.order.push_back(key);
            inner.bytes += size;
        }
        Ok(entry)
    }

    /// Drops every entry of generation `gen`.
    pub(crate) fn forget_generation(&self, gen: u64) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let inner = &mut *inner;
        inner.order.retain(|k| k.generation() != gen);
        let mut freed = 0;
        inner.entries.retain(|k, (_, size)| {
            let keep = k.generation() != gen;
            if !keep {
                freed += *size;
            }
            keep
        });
        inner.bytes -= freed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_first_and_forgets_generations() {
        let cache = ReadCache::new(100);
        let load = |n: u32| move || Ok((Entry::Regions(Arc::new(vec![(n, n)])), 40));
        for no in 0..3 {
            cache.get_or_load(CacheKey::Segment { gen: 1, doc: 0, no }, load(no)).unwrap();
        }
        // The third entry evicted the first: 80 bytes held.
        assert_eq!(cache.lock().unwrap().bytes, 80);
        assert!(!cache.lock().unwrap().entries.contains_key(&CacheKey::Segment { gen: 1, doc: 0, no: 0 }));
        let again =
            cache.get_or_load(CacheKey::Segment { gen: 1, doc: 0, no: 2 }, || panic!("must be cached")).unwrap();
        assert!(matches!(again, Entry::Regions(r) if r[0] == (2, 2)));
        cache.forget_generation(1);
        assert_eq!(cache.lock().unwrap().bytes, 0);
    }
}
