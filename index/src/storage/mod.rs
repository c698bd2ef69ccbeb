//! The storage boundary: an ordered key-value store with keyspaces and atomic batches.
//!
//! Everything above this module talks to [`Storage`] only, so that sled can be swapped
//! for another engine (as tantivy's `Directory` hides the file system).

mod bulk_files;
mod file_pointer;
mod memory;
mod redis_cluster;
mod segments;
mod sled_backend;

pub use memory::MemoryStorage;
pub use redis_cluster::RedisClusterStorage;
pub use sled_backend::SledStorage;

use crate::Result;

/// A keyspace is a disjoint region of the key space; each is stored under its own
/// one-byte prefix, so that one atomic batch can span several keyspaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keyspace {
    /// Format version and counters.
    Meta,
    /// Collection name -> the generation and documents that make it up.
    Catalog,
    /// Per-collection metadata (name table, path summary) and per-document metadata.
    DocMeta,
    /// Node chunks: fixed-size region-labelled records plus their text.
    Nodes,
    /// Roaring posting lists per (kind, name) and per path id.
    Postings,
    /// `ID`-typed attribute values -> element, for `id()`.
    Ids,
    /// Region lists `(pre, end)` per element path partition: the structure-context index.
    Regions,
    /// Property graphs: metadata, label bitmaps, property indexes, text index files.
    Graph,
    /// Property graph chunks (node and relationship records, adjacency lists): large
    /// values that commits rewrite, kept apart so that a backend can store them in
    /// files of their own.
    GraphChunks,
}

impl Keyspace {
    /// The prefix byte of this keyspace. Invariant: distinct per variant, never reused.
    pub fn tag(self) -> u8 {
        match self {
            Keyspace::Meta => b'M',
            Keyspace::Catalog => b'C',
            Keyspace::DocMeta => b'D',
            Keyspace::Nodes => b'N',
            Keyspace::Postings => b'P',
            Keyspace::Ids => b'I',
            Keyspace::Regions => b'R',
            Keyspace::Graph => b'G',
            Keyspace::GraphChunks => b'K',
        }
    }

    /// Every keyspace.
    pub const ALL: [Keyspace; 9] = [
        Keyspace::Meta,
        Keyspace::Catalog,
        Keyspace::DocMeta,
        Keyspace::Nodes,
        Keyspace::Postings,
        Keyspace::Ids,
        Keyspace::Regions,
        Keyspace::Graph,
        Keyspace::GraphChunks,
    ];

    /// The keyspace whose [`Keyspace::tag`] is `tag`.
    pub fn from_tag(tag: u8) -> Option<Keyspace> {
        Keyspace::ALL.into_iter().find(|ks| ks.tag() == tag)
    }
}

/// A value written ahead of the batch that names it ([`Storage::stage`]), so that a
/// large batch need not hold its values in memory. Until that batch is applied the
/// value is unreachable, and a batch that is never applied leaves it as garbage for
/// the backend to collect.
#[derive(Debug)]
pub struct Staged {
    bytes: Vec<u8>,
    /// The backend stored the value and `bytes` are its handle; else they are the value.
    stored: bool,
}

impl Staged {
    /// A value the backend keeps in the batch itself.
    pub fn inline(value: Vec<u8>) -> Self {
        Staged { bytes: value, stored: false }
    }

    pub(crate) fn stored(handle: Vec<u8>) -> Self {
        Staged { bytes: handle, stored: true }
    }
}

/// One write of a batch.
#[derive(Debug)]
pub(crate) enum Write {
    Put(Vec<u8>),
    Staged(Staged),
    Delete,
}

/// A set of writes applied all together or not at all.
#[derive(Debug, Default)]
pub struct WriteBatch {
    pub(crate) ops: Vec<(Keyspace, Vec<u8>, Write)>,
}

impl WriteBatch {
    /// Sets `key` to `value` in `ks`.
    pub fn put(&mut self, ks: Keyspace, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((ks, key, Write::Put(value)));
    }

    /// Sets `key` to a value staged in `ks` by [`Storage::stage`].
    pub fn put_staged(&mut self, ks: Keyspace, key: Vec<u8>, value: Staged) {
        self.ops.push((ks, key, Write::Staged(value)));
    }

    /// Removes `key` from `ks` (absent keys are fine).
    pub fn delete(&mut self, ks: Keyspace, key: Vec<u8>) {
        self.ops.push((ks, key, Write::Delete));
    }

