//! `check` for graphs: re-derives what the store keeps beside the records (adjacency
//! lists, label bitmaps, counters, property indexes, text indexes) from the node and
//! relationship records of a committed graph, and compares.
//!
//! - every live relationship has live ends and is listed once in its start node's
//!   outgoing and its end node's incoming list, under its type's token; every list is
//!   sorted by (type token, relationship) and names only live relationships whose ends
//!   and type match;
//! - label bitmaps hold exactly the live nodes with that label (`""`: all of them), and
//!   every label and property key in use is in the metadata;
//! - node, relationship and per-type counts and the id counters match;
//! - each property index holds exactly one entry per (indexed label, value, node);
//! - each LIndex holds, for exactly the nodes that should have one, one document with
//!   exactly the terms a rebuild gives; each full-text index holds one document for
//!   exactly the entities with indexed text. A graph whose bulk-loaded entities still
//!   wait for their text documents (`text_pending`, after a crash) is reported as such,
//!   not as damaged: its text indexes are not used until a write indexes them.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

const MAX_PROBLEMS: usize = 50;

/// What was checked in one graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphCheck {
    pub nodes: u64,
    pub relationships: u64,
    pub property_indexes: usize,
    pub text_indexes: usize,
    /// Set when bulk-loaded entities still wait for their text documents.
    pub text_pending: bool,
    pub problems: Vec<String>,
}

impl GraphCheck {
    fn problem(&mut self, graph: &str, message: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(format!("graph '{graph}': {message}"));
        }
    }
}

impl GraphStore {
    /// Checks committed graph `name` against its indexes (see the module docs).
    pub fn check_graph(&self, name: &str) -> Result<GraphCheck> {
        let _gate = self.read_gate()?;
        let mut txn = self.begin_read();
        let graph = txn.graph(name)?;
        let mut report = GraphCheck::default();
        let label_bitmaps = check_records(graph, &mut report)?;
        check_labels(graph, &label_bitmaps, &mut report)?;
        check_property_indexes(graph, &mut report)?;
        report.text_pending = graph.meta.text_pending.is_some();
        report.text_indexes = graph.meta.text_indexes.len();
        if !report.text_pending {
            for def in graph.meta.text_indexes.clone() {
                check_text_index(graph, &def, &mut report)?;
            }
        }
        Ok(report)
    }
}

/// Walks every node and relationship; returns the label bitmaps the records imply.
fn check_records(graph: &mut Overlay, report: &mut GraphCheck) -> Result<BTreeMap<String, RoaringTreemap>> {
    let name = graph.graph.clone();
    let all = graph.label_nodes(None)?;
    let mut labels: BTreeMap<String, RoaringTreemap> = BTreeMap::new();
    let mut listed = [0u64; 2];
    for id in all.iter() {
        let Some(node) = graph.node(id)? else {
            report.problem(&name, format!("node {id} is in the all-nodes bitmap but has no record"));
            continue;
        };
        if id >= graph.meta.next_node {
            report.problem(&name, format!("node {id} is at or past the id counter {}", graph.meta.next_node));
        }
        for l in &node.labels {
            labels.entry(l.clone()).or_default().insert(id);
            if !graph.meta.labels.contains(l) {
                report.problem(&name, format!("label '{l}' of node {id} is not in the metadata"));
            }
        }
        if node.labels.windows(2).any(|w| w[0] >= w[1]) {
            report.problem(&name, format!("the labels of node {id} are not sorted and distinct"));
        }
        for k in node.properties.keys() {
            if !graph.meta.property_keys.contains(k) {
                report.problem(&name, format!("property key '{k}' of node {id} is not in the metadata"));
            }
        }
        for (d, dir) in [Direction::Outgoing, Direction::Incoming].into_iter().enumerate() {
            let list = graph.adjacency(id, dir)?;
            if list.windows(2).any(|w| (w[0].type_token, w[0].rel) >= (w[1].type_token, w[1].rel)) {
                report.problem(&name, format!("the {dir:?} list of node {id} is not sorted"));
            }
            listed[d] += list.len() as u64;
            for entry in list.iter() {
                let ok = match graph.rel(entry.rel)? {
                    Some(r) => {
                        let (here, there) = match dir {
                            Direction::Outgoing => (r.start, r.end),
                            Direction::Incoming => (r.end, r.start),
                        };
                        here == id
                            && there == entry.other
                            && graph.meta.type_token(&r.rel_type) == Some(entry.type_token)
                    }
                    None => false,
                };
                if !ok {
                    report.problem(
                        &name,
                        format!("the {dir:?} list of node {id} names relationship {} wrongly", entry.rel),
                    );
                }
            }
        }
    }
    let mut type_counts = vec![0u64; graph.meta.types.len()];
    let mut rels = 0u64;
    for rel in 0..graph.meta.next_rel {
        let Some(r) = graph.rel(rel)? else { continue };
        rels += 1;
        let Some(token) = graph.meta.type_token(&r.rel_type) else {
            report.problem(&name, format!("relationship {rel} has type '{}', which has no token", r.rel_type));
            continue;
        };
        type_counts[token as usize] += 1;
        for (node, dir, other) in [(r.start, Direction::Outgoing, r.end), (r.end, Direction::Incoming, r.start)] {
            if !all.contains(node) {
                report.problem(&name, format!("relationship {rel} ends at node {node}, which is not live"));
                continue;
            }
            let entry = AdjEntry { type_token: token, rel, other };
            if graph.adjacency(node, dir)?.binary_search(&entry).is_err() {
                report.problem(&name, format!("relationship {rel} is missing from the {dir:?} list of node {node}"));
            }
        }
    }
    for (d, count) in listed.iter().enumerate() {
        if *count != rels {
            let which = if d == 0 { "outgoing" } else { "incoming" };
            report.problem(&name, format!("{count} {which} list entries for {rels} relationships"));
        }
    }
    let meta = &graph.meta;
    if meta.node_count != all.len() || meta.rel_count != rels {
        report.problem(
            &name,
            format!(
                "the metadata counts {} nodes and {} relationships, the records {} and {rels}",
                meta.node_count,
                meta.rel_count,
                all.len()
            ),
        );
    }
    if meta.type_counts != type_counts {
        report.problem(&name, format!("per-type counts {:?}, the records {type_counts:?}", meta.type_counts));
    }
    report.nodes = all.len();
    report.relationships = rels;
    Ok(labels)
}

