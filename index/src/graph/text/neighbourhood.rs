//! The documents of text indexes: an LIndex document holds every term of the indexed
//! text found along each walk of up to `hops` relationships from its node; a full-text
//! document holds the indexed properties themselves.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use tantivy::TantivyDocument;

use super::handle::Fields;
use super::terms::{for_each_token, path_prefix, saturated_term, term_stem, WalkStep, LONG};
use super::TextIndexDef;
use crate::graph::{Direction, NodeId, NodeRecord, Overlay, Properties, PropertyValue};
use crate::Result;

/// Node records read while building documents: a walk meets the same nodes again and again.
#[derive(Debug, Default)]
pub(crate) struct TextSources {
    records: FxHashMap<NodeId, Option<Arc<NodeRecord>>>,
}

/// How many records [`TextSources`] keeps before it starts over.
const MEMO_LIMIT: usize = 1 << 20;

impl TextSources {
    fn node(&mut self, graph: &mut Overlay, id: NodeId) -> Result<Option<Arc<NodeRecord>>> {
        if let Some(r) = self.records.get(&id) {
            return Ok(r.clone());
        }
        if self.records.len() >= MEMO_LIMIT {
            self.records.clear();
        }
        let r = graph.node(id)?;
        self.records.insert(id, r.clone());
        Ok(r)
    }
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
    let Some(rec) = sources.node(graph, node)? else { return Ok(None) };
    add_text_terms(def, &rec, "", &mut terms);
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
                    let Some(other) = sources.node(graph, entry.other)? else { continue };
                    let rel_type = graph.meta().types.get(entry.type_token as usize).cloned().unwrap_or_default();
                    let step = WalkStep { direction: dir, rel_type, labels: other.labels.clone() };
                    let walk = format!("{path}{}", path_prefix(std::slice::from_ref(&step)));
                    add_text_terms(def, &other, &walk, &mut terms);
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

/// The terms of `rec`'s indexed text at the end of walk `path`.
fn add_text_terms(def: &TextIndexDef, rec: &NodeRecord, path: &str, terms: &mut Vec<String>) {
    if !rec.labels.contains(&def.label) {
        return;
    }
    for prop in &def.properties {
        let Some(value) = rec.properties.get(prop) else { continue };
        let stem = term_stem(path, prop);
        let mut cut = false;
        strings_of(value, &mut |s| cut |= for_each_token(s, |t| terms.push(format!("{stem}{t}"))));
        if cut {
            terms.push(format!("{stem}{LONG}"));
        }
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
