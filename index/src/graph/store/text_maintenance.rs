//! How an [`Overlay`] keeps its graph's text indexes in step: creation and bulk build,
//! the entities a transaction's changes reach (their documents are rebuilt at commit,
//! and lookups inside the transaction keep them as candidates), lookups, and full-text
//! search with the transaction's own changes.

use std::sync::Arc;

use roaring::RoaringTreemap;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::QueryParser;
use tantivy::TantivyDocument;

use super::*;

/// Documents are handed to tantivy in batches of this many.
const BUILD_BATCH: usize = 8192;

/// A commit changing more documents than this writes them like a bulk build.
const BULK_CHANGE: u64 = 50_000;

impl Overlay {
    /// The graph's LIndexes and full-text indexes.
    pub fn text_indexes(&self) -> &[TextIndexDef] {
        &self.meta.text_indexes
    }

    /// The text index called `name`.
    pub fn text_index(&self, name: &str) -> Option<&TextIndexDef> {
        self.meta.text_indexes.iter().find(|d| d.name == name)
    }

    pub(super) fn name_taken(&self, name: &str) -> bool {
        self.meta.indexes.iter().any(|i| i.name == name) || self.text_index(name).is_some()
    }

    /// The index as committed; `None` when it cannot answer yet: this transaction
    /// created it, or a bulk load's entities are still to be indexed.
    fn committed_text(&self, def: &TextIndexDef) -> Result<Option<Arc<TextIndexHandle>>> {
        if self.text_created.contains_key(&def.name) || self.meta.text_pending.is_some() {
            return Ok(None);
        }
        self.store.text_handle(&self.graph, def).map(Some)
    }

    /// Creates a text index and builds it from the current graph. Returns false when
    /// the name is taken or an index of the same kind covers the same label and
    /// properties.
    pub fn create_text_index(&mut self, def: TextIndexDef) -> Result<bool> {
        self.writable()?;
        if def.name.is_empty() || def.name.contains('\0') {
            return Err(Error::InvalidName(format!("'{}' cannot name an index", def.name.escape_default())));
        }
        if def.properties.is_empty() {
            return Err(Error::InvalidName(format!("index '{}' names no property", def.name)));
        }
        if let Some(p) = def.properties.iter().find(|p| !tantivy::schema::is_valid_field_name(p) || p.starts_with('~'))
        {
            return Err(Error::InvalidName(format!("property '{p}' cannot be indexed by a text index")));
        }
        let same = |d: &TextIndexDef| {
            d.kind == def.kind
                && d.on_relationships == def.on_relationships
                && d.label == def.label
                && d.properties == def.properties
        };
        if self.name_taken(&def.name) || self.meta.text_indexes.iter().any(same) {
            return Ok(false);
        }
        let handle = TextIndexHandle::create(def.clone())?;
        let ids = self.text_universe(&def)?;
        self.reindex(&def, &handle, ids.iter(), true)?;
        // An index of this name dropped earlier in the transaction stays in
        // `text_dropped`: its stored files are deleted before the new ones are written.
        self.text_created.insert(def.name.clone(), handle);
        self.meta.text_indexes.push(def);
        Ok(true)
    }

    /// Drops the text index `name`; false when there is none.
    pub(super) fn drop_text_index(&mut self, name: &str) -> Result<bool> {
        self.writable()?;
        let Some(pos) = self.meta.text_indexes.iter().position(|d| d.name == name) else { return Ok(false) };
        self.meta.text_indexes.remove(pos);
        if self.text_created.remove(name).is_none() {
            self.text_dropped.insert(name.to_string());
        }
        self.text_affected.remove(name);
        Ok(true)
    }

    /// Every entity that can have a document of `def`.
    pub(super) fn text_universe(&mut self, def: &TextIndexDef) -> Result<RoaringTreemap> {
        if def.on_relationships {
            let mut rels = RoaringTreemap::new();
            let Some(token) = self.meta.type_token(&def.label) else { return Ok(rels) };
            let nodes = self.label_nodes(None)?;
            for n in nodes.iter() {
                for e in self.typed_adjacency(n, Direction::Outgoing, token)?.iter() {
                    rels.insert(e.rel);
                }
            }
            return Ok(rels);
        }
        match def.kind {
            TextIndexKind::LIndex { hops, .. } if hops > 0 => Ok(self.label_nodes(None)?.as_ref().clone()),
            _ => Ok(self.label_nodes(Some(&def.label))?.as_ref().clone()),
        }
    }