fn check_labels(
    graph: &mut Overlay,
    expected: &BTreeMap<String, RoaringTreemap>,
    report: &mut GraphCheck,
) -> Result<()> {
    let name = graph.graph.clone();
    let known: BTreeSet<String> = graph.meta.labels.iter().cloned().chain(expected.keys().cloned()).collect();
    let empty = RoaringTreemap::new();
    for label in known {
        let stored = graph.label_nodes(Some(&label))?;
        let want = expected.get(&label).unwrap_or(&empty);
        if stored.as_ref() != want {
            report.problem(
                &name,
                format!("the bitmap of label '{label}' holds {} nodes, the records {}", stored.len(), want.len()),
            );
        }
    }
    Ok(())
}

fn check_property_indexes(graph: &mut Overlay, report: &mut GraphCheck) -> Result<()> {
    let name = graph.graph.clone();
    report.property_indexes = graph.meta.indexes.len();
    for def in graph.meta.indexes.clone() {
        let mut expected: BTreeSet<Vec<u8>> = BTreeSet::new();
        let members = graph.label_nodes(Some(&def.label))?;
        for id in members.iter() {
            let Some(node) = graph.node(id)? else { continue };
            if let Some(key) = node.properties.get(&def.property).and_then(|v| index_entry(&name, &def, v, id)) {
                expected.insert(key);
            }
        }
        let prefix = index_prefix(&name, &def.label, &def.property);
        let stored: BTreeSet<Vec<u8>> = graph.storage.keys_with_prefix(KS, &prefix)?.into_iter().collect();
        if stored != expected {
            let missing = expected.difference(&stored).count();
            let extra = stored.difference(&expected).count();
            report.problem(
                &name,
                format!("index '{}' misses {missing} entries and has {extra} entries no node implies", def.name),
            );
        }
    }
    Ok(())
}

fn check_text_index(graph: &mut Overlay, def: &TextIndexDef, report: &mut GraphCheck) -> Result<()> {
    let name = graph.graph.clone();
    let handle = graph.store.text_handle(&name, def)?;
    let stored = handle.documents_by_id(matches!(def.kind, TextIndexKind::LIndex { .. }))?;
    let mut expected: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut sources = text::TextSources::default();
    for id in graph.text_universe(def)?.iter() {
        if let Some(doc) = graph.text_document(def, &handle.fields, &mut sources, id)? {
            let mut terms = text::document_terms(&doc, &handle.fields);
            if !matches!(def.kind, TextIndexKind::LIndex { .. }) {
                terms.clear();
            }
            terms.sort_unstable();
            expected.insert(id, terms);
        }
    }
    let mut wrong = 0usize;
    let mut example = None;
    for id in stored.keys().chain(expected.keys()).collect::<BTreeSet<_>>() {
        if stored.get(id) != expected.get(id) {
            wrong += 1;
            example.get_or_insert(*id);
        }
    }
    if let Some(example) = example {
        report.problem(
            &name,
            format!(
                "text index '{}': {wrong} entities' documents differ from a rebuild (first: {example}; stored {}, expected {})",
                def.name,
                stored.len(),
                expected.len()
            ),
        );
    }
    if handle.documents() != stored.len() as u64 {
        report.problem(
            &name,
            format!("text index '{}' holds {} documents for {} entities", def.name, handle.documents(), stored.len()),
        );
    }
    Ok(())
}
