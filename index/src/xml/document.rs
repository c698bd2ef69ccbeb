//! Read access to one stored document: node records by pre-order number, through the
//! store's shared read cache, plus its region table, posting lists and ID index.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::cache::XmlCache;
use super::node::{Chunk, NodeKind, NodeRecord, CHUNK_NODES, OPEN_END};
use super::region_table::RegionTable;
use super::value_index::{self, ValueOwner, MAX_INDEXED_VALUE};
use super::DocMeta;
use crate::keys::xml as keys;
use crate::parallel::split_work;
use crate::storage::{Keyspace, Storage};
use crate::{Error, Result};

/// A reader over one document of a pinned collection generation.
#[derive(Debug)]
pub struct Document {
    storage: Arc<dyn Storage>,
    gen: u64,
    doc: u32,
    meta: Arc<DocMeta>,
    patches: Arc<HashMap<u32, u32>>,
    cache: XmlCache,
    /// Names this reader for [`RECENT`] (never reused in the process).
    instance: u64,
    regions: RegionTable,
}

static INSTANCES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The chunk this thread read last, with its reader's instance and chunk number:
    /// navigation mostly stays within one chunk, and this saves a hashed lookup in
    /// the shared cache per node. Per thread, because threads that share a reader (a
    /// step split over cores) would otherwise evict each other's chunk on every node.
    static RECENT: RefCell<Option<(u64, u32, Arc<Chunk>)>> = const { RefCell::new(None) };
}

