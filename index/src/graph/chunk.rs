//! Records stored in chunks of [`CHUNK_LEN`] consecutive ids (nodes, relationships,
//! adjacency lists), LZ4-compressed, and a shared cache of decoded chunks.
//!
//! Chunking keeps the key count of a large graph small (a million relationships are
//! about a thousand keys), which is what makes bulk loads and scans fast on sled;
//! records inside a chunk are decoded lazily, one at a time, on first access.

use std::sync::{Arc, OnceLock};

use super::record::{raw_node_property, raw_rel_property, AdjEntry, NodeRecord, RelRecord};
use super::value::RawValue;
use crate::cache::{CacheKey as SharedKey, CacheSpace, CacheValue, SharedCache};
use crate::codec::{compress, decompress};
use crate::{Error, Result};

pub const CHUNK_BITS: u32 = 10;
pub const CHUNK_LEN: usize = 1 << CHUNK_BITS;

/// The chunk holding `id` and the slot within it.
pub fn chunk_of(id: u64) -> (u64, usize) {
    (id >> CHUNK_BITS, (id as usize) & (CHUNK_LEN - 1))
}

/// The first id of the chunk after the one holding `id - 1` (bulk loads start fresh chunks).
pub fn next_chunk_start(id: u64) -> u64 {
    id.div_ceil(CHUNK_LEN as u64) * CHUNK_LEN as u64
}

/// A record type kept in chunks.
pub trait ChunkRecord: Sized {
    const AREA: &'static str;
    fn decode_record(buf: &[u8]) -> Result<Self>;
    /// Property `key` of an encoded record, without decoding the rest.
    fn raw_property<'a>(buf: &'a [u8], key: &str) -> Result<Option<RawValue<'a>>>;
}

/// One cell of a property column, as read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// No record, or the record lacks the property.
    Absent,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Shared with every reader: a string read copies nothing.
    Str(&'a Arc<str>),
    /// A list: read it from the record (lists are rare).
    Other,
}

/// A chunk's column as readers share it: `None` when no record has the property.
pub type SharedColumn = Arc<Option<PropertyColumn>>;

const TAG_ABSENT: u8 = 0;
const TAG_INT: u8 = 1;
const TAG_FLOAT: u8 = 2;
const TAG_BOOL: u8 = 3;
const TAG_STR: u8 = 4;
const TAG_OTHER: u8 = 5;

/// A property of every record of a chunk, built on first use: scans and random
/// reads touch this instead of searching the record bytes for the key. A tag byte
/// and an 8-byte word per slot (the number, or the index of the string kept once
/// beside them), so that a numeric column of 1024 slots is 9 KiB and a scan over
/// it reads little memory.
#[derive(Debug, Default)]
pub struct PropertyColumn {
    tags: Vec<u8>,
    words: Vec<u64>,
    strings: Vec<Arc<str>>,
}

impl PropertyColumn {
    fn push(&mut self, value: Option<RawValue<'_>>) {
        let (tag, word) = match value {
            None => (TAG_ABSENT, 0),
            Some(RawValue::Int(i)) => (TAG_INT, i as u64),
            Some(RawValue::Float(f)) => (TAG_FLOAT, f.to_bits()),
            Some(RawValue::Bool(b)) => (TAG_BOOL, u64::from(b)),
            Some(RawValue::Str(s)) => {
                self.strings.push(s.into());
                (TAG_STR, (self.strings.len() - 1) as u64)
            }
            Some(RawValue::List(_) | RawValue::Temporal(_)) => (TAG_OTHER, 0),
        };
        self.tags.push(tag);
        self.words.push(word);
    }

    /// Bytes held (an estimate, for the cache budget).
    fn size(&self) -> usize {
        self.tags.len() * 9 + self.strings.iter().map(|s| s.len() + 32).sum::<usize>()
    }

    /// The integer in `slot`, if it holds one (a test with no dispatch on the kind).
    #[inline]
    pub fn int_at(&self, slot: usize) -> Option<i64> {
        (self.tags.get(slot) == Some(&TAG_INT)).then(|| self.words[slot] as i64)
    }

    /// The float in `slot`, if it holds one.
    #[inline]
    pub fn float_at(&self, slot: usize) -> Option<f64> {
        (self.tags.get(slot) == Some(&TAG_FLOAT)).then(|| f64::from_bits(self.words[slot]))
    }

