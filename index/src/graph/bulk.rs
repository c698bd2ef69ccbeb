//! Bulk loading of a graph from CSV (SPEC section 3). Both files are read and checked
//! first; records are encoded as they are read, straight into chunks (no decoded
//! records are built), chunks are compressed on a second thread, and everything is
//! written in one atomic batch. A bad line stops the load before anything is written.

use std::io::Read;
use std::sync::mpsc;

use roaring::RoaringTreemap;
use rustc_hash::FxHashMap;

use super::chunk::{compress_frames, frame_adj_chunk, frame_record_chunk, next_chunk_start, ChunkKind, CHUNK_LEN};
use super::record::{AdjEntry, GraphMeta, NodeId};
use super::store::{self, GraphStore, GraphTxn, ALL_NODES, KS};
use super::value::{encode_inferred, infer_value};
use crate::codec::Encoder;
use crate::keys;
use crate::storage::WriteBatch;
use crate::{Error, Result};

/// One CSV input: a name for messages and the bytes.
pub struct CsvInput<'a> {
    pub name: String,
    pub reader: Box<dyn Read + 'a>,
}

/// What a bulk load added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkLoadStats {
    pub nodes: u64,
    pub relationships: u64,
    pub labels: u64,
    pub relationship_types: u64,
}

fn csv_error(file: &str, line: u64, message: impl Into<String>) -> Error {
    Error::Csv { file: file.to_string(), line, message: message.into() }
}

/// Counts the `"` bytes read through it. A well-formed CSV file has an even number
/// (quotes open and close fields, and a quote inside one is doubled), but the csv
/// crate ends a quoted field left open at the end of the file without complaint,
/// which would turn the rest of the file into one value.
struct QuoteCount<'a> {
    inner: Box<dyn Read + 'a>,
    quotes: std::rc::Rc<std::cell::Cell<u64>>,
}

impl Read for QuoteCount<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let found = memchr::memchr_iter(b'"', &buf[..n]).count() as u64;
        self.quotes.set(self.quotes.get() + found);
        Ok(n)
    }
}

type CsvReader<'a> = csv::Reader<Box<dyn Read + 'a>>;

/// A reader of `input`, and the count of quotes read so far (see [`QuoteCount`]).
fn reader<'a>(input: CsvInput<'a>) -> (String, CsvReader<'a>, std::rc::Rc<std::cell::Cell<u64>>) {
    let quotes = std::rc::Rc::new(std::cell::Cell::new(0));
    let counted: Box<dyn Read + 'a> = Box::new(QuoteCount { inner: input.reader, quotes: quotes.clone() });
    let r = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(counted);
    (input.name, r, quotes)
}

/// At the end of a file: an error when a quoted field was left open.
fn check_quotes_closed(file: &str, r: &CsvReader<'_>, quotes: u64) -> Result<()> {
    if quotes % 2 == 1 {
        let line = r.position().line();
        return Err(csv_error(file, line, "a quoted field is not closed before the end of the file"));
    }
    Ok(())
}

fn header(file: &str, r: &mut CsvReader<'_>, expect: &[&str]) -> Result<Vec<String>> {
    let h = r.headers().map_err(|e| csv_error(file, 1, e.to_string()))?.clone();
    let cols: Vec<String> = h.iter().map(|c| c.trim().to_string()).collect();
    for (i, want) in expect.iter().enumerate() {
        if cols.get(i).map(String::as_str) != Some(*want) {
            return Err(csv_error(file, 1, format!("the header must start with {}", expect.join(","))));
        }
    }
    for (i, c) in cols.iter().enumerate().skip(expect.len()) {
        if c.is_empty() {
            return Err(csv_error(file, 1, format!("column {} has no name", i + 1)));
        }
        let taken =
            if expect[0] == "id" { cols[..i].iter().any(|x| x == c) } else { cols[expect.len()..i].contains(c) };
        if taken {
            return Err(csv_error(file, 1, format!("column '{c}' appears twice")));
        }
    }
    Ok(cols)
}

fn record_error(file: &str, e: csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("expected {expected_len} fields, found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
        _ => e.to_string(),
    };
    csv_error(file, line, message)
}