impl Document {
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        cache: XmlCache,
        gen: u64,
        doc: u32,
        meta: Arc<DocMeta>,
        patches: Arc<HashMap<u32, u32>>,
    ) -> Self {
        let regions = RegionTable::new(storage.clone(), cache.clone(), gen, doc);
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        Document { storage, gen, doc, meta, patches, cache, instance, regions }
    }

    /// The document's index within its collection.
    pub fn index(&self) -> u32 {
        self.doc
    }

    pub fn name(&self) -> &str {
        &self.meta.name
    }

    pub fn meta(&self) -> &DocMeta {
        &self.meta
    }

    /// Number of stored nodes; pre-order numbers run from 0 (the root) to `len() - 1`.
    pub fn len(&self) -> u32 {
        self.meta.node_count
    }

    pub fn is_empty(&self) -> bool {
        self.meta.node_count == 0
    }

    fn chunk(&self, pre: u32) -> Result<Arc<Chunk>> {
        self.in_chunk(pre, |chunk, _| Ok(chunk.clone()))
    }

    /// Runs `f` on the chunk holding `pre` and `pre`'s index in it, without taking a
    /// reference to the chunk when this thread read the same chunk last ([`RECENT`]):
    /// [`Self::chunk`]'s reference count up and down showed in profiles of per-node
    /// navigation.
    fn in_chunk<R>(&self, pre: u32, f: impl FnOnce(&Arc<Chunk>, usize) -> Result<R>) -> Result<R> {
        let no = pre / CHUNK_NODES;
        let idx = (pre % CHUNK_NODES) as usize;
        let cached = RECENT.with_borrow(|recent| matches!(recent, Some((i, n, _)) if *i == self.instance && *n == no));
        if !cached {
            RECENT.set(Some((self.instance, no, self.shared_chunk(no)?)));
        }
        // `f` runs inside the borrow: it must not read chunks itself (none does).
        RECENT.with_borrow(|recent| match recent {
            Some((_, _, chunk)) => f(chunk, idx),
            None => Err(Error::corrupted("chunk cache", "the chunk just read is gone")),
        })
    }

    fn shared_chunk(&self, no: u32) -> Result<Arc<Chunk>> {
        let key = self.cache.chunk_key(self.gen, self.doc, no);
        self.cache.get_or_load(key, || {
            let bytes = self.storage.get(Keyspace::Nodes, &keys::chunk(self.gen, self.doc, no))?.ok_or_else(|| {
                Error::corrupted("node chunk", format!("chunk {no} of document '{}' is missing", self.meta.name))
            })?;
            let chunk = Chunk::decode(&bytes, no * CHUNK_NODES)?;
            let size = chunk.decoded_bytes();
            Ok((chunk, size))
        })
    }

    /// The record of node `pre`.
    pub fn node(&self, pre: u32) -> Result<NodeRecord> {
        let mut rec = self.in_chunk(pre, |chunk, idx| {
            chunk.record(idx).copied().ok_or_else(|| Error::corrupted("node chunk", format!("node {pre} out of range")))
        })?;
        if rec.end == OPEN_END {
            rec.end = self.patched_end(pre)?;
        }
        Ok(rec)
    }

    /// A reader for many scattered accesses to this document's nodes.
    pub fn reader(&self) -> NodeReader {
        NodeReader { gen: self.gen, doc: self.doc, chunks: vec![None; self.len().div_ceil(CHUNK_NODES) as usize] }
    }

    /// Which of `pres` have a string-value that passes `test`: a bulk
    /// [`Document::string_value`] for filtering many nodes by value. Each worker keeps
    /// the chunks it touches at hand and reuses one buffer; large inputs are split
    /// over the machine's cores, since the time goes to cache misses on scattered
    /// node records, which cores take in parallel.
    pub fn string_values_pass(&self, pres: &[u32], test: impl Fn(&str) -> bool + Sync) -> Result<Vec<bool>> {
        let run = |part: &[u32]| -> Result<Vec<bool>> {
            let mut reader = self.reader();
            let mut buffer = String::new();
            part.iter()
                .map(|&pre| {
                    reader.string_value(self, pre, &mut buffer)?;
                    Ok(test(&buffer))
                })
                .collect()
        };
        split_work(pres, run, run)
    }

    fn patched_end(&self, pre: u32) -> Result<u32> {
        self.patches
            .get(&pre)
            .copied()
            .ok_or_else(|| Error::corrupted("document metadata", format!("no end recorded for node {pre}")))
    }

    /// The stored text of node `pre`: the value of an attribute, the content of a text
    /// node, comment or processing instruction; empty for the root and elements.
    pub fn text(&self, pre: u32) -> Result<String> {
        self.in_chunk(pre, |chunk, idx| Ok(chunk.text(idx).to_string()))
    }

    /// Appends node `pre`'s stored text to `out` without an intermediate allocation.
    pub fn append_text(&self, pre: u32, out: &mut String) -> Result<()> {
        self.in_chunk(pre, |chunk, idx| {
            out.push_str(chunk.text(idx));
            Ok(())
        })
    }

    /// The XPath string-value of `pre`: for the root and elements, the text of all
    /// descendant text nodes in document order; otherwise the node's own text.
    pub fn string_value(&self, pre: u32) -> Result<String> {
        let rec = self.node(pre)?;
        let mut out = String::new();
        match rec.kind {
            NodeKind::Root | NodeKind::Element => {
                let mut p = pre + 1;
                while p <= rec.end {
                    let chunk = self.chunk(p)?;
                    let base = p - p % CHUNK_NODES;
                    let stop = rec.end.min(base + CHUNK_NODES - 1);
                    for q in p..=stop {
                        let i = (q - base) as usize;
                        if chunk.record(i).is_some_and(|r| r.kind == NodeKind::Text) {
                            out.push_str(chunk.text(i));
                        }
                    }
                    p = stop + 1;
                }
            }
            _ => self.append_text(pre, &mut out)?,
        }
        Ok(out)
    }

    /// Nodes of `kind` named `name` (an interned id), as a set of pre-order numbers.
    pub fn name_postings(&self, kind: NodeKind, name: u32) -> Result<RoaringBitmap> {
        self.postings(&keys::name_postings(self.gen, self.doc, kind as u8, name))
    }

    /// Nodes whose label path is `path`, as a set of pre-order numbers (derived from
    /// the region table).
    pub fn path_postings(&self, path: u32) -> Result<RoaringBitmap> {
        let regions = self.regions.partition(path)?;
        RoaringBitmap::from_sorted_iter(regions.into_iter().map(|(pre, _)| pre))
            .map_err(|e| Error::corrupted("region table", e))
    }

    fn postings(&self, key: &[u8]) -> Result<RoaringBitmap> {
        match self.storage.get(Keyspace::Postings, key)? {
            Some(bytes) => RoaringBitmap::deserialize_from(&bytes[..]).map_err(|e| Error::corrupted("postings", e)),
            None => Ok(RoaringBitmap::new()),
        }
    }

    /// The `(pre, end)` regions of the nodes on path `path` (a partition of the
    /// structure-context index), in document order. They all sit at the path's level,
    /// so they never nest.
    pub fn regions(&self, path: u32) -> Result<Vec<(u32, u32)>> {
        self.regions.partition(path)
    }

    /// The regions of partition `path` inside one of `within` (sorted, disjoint
    /// `(pre, end)` regions), in document order, read by binary search.
    pub fn regions_within(&self, path: u32, within: &[(u32, u32)]) -> Result<Vec<(u32, u32)>> {
        self.regions.partition_within(path, within)
    }

    /// Those of `pres` (sorted) that lie on one of `paths`, as `(pre, end, path)` in
    /// document order, found in the region table without reading node records.
    pub fn locate(&self, paths: &[u32], pres: &[u32]) -> Result<Vec<(u32, u32, u32)>> {
        let run = |part: &[u32]| self.regions.locate(paths, part);
        split_work(pres, run, run)
    }

    /// For each of `within` (regions sorted by `pre`), whether a node on one of
    /// `paths` lies inside it, found in the region table without reading it whole.
    /// This and the other searches below split large inputs over the cores
    /// ([`split_work`]).
    pub fn any_within(&self, paths: &[u32], within: &[(u32, u32)]) -> Result<Vec<bool>> {
        let run = |part: &[(u32, u32)]| self.regions.any_within(paths, part);
        split_work(within, run, run)
    }

    /// The `(pre, end)` regions of partition `path` that hold one of `pres` (sorted):
    /// the ancestors on that path, each once, in document order.
    pub fn enclosing(&self, path: u32, pres: &[u32]) -> Result<Vec<(u32, u32)>> {
        let run = |part: &[u32]| self.regions.enclosing(path, part);
        let mut found = split_work(pres, run, run)?;
        // Nodes on both sides of a cut may share their ancestor.
        found.dedup();
        Ok(found)
    }

    /// The regions of all nodes on any of `paths` as `(pre, end, path)`, in document order.
    pub fn regions_of(&self, paths: &[u32]) -> Result<Vec<(u32, u32, u32)>> {
        let mut res = self.regions.partitions(paths)?;
        if paths.len() > 1 {
            // Concatenated partitions, each sorted: a radix sort by `pre` is linear,
            // and on recursive documents (thousands of small partitions) it beat a
            // comparison sort several times over.
            radsort::sort_by_key(&mut res, |r| r.0);
        }
        Ok(res)
    }

    /// From the value index: the nodes owned by `owner` with one of `names` whose
    /// value is `value`; `None` when the index cannot answer (a value longer than it
    /// keeps, or elements of one of the names with mixed content).
    pub fn value_equals(&self, owner: ValueOwner, names: &[u32], value: &str) -> Result<Option<RoaringBitmap>> {
        if value.len() > MAX_INDEXED_VALUE || !self.indexes_all(owner, names)? {
            return Ok(None);
        }
        let mut found = RoaringBitmap::new();
        for &name in names {
            value_index::lookup_string(self.storage.as_ref(), self.gen, self.doc, owner, name, value, &mut found)?;
        }
        Ok(Some(found))
    }

    /// From the value index: the nodes owned by `owner` with one of `names` whose
    /// value is a number that `passes` (XPath's `number()`; a value that is not a
    /// number passes no numeric comparison); `None` when the index cannot answer.
    pub fn value_numbers(
        &self,
        owner: ValueOwner,
        names: &[u32],
        passes: &dyn Fn(f64) -> bool,
    ) -> Result<Option<RoaringBitmap>> {
        if !self.indexes_all(owner, names)? {
            return Ok(None);
        }
        let mut found = RoaringBitmap::new();
        for &name in names {
            value_index::lookup_numbers(self.storage.as_ref(), self.gen, self.doc, owner, name, passes, &mut found)?;
        }
        Ok(Some(found))
    }

    /// Whether the value index holds every node of `names` (attributes always;
    /// elements unless one of them has mixed content).
    fn indexes_all(&self, owner: ValueOwner, names: &[u32]) -> Result<bool> {
        if owner == ValueOwner::Attribute {
            return Ok(true);
        }
        for &name in names {
            if value_index::unindexed_elements(self.storage.as_ref(), self.gen, self.doc, name)? > 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The element whose `ID`-typed attribute has this value.
    pub fn element_by_id(&self, value: &str) -> Result<Option<u32>> {
        match self.storage.get(Keyspace::Ids, &keys::id(self.gen, self.doc, value))? {
            Some(bytes) => {
                let b: [u8; 4] = bytes[..].try_into().map_err(|_| Error::corrupted("id index", "bad value"))?;
                Ok(Some(u32::from_le_bytes(b)))
            }
            None => Ok(None),
        }
    }
}

/// A reader for many random accesses to one document's nodes (parents, attributes,
/// string-values of scattered nodes): it keeps every chunk it touched at hand, by
/// chunk number, where [`Document::node`] keeps only the last one. It borrows
/// nothing, so a caller can interleave it with other work; pass it the document it
/// was made for.
#[derive(Debug)]
pub struct NodeReader {
    gen: u64,
    doc: u32,
    chunks: Vec<Option<Arc<Chunk>>>,
}

impl NodeReader {
    /// The chunk holding `pre`, and `pre`'s index in it.
    fn chunk<'r>(&'r mut self, doc: &Document, pre: u32) -> Result<(&'r Chunk, usize)> {
        if (doc.gen, doc.doc) != (self.gen, self.doc) {
            return Err(Error::corrupted("node reader", "used with another document than its own"));
        }
        let no = (pre / CHUNK_NODES) as usize;
        let slot = self
            .chunks
            .get_mut(no)
            .ok_or_else(|| Error::corrupted("node chunk", format!("node {pre} out of range")))?;
        if slot.is_none() {
            *slot = Some(doc.shared_chunk(no as u32)?);
        }
        match slot {
            Some(chunk) => Ok((chunk, (pre % CHUNK_NODES) as usize)),
            None => Err(Error::corrupted("node chunk", format!("node {pre} out of range"))),
        }
    }

    /// The record of node `pre`, its end patched in.
    pub fn record(&mut self, doc: &Document, pre: u32) -> Result<NodeRecord> {
        let (chunk, idx) = self.chunk(doc, pre)?;
        let mut rec = chunk
            .record(idx)
            .copied()
            .ok_or_else(|| Error::corrupted("node chunk", format!("node {pre} out of range")))?;
        if rec.end == OPEN_END {
            rec.end = doc.patched_end(pre)?;
        }
        Ok(rec)
    }

    /// Replaces `out` with the XPath string-value of node `pre`.
    pub fn string_value(&mut self, doc: &Document, pre: u32, out: &mut String) -> Result<()> {
        out.clear();
        let rec = self.record(doc, pre)?;
        match rec.kind {
            NodeKind::Root | NodeKind::Element => {
                for q in pre + 1..=rec.end {
                    let (chunk, idx) = self.chunk(doc, q)?;
                    if chunk.record(idx).is_some_and(|r| r.kind == NodeKind::Text) {
                        out.push_str(chunk.text(idx));
                    }
                }
            }
            _ => {
                let (chunk, idx) = self.chunk(doc, pre)?;
                out.push_str(chunk.text(idx));
            }
        }
        Ok(())
    }

    /// Whether some attribute of element `pre` satisfies `test(name, value)`.
    /// Attributes follow their element (after its namespace declarations).
    pub fn any_attribute(&mut self, doc: &Document, pre: u32, mut test: impl FnMut(u32, &str) -> bool) -> Result<bool> {
        let end = self.record(doc, pre)?.end;
        for q in pre + 1..=end {
            let (chunk, idx) = self.chunk(doc, q)?;
            let Some(rec) = chunk.record(idx) else { break };
            match rec.kind {
                NodeKind::NamespaceDecl => {}
                NodeKind::Attribute => {
                    if test(rec.name, chunk.text(idx)) {
                        return Ok(true);
                    }
                }
                _ => break,
            }
        }
        Ok(false)
    }
}