    /// The cell of `slot` (`Absent` past the end).
    #[inline]
    pub fn get(&self, slot: usize) -> Cell<'_> {
        let Some(&tag) = self.tags.get(slot) else { return Cell::Absent };
        let word = self.words[slot];
        match tag {
            TAG_INT => Cell::Int(word as i64),
            TAG_FLOAT => Cell::Float(f64::from_bits(word)),
            TAG_BOOL => Cell::Bool(word != 0),
            TAG_STR => self.strings.get(word as usize).map_or(Cell::Other, Cell::Str),
            TAG_OTHER => Cell::Other,
            _ => Cell::Absent,
        }
    }
}

/// One bit per slot of a chunk.
pub type SlotMask = [u64; CHUNK_LEN / 64];

impl ChunkRecord for NodeRecord {
    const AREA: &'static str = "graph node chunk";
    fn decode_record(buf: &[u8]) -> Result<Self> {
        NodeRecord::decode(buf)
    }
    fn raw_property<'a>(buf: &'a [u8], key: &str) -> Result<Option<RawValue<'a>>> {
        raw_node_property(buf, key)
    }
}

impl ChunkRecord for RelRecord {
    const AREA: &'static str = "graph relationship chunk";
    fn decode_record(buf: &[u8]) -> Result<Self> {
        RelRecord::decode(buf)
    }
    fn raw_property<'a>(buf: &'a [u8], key: &str) -> Result<Option<RawValue<'a>>> {
        raw_rel_property(buf, key)
    }
}

const ABSENT: u32 = u32::MAX;

/// Up to [`CHUNK_LEN`] encoded records; each is decoded on first access.
#[derive(Debug)]
pub struct RecordChunk<T> {
    raw: Vec<u8>,
    /// (start, len) per slot; `len == ABSENT` for an empty slot.
    spans: Vec<(u32, u32)>,
    /// Decoded records by slot, allocated at the first decode: scans that read
    /// columns only never pay for it.
    decoded: OnceLock<Box<[OnceLock<Arc<T>>]>>,
    columns: std::sync::RwLock<Vec<(Box<str>, SharedColumn)>>,
    /// Bytes of the columns and records decoded so far (the cache counts them in its
    /// budget).
    extra: std::sync::atomic::AtomicUsize,
}

impl<T: ChunkRecord> RecordChunk<T> {
    pub fn empty() -> Self {
        RecordChunk {
            raw: Vec::new(),
            spans: vec![(0, ABSENT); CHUNK_LEN],
            decoded: OnceLock::new(),
            columns: std::sync::RwLock::new(Vec::new()),
            extra: Default::default(),
        }
    }

    /// The column of property `key`, built from the records on first use; `None`
    /// inside when no record of the chunk has the property.
    pub fn column(&self, key: &str) -> Result<SharedColumn> {
        if let Ok(cols) = self.columns.read() {
            if let Some((_, c)) = cols.iter().find(|(k, _)| &**k == key) {
                return Ok(c.clone());
            }
        }
        let mut column = PropertyColumn {
            tags: Vec::with_capacity(CHUNK_LEN),
            words: Vec::with_capacity(CHUNK_LEN),
            strings: Vec::new(),
        };
        let mut present = false;
        for slot in 0..CHUNK_LEN {
            let value = match self.raw(slot) {
                None => None,
                Some(bytes) => T::raw_property(bytes, key)?,
            };
            present |= value.is_some();
            column.push(value);
        }
        let bytes = column.size();
        let column = Arc::new(present.then_some(column));
        if let Ok(mut cols) = self.columns.write() {
            if !cols.iter().any(|(k, _)| &**k == key) {
                cols.push((key.into(), column.clone()));
                self.extra.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
            }
        }
        Ok(column)
    }

    /// Decodes the framing of a stored chunk (not the records).
    pub fn decode(stored: &[u8]) -> Result<Self> {
        let raw = decompress(stored, T::AREA)?;
        let head = CHUNK_LEN * 4;
        if raw.len() < head {
            return Err(Error::corrupted(T::AREA, "chunk is truncated"));
        }
        let mut spans = Vec::with_capacity(CHUNK_LEN);
        let mut pos = head as u64;
        for i in 0..CHUNK_LEN {
            let len = u32::from_le_bytes([raw[i * 4], raw[i * 4 + 1], raw[i * 4 + 2], raw[i * 4 + 3]]);
            if len == ABSENT {
                spans.push((0, ABSENT));
            } else {
                if pos + len as u64 > raw.len() as u64 {
                    return Err(Error::corrupted(T::AREA, "record runs past the chunk"));
                }
                spans.push((pos as u32, len));
                pos += len as u64;
            }
        }
        Ok(RecordChunk {
            raw,
            spans,
            decoded: OnceLock::new(),
            columns: std::sync::RwLock::new(Vec::new()),
            extra: Default::default(),
        })
    }