/// Encodes the properties of one CSV row: `first` (the node id, kept as `id`) and
/// the non-empty fields of `fields` under their column names.
fn encode_props<'r>(
    enc: &mut Encoder,
    first: Option<&str>,
    cols: &[String],
    fields: impl Iterator<Item = &'r str> + Clone,
    used: &mut [bool],
) {
    let count = first.map_or(0, |f| u32::from(!f.is_empty())) + fields.clone().filter(|f| !f.is_empty()).count() as u32;
    enc.u32(count);
    if let Some(f) = first {
        enc.str("id");
        encode_inferred(enc, f);
    }
    for (i, (c, f)) in cols.iter().zip(fields).enumerate() {
        if !f.is_empty() {
            enc.str(c);
            encode_inferred(enc, f);
            used[i] = true;
        }
    }
}

/// The adjacency lists of `nodes` nodes (local ids) in one direction, laid out by
/// counting: a flat array sorted by (node, type token, relationship) and the offset
/// of each node's list. `edges[i]` is relationship `rel_base + i`.
fn layout_adjacency(
    edges: &[(u32, u32, u32)],
    nodes: usize,
    rel_base: u64,
    base: u64,
    outgoing: bool,
) -> (Vec<AdjEntry>, Vec<usize>) {
    let ends = |e: &(u32, u32, u32)| if outgoing { (e.0, e.1) } else { (e.1, e.0) };
    let mut offsets = vec![0usize; nodes + 1];
    for e in edges {
        offsets[ends(e).0 as usize + 1] += 1;
    }
    for i in 0..nodes {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut entries = vec![AdjEntry { type_token: 0, rel: 0, other: 0 }; edges.len()];
    for (i, e) in edges.iter().enumerate() {
        let (node, other) = ends(e);
        let at = &mut fill[node as usize];
        entries[*at] = AdjEntry { type_token: e.2, rel: rel_base + i as u64, other: base + other as u64 };
        *at += 1;
    }
    // Each list is in relationship order already; order it by type as well.
    for n in 0..nodes {
        entries[offsets[n]..offsets[n + 1]].sort_unstable();
    }
    (entries, offsets)
}

/// Where framed chunks go: to the compression thread, remembering their cache keys.
struct Sink<'a> {
    graph: &'a str,
    graph_id: u32,
    compress: &'a mpsc::Sender<(Vec<u8>, Vec<u8>)>,
    rewritten: Vec<super::chunk::CacheKey>,
}

impl Sink<'_> {
    fn send(&mut self, kind: ChunkKind, chunk: u64, frame: Vec<u8>) -> Result<()> {
        self.rewritten.push((self.graph_id, kind, chunk));
        self.compress
            .send((keys::graph::chunk_key(self.graph, kind, chunk), frame))
            .map_err(|_| Error::corrupted("bulk load", "compression thread stopped"))
    }
}

/// Encoded records of consecutive ids (starting on a chunk boundary), framed and
/// sent whenever a chunk is full.
struct ChunkFiller {
    kind: ChunkKind,
    records: Vec<Vec<u8>>,
    last_id: u64,
}

impl ChunkFiller {
    fn new(kind: ChunkKind) -> Self {
        ChunkFiller { kind, records: Vec::with_capacity(CHUNK_LEN), last_id: 0 }
    }

    fn push(&mut self, id: u64, record: Vec<u8>, sink: &mut Sink<'_>) -> Result<()> {
        self.records.push(record);
        self.last_id = id;
        if self.records.len() == CHUNK_LEN {
            self.flush(sink)?;
        }
        Ok(())
    }

    fn flush(&mut self, sink: &mut Sink<'_>) -> Result<()> {
        if self.records.is_empty() {
            return Ok(());
        }
        let frame = frame_record_chunk(self.records.iter().map(|r| Some(r.as_slice())));
        self.records.clear();
        sink.send(self.kind, self.last_id / CHUNK_LEN as u64, frame)
    }
}