    /// Rebuilds the documents of `ids` in `handle` from this transaction's view.
    fn reindex(
        &mut self,
        def: &TextIndexDef,
        handle: &TextIndexHandle,
        ids: impl Iterator<Item = u64>,
        bulk: bool,
    ) -> Result<()> {
        let mut sources = TextSources::default();
        let mut batch_ids = Vec::new();
        let mut docs: Vec<TantivyDocument> = Vec::new();
        for id in ids {
            batch_ids.push(id);
            if let Some(doc) = self.text_document(def, &handle.fields, &mut sources, id)? {
                docs.push(doc);
            }
            if batch_ids.len() >= BUILD_BATCH {
                handle.replace(batch_ids.drain(..), std::mem::take(&mut docs), bulk)?;
            }
        }
        handle.replace(batch_ids.into_iter(), docs, bulk)
    }

    pub(super) fn text_document(
        &mut self,
        def: &TextIndexDef,
        fields: &text::Fields,
        sources: &mut TextSources,
        id: u64,
    ) -> Result<Option<TantivyDocument>> {
        match def.kind {
            TextIndexKind::LIndex { .. } => text::lindex_document(self, def, fields, sources, id),
            TextIndexKind::FullText if def.on_relationships => Ok(match self.rel(id)? {
                Some(r) if r.rel_type == def.label => text::fulltext_document(def, fields, id, &r.properties),
                _ => None,
            }),
            TextIndexKind::FullText => Ok(match self.node(id)? {
                Some(n) if n.labels.contains(&def.label) => text::fulltext_document(def, fields, id, &n.properties),
                _ => None,
            }),
        }
    }

    /// The entities whose documents of `def` this transaction's changes can reach: for
    /// an LIndex of `k` hops, every node within `k` hops (before or after the change) of
    /// a node whose labels or indexed text changed, and within `k - 1` hops of the ends
    /// of a created or deleted relationship.
    pub(super) fn text_affected(&mut self, def: &TextIndexDef) -> Result<Arc<RoaringTreemap>> {
        if let Some((rev, set)) = self.text_affected.get(&def.name) {
            if *rev == self.revision {
                return Ok(set.clone());
            }
        }
        let mut set = if def.on_relationships { self.text_forced_rels.clone() } else { self.text_forced.clone() };
        if self.dirty {
            if def.on_relationships {
                let changed: Vec<(RelId, Option<Arc<RelRecord>>)> =
                    self.rels.iter().map(|(k, v)| (*k, v.clone())).collect();
                for (id, new) in changed {
                    let old = self.stored_rel(id)?;
                    let text = |r: &Option<Arc<RelRecord>>| {
                        r.as_ref().and_then(|r| indexed_text(def, r.rel_type == def.label, &r.properties))
                    };
                    if text(&old) != text(&new) {
                        set.insert(id);
                    }
                }
            } else {
                set |= self.nodes_affected(def)?;
            }
        }
        let set = Arc::new(set);
        self.text_affected.insert(def.name.clone(), (self.revision, set.clone()));
        Ok(set)
    }