    /// The slots whose stored record contains `finder`'s needle, found with one
    /// search over the whole chunk rather than one per record (records lie in slot
    /// order, so matches map to slots by walking both forward).
    pub fn slots_containing(&self, finder: &memchr::memmem::Finder<'_>) -> SlotMask {
        let mut mask = [0u64; CHUNK_LEN / 64];
        let needle = finder.needle().len();
        let mut slot = 0;
        let mut from = CHUNK_LEN * 4;
        while let Some(found) = finder.find(&self.raw[from.min(self.raw.len())..]) {
            let at = from + found;
            // The first present record ending after the match start holds it.
            while slot < CHUNK_LEN {
                let (start, len) = self.spans[slot];
                if len != ABSENT && (start + len) as usize > at {
                    break;
                }
                slot += 1;
            }
            let Some(&(start, len)) = self.spans.get(slot) else { break };
            let end = (start + len) as usize;
            if at + needle <= end {
                mask[slot / 64] |= 1 << (slot % 64);
                from = end;
                slot += 1;
            } else {
                // The match straddles two records: look again inside the next one.
                from = at + 1;
            }
        }
        mask
    }

    /// The encoded record in `slot`.
    pub fn raw(&self, slot: usize) -> Option<&[u8]> {
        let (start, len) = *self.spans.get(slot)?;
        (len != ABSENT).then(|| &self.raw[start as usize..(start + len) as usize])
    }

    /// The record in `slot`, decoded once.
    pub fn get(&self, slot: usize) -> Result<Option<Arc<T>>> {
        let Some(bytes) = self.raw(slot) else { return Ok(None) };
        let cells = self.decoded.get_or_init(|| {
            self.extra.fetch_add(CHUNK_LEN * 16, std::sync::atomic::Ordering::Relaxed);
            (0..CHUNK_LEN).map(|_| OnceLock::new()).collect()
        });
        if let Some(cell) = cells.get(slot) {
            if let Some(v) = cell.get() {
                return Ok(Some(v.clone()));
            }
            let rec = Arc::new(T::decode_record(bytes)?);
            if cell.set(rec.clone()).is_ok() {
                // Decoded records take about four times their encoded size.
                self.extra.fetch_add(bytes.len() * 4 + 48, std::sync::atomic::Ordering::Relaxed);
            }
            return Ok(Some(rec));
        }
        Ok(Some(Arc::new(T::decode_record(bytes)?)))
    }

    /// Bytes held as decoded from storage: the records' bytes and the framing.
    /// Records decoded later and columns count as growth (`extra`).
    pub fn size(&self) -> usize {
        self.raw.len() + CHUNK_LEN * 8
    }
}

/// Encodes slots of encoded records as a stored chunk.
pub fn encode_record_chunk<'a>(slots: impl Iterator<Item = Option<&'a [u8]>>) -> Vec<u8> {
    compress(&frame_record_chunk(slots))
}

/// The uncompressed form of [`encode_record_chunk`].
pub fn frame_record_chunk<'a>(slots: impl Iterator<Item = Option<&'a [u8]>>) -> Vec<u8> {
    let slots: Vec<Option<&[u8]>> = slots.collect();
    let body: usize = slots.iter().flatten().map(|s| s.len()).sum();
    let mut out = Vec::with_capacity(CHUNK_LEN * 4 + body);
    for i in 0..CHUNK_LEN {
        let len = match slots.get(i).copied().flatten() {
            Some(s) => s.len() as u32,
            None => ABSENT,
        };
        out.extend_from_slice(&len.to_le_bytes());
    }
    for s in slots.iter().take(CHUNK_LEN).flatten() {
        out.extend_from_slice(s);
    }
    out
}

