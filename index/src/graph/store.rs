//! The graph store: named graphs of nodes and relationships on the [`Storage`] trait,
//! and write transactions that buffer changes in an overlay until commit.
//!
//! Key layout (keyspace [`Keyspace::Graph`]; `G` is the graph's name, which holds no NUL):
//! ```text
//! 0x00 G                        -> graph exists
//! G 0x00 'm'                    -> GraphMeta (counters, type tokens, labels, keys, indexes)
//! G 0x00 'n' chunk:u64          -> lz4(node records of ids chunk*1024 ..+1024)
//! G 0x00 'r' chunk:u64          -> lz4(relationship records, likewise)
//! G 0x00 'a' chunk:u64 dir:u8   -> lz4(adjacency lists of 1024 nodes, each sorted by (type token, rel))
//! G 0x00 'l' label              -> roaring treemap of node ids ("" = every node)
//! G 0x00 'x' label 0 prop 0 value-key node:u64 -> ()   property index entry
//! ```
//! An expansion of a node in one direction reads one (usually cached) chunk; label
//! scans read one bitmap. Decoded chunks are shared through the store's [`ChunkCache`].
//!
//! Isolation: one writer at a time ([`GraphStore::begin_write`] waits for the previous
//! writer); its changes live in the transaction until [`GraphTxn::commit`], which applies
//! one atomic batch while no reader runs (readers hold [`GraphStore::read_gate`] for the
//! length of a query), so a reader sees a whole commit or none of it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Condvar, Mutex};

use parking_lot::{RwLock, RwLockReadGuard};

use roaring::RoaringTreemap;

use super::chunk::{
    chunk_of, encode_adj_chunk, encode_record_chunk, AdjChunk, AdjList, CacheKey, Cached, Cell, ChunkCache, ChunkKind,
    RecordChunk, SharedColumn, CHUNK_LEN,
};
use super::record::{
    raw_node_property, raw_rel_property, AdjEntry, Direction, GraphMeta, IndexDef, NodeId, NodeRecord, RelId, RelRecord,
};
use super::text::{self, StepPattern, TextIndexDef, TextIndexHandle, TextIndexKind, TextSources, TextTest};
use super::value::RawValue;
use super::value::{Properties, PropertyValue};
use crate::storage::{Keyspace, Storage, WriteBatch};
use crate::{Error, Result};

mod check;
mod text_maintenance;

pub use check::GraphCheck;

pub(super) const KS: Keyspace = Keyspace::Graph;

/// The label under which every node is kept, so that an all-nodes scan is a bitmap too.
pub(super) const ALL_NODES: &str = "";

/// Every graph of a database.
#[derive(Debug, Clone)]
pub struct GraphStore {
    storage: Arc<dyn Storage>,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Readers share it; a commit takes it alone. In an `Arc` so that a result that
    /// streams can own its share ([`GraphStore::owned_read_gate`]).
    gate: Arc<RwLock<()>>,
    writer_active: Mutex<bool>,
    writer_done: Condvar,
    cache: ChunkCache,
    /// Graph name -> a small number for cache keys (not stored).
    graph_ids: Mutex<HashMap<String, u32>>,
    /// Text indexes loaded from storage, by (graph, index name).
    text: Mutex<TextHandles>,
}

/// Loaded text indexes by (graph, index name).
type TextHandles = HashMap<(String, String), Arc<TextIndexHandle>>;

/// Held by a reader for the length of a query: no commit is applied meanwhile.
pub type ReadGate<'a> = RwLockReadGuard<'a, ()>;