    fn nodes_affected(&mut self, def: &TextIndexDef) -> Result<RoaringTreemap> {
        let hops = def.hops();
        let mut seeds: Vec<(NodeId, u32)> = Vec::new();
        let changed: Vec<(NodeId, Option<Arc<NodeRecord>>)> = self.nodes.iter().map(|(k, v)| (*k, v.clone())).collect();
        let text_of = |r: &Option<Arc<NodeRecord>>| {
            r.as_ref().and_then(|r| indexed_text(def, r.labels.contains(&def.label), &r.properties))
        };
        for (id, new) in changed {
            let old = self.stored_node(id)?;
            let labels_changed = old.as_ref().map(|r| &r.labels) != new.as_ref().map(|r| &r.labels);
            if (hops > 0 && labels_changed) || text_of(&old) != text_of(&new) {
                seeds.push((id, hops));
            }
        }
        if hops > 0 {
            let ends: BTreeSet<NodeId> = self.changed_adjacency.iter().map(|(n, _)| *n).collect();
            seeds.extend(ends.into_iter().map(|n| (n, hops - 1)));
        }
        let mut set = within_hops(self, &seeds)?;
        if hops > 0 && !seeds.is_empty() {
            // Walks the change removed run through the graph as committed.
            let mut before = Overlay::new(self.store.clone(), self.graph.clone(), false)?;
            set |= within_hops(&mut before, &seeds)?;
        }
        Ok(set)
    }

    /// Marks the entities of `GraphMeta::text_pending` (left by a bulk load) for
    /// indexing at commit, which clears the mark.
    pub(crate) fn index_pending_text(&mut self) -> Result<()> {
        self.writable()?;
        if let Some((nodes, rels)) = self.meta.text_pending.take() {
            self.text_forced.insert_range(nodes);
            self.text_forced_rels.insert_range(rels);
            self.text_affected.clear();
        }
        Ok(())
    }

    /// Writes this transaction's text index changes into `batch`.
    pub(super) fn write_text_indexes(&mut self, batch: &mut WriteBatch, texts: &mut TextCommit) -> Result<()> {
        // A bulk load's entities not indexed yet (a crash after the load): now.
        if self.meta.text_pending.is_some() {
            self.index_pending_text()?;
        }
        for name in std::mem::take(&mut self.text_dropped) {
            for key in self.storage.keys_with_prefix(KS, &text::files_prefix(&self.graph, &name))? {
                batch.delete(KS, key);
            }
            texts.dropped.push((self.graph.clone(), name));
        }
        for def in self.meta.text_indexes.clone() {
            let handle = match self.text_created.get(&def.name) {
                Some(h) => h.clone(),
                None => self.store.text_handle(&self.graph, &def)?,
            };
            let affected = self.text_affected(&def)?;
            if affected.is_empty() && !self.text_created.contains_key(&def.name) {
                continue;
            }
            // A new index, or a change as large as a bulk load, is built and compacted
            // like a bulk build.
            let bulk = self.text_created.contains_key(&def.name) || affected.len() > BULK_CHANGE;
            self.reindex(&def, &handle, affected.iter(), bulk)?;
            // From here on the in-memory index is ahead of storage until the batch lands.
            texts.committed.push((self.graph.clone(), handle.clone()));
            handle.commit_into(&self.graph, batch, bulk)?;
        }
        Ok(())
    }

    /// Nodes the LIndex `name` keeps for a text at the end of a walk fitting `steps`
    /// whose `property` passes every test: a superset of the nodes that have one, as
    /// this transaction sees the graph. `None`: the index cannot prune these tests.
    /// Made once per lookup until the transaction writes again.
    pub fn lindex_candidates(
        &mut self,
        name: &str,
        steps: &[StepPattern],
        property: &str,
        tests: &[TextTest],
    ) -> Result<Option<Arc<RoaringTreemap>>> {
        let key = format!("{name}\0{steps:?}\0{property}\0{tests:?}");
        if let Some((rev, found)) = self.lindex_lookups.get(&key) {
            if *rev == self.revision {
                return Ok(found.clone());
            }
        }
        let Some(def) = self.text_index(name).cloned() else {
            return Err(Error::TextQuery(format!("there is no LIndex named '{name}'")));
        };
        let found = match self.committed_text(&def)? {
            Some(handle) => match handle.candidates(steps, property, tests)? {
                Some(mut found) => {
                    found |= self.text_affected(&def)?.as_ref();
                    Some(Arc::new(found))
                }
                None => None,
            },
            None => None,
        };
        self.lindex_lookups.insert(key, (self.revision, found.clone()));
        Ok(found)
    }