/// The adjacency lists (one direction) of [`CHUNK_LEN`] consecutive nodes.
#[derive(Debug, Default)]
pub struct AdjChunk {
    offsets: Vec<u32>,
    entries: Vec<AdjEntry>,
    /// Each relationship type's lists on their own, built on first use.
    by_type: std::sync::RwLock<Vec<(u32, Arc<TypeBlock>)>>,
    /// Bytes of the type blocks built so far (the cache counts them in its budget).
    extra: std::sync::atomic::AtomicUsize,
}

/// Where one relationship type's entries lie in each list of an adjacency chunk
/// (lists are sorted by type, so each is one run): a query that follows one type
/// from node after node finds each run without a search. The entries are not
/// copied, so a chunk costs the same memory however many types are followed.
#[derive(Debug, Default)]
pub struct TypeBlock {
    /// `(start, end)` into the chunk's entries, per slot.
    spans: Vec<(u32, u32)>,
}

impl TypeBlock {
    /// The entries of `slot` in `chunk` (the chunk this block was built from) with
    /// the block's type, sorted by relationship.
    pub fn list<'c>(&self, chunk: &'c AdjChunk, slot: usize) -> &'c [AdjEntry] {
        let (a, b) = self.spans[slot];
        &chunk.entries[a as usize..b as usize]
    }
}

/// The entries of `list` (sorted by type token) with type `token`.
pub fn entries_of_type(list: &[AdjEntry], token: u32) -> &[AdjEntry] {
    &list[type_range(list, token)]
}

/// Where the entries of type `token` lie in `list` (sorted by type token).
fn type_range(list: &[AdjEntry], token: u32) -> std::ops::Range<usize> {
    let lo = list.partition_point(|e| e.type_token < token);
    lo..lo + list[lo..].partition_point(|e| e.type_token == token)
}

const ADJ_AREA: &str = "graph adjacency chunk";

impl AdjChunk {
    pub fn empty() -> Self {
        AdjChunk {
            offsets: vec![0; CHUNK_LEN + 1],
            entries: Vec::new(),
            by_type: Default::default(),
            extra: Default::default(),
        }
    }

    /// The lists of type `token` on their own (built once per chunk and type).
    pub fn type_block(&self, token: u32) -> Arc<TypeBlock> {
        if let Ok(blocks) = self.by_type.read() {
            if let Some((_, b)) = blocks.iter().find(|(t, _)| *t == token) {
                return b.clone();
            }
        }
        let mut block = TypeBlock { spans: Vec::with_capacity(CHUNK_LEN) };
        for slot in 0..CHUNK_LEN {
            let range = type_range(self.list(slot), token);
            let base = self.offsets[slot];
            block.spans.push((base + range.start as u32, base + range.end as u32));
        }
        let bytes = block.spans.len() * 8;
        let block = Arc::new(block);
        if let Ok(mut blocks) = self.by_type.write() {
            if !blocks.iter().any(|(t, _)| *t == token) {
                blocks.push((token, block.clone()));
                self.extra.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
            }
        }
        block
    }

    pub fn decode(stored: &[u8]) -> Result<Self> {
        let raw = decompress(stored, ADJ_AREA)?;
        let head = (CHUNK_LEN + 1) * 4;
        if raw.len() < head {
            return Err(Error::corrupted(ADJ_AREA, "chunk is truncated"));
        }
        let u32_at = |p: usize| u32::from_le_bytes([raw[p], raw[p + 1], raw[p + 2], raw[p + 3]]);
        let offsets: Vec<u32> = (0..=CHUNK_LEN).map(|i| u32_at(i * 4)).collect();
        let n = offsets[CHUNK_LEN] as usize;
        if offsets.windows(2).any(|w| w[0] > w[1]) || raw.len() != head + n * 20 {
            return Err(Error::corrupted(ADJ_AREA, "bad offsets"));
        }
        let mut entries = Vec::with_capacity(n);
        for i in 0..n {
            let p = head + i * 20;
            let mut a = [0u8; 8];
            a.copy_from_slice(&raw[p + 4..p + 12]);
            let rel = u64::from_le_bytes(a);
            a.copy_from_slice(&raw[p + 12..p + 20]);
            let other = u64::from_le_bytes(a);
            entries.push(AdjEntry { type_token: u32_at(p), rel, other });
        }
        Ok(AdjChunk { offsets, entries, by_type: Default::default(), extra: Default::default() })
    }

