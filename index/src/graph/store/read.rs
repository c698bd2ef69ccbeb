//! What a transaction reads from one graph: its own changes first, then the stored
//! chunks (through the shared chunk cache), bitmaps and index entries.

use super::*;

impl Overlay {
    pub(super) fn new(store: GraphStore, graph: String, writable: bool) -> Result<Overlay> {
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
            typed_blocks: Default::default(),
            columns: Default::default(),
            last_column: None,
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

    /// A planning statistic (a share measured on a sample) remembered for this
    /// graph as committed at its current size; `None` when none is, or when this
    /// transaction changed the graph (its samples describe its own changes).
    pub fn statistic(&self, key: &str) -> Option<Option<f64>> {
        let key = self.statistic_key(key)?;
        self.store.shared.statistics.lock().ok()?.get(&key).copied()
    }

    /// Remembers a statistic for [`statistic`](Self::statistic).
    pub fn remember_statistic(&self, key: &str, value: Option<f64>) {
        let Some(key) = self.statistic_key(key) else { return };
        if let Ok(mut remembered) = self.store.shared.statistics.lock() {
            // Old sizes' statistics are never asked for again: start over now and then.
            if remembered.len() >= 4096 {
                remembered.clear();
            }
            remembered.insert(key, value);
        }
    }

    fn statistic_key(&self, key: &str) -> Option<(u32, u64, u64, String)> {
        let changed = !self.nodes.is_empty() || !self.rels.is_empty() || !self.adjacency.is_empty();
        (!changed).then(|| (self.graph_id, self.meta.node_count, self.meta.rel_count, key.to_string()))
    }

    /// Counters, tokens and index definitions as of this transaction.
    pub fn meta(&self) -> &GraphMeta {
        &self.meta
    }

    /// A second read-only view of the same committed graph, for another thread to
    /// share a large scan; `None` once this transaction has changed the graph (the
    /// committed data is then not what it sees). The caller holds the read gate, so
    /// no commit lands while both are in use.
    pub fn reader(&self) -> Result<Option<Overlay>> {
        if self.dirty {
            return Ok(None);
        }
        Overlay::new(self.store.clone(), self.graph.clone(), false).map(Some)
    }

    pub(super) fn writable(&mut self) -> Result<()> {
        if !self.writable {
            return Err(Error::ReadOnly);
        }
        self.dirty = true;
        self.revision += 1;
        Ok(())
    }

    /// The decoded chunk `(kind, chunk)`: from this transaction, the shared cache or storage.
    pub(super) fn chunk(&mut self, kind: ChunkKind, chunk: u64) -> Result<Option<Cached>> {
        if let Some(c) = self.chunks.get(&(kind, chunk)) {
            return Ok(Some(c.clone()));
        }
        let key = (self.graph_id, kind, chunk);
        let cached = match self.store.shared.cache.get(&key)? {
            Some(c) => c,
            None => {
                let Some(stored) = self.storage.get(CHUNKS, &chunk_key(&self.graph, kind, chunk))? else {
                    return Ok(None);
                };
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
        // Past the pin limit the chunks are let go, so that a query over the whole
        // graph holds no more than the budget allows: the cache keeps what is worth it.
        if self.chunks.len() >= self.store.shared.cache.pin_limit() {
            self.chunks.clear();
        }
        self.chunks.insert((kind, chunk), cached.clone());
        Ok(Some(cached))
    }

    pub(super) fn stored_node(&mut self, id: NodeId) -> Result<Option<Arc<NodeRecord>>> {
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

    pub(super) fn stored_rel(&mut self, id: RelId) -> Result<Option<Arc<RelRecord>>> {
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

    pub(super) fn node_chunk_of(&mut self, id: NodeId) -> Result<Option<Arc<RecordChunk<NodeRecord>>>> {
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

    pub(super) fn rel_chunk_of(&mut self, id: RelId) -> Result<Option<Arc<RecordChunk<RelRecord>>>> {
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
    pub(super) fn column(&mut self, rel: bool, id: u64, key: &str) -> Result<Option<SharedColumn>> {
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
        if self.columns.len() >= self.store.shared.cache.pin_limit() {
            self.columns.clear();
        }
        self.columns.entry((rel, c)).or_default().push((key.into(), col.clone()));
        Ok(Some(col))
    }

    /// The column of property `key` in the chunk of `id`, memoized as `last_column`.
    fn column_memo(&mut self, rel: bool, id: u64, key: &str) -> Result<Option<&crate::graph::chunk::PropertyColumn>> {
        let (c, _) = chunk_of(id);
        let hit = matches!(&self.last_column, Some((r, lc, k, _)) if *r == rel && *lc == c && **k == *key);
        if !hit {
            match self.column(rel, id, key)? {
                // The same key in the next chunk (a scan): no new key to allocate.
                Some(col) => match &mut self.last_column {
                    Some((r, lc, k, last)) if **k == *key => (*r, *lc, *last) = (rel, c, col),
                    last => *last = Some((rel, c, key.into(), col)),
                },
                None => self.last_column = None,
            }
        }
        Ok(self.last_column.as_ref().and_then(|(_, _, _, col)| col.as_ref().as_ref()))
    }

    /// Property `key` of node (or relationship, with `rel`) `id` as a stored value
    /// (`None` inside when it lacks it); `Ok(None)` when it does not exist. Strings
    /// are shared with the chunk's column, not copied.
    pub fn property_value(&mut self, rel: bool, id: u64, key: &str) -> Result<Option<Option<PropertyValue>>> {
        if let Some(changed) = self.changed_properties(rel, id) {
            return Ok(changed.map(|props| props.get(key).cloned()));
        }
        if let Some(col) = self.column_memo(rel, id, key)? {
            let (_, slot) = chunk_of(id);
            match col.get(slot) {
                Cell::Int(i) => return Ok(Some(Some(PropertyValue::Int(i)))),
                Cell::Float(x) => return Ok(Some(Some(PropertyValue::Float(x)))),
                Cell::Bool(b) => return Ok(Some(Some(PropertyValue::Bool(b)))),
                Cell::Str(s) => return Ok(Some(Some(PropertyValue::String(s.clone())))),
                // Absent in the column: the record may still be gone.
                Cell::Absent | Cell::Other => {}
            }
        }
        self.with_property(rel, id, key, |raw| raw.map(|r| r.to_owned()))
    }

    /// The properties of an entity as this transaction changed it: `Some(None)` for
    /// a deleted entity, `None` when the transaction did not touch it.
    pub(super) fn changed_properties(&self, rel: bool, id: u64) -> Option<Option<&Properties>> {
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

    pub(super) fn with_property<R>(
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
        if let Some(cells) = self.column_memo(rel, id, key)? {
            match cells.get(slot) {
                Cell::Int(i) => return Ok(Some(f(Some(RawValue::Int(i))))),
                Cell::Float(x) => return Ok(Some(f(Some(RawValue::Float(x))))),
                Cell::Bool(b) => return Ok(Some(f(Some(RawValue::Bool(b))))),
                Cell::Str(s) => return Ok(Some(f(Some(RawValue::Str(s))))),
                Cell::Absent | Cell::Other => {}
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
    /// from the chunk's block of that type (see [`crate::graph::chunk::TypeBlock`]).
    pub fn typed_adjacency(&mut self, node: NodeId, dir: Direction, token: u32) -> Result<AdjList> {
        if !self.adjacency.is_empty() {
            if let Some(a) = self.adjacency.get(&(node, dir)) {
                // A list this transaction changed: the copy of one type is small.
                return Ok(AdjList::Owned(Arc::new(crate::graph::chunk::entries_of_type(a, token).to_vec())));
            }
        }
        let (chunk, slot) = chunk_of(node);
        Ok(match self.type_block(dir, chunk, token)? {
            Some((data, block)) => AdjList::Typed(data.clone(), block.clone(), slot),
            None => AdjList::Empty,
        })
    }

    /// Appends `node`'s entries of type `token` in `dir` to `out`: the list
    /// [`Overlay::typed_adjacency`] gives, copied out without taking a reference to
    /// the chunk: two threads expanding over the same chunks would otherwise bounce
    /// its reference count between their caches on every row.
    pub fn typed_entries_into(
        &mut self,
        node: NodeId,
        dir: Direction,
        token: u32,
        out: &mut Vec<AdjEntry>,
    ) -> Result<()> {
        if !self.adjacency.is_empty() {
            if let Some(a) = self.adjacency.get(&(node, dir)) {
                out.extend_from_slice(crate::graph::chunk::entries_of_type(a, token));
                return Ok(());
            }
        }
        let (chunk, slot) = chunk_of(node);
        if let Some((data, block)) = self.type_block(dir, chunk, token)? {
            out.extend_from_slice(block.list(data, slot));
        }
        Ok(())
    }

    /// The stored adjacency chunk `chunk` in `dir` with its block of type `token`,
    /// from the transaction's own table after the first use (a lookup there changes
    /// no reference count); `None` when the chunk is not stored. The table is
    /// emptied past the cache's pin limit, as `chunks` is.
    fn type_block(
        &mut self,
        dir: Direction,
        chunk: u64,
        token: u32,
    ) -> Result<Option<&(Arc<AdjChunk>, Arc<crate::graph::chunk::TypeBlock>)>> {
        let key = (u8::from(dir == Direction::Incoming), chunk, token);
        if !self.typed_blocks.contains_key(&key) {
            let Some(Cached::Adj(c)) = self.chunk(adj_kind(dir), chunk)? else { return Ok(None) };
            let block = c.type_block(token);
            if self.typed_blocks.len() >= self.store.shared.cache.pin_limit() {
                self.typed_blocks.clear();
            }
            self.typed_blocks.insert(key, (c, block));
        }
        Ok(self.typed_blocks.get(&key))
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
        let mut out = RoaringTreemap::new();
        for id in self.index_seek_ordered(def, from, to)? {
            out.insert(id);
        }
        Ok(out)
    }

    /// The nodes of [`Overlay::index_seek`] in the index's order: by value (as
    /// [`crate::graph::PropertyValue::index_key`] orders them), then by id.
    pub fn index_seek_ordered(&mut self, def: &IndexDef, from: &[u8], to: Option<&[u8]>) -> Result<Vec<NodeId>> {
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
        // Only the keys of the range are read: an equality seek on a large index
        // used to read every key of it (a lookup per row grew with the index).
        // A key is the prefix, the value and an 8-byte id, so every key whose value
        // is below `to` sorts below `to` followed by 0xff bytes.
        let start = [prefix.as_slice(), from].concat();
        let end = match to {
            Some(to) => [prefix.as_slice(), to, &[0xff; 9]].concat(),
            None => {
                // Every key that starts with `start`: up to its successor prefix.
                let mut end = start.clone();
                while end.last() == Some(&0xff) {
                    end.pop();
                }
                match end.last_mut() {
                    Some(last) => *last += 1,
                    None => end = vec![0xff; start.len() + 9],
                }
                end
            }
        };
        // Stored keys less those this transaction removed, and those it added; a
        // key's bytes give the order.
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for key in self.storage.keys_in_range(KS, &start, &end)? {
            if self.index_changes.get(&key) != Some(&false) {
                keys.push(key);
            }
        }
        let added: Vec<Vec<u8>> = self
            .index_changes
            .range(start.clone()..end)
            .filter(|(_, present)| **present)
            .map(|(k, _)| k.clone())
            .collect();
        keys.extend(added);
        // A distributed store may list keys out of order.
        keys.sort_unstable();
        keys.dedup();
        Ok(keys.iter().filter_map(|k| in_range(k)).collect())
    }

    /// The property index on (`label`, `property`), if one exists.
    pub fn index_for(&self, label: &str, property: &str) -> Option<&IndexDef> {
        self.meta.indexes.iter().find(|i| i.label == label && i.property == property)
    }
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
    pub fn slots_containing(&self, finder: &memchr::memmem::Finder<'_>) -> crate::graph::chunk::SlotMask {
        self.0.slots_containing(finder)
    }
}

/// The ids chunk `chunk` holds.
pub(super) fn ids_of_chunk(chunk: u64) -> std::ops::Range<u64> {
    chunk * CHUNK_LEN as u64..(chunk + 1) * CHUNK_LEN as u64
}