thread_local! {
    /// Owned read gates this thread holds (streaming results not yet dropped).
    static HELD_GATES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The error for a write on a thread that holds a streaming result's read share (it
/// would wait for itself).
fn held_rows_error() -> Result<()> {
    if HELD_GATES.with(std::cell::Cell::get) > 0 {
        return Err(Error::InvalidName(
            "this thread still holds the rows of a query; read them to the end or drop them before writing".into(),
        ));
    }
    Ok(())
}

/// A share of the read gate that a streaming result owns. While it lives, commits
/// wait; a commit on the thread that holds it is an error instead of a deadlock.
#[derive(Debug)]
pub struct OwnedReadGate {
    _guard: parking_lot::ArcRwLockReadGuard<parking_lot::RawRwLock, ()>,
    /// Not `Send`: the count is per thread.
    _here: std::marker::PhantomData<*const ()>,
}

impl Drop for OwnedReadGate {
    fn drop(&mut self) {
        HELD_GATES.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

pub(super) fn graph_prefix(graph: &str, tag: u8) -> Vec<u8> {
    let mut k = Vec::with_capacity(graph.len() + 2);
    k.extend_from_slice(graph.as_bytes());
    k.push(0);
    k.push(tag);
    k
}

pub(super) fn registry_key(graph: &str) -> Vec<u8> {
    let mut k = vec![0];
    k.extend_from_slice(graph.as_bytes());
    k
}

pub(super) fn chunk_key(graph: &str, kind: ChunkKind, chunk: u64) -> Vec<u8> {
    let tag = match kind {
        ChunkKind::Nodes => b'n',
        ChunkKind::Rels => b'r',
        ChunkKind::Out | ChunkKind::In => b'a',
    };
    let mut k = graph_prefix(graph, tag);
    k.extend_from_slice(&chunk.to_be_bytes());
    match kind {
        ChunkKind::Out => k.push(Direction::Outgoing.tag()),
        ChunkKind::In => k.push(Direction::Incoming.tag()),
        _ => {}
    }
    k
}

fn adj_kind(dir: Direction) -> ChunkKind {
    match dir {
        Direction::Outgoing => ChunkKind::Out,
        Direction::Incoming => ChunkKind::In,
    }
}

pub(super) fn label_key(graph: &str, label: &str) -> Vec<u8> {
    let mut k = graph_prefix(graph, b'l');
    k.extend_from_slice(label.as_bytes());
    k
}

fn index_prefix(graph: &str, label: &str, prop: &str) -> Vec<u8> {
    let mut k = graph_prefix(graph, b'x');
    k.extend_from_slice(label.as_bytes());
    k.push(0);
    k.extend_from_slice(prop.as_bytes());
    k.push(0);
    k
}

pub(super) fn index_entry(graph: &str, def: &IndexDef, value: &PropertyValue, node: NodeId) -> Option<Vec<u8>> {
    let mut k = index_prefix(graph, &def.label, &def.property);
    k.extend_from_slice(&value.index_key()?);
    k.extend_from_slice(&node.to_be_bytes());
    Some(k)
}

/// Checks that `name` can name a graph.
pub fn validate_graph_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('\0') {
        return Err(Error::InvalidName(format!("'{name}' cannot name a graph")));
    }
    Ok(())
}

impl GraphStore {
    /// The graphs kept in `storage`.
    pub fn open(storage: Arc<dyn Storage>) -> GraphStore {
        GraphStore { storage, shared: Arc::default() }
    }

    /// Names of the graphs that hold data, sorted.
    pub fn graphs(&self) -> Result<Vec<String>> {
        let keys = self.storage.keys_with_prefix(KS, &[0])?;
        keys.into_iter()
            .map(|k| String::from_utf8(k[1..].to_vec()).map_err(|e| Error::corrupted("graph registry", e)))
            .collect()
    }

    /// Taken by a query for its whole run: commits wait until it is released.
    pub fn read_gate(&self) -> Result<ReadGate<'_>> {
        // A thread that already holds a share (an open streaming result) takes another
        // even while a commit waits; a fair lock would make it wait for itself.
        Ok(if HELD_GATES.with(std::cell::Cell::get) > 0 {
            self.shared.gate.read_recursive()
        } else {
            self.shared.gate.read()
        })
    }

    /// A share of the read gate that outlives this borrow, for a result that streams.
    pub fn owned_read_gate(&self) -> OwnedReadGate {
        let guard = if HELD_GATES.with(std::cell::Cell::get) > 0 {
            self.shared.gate.read_arc_recursive()
        } else {
            self.shared.gate.read_arc()
        };
        HELD_GATES.with(|n| n.set(n.get() + 1));
        OwnedReadGate { _guard: guard, _here: std::marker::PhantomData }
    }

    /// A transaction that only reads (it is never committed).
    pub fn begin_read(&self) -> GraphTxn {
        GraphTxn { store: self.clone(), graphs: HashMap::new(), writer: false, owns_lock: false }
    }

    /// The write transaction; waits while another is open. Dropping it rolls back.
    pub fn begin_write(&self) -> Result<GraphTxn> {
        // Waiting for the writer lock while holding a read share could wait forever:
        // the writer that has the lock waits for that share at its commit.
        held_rows_error()?;
        self.acquire_writer()?;
        Ok(GraphTxn { store: self.clone(), graphs: HashMap::new(), writer: true, owns_lock: true })
    }

    pub(super) fn acquire_writer(&self) -> Result<()> {
        let poisoned = |_| Error::corrupted("graph store", "lock poisoned");
        let mut active = self.shared.writer_active.lock().map_err(poisoned)?;
        while *active {
            active = self.shared.writer_done.wait(active).map_err(poisoned)?;
        }
        *active = true;
        Ok(())
    }

    /// Applies `batch` while no reader runs and drops the cached chunks it rewrites,
    /// then makes it durable.
    pub(super) fn apply_exclusive(&self, batch: WriteBatch, rewritten: &[CacheKey]) -> Result<()> {
        self.apply_exclusive_then(batch, rewritten, |b| self.storage.apply(b), || Ok(()))
    }

    /// [`apply_exclusive`](Self::apply_exclusive) through `apply` (which may add writes
    /// of its own to the batch), running `then` before readers may start again (text
    /// indexes switch to the commit there).
    pub(super) fn apply_exclusive_then(
        &self,
        batch: WriteBatch,
        rewritten: &[CacheKey],
        apply: impl FnOnce(WriteBatch) -> Result<()>,
        then: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        {
            held_rows_error()?;
            let _exclusive = self.shared.gate.write();
            apply(batch)?;
            self.shared.cache.evict(rewritten);
            then()?;
        }
        self.storage.flush()
    }

    /// The committed text index `def` of `graph`, loaded on first use.
    pub(super) fn text_handle(&self, graph: &str, def: &TextIndexDef) -> Result<Arc<TextIndexHandle>> {
        let key = (graph.to_string(), def.name.clone());
        if let Some(h) = self.text_map()?.get(&key) {
            if h.def == *def {
                return Ok(h.clone());
            }
        }
        let h = TextIndexHandle::load(self.storage.as_ref(), graph, def.clone())?;
        self.text_map()?.insert(key, h.clone());
        Ok(h)
    }

    fn text_map(&self) -> Result<std::sync::MutexGuard<'_, TextHandles>> {
        self.shared.text.lock().map_err(|_| Error::corrupted("graph store", "lock poisoned"))
    }

    /// Drops the loaded copy of a text index (it is loaded again from storage).
    pub(super) fn forget_text(&self, graph: &str, name: &str) {
        if let Ok(mut map) = self.shared.text.lock() {
            map.remove(&(graph.to_string(), name.to_string()));
        }
    }

    /// The cache number of graph `name`.
    pub(super) fn graph_id(&self, name: &str) -> Result<u32> {
        let mut ids = self.shared.graph_ids.lock().map_err(|_| Error::corrupted("graph store", "lock poisoned"))?;
        let next = ids.len() as u32;
        Ok(*ids.entry(name.to_string()).or_insert(next))
    }

    pub(super) fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    pub(super) fn release_writer(&self) {
        if let Ok(mut active) = self.shared.writer_active.lock() {
            *active = false;
            self.shared.writer_done.notify_one();
        }
    }
}

/// Reads and (for a write transaction) changes of several graphs.
#[derive(Debug)]
pub struct GraphTxn {
    store: GraphStore,
    graphs: HashMap<String, Overlay>,
    writer: bool,
    /// False when the writer lock belongs to the caller ([`GraphTxn::with_writer_held`]).
    owns_lock: bool,
}

impl Drop for GraphTxn {
    fn drop(&mut self) {
        if self.writer && self.owns_lock {
            self.store.release_writer();
        }
    }
}

impl GraphTxn {
    /// A write transaction for a caller that holds the writer lock (and keeps it).
    pub(super) fn with_writer_held(store: &GraphStore) -> GraphTxn {
        GraphTxn { store: store.clone(), graphs: HashMap::new(), writer: true, owns_lock: false }
    }

    /// Takes graph `name`'s view out of this transaction, for a reader that outlives
    /// it (a streaming result). Only for read transactions.
    pub fn take_graph(&mut self, name: &str) -> Result<Overlay> {
        if self.writer {
            return Err(Error::InvalidName("a write transaction keeps its graphs".into()));
        }
        self.graph(name)?;
        self.graphs.remove(name).ok_or_else(|| Error::corrupted("graph store", "overlay vanished"))
    }

    /// The view of graph `name` in this transaction (it need not exist yet).
    pub fn graph(&mut self, name: &str) -> Result<&mut Overlay> {
        if !self.graphs.contains_key(name) {
            validate_graph_name(name)?;
            let overlay = Overlay::new(self.store.clone(), name.to_string(), self.writer)?;
            self.graphs.insert(name.to_string(), overlay);
        }
        self.graphs.get_mut(name).ok_or_else(|| Error::corrupted("graph store", "overlay vanished"))
    }

