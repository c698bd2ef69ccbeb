//! Bulk loading of a graph from CSV (SPEC section 3): both files are read and checked
//! first, records, label bitmaps, adjacency lists and index entries are built in
//! memory in id order, and everything is written in one atomic batch. A bad line
//! stops the load before anything is written.

use std::collections::HashMap;
use std::io::Read;

use roaring::RoaringTreemap;

use super::chunk::{encode_adj_chunk, encode_record_chunk, next_chunk_start, ChunkKind, CHUNK_LEN};
use super::record::{AdjEntry, GraphMeta, NodeId, NodeRecord, RelRecord};
use super::store::{self, GraphStore, ALL_NODES, KS};
use super::value::{Properties, PropertyValue};
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

/// A CSV value as a property: integers, floats and booleans by their look, empty as
/// absent, anything else a string.
pub fn infer_value(s: &str) -> Option<PropertyValue> {
    if s.is_empty() {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(PropertyValue::Int(i));
    }
    let numeric = s.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    if numeric {
        if let Ok(f) = s.parse::<f64>() {
            return Some(PropertyValue::Float(f));
        }
    }
    match s {
        "true" => Some(PropertyValue::Bool(true)),
        "false" => Some(PropertyValue::Bool(false)),
        _ => Some(PropertyValue::String(s.into())),
    }
}

fn csv_error(file: &str, line: u64, message: impl Into<String>) -> Error {
    Error::Csv { file: file.to_string(), line, message: message.into() }
}

fn reader<'a>(input: CsvInput<'a>) -> (String, csv::Reader<Box<dyn Read + 'a>>) {
    let r = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(input.reader);
    (input.name, r)
}

