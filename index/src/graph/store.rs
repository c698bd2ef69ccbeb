//! The graph store: named graphs of nodes and relationships on the [`Storage`] trait,
//! and write transactions that buffer changes in an overlay until commit.
//!
//! Key layouts are in `keys::graph`.
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

use crate::keys::graph::{adj_kind, chunk_key, graph_prefix, index_entry, index_prefix, label_key, registry_key};

use crate::cache::SharedCache;
use crate::storage::{Keyspace, Storage, WriteBatch};

use crate::{Error, Result};

mod check;
mod commit;
mod gate;
mod read;

mod text_maintenance;
mod txn;
mod write;

use gate::held_rows_error;
pub use gate::{OwnedReadGate, ReadGate, WriteTurn};
pub use read::NodeChunkView;
use txn::TextCommit;

pub use check::GraphCheck;

pub(super) const KS: Keyspace = Keyspace::Graph;
/// Where node, relationship and adjacency chunks are kept.
pub(super) const CHUNKS: Keyspace = Keyspace::GraphChunks;

/// The label under which every node is kept, so that an all-nodes scan is a bitmap too.
pub(super) const ALL_NODES: &str = "";

/// Every graph of a database.
#[derive(Debug, Clone)]
pub struct GraphStore {
    storage: Arc<dyn Storage>,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Readers share it; a commit takes it alone. In an `Arc` so that a result that
    /// streams can own its share ([`GraphStore::owned_read_gate`]).
    gate: Arc<RwLock<()>>,
    writer_active: Mutex<bool>,
    writer_done: Condvar,
    cache: ChunkCache,
    /// Graph name -> a small number for cache keys (not stored).
    graph_ids: Mutex<HashMap<String, u32>>,
    /// Planning statistics measured on committed data (forgotten by a commit that
    /// rewrites the graph's chunks), by (graph id, node count,
    /// relationship count, what was measured): a graph that grows or shrinks gets
    /// new ones (see [`Overlay::statistic`]).
    statistics: Mutex<HashMap<(u32, u64, u64, String), Option<f64>>>,
    /// Text indexes loaded from storage, by (graph, index name).
    text: Mutex<TextHandles>,
}

/// Loaded text indexes by (graph, index name).
type TextHandles = HashMap<(String, String), Arc<TextIndexHandle>>;

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
        GraphStore::open_with_cache(storage, Arc::default())
    }

    /// [`open`](Self::open), keeping decoded chunks in `cache` (which the database's
    /// other stores share, so that one budget bounds them all).
    pub fn open_with_cache(storage: Arc<dyn Storage>, cache: Arc<SharedCache>) -> GraphStore {
        let shared = Shared {
            gate: Arc::default(),
            writer_active: Mutex::default(),
            writer_done: Condvar::default(),
            cache: ChunkCache::new(cache),
            graph_ids: Mutex::default(),
            statistics: Mutex::default(),
            text: Mutex::default(),
        };
        GraphStore { storage, shared: Arc::new(shared) }
    }

    /// Names of the graphs that hold data, sorted.
    pub fn graphs(&self) -> Result<Vec<String>> {
        let keys = self.storage.keys_with_prefix(KS, &[0])?;
        keys.into_iter()
            .map(|k| String::from_utf8(k[1..].to_vec()).map_err(|e| Error::corrupted("graph registry", e)))
            .collect()
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

/// The property columns of one chunk a transaction has used, by key.
type ChunkColumns = Vec<(Box<str>, SharedColumn)>;

/// One graph as a transaction sees it: the committed data plus this transaction's
/// changes. Reads of unchanged entities go to storage.
#[derive(Debug)]
pub struct Overlay {
    storage: Arc<dyn Storage>,
    store: GraphStore,
    graph_id: u32,
    /// Chunks this transaction has looked at lately (no lock on the shared cache after
    /// the first use; at most `ChunkCache::pin_limit`).
    chunks: rustc_hash::FxHashMap<(ChunkKind, u64), Cached>,
    /// The last node and relationship chunks read: scans walk ids in order.
    last_nodes: Option<(u64, Arc<RecordChunk<NodeRecord>>)>,
    last_rels: Option<(u64, Arc<RecordChunk<RelRecord>>)>,
    /// Property columns this transaction has used, by (relationships?, chunk), then key.
    columns: rustc_hash::FxHashMap<(bool, u64), ChunkColumns>,
    /// The last column read, with its (relationships?, chunk, key): a scan or a sort
    /// reads one column for many rows in a row, and this spares each a hash lookup
    /// and a reference count change.
    last_column: Option<(bool, u64, Box<str>, SharedColumn)>,
    /// The last adjacency chunk read, per direction (outgoing, incoming).
    last_adj: [Option<(u64, Arc<AdjChunk>)>; 2],
    /// Type blocks read by [`Overlay::typed_adjacency`] and
    /// [`Overlay::typed_entries_into`], by (direction, chunk, type token), with their
    /// chunks: found again without a reference count change. Emptied past the
    /// cache's pin limit, as `chunks` is.
    typed_blocks: rustc_hash::FxHashMap<(u8, u64, u32), (Arc<AdjChunk>, Arc<super::chunk::TypeBlock>)>,
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