impl GraphStore {
    /// Loads `nodes` and `edges` into `graph` (created if needed), all or nothing.
    /// `progress` is called with the rows read so far.
    pub fn bulk_load(
        &self,
        graph: &str,
        nodes: CsvInput<'_>,
        edges: CsvInput<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<BulkLoadStats> {
        store::validate_graph_name(graph)?;
        self.acquire_writer()?;
        let result = std::thread::scope(|scope| {
            // Chunks are framed here and compressed on a second thread meanwhile.
            let (to_worker, jobs) = mpsc::channel::<(Vec<u8>, Vec<u8>)>();
            let storage = self.storage().clone();
            let worker = scope.spawn(move || compress_frames(jobs, storage.as_ref()));
            let loaded = self.bulk_load_locked(graph, nodes, edges, progress, &to_worker);
            drop(to_worker);
            let compressed = worker.join().map_err(|_| Error::corrupted("bulk load", "compression thread failed"));
            let (stats, mut batch, rewritten) = loaded?;
            for (key, value) in compressed?? {
                batch.put_staged(store::CHUNKS, key, value);
            }
            self.apply_exclusive(batch, &rewritten)?;
            // The graph's text indexes get documents for what was loaded in a second
            // commit; the load's metadata marks the entities as pending until then
            // (see `GraphMeta::text_pending`), so a crash in between loses nothing.
            let mut txn = GraphTxn::with_writer_held(self);
            let g = txn.graph(graph)?;
            if g.meta().text_pending.is_some() {
                g.index_pending_text()?;
                txn.commit()?;
            }
            Ok(stats)
        });
        self.release_writer();
        result
    }

    #[allow(clippy::type_complexity)]
    fn bulk_load_locked(
        &self,
        graph: &str,
        nodes: CsvInput<'_>,
        edges: CsvInput<'_>,
        progress: &mut dyn FnMut(u64),
        compress: &mpsc::Sender<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(BulkLoadStats, WriteBatch, Vec<super::chunk::CacheKey>)> {
        let storage = self.storage().clone();
        let mut meta = match storage.get(KS, &keys::graph::graph_prefix(graph, b'm'))? {
            Some(b) => GraphMeta::decode(&b)?,
            None => GraphMeta::default(),
        };
        let mut sink = Sink { graph, graph_id: self.graph_id(graph)?, compress, rewritten: Vec::new() };
        // New ids start on a fresh chunk, so that no stored chunk needs rewriting.
        let base = next_chunk_start(meta.next_node);
        let mut batch = WriteBatch::default();
        let mut rows = 0u64;

        // Nodes.
        let (nodes_name, mut r, quotes) = reader(nodes);
        let cols = header(&nodes_name, &mut r, &["id", "label"])?;
        let prop_cols = &cols[2..];
        let mut used = vec![false; prop_cols.len()];
        let mut ids: FxHashMap<String, NodeId> = FxHashMap::default();
        let mut labels: FxHashMap<String, RoaringTreemap> = FxHashMap::default();
        let mut node_chunks = ChunkFiller::new(ChunkKind::Nodes);
        let mut count = 0u64;
        let mut record = csv::StringRecord::new();
        let indexed: Vec<(usize, usize)> = meta
            .indexes
            .iter()
            .enumerate()
            .filter_map(|(i, d)| prop_cols.iter().position(|c| *c == d.property).map(|p| (i, p)))
            .collect();
        loop {
            match r.read_record(&mut record) {
                Ok(false) => {
                    check_quotes_closed(&nodes_name, &r, quotes.get())?;
                    break;
                }
                Ok(true) => {}
                Err(e) => return Err(record_error(&nodes_name, e)),
            }
            let line = record.position().map_or(0, |p| p.line());
            let ext = record.get(0).unwrap_or("").trim();
            if ext.is_empty() {
                return Err(csv_error(&nodes_name, line, "the id is empty"));
            }
            let id = base + count;
            if ids.insert(ext.to_string(), id).is_some() {
                return Err(csv_error(&nodes_name, line, format!("duplicate node id '{ext}'")));
            }
            let mut node_labels: Vec<&str> =
                record.get(1).unwrap_or("").split(';').map(str::trim).filter(|l| !l.is_empty()).collect();
            node_labels.sort_unstable();
            node_labels.dedup();
            let mut enc = Encoder::default();
            enc.u32(node_labels.len() as u32);
            for l in &node_labels {
                enc.str(l);
                match labels.get_mut(*l) {
                    Some(b) => {
                        b.insert(id);
                    }
                    None => {
                        labels.insert(l.to_string(), RoaringTreemap::from_iter([id]));
                    }
                }
            }
            let fields = record.iter().skip(2);
            encode_props(&mut enc, Some(ext), prop_cols, fields, &mut used);
            for (i, p) in &indexed {
                let def = &meta.indexes[*i];
                if node_labels.contains(&def.label.as_str()) {
                    if let Some(v) = record.get(p + 2).and_then(infer_value) {
                        if let Some(key) = keys::graph::index_entry(graph, def, &v, id) {
                            batch.put(KS, key, Vec::new());
                        }
                    }
                }
            }
            node_chunks.push(id, enc.finish(), &mut sink)?;
            count += 1;
            rows += 1;
            if rows.is_multiple_of(65536) {
                progress(rows);
            }
        }
        node_chunks.flush(&mut sink)?;
        meta.property_keys.insert("id".to_string());
        for (c, u) in prop_cols.iter().zip(&used) {
            if *u {
                meta.property_keys.insert(c.clone());
            }
        }

        // Relationships.
        let (edges_name, mut r, quotes) = reader(edges);
        let cols = header(&edges_name, &mut r, &["src", "dst", "type"])?;
        let prop_cols = &cols[3..];
        let mut used = vec![false; prop_cols.len()];
        // Every relationship once, as (start, end, type token) by relationship id
        // order; adjacency lists are laid out from it by counting afterwards.
        let mut edges_read: Vec<(u32, u32, u32)> = Vec::new();
        let rel_base = next_chunk_start(meta.next_rel);
        let mut next_rel = rel_base;
        let mut rel_chunks = ChunkFiller::new(ChunkKind::Rels);
        let lookup = |ids: &FxHashMap<String, NodeId>, ext: &str, line: u64, what: &str| -> Result<NodeId> {
            ids.get(ext.trim())
                .copied()
                .ok_or_else(|| csv_error(&edges_name, line, format!("{what} '{ext}' is not a node id of this load")))
        };
        loop {
            match r.read_record(&mut record) {
                Ok(false) => {
                    check_quotes_closed(&edges_name, &r, quotes.get())?;
                    break;
                }
                Ok(true) => {}
                Err(e) => return Err(record_error(&edges_name, e)),
            }
            let line = record.position().map_or(0, |p| p.line());
            let src = lookup(&ids, record.get(0).unwrap_or(""), line, "src")?;
            let dst = lookup(&ids, record.get(1).unwrap_or(""), line, "dst")?;
            let rel_type = record.get(2).unwrap_or("").trim();
            if rel_type.is_empty() {
                return Err(csv_error(&edges_name, line, "the relationship type is empty"));
            }
            let token = meta.type_token_or_add(rel_type);
            meta.type_counts[token as usize] += 1;
            let rel = next_rel;
            next_rel += 1;
            edges_read.push(((src - base) as u32, (dst - base) as u32, token));
            let mut enc = Encoder::default();
            enc.str(rel_type).u64(src).u64(dst);
            encode_props(&mut enc, None, prop_cols, record.iter().skip(3), &mut used);
            rel_chunks.push(rel, enc.finish(), &mut sink)?;
            rows += 1;
            if rows.is_multiple_of(65536) {
                progress(rows);
            }
        }
        rel_chunks.flush(&mut sink)?;
        for (c, u) in prop_cols.iter().zip(&used) {
            if *u {
                meta.property_keys.insert(c.clone());
            }
        }
        progress(rows);

        // Everything checked: adjacency, labels, counters.
        let stats = BulkLoadStats {
            nodes: count,
            relationships: next_rel - rel_base,
            labels: labels.len() as u64,
            relationship_types: meta.types.len() as u64,
        };
        for kind in [ChunkKind::Out, ChunkKind::In] {
            let (entries, offsets) =
                layout_adjacency(&edges_read, count as usize, rel_base, base, kind == ChunkKind::Out);
            for first in (0..count as usize).step_by(CHUNK_LEN) {
                let last = (first + CHUNK_LEN).min(count as usize);
                let lists = (first..last).map(|n| &entries[offsets[n]..offsets[n + 1]]);
                let c = (base + first as u64) / CHUNK_LEN as u64;
                sink.send(kind, c, frame_adj_chunk(lists))?;
            }
        }
        let mut all = RoaringTreemap::new();
        all.insert_range(base..base + count);
        labels.insert(ALL_NODES.to_string(), all);
        for (label, bitmap) in labels {
            let mut merged = match storage.get(KS, &keys::graph::label_key(graph, &label))? {
                Some(b) => RoaringTreemap::deserialize_from(&b[..]).map_err(|e| Error::corrupted("graph label", e))?,
                None => RoaringTreemap::new(),
            };
            merged |= bitmap;
            let mut buf = Vec::with_capacity(merged.serialized_size());
            merged.serialize_into(&mut buf)?;
            batch.put(KS, keys::graph::label_key(graph, &label), buf);
            if !label.is_empty() {
                meta.labels.insert(label);
            }
        }
        if !meta.text_indexes.is_empty() {
            let (nodes, rels) = meta.text_pending.take().unwrap_or((base..base, rel_base..rel_base));
            meta.text_pending = Some((nodes.start.min(base)..base + count, rels.start.min(rel_base)..next_rel));
        }
        meta.next_node = base + count;
        meta.node_count += count;
        meta.next_rel = next_rel;
        meta.rel_count += next_rel - rel_base;
        batch.put(KS, keys::graph::graph_prefix(graph, b'm'), meta.encode());
        batch.put(KS, keys::graph::registry_key(graph), Vec::new());
        Ok((stats, batch, sink.rewritten))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::graph::text::{TextIndexDef, TextIndexKind, TextTest, DEFAULT_WALKS};
    use crate::storage::{MemoryStorage, Storage};

    fn csv(name: &str, text: &'static str) -> CsvInput<'static> {
        CsvInput { name: name.into(), reader: Box::new(text.as_bytes()) }
    }

    /// A crash between a bulk load and the commit that indexes it: the load's mark
    /// keeps the text indexes out of use, and the next write indexes what was loaded.
    #[test]
    fn a_load_not_yet_indexed_is_never_pruned_away() -> Result<()> {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
        let store = GraphStore::open(storage.clone());
        let mut txn = store.begin_write()?;
        let def = TextIndexDef {
            name: "t".into(),
            kind: TextIndexKind::LIndex { hops: 1, walks: DEFAULT_WALKS },
            on_relationships: false,
            label: "P".into(),
            properties: vec!["bio".into()],
        };
        txn.graph("g")?.create_text_index(def)?;
        txn.commit()?;
        store.bulk_load(
            "g",
            csv("n.csv", "id,label,bio\n1,P,red apple\n2,P,pear\n"),
            csv("e.csv", "src,dst,type\n1,2,K\n"),
            &mut |_| {},
        )?;
        let apple = [TextTest::Contains("apple".into())];
        let found = store.begin_read().graph("g")?.lindex_candidates("t", &[], "bio", &apple)?;
        assert_eq!(found.map(|f| f.len()), Some(1));

        // The crash: the metadata as the load's batch left it.
        let key = keys::graph::graph_prefix("g", b'm');
        let mut meta = GraphMeta::decode(&storage.get(KS, &key)?.unwrap_or_default())?;
        meta.text_pending = Some((0..2, 0..1));
        let mut batch = WriteBatch::default();
        batch.put(KS, key, meta.encode());
        storage.apply(batch)?;
        let reopened = GraphStore::open(storage.clone());
        assert_eq!(reopened.begin_read().graph("g")?.lindex_candidates("t", &[], "bio", &apple)?, None);

        let mut txn = reopened.begin_write()?;
        txn.graph("g")?.create_node(vec!["Q".into()], Default::default())?;
        txn.commit()?;
        let mut read = reopened.begin_read();
        let g = read.graph("g")?;
        assert_eq!(g.meta().text_pending, None);
        assert_eq!(g.lindex_candidates("t", &[], "bio", &apple)?.map(|f| f.len()), Some(1));
        Ok(())
    }
}