fn header(file: &str, r: &mut csv::Reader<Box<dyn Read + '_>>, expect: &[&str]) -> Result<Vec<String>> {
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
        let result = self.bulk_load_locked(graph, nodes, edges, progress);
        self.release_writer();
        result
    }

    fn bulk_load_locked(
        &self,
        graph: &str,
        nodes: CsvInput<'_>,
        edges: CsvInput<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<BulkLoadStats> {
        let storage = self.storage().clone();
        let mut meta = match storage.get(KS, &store::graph_prefix(graph, b'm'))? {
            Some(b) => GraphMeta::decode(&b)?,
            None => GraphMeta::default(),
        };
        // New ids start on a fresh chunk, so that no stored chunk needs rewriting.
        let base = next_chunk_start(meta.next_node);
        let mut batch = WriteBatch::default();
        let mut rows = 0u64;

        // Nodes.
        let (nodes_name, mut r) = reader(nodes);
        let cols = header(&nodes_name, &mut r, &["id", "label"])?;
        let mut ids: HashMap<String, NodeId> = HashMap::new();
        let mut labels: HashMap<String, RoaringTreemap> = HashMap::new();
        let mut records: Vec<NodeRecord> = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            match r.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(record_error(&nodes_name, e)),
            }
            let line = record.position().map_or(0, |p| p.line());
            let ext = record.get(0).unwrap_or("").trim();
            if ext.is_empty() {
                return Err(csv_error(&nodes_name, line, "the id is empty"));
            }
            let id = base + records.len() as u64;
            if ids.insert(ext.to_string(), id).is_some() {
                return Err(csv_error(&nodes_name, line, format!("duplicate node id '{ext}'")));
            }
            let mut node_labels: Vec<String> =
                record.get(1).unwrap_or("").split(';').map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
            node_labels.sort();
            node_labels.dedup();
            for l in &node_labels {
                labels.entry(l.clone()).or_default().insert(id);
            }
            let mut props = Properties::new();
            if let Some(v) = infer_value(ext) {
                props.insert("id".to_string(), v);
            }
            for (c, value) in cols.iter().zip(record.iter()).skip(2) {
                if let Some(v) = infer_value(value) {
                    props.insert(c.clone(), v);
                }
            }
            records.push(NodeRecord { labels: node_labels, properties: props });
            rows += 1;
            if rows % 65536 == 0 {
                progress(rows);
            }
        }

        // Relationships.
        let (edges_name, mut r) = reader(edges);
        let cols = header(&edges_name, &mut r, &["src", "dst", "type"])?;
        let mut out_adj: Vec<Vec<AdjEntry>> = vec![Vec::new(); records.len()];
        let mut in_adj: Vec<Vec<AdjEntry>> = vec![Vec::new(); records.len()];
        let rel_base = next_chunk_start(meta.next_rel);
        let mut next_rel = rel_base;
        let mut rel_chunk: Vec<Vec<u8>> = Vec::with_capacity(CHUNK_LEN);
        let mut rewritten = Vec::new();
        let graph_id = self.graph_id(graph)?;
        let lookup = |ids: &HashMap<String, NodeId>, ext: &str, line: u64, what: &str| -> Result<NodeId> {
            ids.get(ext.trim())
                .copied()
                .ok_or_else(|| csv_error(&edges_name, line, format!("{what} '{ext}' is not a node id of this load")))
        };
        loop {
            match r.read_record(&mut record) {
                Ok(false) => break,
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
            let mut props = Properties::new();
            for (c, value) in cols.iter().zip(record.iter()).skip(3) {
                if let Some(v) = infer_value(value) {
                    props.insert(c.clone(), v);
                }
            }
            let rel = next_rel;
            next_rel += 1;
            out_adj[(src - base) as usize].push(AdjEntry { type_token: token, rel, other: dst });
            in_adj[(dst - base) as usize].push(AdjEntry { type_token: token, rel, other: src });
            for k in props.keys() {
                if !meta.property_keys.contains(k) {
                    meta.property_keys.insert(k.clone());
                }
            }
            let rec = RelRecord { rel_type: rel_type.to_string(), start: src, end: dst, properties: props };
            rel_chunk.push(rec.encode());
            if rel_chunk.len() == CHUNK_LEN {
                let c = (next_rel - 1) / CHUNK_LEN as u64;
                batch.put(KS, store::chunk_key(graph, ChunkKind::Rels, c), encode_record_chunk(rel_chunk.iter().map(|r| Some(r.as_slice()))));
                rewritten.push((graph_id, ChunkKind::Rels, c));
                rel_chunk.clear();
            }
            rows += 1;
            if rows % 65536 == 0 {
                progress(rows);
            }
        }
        if !rel_chunk.is_empty() {
            let c = (next_rel - 1) / CHUNK_LEN as u64;
            batch.put(KS, store::chunk_key(graph, ChunkKind::Rels, c), encode_record_chunk(rel_chunk.iter().map(|r| Some(r.as_slice()))));
            rewritten.push((graph_id, ChunkKind::Rels, c));
        }
        progress(rows);

        // Everything checked: build the batch.
        let stats = BulkLoadStats {
            nodes: records.len() as u64,
            relationships: next_rel - rel_base,
            labels: labels.len() as u64,
            relationship_types: meta.types.len() as u64,
        };
        let mut all = RoaringTreemap::new();
        let mut encoded: Vec<Vec<u8>> = Vec::with_capacity(CHUNK_LEN);
        for (i, rec) in records.iter().enumerate() {
            let id = base + i as u64;
            all.insert(id);
            for k in rec.properties.keys() {
                if !meta.property_keys.contains(k) {
                    meta.property_keys.insert(k.clone());
                }
            }
            for def in &meta.indexes {
                if rec.has_label(&def.label) {
                    if let Some(key) = rec.properties.get(&def.property).and_then(|v| store::index_entry(graph, def, v, id)) {
                        batch.put(KS, key, Vec::new());
                    }
                }
            }
            encoded.push(rec.encode());
            if encoded.len() == CHUNK_LEN || i + 1 == records.len() {
                let c = id / CHUNK_LEN as u64;
                batch.put(KS, store::chunk_key(graph, ChunkKind::Nodes, c), encode_record_chunk(encoded.iter().map(|r| Some(r.as_slice()))));
                rewritten.push((graph_id, ChunkKind::Nodes, c));
                encoded.clear();
            }
        }
        for (kind, lists) in [(ChunkKind::Out, &mut out_adj), (ChunkKind::In, &mut in_adj)] {
            for (n, group) in lists.chunks_mut(CHUNK_LEN).enumerate() {
                for l in group.iter_mut() {
                    l.sort_unstable();
                }
                let c = base / CHUNK_LEN as u64 + n as u64;
                batch.put(KS, store::chunk_key(graph, kind, c), encode_adj_chunk(group.iter().map(|l| l.as_slice())));
                rewritten.push((graph_id, kind, c));
            }
        }
        labels.insert(ALL_NODES.to_string(), all);
        for (label, bitmap) in labels {
            let mut merged = match storage.get(KS, &store::label_key(graph, &label))? {
                Some(b) => RoaringTreemap::deserialize_from(&b[..]).map_err(|e| Error::corrupted("graph label", e))?,
                None => RoaringTreemap::new(),
            };
            merged |= bitmap;
            let mut buf = Vec::with_capacity(merged.serialized_size());
            merged.serialize_into(&mut buf)?;
            batch.put(KS, store::label_key(graph, &label), buf);
            if !label.is_empty() {
                meta.labels.insert(label);
            }
        }
        meta.next_node = base + records.len() as u64;
        // Relationship ids of the last chunk are taken whole, so that it is never shared.
        meta.node_count += records.len() as u64;
        meta.next_rel = next_chunk_start(next_rel);
        meta.rel_count += next_rel - rel_base;
        batch.put(KS, store::graph_prefix(graph, b'm'), meta.encode());
        batch.put(KS, store::registry_key(graph), Vec::new());
        self.apply_exclusive(batch, &rewritten)?;
        Ok(stats)
    }
}