    /// True when this transaction changed something.
    pub fn is_dirty(&self) -> bool {
        self.graphs.values().any(|g| g.dirty)
    }

    /// True when this transaction changed graph `name`.
    pub fn changed(&self, name: &str) -> bool {
        self.graphs.get(name).is_some_and(|g| g.dirty)
    }

    /// Marks the end of a statement: checks constraints that hold per statement.
    pub fn check_statement(&mut self) -> Result<()> {
        for g in self.graphs.values_mut() {
            g.check_deleted_nodes()?;
        }
        Ok(())
    }

    /// Applies every change in one atomic batch and makes it durable.
    pub fn commit(self) -> Result<()> {
        let storage = self.store.storage.clone();
        self.commit_through(move |batch| if batch.is_empty() { Ok(()) } else { storage.apply(batch) })
    }

    /// [`GraphTxn::commit`], handing the batch to `apply` instead of storage. `apply`
    /// runs while no graph reader runs; it must apply the batch (with any writes of its
    /// own, such as another store's publication) atomically, or fail, and then nothing
    /// of this transaction is visible. It is called even when the transaction changed
    /// nothing, with an empty batch.
    pub fn commit_through(mut self, apply: impl FnOnce(WriteBatch) -> Result<()>) -> Result<()> {
        if !self.writer {
            return Err(Error::InvalidName("a read transaction cannot commit".into()));
        }
        let mut batch = WriteBatch::default();
        let mut rewritten = Vec::new();
        let mut texts = TextCommit::default();
        let mut written = Ok(());
        for g in self.graphs.values_mut() {
            written = g.check_deleted_nodes().and_then(|_| g.write_into(&mut batch, &mut rewritten, &mut texts));
            if written.is_err() {
                break;
            }
        }
        let store = self.store.clone();
        let result = written.and_then(|_| {
            if batch.is_empty() {
                // Nothing of the graphs changes: readers need not wait.
                return apply(batch);
            }
            store.apply_exclusive_then(batch, &rewritten, apply, || {
                // Readers start again only once the text indexes show this commit too
                // (dropped first: an index may be dropped and made again under its name).
                for (graph, name) in &texts.dropped {
                    store.forget_text(graph, name);
                }
                for (graph, h) in &texts.committed {
                    h.reload()?;
                    if let Ok(mut map) = store.shared.text.lock() {
                        map.insert((graph.clone(), h.def.name.clone()), h.clone());
                    }
                }
                Ok(())
            })
        });
        if result.is_err() {
            // A text index may have committed in memory what storage never got.
            for (graph, h) in &texts.committed {
                store.forget_text(graph, &h.def.name);
            }
        }
        result?;
        self.graphs.clear();
        Ok(())
    }
}

/// What a commit did to text indexes, to be made visible once the batch is applied.
#[derive(Default)]
struct TextCommit {
    committed: Vec<(String, Arc<TextIndexHandle>)>,
    dropped: Vec<(String, String)>,
}

/// The ids chunk `chunk` holds.
fn ids_of_chunk(chunk: u64) -> std::ops::Range<u64> {
    chunk * CHUNK_LEN as u64..(chunk + 1) * CHUNK_LEN as u64
}

/// The property columns of one chunk a transaction has used, by key.
type ChunkColumns = Vec<(Box<str>, SharedColumn)>;

/// One graph as a transaction sees it: the committed data plus this transaction's
/// changes. Reads of unchanged entities go to storage.
#[derive(Debug)]
pub struct Overlay {
    storage: Arc<dyn Storage>,
    store: GraphStore,
    graph_id: u32,
    /// Chunks this transaction has looked at (no lock on the shared cache after the first use).
    chunks: rustc_hash::FxHashMap<(ChunkKind, u64), Cached>,
    /// The last node and relationship chunks read: scans walk ids in order.
    last_nodes: Option<(u64, Arc<RecordChunk<NodeRecord>>)>,
    last_rels: Option<(u64, Arc<RecordChunk<RelRecord>>)>,
    /// Property columns this transaction has used, by (relationships?, chunk), then key.
    columns: rustc_hash::FxHashMap<(bool, u64), ChunkColumns>,
    /// The last adjacency chunk read, per direction (outgoing, incoming).
    last_adj: [Option<(u64, Arc<AdjChunk>)>; 2],
    /// The last type block read, per direction: (chunk, type token, block).
    last_typed: [Option<(u64, u32, Arc<super::chunk::TypeBlock>)>; 2],
    graph: String,
    writable: bool,
    dirty: bool,
    exists: bool,
    meta: GraphMeta,
    nodes: HashMap<NodeId, Option<Arc<NodeRecord>>>,
    rels: HashMap<RelId, Option<Arc<RelRecord>>>,
    /// Adjacency lists changed by this transaction.
    adjacency: HashMap<(NodeId, Direction), Arc<Vec<AdjEntry>>>,
    labels: HashMap<String, Arc<RoaringTreemap>>,
    changed_labels: BTreeSet<String>,
    changed_adjacency: BTreeSet<(NodeId, Direction)>,
    index_changes: BTreeMap<Vec<u8>, bool>,
    deleted_nodes: BTreeSet<NodeId>,
    /// Relationships deleted in this transaction, still readable for `type(r)`.
    deleted_rels: HashMap<RelId, Arc<RelRecord>>,
    /// Counts writes, so that what is derived from this transaction's changes is
    /// recomputed only after another write.
    revision: u64,
    /// Entities whose text documents must be rebuilt at commit whatever changed (a bulk load).
    text_forced: RoaringTreemap,
    text_forced_rels: RoaringTreemap,
    /// Text indexes created in this transaction (filled, not yet committed).
    text_created: HashMap<String, Arc<TextIndexHandle>>,
    text_dropped: BTreeSet<String>,
    /// Per text index: the entities whose documents this transaction changed, at a revision.
    text_affected: HashMap<String, (u64, Arc<RoaringTreemap>)>,
    /// LIndex lookups made (the planner, the operators and EXPLAIN ask the same), by
    /// lookup, at a revision.
    lindex_lookups: HashMap<String, (u64, Option<Arc<RoaringTreemap>>)>,
}

