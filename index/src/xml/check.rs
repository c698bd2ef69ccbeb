//! `check` for XML collections: re-derives every index of a stored document from its
//! node records and compares. A healthy store reports nothing; each disagreement is
//! one line naming the collection, the document and the node.
//!
//! What is checked, per document:
//! - region labels: pre-order numbers run over `[0, len)`, the root is node 0 and
//!   spans the document, every node nests inside its parent (a stack walk), levels
//!   step by one, attributes and namespace declarations have `end == pre` and hang off
//!   an element;
//! - path ids: each node's path entry has its kind, name and level, and the path of
//!   its parent as parent; summed over documents, each path's node count matches;
//! - name postings: the bitmap of every `(kind, name)` holds exactly the nodes with it,
//!   and no bitmap is stored for a name no node has;
//! - the region table: each path's partition holds exactly the `(pre, end)` of the
//!   nodes on that path (namespace declarations are in no partition);
//! - the value index (`check_values`): re-derived from the records, key by key.

use std::collections::{BTreeMap, HashMap};

use roaring::RoaringBitmap;

use super::node::{NodeKind, NO_NAME, NO_PARENT};
use super::store::Collection;
use crate::keys::xml as keys;
use crate::storage::Keyspace;
use crate::Result;

/// A report is cut off after this many problems per collection: one broken index
/// would otherwise repeat itself for every node.
const MAX_PROBLEMS: usize = 50;

/// What was checked in one collection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionCheck {
    pub documents: u32,
    pub nodes: u64,
    pub paths: usize,
    pub problems: Vec<String>,
}

struct Problems<'a> {
    collection: &'a str,
    list: Vec<String>,
}

impl Problems<'_> {
    fn add(&mut self, doc: &str, message: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(format!("collection '{}', document '{doc}': {message}", self.collection));
        }
    }
}

/// Checks every document of `collection` against its indexes.
pub fn check_collection(collection: &Collection) -> Result<CollectionCheck> {
    let mut problems = Problems { collection: &collection.info().name, list: Vec::new() };
    let summary = collection.paths();
    let mut path_counts = vec![0u64; summary.len()];
    let mut nodes = 0u64;
    for idx in 0..collection.len() {
        let doc = collection.document(idx)?;
        nodes += u64::from(doc.len());
        check_document(collection, &doc, &mut path_counts, &mut problems)?;
    }
    for (id, entry) in summary.entries().iter().enumerate() {
        if entry.count != path_counts[id] {
            problems.add(
                "*",
                format!(
                    "path {id} counts {} nodes in the summary, the documents have {}",
                    entry.count, path_counts[id]
                ),
            );
        }
    }
    Ok(CollectionCheck { documents: collection.len(), nodes, paths: summary.len(), problems: problems.list })
}

