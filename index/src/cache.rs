//! One memory budget for every read cache of a database: decoded graph chunks
//! (records, their property columns, adjacency), XML node chunks, region segments
//! and directories, and collection metadata all live in one [`SharedCache`], so
//! that `--cache-mb` bounds them together and a graph query can evict what an
//! XPath query left behind (and the other way round).
//!
//! Entries are immutable once cached (graph chunks are rewritten under a new value
//! and evicted by the commit; XML generations never change), so an entry never
//! goes stale. Eviction is CLOCK: an entry read since the hand last passed gets a
//! second chance, so the chunks every query touches (label bitmaps' first chunks,
//! hot adjacency) survive a scan that reads each chunk once.
//!
//! The values are type-erased ([`CacheValue`]) because this module sits below both
//! the graph and the XML store and knows neither's types; each store downcasts
//! what it put in.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{Error, Result};

/// The budget when none is given and the machine's memory is unknown.
pub const FALLBACK_CACHE_MB: usize = 1024;

/// The budget when none is given: a quarter of the machine's memory, between 256 MiB
/// and 4 GiB (as Neo4j's page cache and Kuzu's buffer pool size themselves to the
/// machine). At 4 GiB a graph of a million nodes and 11 million relationships is
/// wholly cached (about 1.4 GiB decoded); a 100k graph takes about 600 MiB.
pub fn default_cache_mb() -> usize {
    let total_kb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
    });
    match total_kb {
        Some(kb) => (kb / 1024 / 4).clamp(256, 4096),
        None => FALLBACK_CACHE_MB,
    }
}

/// A value the cache can hold. `grown_bytes` counts memory the value gained after
/// it was inserted (property columns and per-type adjacency blocks are built on
/// first use); the cache adds it to the entry's size.
pub trait CacheValue: Any + Send + Sync + fmt::Debug {
    fn grown_bytes(&self) -> usize {
        0
    }
}

/// What an entry holds; hit rates are reported per space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CacheSpace {
    GraphNodes,
    GraphRels,
    GraphOut,
    GraphIn,
    XmlNodes,
    XmlRegions,
    XmlDirectory,
    XmlCollection,
}

impl CacheSpace {
    pub const ALL: [CacheSpace; 8] = [
        CacheSpace::GraphNodes,
        CacheSpace::GraphRels,
        CacheSpace::GraphOut,
        CacheSpace::GraphIn,
        CacheSpace::XmlNodes,
        CacheSpace::XmlRegions,
        CacheSpace::XmlDirectory,
        CacheSpace::XmlCollection,
    ];

    /// The name `profile` prints.
    pub fn name(self) -> &'static str {
        match self {
            CacheSpace::GraphNodes => "graph_nodes",
            CacheSpace::GraphRels => "graph_relationships",
            CacheSpace::GraphOut => "graph_out",
            CacheSpace::GraphIn => "graph_in",
            CacheSpace::XmlNodes => "xml_nodes",
            CacheSpace::XmlRegions => "xml_regions",
            CacheSpace::XmlDirectory => "xml_directories",
            CacheSpace::XmlCollection => "xml_collections",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One entry's name: the store that owns it ([`SharedCache::register_owner`]), what
/// it is, and two numbers the owner chooses (graph id and chunk; generation and
/// document/chunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub owner: u32,
    pub space: CacheSpace,
    pub group: u64,
    pub item: u64,
}

struct Slot {
    value: Arc<dyn CacheValue>,
    size: usize,
    referenced: bool,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<CacheKey, Slot>,
    /// The clock: every key of `entries` once, oldest first (removed keys linger
    /// until the hand reaches them).
    ring: VecDeque<CacheKey>,
    bytes: usize,
    /// `grown_bytes` summed at the last count, and inserts since then.
    grown: usize,
    inserts: u32,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

/// The read cache shared by every store of a database (see the module comment).
pub struct SharedCache {
    inner: Mutex<Inner>,
    capacity: usize,
    counters: [Counters; CacheSpace::ALL.len()],
    owners: AtomicU32,
}

impl fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedCache").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl Default for SharedCache {
    fn default() -> Self {
        SharedCache::new(default_cache_mb() * 1024 * 1024)
    }
}

impl SharedCache {
    /// A cache that keeps at most `capacity` bytes of decoded data.
    pub fn new(capacity: usize) -> Self {
        SharedCache {
            inner: Mutex::new(Inner::default()),
            capacity,
            counters: Default::default(),
            owners: AtomicU32::new(0),
        }
    }

    /// A fresh owner number for a store's keys.
    pub fn register_owner(&self) -> u32 {
        self.owners.fetch_add(1, Ordering::Relaxed)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        self.inner.lock().map_err(|_| Error::corrupted("read cache", "lock poisoned"))
    }