    /// True when the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// How many writes the batch holds.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Moves every write of `other` to the end of this batch, so that both are
    /// applied as one.
    pub fn append(&mut self, mut other: WriteBatch) {
        self.ops.append(&mut other.ops);
    }
}

/// An ordered key-value store.
///
/// Contract:
/// - [`Storage::apply`] is atomic: after a crash either every write of the batch is
///   visible or none is; it is durable once [`Storage::flush`] has returned.
/// - Reads see every batch this handle applied before them; a read beside an apply
///   may see some of its writes and not others. A local store offers no snapshots:
///   sprig gets snapshot reads by never modifying published data in place (a load
///   writes a fresh generation and publishes it with one catalog write; see
///   `docs/ARCHITECTURE.md`). A store other processes write too ([`Storage::shared`])
///   reads at a version this handle pins, which holds whole batches only, and sees
///   other processes' batches once [`Storage::read_at`] moves it.
/// - Keys of the keyspaces that hold a collection generation's data (`DocMeta`,
///   `Nodes`, `Postings`, `Ids`, `Regions`) begin with the generation, 8 bytes big
///   endian; a backend may group them by it (sled's bulk files do).
/// - Implementations are shared between threads and must not panic on any input.
///
/// `index/tests/storage_conformance.rs` checks these on every backend.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// The value of `key` in `ks`.
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// All entries of `ks` whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// The keys of `ks` that start with `prefix`, in key order.
    fn keys_with_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>>;
    /// The first key of `ks` that is `>= from`, if any.
    fn next_key(&self, ks: Keyspace, from: &[u8]) -> Result<Option<Vec<u8>>>;
    /// The keys of `ks` from `from` (inclusive) to `to` (exclusive), in key order. By
    /// default walked with [`Storage::next_key`], one probe per key.
    fn keys_in_range(&self, ks: Keyspace, from: &[u8], to: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut at = from.to_vec();
        while let Some(key) = self.next_key(ks, &at)? {
            if key.as_slice() >= to {
                break;
            }
            // The smallest key after `key`.
            at.clone_from(&key);
            at.push(0);
            out.push(key);
        }
        Ok(out)
    }
    /// Applies every write of `batch`, atomically.
    fn apply(&self, batch: WriteBatch) -> Result<()>;
    /// Writes `value`, meant for keyspace `ks`, ahead of the batch that will name it
    /// ([`WriteBatch::put_staged`]). Only one writer stages and applies values of a
    /// keyspace at a time (the graph store's writer), and it applies what it staged
    /// before it stages for another batch. By default the value stays in the handle.
    fn stage(&self, ks: Keyspace, value: Vec<u8>) -> Result<Staged> {
        let _ = ks;
        Ok(Staged::inline(value))
    }
    /// Makes every applied batch durable.
    fn flush(&self) -> Result<()>;

    /// True when other processes may write this store at the same time (a
    /// database on a cluster). Such a store reads at a version this handle pins,
    /// which moves only when asked ([`Storage::read_at`]); writes go to the newest
    /// version, so a writer must first hold the right to write
    /// ([`Storage::begin_writes`]) and catch up.
    fn shared(&self) -> bool {
        false
    }
    /// The newest version other processes published, when it is newer than the one
    /// this handle reads at (or when what it reads at may have been collected).
    fn newer_version(&self) -> Result<Option<u64>> {
        Ok(None)
    }
    /// Moves this handle's reads to `version` (from [`Storage::newer_version`]).
    /// Returns false when they were there already. The caller keeps this process's
    /// readers out meanwhile and drops what it cached from older versions.
    fn read_at(&self, version: u64) -> Result<bool> {
        let _ = version;
        Ok(false)
    }
    /// Takes the right to write for this process, waiting for another process's
    /// writer; nested calls within the process share it until the matching
    /// [`Storage::end_writes`]. Batches applied without it take it for themselves.
    fn begin_writes(&self) -> Result<()> {
        Ok(())
    }
    /// Gives back what [`Storage::begin_writes`] took.
    fn end_writes(&self) {}
}

pub(crate) fn full_key(ks: Keyspace, key: &[u8]) -> Vec<u8> {
    let mut res = Vec::with_capacity(key.len() + 1);
    res.push(ks.tag());
    res.extend_from_slice(key);
    res
}