fn check_document(
    collection: &Collection,
    doc: &super::document::Document,
    path_counts: &mut [u64],
    problems: &mut Problems<'_>,
) -> Result<()> {
    let name = doc.name().to_string();
    let len = doc.len();
    let summary = collection.paths();
    let names = collection.names();
    let mut reader = doc.reader();
    // (pre, end, level, path, kind) of the open ancestors of the node being visited.
    let mut open: Vec<(u32, u32, u16, u32, NodeKind)> = Vec::new();
    let mut postings: HashMap<(NodeKind, u32), RoaringBitmap> = HashMap::new();
    let mut regions: BTreeMap<u32, Vec<(u32, u32)>> = BTreeMap::new();
    for pre in 0..len {
        let rec = reader.record(doc, pre)?;
        if rec.end < pre || rec.end >= len {
            problems.add(&name, format!("node {pre} ends at {}, outside [{pre}, {len})", rec.end));
            continue;
        }
        if pre == 0 {
            if rec.kind != NodeKind::Root || rec.parent != NO_PARENT || rec.level != 0 || rec.end + 1 != len {
                problems.add(&name, format!("node 0 is not a root spanning the document: {rec:?}"));
            }
        } else {
            while open.last().is_some_and(|a| a.1 < pre) {
                open.pop();
            }
            match open.last() {
                Some(&(parent, parent_end, level, parent_path, parent_kind)) => {
                    if rec.parent != parent {
                        problems
                            .add(&name, format!("node {pre} names parent {}, its region lies in {parent}", rec.parent));
                    }
                    if rec.end > parent_end {
                        problems
                            .add(&name, format!("node {pre} ends at {}, after its parent's end {parent_end}", rec.end));
                    }
                    if rec.level != level + 1 {
                        problems.add(&name, format!("node {pre} has level {}, its parent {}", rec.level, level));
                    }
                    if rec.kind.is_attribute_like() && (rec.end != pre || parent_kind != NodeKind::Element) {
                        problems.add(&name, format!("attribute-like node {pre} has children or a non-element parent"));
                    }
                    if rec.kind == NodeKind::Root {
                        problems.add(&name, format!("node {pre} is a second root"));
                    }
                    check_path(summary, pre, &rec, Some(parent_path), &name, problems);
                }
                None => problems.add(&name, format!("node {pre} lies outside the root's region")),
            }
        }
        if pre == 0 {
            check_path(summary, pre, &rec, None, &name, problems);
        }
        if rec.name != NO_NAME {
            if names.get(rec.name).is_none() {
                problems.add(&name, format!("node {pre} has name id {}, not in the name table", rec.name));
            }
            postings.entry((rec.kind, rec.name)).or_default().insert(pre);
        }
        if let Some(count) = path_counts.get_mut(rec.path as usize) {
            *count += 1;
        }
        if rec.kind != NodeKind::NamespaceDecl {
            // Namespace declarations are not in the structure-context index: no axis
            // returns them.
            regions.entry(rec.path).or_default().push((pre, rec.end));
        }
        open.push((pre, rec.end, rec.level, rec.path, rec.kind));
    }
    check_postings(collection, doc, &postings, &name, problems)?;
    for problem in super::check_values::check_values(collection.storage(), collection.info().generation, doc)? {
        problems.add(&name, problem);
    }
    for id in 0..summary.len() as u32 {
        let stored = doc.regions(id)?;
        let expected = regions.remove(&id).unwrap_or_default();
        if stored != expected {
            problems.add(
                &name,
                format!("the region table holds {} nodes for path {id}, the records {}", stored.len(), expected.len()),
            );
        }
    }
    Ok(())
}

fn check_path(
    summary: &super::path_summary::PathSummary,
    pre: u32,
    rec: &super::node::NodeRecord,
    parent_path: Option<u32>,
    doc: &str,
    problems: &mut Problems<'_>,
) {
    match summary.get(rec.path) {
        None => problems.add(doc, format!("node {pre} has path id {}, not in the path summary", rec.path)),
        Some(entry) => {
            let name_ok = entry.name == rec.name || rec.name == NO_NAME && entry.name == NO_NAME;
            if entry.kind != rec.kind || !name_ok || entry.level != rec.level || entry.parent != parent_path {
                problems.add(doc, format!("node {pre} disagrees with its path {}: {entry:?}", rec.path));
            }
        }
    }
}

fn check_postings(
    collection: &Collection,
    doc: &super::document::Document,
    expected: &HashMap<(NodeKind, u32), RoaringBitmap>,
    name: &str,
    problems: &mut Problems<'_>,
) -> Result<()> {
    for (&(kind, id), bitmap) in expected {
        let stored = doc.name_postings(kind, id)?;
        if &stored != bitmap {
            problems.add(
                name,
                format!("the postings of {kind:?} {id} hold {} nodes, the records {}", stored.len(), bitmap.len()),
            );
        }
    }
    let gen = collection.info().generation;
    let prefix = keys::name_postings_prefix(gen, doc.index());
    for key in collection.storage().keys_with_prefix(Keyspace::Postings, &prefix)? {
        let tail = &key[prefix.len()..];
        let (Some(&kind), Some(id)) = (tail.first(), tail.get(1..5)) else { continue };
        let id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        let known = NodeKind::from_u8(kind).is_ok_and(|k| expected.contains_key(&(k, id)));
        if !known {
            problems.add(name, format!("a postings list is stored for kind {kind} name {id}, which no node has"));
        }
    }
    Ok(())
}