    /// The entry under `key`, if cached and of type `T`; counts a hit or a miss.
    pub fn get<T: CacheValue>(&self, key: &CacheKey) -> Result<Option<Arc<T>>> {
        let found = {
            let mut inner = self.lock()?;
            inner.entries.get_mut(key).map(|slot| {
                slot.referenced = true;
                slot.value.clone()
            })
        };
        let counters = &self.counters[key.space.index()];
        match found {
            Some(value) => {
                counters.hits.fetch_add(1, Ordering::Relaxed);
                downcast(value).map(Some)
            }
            None => {
                counters.misses.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
        }
    }

    /// The entry under `key`, or `load()`'s (value, decoded size), cached. Loading
    /// runs outside the lock, so readers never wait on each other's I/O.
    pub fn get_or_load<T: CacheValue>(
        &self,
        key: CacheKey,
        load: impl FnOnce() -> Result<(T, usize)>,
    ) -> Result<Arc<T>> {
        if let Some(value) = self.get(&key)? {
            return Ok(value);
        }
        let (value, size) = load()?;
        let value = Arc::new(value);
        self.insert(key, value.clone(), size);
        Ok(value)
    }

    /// Caches `value` (of decoded size `size`) under `key`, evicting what the clock
    /// hand finds unreferenced until it fits. A key already cached keeps its value.
    pub fn insert<T: CacheValue>(&self, key: CacheKey, value: Arc<T>, size: usize) {
        let Ok(mut guard) = self.inner.lock() else { return };
        let inner = &mut *guard;
        if inner.entries.contains_key(&key) {
            return;
        }
        // Values grow after insertion: count that growth with a pass over the
        // entries every 64 inserts, and at every insert once the last count is
        // within a quarter of the budget.
        inner.inserts = inner.inserts.wrapping_add(1);
        if inner.inserts.is_multiple_of(64) || inner.bytes + inner.grown + size > self.capacity / 4 * 3 {
            inner.grown = inner.entries.values().map(|s| s.value.grown_bytes()).sum();
        }
        let mut turns = inner.ring.len() * 2;
        while inner.bytes + inner.grown + size > self.capacity && turns > 0 {
            turns -= 1;
            let Some(old) = inner.ring.pop_front() else { break };
            let Some(slot) = inner.entries.get_mut(&old) else { continue };
            if slot.referenced {
                slot.referenced = false;
                inner.ring.push_back(old);
                continue;
            }
            if let Some(slot) = inner.entries.remove(&old) {
                inner.bytes -= slot.size;
                inner.grown = inner.grown.saturating_sub(slot.value.grown_bytes());
                self.counters[old.space.index()].evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        inner.entries.insert(key, Slot { value, size, referenced: false });
        inner.ring.push_back(key);
        inner.bytes += size;
    }

    /// Drops the entries under `keys` (chunks a commit rewrote).
    pub fn evict(&self, keys: &[CacheKey]) {
        self.retain(|k| !keys.contains(k));
    }

    /// Keeps only the entries whose key passes `keep` (a dropped generation's go).
    pub fn retain(&self, mut keep: impl FnMut(&CacheKey) -> bool) {
        let Ok(mut guard) = self.inner.lock() else { return };
        let inner = &mut *guard;
        let mut freed = 0;
        inner.entries.retain(|k, slot| {
            let kept = keep(k);
            if !kept {
                freed += slot.size;
            }
            kept
        });
        inner.bytes -= freed;
        let Inner { ring, entries, .. } = inner;
        ring.retain(|k| entries.contains_key(k));
    }

    /// Counters since the cache was made, and what it holds now.
    pub fn stats(&self) -> CacheStats {
        let (bytes, entries) = match self.inner.lock() {
            Ok(inner) => {
                let grown: usize = inner.entries.values().map(|s| s.value.grown_bytes()).sum();
                (inner.bytes + grown, inner.entries.len())
            }
            Err(_) => (0, 0),
        };
        let spaces = CacheSpace::ALL
            .iter()
            .map(|&space| {
                let c = &self.counters[space.index()];
                SpaceStats {
                    space,
                    hits: c.hits.load(Ordering::Relaxed),
                    misses: c.misses.load(Ordering::Relaxed),
                    evictions: c.evictions.load(Ordering::Relaxed),
                }
            })
            .collect();
        CacheStats { capacity: self.capacity, bytes, entries, spaces }
    }
}

fn downcast<T: CacheValue>(value: Arc<dyn CacheValue>) -> Result<Arc<T>> {
    let any: Arc<dyn Any + Send + Sync> = value;
    any.downcast::<T>().map_err(|_| Error::corrupted("read cache", "a key holds an entry of another kind"))
}

/// Hits, misses and evictions of one space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpaceStats {
    pub space: CacheSpace,
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
}

/// A snapshot of the cache's counters ([`SharedCache::stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStats {
    pub capacity: usize,
    /// Decoded bytes held now, growth after insertion included.
    pub bytes: usize,
    pub entries: usize,
    pub spaces: Vec<SpaceStats>,
}

impl CacheStats {
    /// What happened between `earlier` and this snapshot (one query's share, when
    /// nothing else ran meanwhile); only spaces that were used.
    pub fn since(&self, earlier: &CacheStats) -> CacheStats {
        let spaces = self
            .spaces
            .iter()
            .zip(&earlier.spaces)
            .map(|(now, then)| SpaceStats {
                space: now.space,
                hits: now.hits.saturating_sub(then.hits),
                misses: now.misses.saturating_sub(then.misses),
                evictions: now.evictions.saturating_sub(then.evictions),
            })
            .filter(|s| s.hits + s.misses + s.evictions > 0)
            .collect();
        CacheStats { capacity: self.capacity, bytes: self.bytes, entries: self.entries, spaces }
    }

