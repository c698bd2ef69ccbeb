//! Turning an overlay's changes into one `WriteBatch`: whole chunks rewritten once
//! each, bitmaps, index entries and the metadata.

use super::*;

impl Overlay {
    pub(super) fn write_into(
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
            batch.put(CHUNKS, chunk_key(&g, ChunkKind::Nodes, c), rewrite_records(&base, &changes));
            rewritten.push((self.graph_id, ChunkKind::Nodes, c));
        }
        let rel_changes = group_by_chunk(self.rels.iter().map(|(id, r)| (*id, r.as_ref().map(|r| r.encode()))));
        for (c, changes) in rel_changes {
            let base = match self.chunk(ChunkKind::Rels, c)? {
                Some(Cached::Rels(b)) => b,
                _ => Arc::new(RecordChunk::<RelRecord>::empty()),
            };
            batch.put(CHUNKS, chunk_key(&g, ChunkKind::Rels, c), rewrite_records(&base, &changes));
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
            batch.put(CHUNKS, chunk_key(&g, kind, c), encode_adj_chunk(lists.iter().map(|l| l.as_slice())));
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

pub(super) fn group_by_chunk(changes: impl Iterator<Item = (u64, Option<Vec<u8>>)>) -> ChunkChanges {
    let mut out = ChunkChanges::new();
    for (id, rec) in changes {
        let (c, slot) = chunk_of(id);
        out.entry(c).or_default().push((slot, rec));
    }
    out
}

/// A stored record chunk with `changes` (slot, new encoded record or `None`) applied.
pub(super) fn rewrite_records<T: crate::graph::chunk::ChunkRecord>(
    base: &RecordChunk<T>,
    changes: &[(usize, Option<Vec<u8>>)],
) -> Vec<u8> {
    let mut slots: Vec<Option<&[u8]>> = (0..CHUNK_LEN).map(|s| base.raw(s)).collect();
    for (slot, rec) in changes {
        slots[*slot] = rec.as_deref();
    }
    encode_record_chunk(slots.into_iter())
}