    /// The list of `slot`, sorted by (type token, relationship).
    pub fn list(&self, slot: usize) -> &[AdjEntry] {
        let (a, b) = (self.offsets[slot] as usize, self.offsets[slot + 1] as usize);
        &self.entries[a..b]
    }

    pub fn size(&self) -> usize {
        self.entries.len() * 24 + self.offsets.len() * 4
    }
}

/// Encodes [`CHUNK_LEN`] lists as a stored adjacency chunk.
pub fn encode_adj_chunk<'a>(lists: impl Iterator<Item = &'a [AdjEntry]>) -> Vec<u8> {
    compress(&frame_adj_chunk(lists))
}

/// The uncompressed form of [`encode_adj_chunk`].
pub fn frame_adj_chunk<'a>(lists: impl Iterator<Item = &'a [AdjEntry]>) -> Vec<u8> {
    let lists: Vec<&[AdjEntry]> = lists.collect();
    let total: usize = lists.iter().map(|l| l.len()).sum();
    let mut out = Vec::with_capacity((CHUNK_LEN + 1) * 4 + total * 20);
    let mut acc = 0u32;
    out.extend_from_slice(&0u32.to_le_bytes());
    for i in 0..CHUNK_LEN {
        acc += lists.get(i).map_or(0, |l| l.len() as u32);
        out.extend_from_slice(&acc.to_le_bytes());
    }
    for l in lists.iter().take(CHUNK_LEN) {
        for e in l.iter() {
            out.extend_from_slice(&e.type_token.to_le_bytes());
            out.extend_from_slice(&e.rel.to_le_bytes());
            out.extend_from_slice(&e.other.to_le_bytes());
        }
    }
    out
}

/// A node's adjacency list in one direction: a slice of a cached chunk, or a list
/// changed by the current transaction.
#[derive(Debug, Clone)]
pub enum AdjList {
    Empty,
    Chunk(Arc<AdjChunk>, usize),
    /// One type's entries of a node, found with its chunk's [`TypeBlock`].
    Typed(Arc<AdjChunk>, Arc<TypeBlock>, usize),
    Owned(Arc<Vec<AdjEntry>>),
}

impl std::ops::Deref for AdjList {
    type Target = [AdjEntry];
    fn deref(&self) -> &[AdjEntry] {
        match self {
            AdjList::Empty => &[],
            AdjList::Chunk(c, slot) => c.list(*slot),
            AdjList::Typed(c, b, slot) => b.list(c, *slot),
            AdjList::Owned(v) => v,
        }
    }
}

/// Which chunk family a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChunkKind {
    Nodes,
    Rels,
    Out,
    In,
}

/// A decoded chunk.
#[derive(Debug, Clone)]
pub enum Cached {
    Nodes(Arc<RecordChunk<NodeRecord>>),
    Rels(Arc<RecordChunk<RelRecord>>),
    Adj(Arc<AdjChunk>),
}