impl Overlay {
    fn new(store: GraphStore, graph: String, writable: bool) -> Result<Overlay> {
        let storage = store.storage.clone();
        let graph_id = store.graph_id(&graph)?;
        let meta_bytes = storage.get(KS, &graph_prefix(&graph, b'm'))?;
        let exists = meta_bytes.is_some();
        let meta = match meta_bytes {
            Some(b) => GraphMeta::decode(&b)?,
            None => GraphMeta::default(),
        };
        Ok(Overlay {
            storage,
            store,
            graph_id,
            chunks: rustc_hash::FxHashMap::default(),
            last_nodes: None,
            last_rels: None,
            last_adj: [None, None],
            last_typed: [None, None],
            columns: Default::default(),
            graph,
            writable,
            dirty: false,
            exists,
            meta,
            nodes: HashMap::new(),
            rels: HashMap::new(),
            adjacency: HashMap::new(),
            labels: HashMap::new(),
            changed_labels: BTreeSet::new(),
            changed_adjacency: BTreeSet::new(),
            index_changes: BTreeMap::new(),
            deleted_nodes: BTreeSet::new(),
            deleted_rels: HashMap::new(),
            revision: 0,
            text_created: HashMap::new(),
            text_forced: RoaringTreemap::new(),
            text_forced_rels: RoaringTreemap::new(),
            text_dropped: BTreeSet::new(),
            text_affected: HashMap::new(),
            lindex_lookups: HashMap::new(),
        })
    }

    /// The graph's name.
    pub fn name(&self) -> &str {
        &self.graph
    }

    /// True when the graph has been written to (now or before this transaction).
    pub fn exists(&self) -> bool {
        self.exists || self.dirty
    }

    /// Counters, tokens and index definitions as of this transaction.
    pub fn meta(&self) -> &GraphMeta {
        &self.meta
    }

    fn writable(&mut self) -> Result<()> {
        if !self.writable {
            return Err(Error::ReadOnly);
        }
        self.dirty = true;
        self.revision += 1;
        Ok(())
    }

    /// The decoded chunk `(kind, chunk)`: from this transaction, the shared cache or storage.
    fn chunk(&mut self, kind: ChunkKind, chunk: u64) -> Result<Option<Cached>> {
        if let Some(c) = self.chunks.get(&(kind, chunk)) {
            return Ok(Some(c.clone()));
        }
        let key = (self.graph_id, kind, chunk);
        let cached = match self.store.shared.cache.get(&key) {
            Some(c) => c,
            None => {
                let Some(stored) = self.storage.get(KS, &chunk_key(&self.graph, kind, chunk))? else { return Ok(None) };
                let (c, size) = match kind {
                    ChunkKind::Nodes => {
                        let c = RecordChunk::<NodeRecord>::decode(&stored)?;
                        let size = c.size();
                        (Cached::Nodes(Arc::new(c)), size)
                    }
                    ChunkKind::Rels => {
                        let c = RecordChunk::<RelRecord>::decode(&stored)?;
                        let size = c.size();
                        (Cached::Rels(Arc::new(c)), size)
                    }
                    ChunkKind::Out | ChunkKind::In => {
                        let c = AdjChunk::decode(&stored)?;
                        let size = c.size();
                        (Cached::Adj(Arc::new(c)), size)
                    }
                };
                self.store.shared.cache.insert(key, c.clone(), size);
                c
            }
        };
        self.chunks.insert((kind, chunk), cached.clone());
        Ok(Some(cached))
    }

    fn stored_node(&mut self, id: NodeId) -> Result<Option<Arc<NodeRecord>>> {
        let (chunk, slot) = chunk_of(id);
        if let Some((c, data)) = &self.last_nodes {
            if *c == chunk {
                return data.get(slot);
            }
        }
        match self.chunk(ChunkKind::Nodes, chunk)? {
            Some(Cached::Nodes(c)) => {
                let rec = c.get(slot);
                self.last_nodes = Some((chunk, c));
                rec
            }
            _ => Ok(None),
        }
    }

    fn stored_rel(&mut self, id: RelId) -> Result<Option<Arc<RelRecord>>> {
        let (chunk, slot) = chunk_of(id);
        if let Some((c, data)) = &self.last_rels {
            if *c == chunk {
                return data.get(slot);
            }
        }
        match self.chunk(ChunkKind::Rels, chunk)? {
            Some(Cached::Rels(c)) => {
                let rec = c.get(slot);
                self.last_rels = Some((chunk, c));
                rec
            }
            _ => Ok(None),
        }
    }

    fn node_chunk_of(&mut self, id: NodeId) -> Result<Option<Arc<RecordChunk<NodeRecord>>>> {
        let (chunk, _) = chunk_of(id);
        if let Some((c, data)) = &self.last_nodes {
            if *c == chunk {
                return Ok(Some(data.clone()));
            }
        }
        Ok(match self.chunk(ChunkKind::Nodes, chunk)? {
            Some(Cached::Nodes(c)) => {
                self.last_nodes = Some((chunk, c.clone()));
                Some(c)
            }
            _ => None,
        })
    }

    fn rel_chunk_of(&mut self, id: RelId) -> Result<Option<Arc<RecordChunk<RelRecord>>>> {
        let (chunk, _) = chunk_of(id);
        if let Some((c, data)) = &self.last_rels {
            if *c == chunk {
                return Ok(Some(data.clone()));
            }
        }
        Ok(match self.chunk(ChunkKind::Rels, chunk)? {
            Some(Cached::Rels(c)) => {
                self.last_rels = Some((chunk, c.clone()));
                Some(c)
            }
            _ => None,
        })
    }

    /// The column of `key` in the stored chunk of `id` (memoized per transaction).
    fn column(&mut self, rel: bool, id: u64, key: &str) -> Result<Option<SharedColumn>> {
        let (c, _) = chunk_of(id);
        if let Some(cols) = self.columns.get(&(rel, c)) {
            if let Some((_, col)) = cols.iter().find(|(k, _)| &**k == key) {
                return Ok(Some(col.clone()));
            }
        }
        let col = if rel {
            match self.rel_chunk_of(id)? {
                Some(chunk) => chunk.column(key)?,
                None => return Ok(None),
            }
        } else {
            match self.node_chunk_of(id)? {
                Some(chunk) => chunk.column(key)?,
                None => return Ok(None),
            }
        };
        self.columns.entry((rel, c)).or_default().push((key.into(), col.clone()));
        Ok(Some(col))
    }