    /// Entities matching full-text `query` in index `name`, best first, with BM25 scores.
    pub fn fulltext_query(&mut self, name: &str, query: &str, relationships: bool) -> Result<Vec<(u64, f32)>> {
        let def = match self.text_index(name) {
            Some(d) if d.kind == TextIndexKind::FullText && d.on_relationships == relationships => d.clone(),
            _ => {
                let what = if relationships { "relationships" } else { "nodes" };
                return Err(Error::TextQuery(format!("there is no full-text index of {what} named '{name}'")));
            }
        };
        let Some(handle) = self.committed_text(&def)? else {
            return Err(Error::TextQuery(format!(
                "full-text index '{name}' is not online before its transaction commits"
            )));
        };
        let affected = self.text_affected(&def)?;
        let mut hits: Vec<(u64, f32)> =
            search(&handle, query)?.into_iter().filter(|(id, _)| !affected.contains(*id)).collect();
        if !affected.is_empty() {
            // This transaction's documents, scored in an index of their own.
            let mine = TextIndexHandle::create(def.clone())?;
            self.reindex(&def, &mine, affected.iter(), false)?;
            // Searched, never stored.
            mine.commit(false)?;
            mine.reload()?;
            hits.extend(search(&mine, query)?);
        }
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(hits)
    }

    /// Documents and bytes of text index `name` as committed (`None` before commit).
    pub fn text_index_size(&mut self, name: &str) -> Result<Option<(u64, u64)>> {
        let Some(def) = self.text_index(name).cloned() else { return Ok(None) };
        Ok(self.committed_text(&def)?.map(|h| (h.documents(), h.size_bytes())))
    }
}

/// The values of `def`'s properties in `properties` of an entity that has its label
/// (`covered`); `None` for an entity the index does not cover.
fn indexed_text(def: &TextIndexDef, covered: bool, properties: &Properties) -> Option<Vec<Option<PropertyValue>>> {
    covered.then(|| def.properties.iter().map(|p| properties.get(p).cloned()).collect())
}

fn search(handle: &TextIndexHandle, query: &str) -> Result<Vec<(u64, f32)>> {
    let parser = QueryParser::for_index(&handle.index, handle.fields.text.clone());
    let q =
        parser.parse_query(query).map_err(|e| Error::TextQuery(format!("invalid full-text query '{query}': {e}")))?;
    let searcher = handle.searcher();
    let n = searcher.search(&q, &Count).map_err(text::tantivy_error)?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let top = searcher.search(&q, &TopDocs::with_limit(n).order_by_score()).map_err(text::tantivy_error)?;
    let mut columns = Vec::with_capacity(searcher.segment_readers().len());
    for segment in searcher.segment_readers() {
        columns.push(segment.fast_fields().u64("~id").map_err(text::tantivy_error)?);
    }
    let mut out = Vec::with_capacity(top.len());
    for (score, addr) in top {
        if let Some(id) = columns.get(addr.segment_ord as usize).and_then(|c| c.first(addr.doc_id)) {
            out.push((id, score));
        }
    }
    Ok(out)
}

/// Every node within its seed's radius of some seed (seeds included), in `graph`.
fn within_hops(graph: &mut Overlay, seeds: &[(NodeId, u32)]) -> Result<RoaringTreemap> {
    let mut best: rustc_hash::FxHashMap<NodeId, u32> = rustc_hash::FxHashMap::default();
    let mut frontier: Vec<(NodeId, u32)> = Vec::new();
    for &(n, r) in seeds {
        if best.get(&n).is_none_or(|b| *b < r) {
            best.insert(n, r);
            frontier.push((n, r));
        }
    }
    while let Some((n, r)) = frontier.pop() {
        if r == 0 || best.get(&n).is_some_and(|b| *b > r) {
            continue;
        }
        for dir in [Direction::Outgoing, Direction::Incoming] {
            for e in graph.adjacency(n, dir)?.iter() {
                if best.get(&e.other).is_none_or(|b| *b < r - 1) {
                    best.insert(e.other, r - 1);
                    frontier.push((e.other, r - 1));
                }
            }
        }
    }
    Ok(best.keys().copied().collect())
}