impl<T: ChunkRecord + Send + Sync + std::fmt::Debug + 'static> CacheValue for RecordChunk<T> {
    fn grown_bytes(&self) -> usize {
        self.extra.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl CacheValue for AdjChunk {
    fn grown_bytes(&self) -> usize {
        self.extra.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// (graph id, kind, chunk number).
pub type CacheKey = (u32, ChunkKind, u64);

/// The graph store's view of the database's [`SharedCache`]: decoded chunks shared
/// by every transaction. Commits evict the chunks they rewrite.
#[derive(Debug)]
pub struct ChunkCache {
    shared: Arc<SharedCache>,
    owner: u32,
}

impl ChunkCache {
    pub fn new(shared: Arc<SharedCache>) -> Self {
        let owner = shared.register_owner();
        ChunkCache { shared, owner }
    }

    fn key(&self, &(graph, kind, chunk): &CacheKey) -> SharedKey {
        let space = match kind {
            ChunkKind::Nodes => CacheSpace::GraphNodes,
            ChunkKind::Rels => CacheSpace::GraphRels,
            ChunkKind::Out => CacheSpace::GraphOut,
            ChunkKind::In => CacheSpace::GraphIn,
        };
        SharedKey { owner: self.owner, space, group: u64::from(graph), item: chunk }
    }

    pub fn get(&self, key: &CacheKey) -> Result<Option<Cached>> {
        let shared = self.key(key);
        Ok(match key.1 {
            ChunkKind::Nodes => self.shared.get(&shared)?.map(Cached::Nodes),
            ChunkKind::Rels => self.shared.get(&shared)?.map(Cached::Rels),
            ChunkKind::Out | ChunkKind::In => self.shared.get(&shared)?.map(Cached::Adj),
        })
    }

    pub fn insert(&self, key: CacheKey, value: Cached, size: usize) {
        let key = self.key(&key);
        match value {
            Cached::Nodes(c) => self.shared.insert(key, c, size),
            Cached::Rels(c) => self.shared.insert(key, c, size),
            Cached::Adj(c) => self.shared.insert(key, c, size),
        }
    }

    /// How many chunks a transaction may keep at hand besides the cache: about half
    /// the budget's worth, at a typical 256 KiB per decoded chunk (at least 128).
    /// Within it, repeated reads of a chunk skip the cache's lock; past it, what a
    /// transaction holds would no longer keep to the budget.
    pub fn pin_limit(&self) -> usize {
        (self.shared.capacity() / 2 / (256 << 10)).max(128)
    }

    /// Drops every chunk this store cached (another process changed the graphs).
    pub fn evict_all(&self) {
        self.shared.retain(|k| k.owner != self.owner);
    }

    pub fn evict(&self, keys: &[CacheKey]) {
        let keys: Vec<SharedKey> = keys.iter().map(|k| self.key(k)).collect();
        self.shared.evict(&keys);
    }
}

/// Compresses framed chunks as they arrive; returns (key, stored value) pairs.
/// Compresses framed chunks as they arrive and stages each in `storage`, so that the
/// load holds handles, not values.
pub fn compress_frames(
    jobs: std::sync::mpsc::Receiver<(Vec<u8>, Vec<u8>)>,
    storage: &dyn crate::Storage,
) -> Result<Vec<(Vec<u8>, crate::Staged)>> {
    jobs.into_iter()
        .map(|(key, frame)| Ok((key, storage.stage(crate::Keyspace::GraphChunks, compress(&frame))?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::value::PropertyValue;

    fn node_chunk(text_len: usize) -> Arc<RecordChunk<NodeRecord>> {
        let records: Vec<Vec<u8>> = (0..CHUNK_LEN)
            .map(|i| {
                let mut properties = crate::graph::value::Properties::new();
                properties.insert("s".into(), PropertyValue::String("x".repeat(text_len).into()));
                properties.insert("i".into(), PropertyValue::Int(i as i64));
                NodeRecord { labels: vec!["L".into()], properties }.encode()
            })
            .collect();
        let stored = encode_record_chunk(records.iter().map(|r| Some(r.as_slice())));
        Arc::new(RecordChunk::decode(&stored).unwrap())
    }

    #[test]
    fn columns_read_every_kind_of_value() {
        let chunk = node_chunk(3);
        let ints = chunk.column("i").unwrap();
        let ints = ints.as_ref().as_ref().unwrap();
        assert_eq!(ints.get(7), Cell::Int(7));
        assert_eq!(ints.get(CHUNK_LEN), Cell::Absent);
        let strings = chunk.column("s").unwrap();
        assert!(matches!(strings.as_ref().as_ref().unwrap().get(0), Cell::Str(s) if &**s == "xxx"));
        assert!(chunk.column("missing").unwrap().is_none());
    }

    #[test]
    fn the_cache_budget_counts_columns_built_after_insertion() {
        let chunk = node_chunk(100);
        let size = chunk.size();
        let probe = node_chunk(100);
        probe.column("s").unwrap();
        let column = probe.extra.load(std::sync::atomic::Ordering::Relaxed);
        assert!(column > 100 * CHUNK_LEN);
        // Room for two chunks as decoded, not with a column of one's strings.
        let cache = ChunkCache::new(Arc::new(SharedCache::new(size * 2 + column / 2)));
        cache.insert((0, ChunkKind::Nodes, 0), Cached::Nodes(chunk.clone()), size);
        chunk.column("s").unwrap();
        cache.insert((0, ChunkKind::Nodes, 1), Cached::Nodes(node_chunk(100)), size);
        assert!(cache.get(&(0, ChunkKind::Nodes, 0)).unwrap().is_none(), "the chunk with the column is evicted");
        assert!(cache.get(&(0, ChunkKind::Nodes, 1)).unwrap().is_some());
    }
}