    /// Property `key` of node (or relationship, with `rel`) `id` as a stored value
    /// (`None` inside when it lacks it); `Ok(None)` when it does not exist. Strings
    /// are shared with the chunk's column, not copied.
    pub fn property_value(&mut self, rel: bool, id: u64, key: &str) -> Result<Option<Option<PropertyValue>>> {
        if let Some(changed) = self.changed_properties(rel, id) {
            return Ok(changed.map(|props| props.get(key).cloned()));
        }
        if let Some(col) = self.column(rel, id, key)? {
            let (_, slot) = chunk_of(id);
            match col.as_ref().as_ref().map(|c| c.get(slot)) {
                Some(Cell::Int(i)) => return Ok(Some(Some(PropertyValue::Int(i)))),
                Some(Cell::Float(x)) => return Ok(Some(Some(PropertyValue::Float(x)))),
                Some(Cell::Bool(b)) => return Ok(Some(Some(PropertyValue::Bool(b)))),
                Some(Cell::Str(s)) => return Ok(Some(Some(PropertyValue::String(s.clone())))),
                // Absent in the column: the record may still be gone.
                Some(Cell::Absent | Cell::Other) | None => {}
            }
        }
        self.with_property(rel, id, key, |raw| raw.map(|r| r.to_owned()))
    }

    /// The properties of an entity as this transaction changed it: `Some(None)` for
    /// a deleted entity, `None` when the transaction did not touch it.
    fn changed_properties(&self, rel: bool, id: u64) -> Option<Option<&Properties>> {
        if rel {
            if !self.rels.is_empty() {
                return self.rels.get(&id).map(|r| r.as_deref().map(|rec| &rec.properties));
            }
        } else if !self.nodes.is_empty() {
            return self.nodes.get(&id).map(|n| n.as_deref().map(|rec| &rec.properties));
        }
        None
    }

