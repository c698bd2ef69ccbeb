//! The documents of text indexes: an LIndex document holds every term of the indexed
//! text found along each walk of up to `hops` relationships from its node; a full-text
//! document holds the indexed properties themselves.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use tantivy::TantivyDocument;

use super::handle::Fields;
use super::terms::{for_each_token, push_step, saturated_term, term_stem, LONG};
use super::TextIndexDef;
use crate::graph::{Direction, NodeId, NodeRecord, Overlay, Properties, PropertyValue};
use crate::Result;

/// What a walk needs of a node it reaches: the step into it (labels) and the terms of
/// its indexed text, each `(property stem, token)` with the stem's path left out.
#[derive(Debug)]
struct NodeText {
    labels: Vec<String>,
    terms: Vec<(String, String)>,
}

/// Nodes read while building documents: a walk meets the same nodes again and again,
/// and each is read and tokenized once.
#[derive(Debug, Default)]
pub(crate) struct TextSources {
    /// By id below [`DENSE_IDS`] (ids are dense: a slot per id is the fastest memo),
    /// `None` when not read yet.
    dense: Vec<Option<Option<Arc<NodeText>>>>,
    sparse: FxHashMap<NodeId, Option<Arc<NodeText>>>,
}

/// Ids below this are remembered in a vector; above, in a map that starts over at
/// [`MEMO_LIMIT`] entries.
const DENSE_IDS: u64 = 1 << 23;
const MEMO_LIMIT: usize = 1 << 20;

impl TextSources {
    fn node(&mut self, graph: &mut Overlay, def: &TextIndexDef, id: NodeId) -> Result<Option<Arc<NodeText>>> {
        let read = |graph: &mut Overlay| -> Result<Option<Arc<NodeText>>> {
            Ok(graph
                .node(id)?
                .map(|rec| Arc::new(NodeText { labels: rec.labels.clone(), terms: text_terms(def, &rec) })))
        };
        if id < DENSE_IDS {
            let slot = id as usize;
            if let Some(Some(known)) = self.dense.get(slot) {
                return Ok(known.clone());
            }
            let text = read(graph)?;
            if self.dense.len() <= slot {
                self.dense.resize(slot + 1, None);
            }
            self.dense[slot] = Some(text.clone());
            return Ok(text);
        }
        if let Some(r) = self.sparse.get(&id) {
            return Ok(r.clone());
        }
        if self.sparse.len() >= MEMO_LIMIT {
            self.sparse.clear();
        }
        let text = read(graph)?;
        self.sparse.insert(id, text.clone());
        Ok(text)
    }
}

/// The `(property stem, token)` pairs of `rec`'s indexed text (none without the label).
fn text_terms(def: &TextIndexDef, rec: &NodeRecord) -> Vec<(String, String)> {
    let mut terms = Vec::new();
    if !rec.labels.contains(&def.label) {
        return terms;
    }
    for prop in &def.properties {
        let Some(value) = rec.properties.get(prop) else { continue };
        let stem = term_stem("", prop);
        let mut cut = false;
        strings_of(value, &mut |s| cut |= for_each_token(s, |t| terms.push((stem.clone(), t.to_string()))));
        if cut {
            terms.push((stem.clone(), LONG.to_string()));
        }
    }
    terms.sort_unstable();
    terms.dedup();
    terms
}

fn strings_of(value: &PropertyValue, f: &mut impl FnMut(&str)) {
    match value {
        PropertyValue::String(s) => f(s),
        PropertyValue::List(items) => {
            for i in items {
                if let PropertyValue::String(s) = i {
                    f(s);
                }
            }
        }
        _ => {}
    }
}

/// The LIndex document of `node`, or `None` when no indexed text lies within reach.
/// Walks are taken level by level; a level with more than `def.walks()` walks is not
/// enumerated: the document gets the marker of that length and every longer one
/// instead, and lookups of such lengths keep the node (so a hub costs a bounded
/// amount of work, and pruning stays lossless).
pub(crate) fn lindex_document(
    graph: &mut Overlay,
    def: &TextIndexDef,
    fields: &Fields,
    sources: &mut TextSources,
    node: NodeId,
) -> Result<Option<TantivyDocument>> {
    let mut terms = Vec::new();
    let Some(start) = sources.node(graph, def, node)? else { return Ok(None) };
    add_text_terms(&start, "", &mut terms);
    let budget = def.walks() as usize;
    let mut level: Vec<(NodeId, String)> = vec![(node, String::new())];
    'levels: for depth in 1..=def.hops() {
        let mut next: Vec<(NodeId, String)> = Vec::new();
        for (from, path) in &level {
            for dir in [Direction::Outgoing, Direction::Incoming] {
                let list = graph.adjacency(*from, dir)?;
                for entry in list.iter() {
                    if next.len() >= budget {
                        for d in depth..=def.hops() {
                            terms.push(saturated_term(d as usize));
                        }
                        break 'levels;
                    }
                    let Some(other) = sources.node(graph, def, entry.other)? else { continue };
                    let mut walk = path.clone();
                    let rel_type = graph.meta().types.get(entry.type_token as usize).map_or("", String::as_str);
                    push_step(&mut walk, dir, rel_type, &other.labels);
                    add_text_terms(&other, &walk, &mut terms);
                    next.push((entry.other, walk));
                }
            }
        }
        level = next;
    }
    if terms.is_empty() {
        return Ok(None);
    }
    terms.sort_unstable();
    terms.dedup();
    let mut doc = TantivyDocument::new();
    doc.add_u64(fields.id, node);
    for t in &terms {
        doc.add_text(fields.terms, t);
    }
    Ok(Some(doc))
}

/// The terms of `node`'s indexed text at the end of walk `path`.
fn add_text_terms(node: &NodeText, path: &str, terms: &mut Vec<String>) {
    for (stem, token) in &node.terms {
        let mut t = String::with_capacity(path.len() + stem.len() + token.len());
        t.push_str(path);
        t.push_str(stem);
        t.push_str(token);
        terms.push(t);
    }
}

/// The full-text document of an entity with `properties`, or `None` without indexed text.
pub(crate) fn fulltext_document(
    def: &TextIndexDef,
    fields: &Fields,
    id: u64,
    properties: &Properties,
) -> Option<TantivyDocument> {
    let mut doc = TantivyDocument::new();
    let mut any = false;
    for (prop, field) in def.properties.iter().zip(&fields.text) {
        if let Some(v) = properties.get(prop) {
            strings_of(v, &mut |s| {
                doc.add_text(*field, s);
                any = true;
            });
        }
    }
    if !any {
        return None;
    }
    doc.add_u64(fields.id, id);
    Some(doc)
}