    pub fn hits(&self) -> u64 {
        self.spaces.iter().map(|s| s.hits).sum()
    }

    pub fn misses(&self) -> u64 {
        self.spaces.iter().map(|s| s.misses).sum()
    }

    pub fn evictions(&self) -> u64 {
        self.spaces.iter().map(|s| s.evictions).sum()
    }

    /// Hits over lookups; `None` before the first lookup.
    pub fn hit_rate(&self) -> Option<f64> {
        let lookups = self.hits() + self.misses();
        (lookups > 0).then(|| self.hits() as f64 / lookups as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Blob(u32);
    impl CacheValue for Blob {}

    fn key(item: u64) -> CacheKey {
        CacheKey { owner: 0, space: CacheSpace::XmlRegions, group: 1, item }
    }

    #[test]
    fn evicts_unreferenced_entries_first_and_counts() {
        let cache = SharedCache::new(100);
        for i in 0..2 {
            cache.insert(key(i), Arc::new(Blob(i as u32)), 40);
        }
        // Reading entry 0 gives it a second chance: inserting a third evicts entry 1.
        assert_eq!(cache.get::<Blob>(&key(0)).unwrap().map(|b| b.0), Some(0));
        cache.insert(key(2), Arc::new(Blob(2)), 40);
        assert!(cache.get::<Blob>(&key(1)).unwrap().is_none());
        assert_eq!(cache.get::<Blob>(&key(0)).unwrap().map(|b| b.0), Some(0));
        let stats = cache.stats();
        assert_eq!((stats.bytes, stats.entries, stats.hits(), stats.misses(), stats.evictions()), (80, 2, 2, 1, 1));
        cache.retain(|k| k.item != 0);
        assert_eq!(cache.stats().bytes, 40);
    }

    #[test]
    fn a_key_of_another_type_is_an_error_not_a_panic() {
        #[derive(Debug)]
        struct Other;
        impl CacheValue for Other {}
        let cache = SharedCache::new(100);
        cache.insert(key(0), Arc::new(Blob(0)), 1);
        assert!(cache.get::<Other>(&key(0)).is_err());
    }

    #[test]
    fn growth_after_insertion_counts_against_the_budget() {
        #[derive(Debug)]
        struct Growing(std::sync::atomic::AtomicUsize);
        impl CacheValue for Growing {
            fn grown_bytes(&self) -> usize {
                self.0.load(Ordering::Relaxed)
            }
        }
        let cache = SharedCache::new(100);
        let first = Arc::new(Growing(Default::default()));
        cache.insert(key(0), first.clone(), 40);
        first.0.store(50, Ordering::Relaxed);
        // Near the budget (40 + 40 new > 75) the growth is counted: 40 + 50 grown +
        // 40 new > 100, so the first entry goes.
        cache.insert(key(1), Arc::new(Growing(Default::default())), 40);
        assert!(cache.get::<Growing>(&key(0)).unwrap().is_none());
        assert_eq!(cache.stats().bytes, 40);
    }

    #[test]
    fn since_reports_one_query_share() {
        let cache = SharedCache::new(100);
        let before = cache.stats();
        cache.get_or_load(key(0), || Ok((Blob(0), 10))).unwrap();
        cache.get_or_load(key(0), || Ok((Blob(1), 10))).unwrap();
        let delta = cache.stats().since(&before);
        assert_eq!((delta.hits(), delta.misses(), delta.hit_rate()), (1, 1, Some(0.5)));
        assert_eq!(delta.spaces.len(), 1);
    }
}