    /// Calls `f` with property `key` of node `id` (`None` inside when the node lacks
    /// it); `Ok(None)` when the node does not exist. Numbers come from the chunk's
    /// numeric column, anything else from the stored bytes of the record; no record
    /// is decoded.
    pub fn with_node_property<R>(
        &mut self,
        id: NodeId,
        key: &str,
        f: impl FnOnce(Option<RawValue<'_>>) -> R,
    ) -> Result<Option<R>> {
        self.with_property(false, id, key, f)
    }

    /// [`Overlay::with_node_property`] for relationships.
    pub fn with_rel_property<R>(
        &mut self,
        id: RelId,
        key: &str,
        f: impl FnOnce(Option<RawValue<'_>>) -> R,
    ) -> Result<Option<R>> {
        self.with_property(true, id, key, f)
    }

    fn with_property<R>(
        &mut self,
        rel: bool,
        id: u64,
        key: &str,
        f: impl FnOnce(Option<RawValue<'_>>) -> R,
    ) -> Result<Option<R>> {
        if let Some(changed) = self.changed_properties(rel, id) {
            return Ok(changed.map(|props| f(props.get(key).map(RawValue::of))));
        }
        let (c, slot) = chunk_of(id);
        if let Some(col) = self.column(rel, id, key)? {
            if let Some(cells) = col.as_ref() {
                match cells.get(slot) {
                    Cell::Int(i) => return Ok(Some(f(Some(RawValue::Int(i))))),
                    Cell::Float(x) => return Ok(Some(f(Some(RawValue::Float(x))))),
                    Cell::Bool(b) => return Ok(Some(f(Some(RawValue::Bool(b))))),
                    Cell::Str(s) => return Ok(Some(f(Some(RawValue::Str(s))))),
                    Cell::Absent | Cell::Other => {}
                }
            }
        }
        if rel {
            if !matches!(&self.last_rels, Some((last, _)) if *last == c) {
                self.rel_chunk_of(id)?;
            }
            let Some((last, chunk)) = &self.last_rels else { return Ok(None) };
            if *last != c {
                return Ok(None);
            }
            let Some(raw) = chunk.raw(slot) else { return Ok(None) };
            Ok(Some(f(raw_rel_property(raw, key)?)))
        } else {
            if !matches!(&self.last_nodes, Some((last, _)) if *last == c) {
                self.node_chunk_of(id)?;
            }
            // Borrow the memoized chunk: no reference count traffic per read.
            let Some((last, chunk)) = &self.last_nodes else { return Ok(None) };
            if *last != c {
                return Ok(None);
            }
            let Some(raw) = chunk.raw(slot) else { return Ok(None) };
            Ok(Some(f(raw_node_property(raw, key)?)))
        }
    }

    /// The stored node chunk `chunk` for scans that test a whole chunk at once, or
    /// `None` when it is not stored or this transaction changed one of its nodes
    /// (the caller then tests nodes one at a time).
    pub fn node_chunk_view(&mut self, chunk: u64) -> Result<Option<NodeChunkView>> {
        let ids = ids_of_chunk(chunk);
        if self.nodes.keys().any(|n| ids.contains(n)) {
            return Ok(None);
        }
        Ok(self.node_chunk_of(ids.start)?.map(NodeChunkView))
    }

    /// The column of relationship property `key` in the stored chunk `chunk`, or
    /// `None` when no chunk is stored or this transaction changed one of its
    /// relationships (the caller then reads relationships one at a time).
    pub fn stored_rel_column(&mut self, chunk: u64, key: &str) -> Result<Option<SharedColumn>> {
        let ids = ids_of_chunk(chunk);
        if self.rels.keys().any(|r| ids.contains(r)) {
            return Ok(None);
        }
        self.column(true, ids.start, key)
    }

    /// The node, or `None` when it does not exist (or was deleted).
    pub fn node(&mut self, id: NodeId) -> Result<Option<Arc<NodeRecord>>> {
        if !self.nodes.is_empty() {
            if let Some(n) = self.nodes.get(&id) {
                return Ok(n.clone());
            }
        }
        self.stored_node(id)
    }

    /// The relationship, or `None`.
    pub fn rel(&mut self, id: RelId) -> Result<Option<Arc<RelRecord>>> {
        if !self.rels.is_empty() {
            if let Some(r) = self.rels.get(&id) {
                return Ok(r.clone());
            }
        }
        self.stored_rel(id)
    }

    /// A relationship deleted in this transaction, as it was.
    pub fn deleted_rel(&self, id: RelId) -> Option<Arc<RelRecord>> {
        self.deleted_rels.get(&id).cloned()
    }

    /// True when the node was deleted in this transaction.
    pub fn is_deleted_node(&self, id: NodeId) -> bool {
        self.deleted_nodes.contains(&id)
    }

    /// Nodes with `label` (every node for `None`).
    pub fn label_nodes(&mut self, label: Option<&str>) -> Result<Arc<RoaringTreemap>> {
        let label = label.unwrap_or(ALL_NODES);
        if let Some(b) = self.labels.get(label) {
            return Ok(b.clone());
        }
        let bitmap = match self.storage.get(KS, &label_key(&self.graph, label))? {
            Some(b) => RoaringTreemap::deserialize_from(&b[..]).map_err(|e| Error::corrupted("graph label", e))?,
            None => RoaringTreemap::new(),
        };
        let bitmap = Arc::new(bitmap);
        self.labels.insert(label.to_string(), bitmap.clone());
        Ok(bitmap)
    }

    /// The node's relationships in direction `dir`, sorted by (type token, id).
    pub fn adjacency(&mut self, node: NodeId, dir: Direction) -> Result<AdjList> {
        if !self.adjacency.is_empty() {
            if let Some(a) = self.adjacency.get(&(node, dir)) {
                return Ok(AdjList::Owned(a.clone()));
            }
        }
        let (chunk, slot) = chunk_of(node);
        let memo = usize::from(dir == Direction::Incoming);
        if let Some((c, data)) = &self.last_adj[memo] {
            if *c == chunk {
                return Ok(AdjList::Chunk(data.clone(), slot));
            }
        }
        Ok(match self.chunk(adj_kind(dir), chunk)? {
            Some(Cached::Adj(c)) => {
                self.last_adj[memo] = Some((chunk, c.clone()));
                AdjList::Chunk(c, slot)
            }
            _ => AdjList::Empty,
        })
    }

    /// The node's relationships of type `token` in direction `dir`, sorted by id,
    /// from the chunk's block of that type (see [`super::chunk::TypeBlock`]).
    pub fn typed_adjacency(&mut self, node: NodeId, dir: Direction, token: u32) -> Result<AdjList> {
        if !self.adjacency.is_empty() {
            if let Some(a) = self.adjacency.get(&(node, dir)) {
                // A list this transaction changed: the copy of one type is small.
                return Ok(AdjList::Owned(Arc::new(super::chunk::entries_of_type(a, token).to_vec())));
            }
        }
        let (chunk, slot) = chunk_of(node);
        let memo = usize::from(dir == Direction::Incoming);
        if let Some((c, t, block)) = &self.last_typed[memo] {
            if *c == chunk && *t == token {
                return Ok(AdjList::Typed(block.clone(), slot));
            }
        }
        Ok(match self.chunk(adj_kind(dir), chunk)? {
            Some(Cached::Adj(c)) => {
                let block = c.type_block(token);
                self.last_typed[memo] = Some((chunk, token, block.clone()));
                AdjList::Typed(block, slot)
            }
            _ => AdjList::Empty,
        })
    }

    /// The stored adjacency chunk `chunk` in `dir`, for operators that walk the lists
    /// of many nodes of one chunk; `None` when it is not stored or this transaction
    /// changed a list in it (the caller then reads lists one at a time).
    pub fn stored_adjacency_chunk(&mut self, chunk: u64, dir: Direction) -> Result<Option<Arc<AdjChunk>>> {
        let ids = ids_of_chunk(chunk);
        if self.adjacency.keys().any(|(n, d)| *d == dir && ids.contains(n)) {
            return Ok(None);
        }
        Ok(match self.chunk(adj_kind(dir), chunk)? {
            Some(Cached::Adj(c)) => Some(c),
            _ => None,
        })
    }

    /// Nodes whose indexed `property` under `label` has a key in `[from, to)` (by
    /// [`PropertyValue::index_key`]); `to = None` means every key starting with `from`.
    /// Callers re-check the predicate: keys of large integers may collide.
    pub fn index_seek(&mut self, def: &IndexDef, from: &[u8], to: Option<&[u8]>) -> Result<RoaringTreemap> {
        let prefix = index_prefix(&self.graph, &def.label, &def.property);
        let in_range = |key: &[u8]| -> Option<NodeId> {
            let value = key.get(prefix.len()..key.len().checked_sub(8)?)?;
            let ok = match to {
                Some(to) => value >= from && value < to,
                None => value.starts_with(from),
            };
            let id = key.get(key.len() - 8..)?;
            ok.then(|| u64::from_be_bytes(id.try_into().unwrap_or([0; 8])))
        };
        let mut scan_prefix = prefix.clone();
        if to.is_none() {
            scan_prefix.extend_from_slice(from);
        }
        let mut out = RoaringTreemap::new();
        for key in self.storage.keys_with_prefix(KS, &scan_prefix)? {
            if self.index_changes.get(&key) == Some(&false) {
                continue;
            }
            if let Some(id) = in_range(&key) {
                out.insert(id);
            }
        }
        for (key, present) in self.index_changes.range(scan_prefix.clone()..) {
            if !key.starts_with(&scan_prefix) {
                break;
            }
            if *present {
                if let Some(id) = in_range(key) {
                    out.insert(id);
                }
            }
        }
        Ok(out)
    }

    /// The property index on (`label`, `property`), if one exists.
    pub fn index_for(&self, label: &str, property: &str) -> Option<&IndexDef> {
        self.meta.indexes.iter().find(|i| i.label == label && i.property == property)
    }

    fn set_label_bit(&mut self, label: &str, id: NodeId, present: bool) -> Result<()> {
        let mut bitmap = self.label_nodes(Some(label))?;
        let b = Arc::make_mut(&mut bitmap);
        if present {
            b.insert(id);
        } else {
            b.remove(id);
        }
        self.labels.insert(label.to_string(), bitmap);
        self.changed_labels.insert(label.to_string());
        Ok(())
    }

    fn index_entries(&self, id: NodeId, rec: &NodeRecord) -> Vec<Vec<u8>> {
        self.meta
            .indexes
            .iter()
            .filter(|d| rec.has_label(&d.label))
            .filter_map(|d| index_entry(&self.graph, d, rec.properties.get(&d.property)?, id))
            .collect()
    }

    /// Replaces a node record, keeping labels and indexes in step.
    fn put_node(&mut self, id: NodeId, old: Option<&NodeRecord>, new: NodeRecord) -> Result<()> {
        self.writable()?;
        let old_labels: BTreeSet<&String> = old.map(|o| o.labels.iter().collect()).unwrap_or_default();
        let new_labels: BTreeSet<&String> = new.labels.iter().collect();
        for l in old_labels.difference(&new_labels) {
            self.set_label_bit(l, id, false)?;
        }
        for l in new_labels.difference(&old_labels) {
            self.set_label_bit(l, id, true)?;
            self.meta.labels.insert((*l).clone());
        }
        for k in new.properties.keys() {
            if !self.meta.property_keys.contains(k) {
                self.meta.property_keys.insert(k.clone());
            }
        }
        if !self.meta.indexes.is_empty() {
            let before = old.map(|o| self.index_entries(id, o)).unwrap_or_default();
            let after = self.index_entries(id, &new);
            for k in before {
                self.index_changes.insert(k, false);
            }
            for k in after {
                self.index_changes.insert(k, true);
            }
        }
        self.nodes.insert(id, Some(Arc::new(new)));
        Ok(())
    }

    /// Creates a node; returns its id.
    pub fn create_node(&mut self, mut labels: Vec<String>, properties: Properties) -> Result<NodeId> {
        self.writable()?;
        labels.sort();
        labels.dedup();
        let id = self.meta.next_node;
        self.meta.next_node += 1;
        self.meta.node_count += 1;
        self.set_label_bit(ALL_NODES, id, true)?;
        self.put_node(id, None, NodeRecord { labels, properties })?;
        Ok(id)
    }

    /// Creates a relationship from `start` to `end`; returns its id.
    pub fn create_rel(&mut self, rel_type: &str, start: NodeId, end: NodeId, properties: Properties) -> Result<RelId> {
        self.writable()?;
        for k in properties.keys() {
            if !self.meta.property_keys.contains(k) {
                self.meta.property_keys.insert(k.clone());
            }
        }
        let id = self.meta.next_rel;
        self.meta.next_rel += 1;
        self.meta.rel_count += 1;
        let token = self.meta.type_token_or_add(rel_type);
        self.meta.type_counts[token as usize] += 1;
        self.add_adjacency(start, Direction::Outgoing, AdjEntry { type_token: token, rel: id, other: end })?;
        self.add_adjacency(end, Direction::Incoming, AdjEntry { type_token: token, rel: id, other: start })?;
        let rec = RelRecord { rel_type: rel_type.to_string(), start, end, properties };
        self.rels.insert(id, Some(Arc::new(rec)));
        Ok(id)
    }

    fn owned_adjacency(&mut self, node: NodeId, dir: Direction) -> Result<Arc<Vec<AdjEntry>>> {
        Ok(match self.adjacency(node, dir)? {
            AdjList::Owned(a) => a,
            other => Arc::new(other.to_vec()),
        })
    }

    fn add_adjacency(&mut self, node: NodeId, dir: Direction, entry: AdjEntry) -> Result<()> {
        let mut list = self.owned_adjacency(node, dir)?;
        let l = Arc::make_mut(&mut list);
        let at = l.partition_point(|e| e < &entry);
        l.insert(at, entry);
        self.adjacency.insert((node, dir), list);
        self.changed_adjacency.insert((node, dir));
        Ok(())
    }

    fn remove_adjacency(&mut self, node: NodeId, dir: Direction, rel: RelId) -> Result<()> {
        let mut list = self.owned_adjacency(node, dir)?;
        Arc::make_mut(&mut list).retain(|e| e.rel != rel);
        self.adjacency.insert((node, dir), list);
        self.changed_adjacency.insert((node, dir));
        Ok(())
    }

    /// Sets (or with `None` removes) a node property.
    pub fn set_node_property(&mut self, id: NodeId, key: &str, value: Option<PropertyValue>) -> Result<()> {
        let Some(old) = self.node(id)? else { return Err(Error::EntityNotFound(format!("node {id}"))) };
        let mut new = (*old).clone();
        match value {
            Some(v) => new.properties.insert(key.to_string(), v),
            None => new.properties.remove(key),
        };
        self.put_node(id, Some(&old), new)
    }

    /// Replaces all properties of a node.
    pub fn replace_node_properties(&mut self, id: NodeId, properties: Properties) -> Result<()> {
        let Some(old) = self.node(id)? else { return Err(Error::EntityNotFound(format!("node {id}"))) };
        let mut new = (*old).clone();
        new.properties = properties;
        self.put_node(id, Some(&old), new)
    }

    /// Adds (or removes) labels of a node.
    pub fn set_node_labels(&mut self, id: NodeId, labels: &[String], add: bool) -> Result<()> {
        let Some(old) = self.node(id)? else { return Err(Error::EntityNotFound(format!("node {id}"))) };
        let mut new = (*old).clone();
        if add {
            new.labels.extend(labels.iter().cloned());
            new.labels.sort();
            new.labels.dedup();
        } else {
            new.labels.retain(|l| !labels.contains(l));
        }
        self.put_node(id, Some(&old), new)
    }

    /// Sets (or removes) a relationship property.
    pub fn set_rel_property(&mut self, id: RelId, key: &str, value: Option<PropertyValue>) -> Result<()> {
        self.writable()?;
        let Some(old) = self.rel(id)? else { return Err(Error::EntityNotFound(format!("relationship {id}"))) };
        let mut new = (*old).clone();
        match value {
            Some(v) => {
                if !self.meta.property_keys.contains(key) {
                    self.meta.property_keys.insert(key.to_string());
                }
                new.properties.insert(key.to_string(), v)
            }
            None => new.properties.remove(key),
        };
        self.rels.insert(id, Some(Arc::new(new)));
        Ok(())
    }

    /// Replaces all properties of a relationship.
    pub fn replace_rel_properties(&mut self, id: RelId, properties: Properties) -> Result<()> {
        self.writable()?;
        let Some(old) = self.rel(id)? else { return Err(Error::EntityNotFound(format!("relationship {id}"))) };
        for k in properties.keys() {
            self.meta.property_keys.insert(k.clone());
        }
        let mut new = (*old).clone();
        new.properties = properties;
        self.rels.insert(id, Some(Arc::new(new)));
        Ok(())
    }

    /// Deletes a relationship (absent ones are fine: a row may delete it twice).
    pub fn delete_rel(&mut self, id: RelId) -> Result<()> {
        self.writable()?;
        let Some(rec) = self.rel(id)? else { return Ok(()) };
        self.remove_adjacency(rec.start, Direction::Outgoing, id)?;
        self.remove_adjacency(rec.end, Direction::Incoming, id)?;
        if let Some(t) = self.meta.type_token(&rec.rel_type) {
            self.meta.type_counts[t as usize] -= 1;
        }
        self.meta.rel_count -= 1;
        self.rels.insert(id, None);
        self.deleted_rels.insert(id, rec);
        Ok(())
    }

    /// Deletes a node. Its relationships must be gone by the end of the statement
    /// ([`GraphTxn::check_statement`]).
    pub fn delete_node(&mut self, id: NodeId) -> Result<()> {
        self.writable()?;
        let Some(rec) = self.node(id)? else { return Ok(()) };
        for l in &rec.labels {
            self.set_label_bit(l, id, false)?;
        }
        self.set_label_bit(ALL_NODES, id, false)?;
        for k in self.index_entries(id, &rec) {
            self.index_changes.insert(k, false);
        }
        self.meta.node_count -= 1;
        self.nodes.insert(id, None);
        self.deleted_nodes.insert(id);
        Ok(())
    }

    fn check_deleted_nodes(&mut self) -> Result<()> {
        let deleted: Vec<NodeId> = self.deleted_nodes.iter().copied().collect();
        for id in deleted {
            for dir in [Direction::Outgoing, Direction::Incoming] {
                if !self.adjacency(id, dir)?.is_empty() {
                    return Err(Error::Constraint(format!(
                        "node {id} cannot be deleted because it still has relationships; use DETACH DELETE"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Creates a property index and fills it from the current nodes. Returns false
    /// when an index on the same label and property exists already.
    pub fn create_index(&mut self, def: IndexDef) -> Result<bool> {
        self.writable()?;
        if self.index_for(&def.label, &def.property).is_some() || self.name_taken(&def.name) {
            return Ok(false);
        }
        let ids = self.label_nodes(Some(&def.label))?;
        for id in ids.iter() {
            if let Some(rec) = self.node(id)? {
                if let Some(k) = rec.properties.get(&def.property).and_then(|v| index_entry(&self.graph, &def, v, id)) {
                    self.index_changes.insert(k, true);
                }
            }
        }
        self.meta.indexes.push(def);
        Ok(true)
    }

    /// Drops the index called `name`; false when there is none.
    pub fn drop_index(&mut self, name: &str) -> Result<bool> {
        self.writable()?;
        if self.text_index(name).is_some() {
            return self.drop_text_index(name);
        }
        let Some(pos) = self.meta.indexes.iter().position(|i| i.name == name) else { return Ok(false) };
        let def = self.meta.indexes.remove(pos);
        let prefix = index_prefix(&self.graph, &def.label, &def.property);
        for key in self.storage.keys_with_prefix(KS, &prefix)? {
            self.index_changes.insert(key, false);
        }
        let pending: Vec<Vec<u8>> = self
            .index_changes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in pending {
            self.index_changes.insert(k, false);
        }
        Ok(true)
    }

    fn write_into(
        &mut self,
        batch: &mut WriteBatch,
        rewritten: &mut Vec<CacheKey>,
        texts: &mut TextCommit,
    ) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let g = self.graph.clone();
        self.write_text_indexes(batch, texts)?;
        batch.put(KS, registry_key(&g), Vec::new());
        batch.put(KS, graph_prefix(&g, b'm'), self.meta.encode());
        // Node and relationship chunks: every chunk with a change is rewritten whole.
        let node_changes = group_by_chunk(self.nodes.iter().map(|(id, r)| (*id, r.as_ref().map(|r| r.encode()))));
        for (c, changes) in node_changes {
            let base = match self.chunk(ChunkKind::Nodes, c)? {
                Some(Cached::Nodes(b)) => b,
                _ => Arc::new(RecordChunk::<NodeRecord>::empty()),
            };
            batch.put(KS, chunk_key(&g, ChunkKind::Nodes, c), rewrite_records(&base, &changes));
            rewritten.push((self.graph_id, ChunkKind::Nodes, c));
        }
        let rel_changes = group_by_chunk(self.rels.iter().map(|(id, r)| (*id, r.as_ref().map(|r| r.encode()))));
        for (c, changes) in rel_changes {
            let base = match self.chunk(ChunkKind::Rels, c)? {
                Some(Cached::Rels(b)) => b,
                _ => Arc::new(RecordChunk::<RelRecord>::empty()),
            };
            batch.put(KS, chunk_key(&g, ChunkKind::Rels, c), rewrite_records(&base, &changes));
            rewritten.push((self.graph_id, ChunkKind::Rels, c));
        }
        let mut adj_chunks: BTreeMap<(u64, Direction), Vec<usize>> = BTreeMap::new();
        for (node, dir) in &self.changed_adjacency {
            let (c, slot) = chunk_of(*node);
            adj_chunks.entry((c, *dir)).or_default().push(slot);
        }
        for ((c, dir), _) in adj_chunks {
            let kind = adj_kind(dir);
            let base = match self.chunk(kind, c)? {
                Some(Cached::Adj(b)) => b,
                _ => Arc::new(AdjChunk::empty()),
            };
            let first = c * CHUNK_LEN as u64;
            let lists: Vec<Arc<Vec<AdjEntry>>> = (0..CHUNK_LEN)
                .map(|slot| match self.adjacency.get(&(first + slot as u64, dir)) {
                    Some(l) => l.clone(),
                    None => Arc::new(base.list(slot).to_vec()),
                })
                .collect();
            batch.put(KS, chunk_key(&g, kind, c), encode_adj_chunk(lists.iter().map(|l| l.as_slice())));
            rewritten.push((self.graph_id, kind, c));
        }
        for label in &self.changed_labels {
            let Some(bitmap) = self.labels.get(label) else { continue };
            if bitmap.is_empty() {
                batch.delete(KS, label_key(&g, label));
            } else {
                let mut buf = Vec::with_capacity(bitmap.serialized_size());
                bitmap.serialize_into(&mut buf)?;
                batch.put(KS, label_key(&g, label), buf);
            }
        }
        for (key, present) in &self.index_changes {
            if *present {
                batch.put(KS, key.clone(), Vec::new());
            } else {
                batch.delete(KS, key.clone());
            }
        }
        Ok(())
    }
}

/// Changed records by chunk: (slot, new encoded record or `None` for deleted).
type ChunkChanges = BTreeMap<u64, Vec<(usize, Option<Vec<u8>>)>>;

fn group_by_chunk(changes: impl Iterator<Item = (u64, Option<Vec<u8>>)>) -> ChunkChanges {
    let mut out = ChunkChanges::new();
    for (id, rec) in changes {
        let (c, slot) = chunk_of(id);
        out.entry(c).or_default().push((slot, rec));
    }
    out
}

/// A stored record chunk with `changes` (slot, new encoded record or `None`) applied.
fn rewrite_records<T: super::chunk::ChunkRecord>(
    base: &RecordChunk<T>,
    changes: &[(usize, Option<Vec<u8>>)],
) -> Vec<u8> {
    let mut slots: Vec<Option<&[u8]>> = (0..CHUNK_LEN).map(|s| base.raw(s)).collect();
    for (slot, rec) in changes {
        slots[*slot] = rec.as_deref();
    }
    encode_record_chunk(slots.into_iter())
}

/// A stored chunk of node records as a whole, for chunk-at-a-time scans.
#[derive(Debug, Clone)]
pub struct NodeChunkView(Arc<RecordChunk<NodeRecord>>);

impl NodeChunkView {
    /// The column of property `key` (built on first use, shared by readers).
    pub fn column(&self, key: &str) -> Result<SharedColumn> {
        self.0.column(key)
    }

    /// The slots whose stored bytes contain `finder`'s needle: every node with a
    /// string property containing it is among them.
    pub fn slots_containing(&self, finder: &memchr::memmem::Finder<'_>) -> super::chunk::SlotMask {
        self.0.slots_containing(finder)
    }
}
