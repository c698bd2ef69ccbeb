//! `check` for the value index: re-derives it from a document's records (every
//! attribute's value; every element's one text child, or nothing; elements with other
//! content counted by name) and compares it with what is stored, key by key.

use std::collections::HashMap;

use roaring::RoaringBitmap;

use super::document::Document;
use super::node::NodeKind;
use super::value_index::{stored_entries, unindexed_elements, Head, ValueIndexBuilder, ValueOwner, MAX_INDEXED_VALUE};
use crate::storage::Storage;
use crate::Result;

/// What an open element holds so far (as the ingest sees it).
enum Seen {
    Empty,
    Text(u32),
    Mixed,
}

/// Disagreements between the stored value index of `doc` and its records.
pub(crate) fn check_values(storage: &dyn Storage, gen: u64, doc: &Document) -> Result<Vec<String>> {
    let mut expected = ValueIndexBuilder::default();
    let mut reader = doc.reader();
    let mut value = String::new();
    // (pre, end, name, content) of the open elements.
    let mut open: Vec<(u32, u32, u32, Seen)> = Vec::new();
    let close = |expected: &mut ValueIndexBuilder,
                 reader: &mut super::document::NodeReader,
                 element: (u32, u32, u32, Seen)|
     -> Result<()> {
        let (pre, _, name, seen) = element;
        match seen {
            Seen::Empty => expected.add(ValueOwner::Element, name, "", pre),
            Seen::Text(text) => {
                let mut s = String::new();
                reader.string_value(doc, text, &mut s)?;
                if s.len() <= MAX_INDEXED_VALUE {
                    expected.add(ValueOwner::Element, name, &s, pre);
                } else {
                    let n = super::value_index::xpath_number(&s);
                    expected.add_number(ValueOwner::Element, name, n, pre);
                }
            }
            Seen::Mixed => expected.skip_element(name),
        }
        Ok(())
    };
    for pre in 0..doc.len() {
        let rec = reader.record(doc, pre)?;
        while open.last().is_some_and(|e| e.1 < pre) {
            if let Some(element) = open.pop() {
                close(&mut expected, &mut reader, element)?;
            }
        }
        match rec.kind {
            NodeKind::Attribute => {
                reader.string_value(doc, pre, &mut value)?;
                expected.add(ValueOwner::Attribute, rec.name, &value, pre);
                continue;
            }
            NodeKind::NamespaceDecl | NodeKind::Root => continue,
            _ => {}
        }
        if let Some(parent) = open.last_mut() {
            parent.3 = match (&parent.3, rec.kind) {
                (Seen::Empty, NodeKind::Text) => Seen::Text(pre),
                _ => Seen::Mixed,
            };
        }
        if rec.kind == NodeKind::Element {
            open.push((pre, rec.end, rec.name, Seen::Empty));
        }
    }
    while let Some(element) = open.pop() {
        close(&mut expected, &mut reader, element)?;
    }
    let (postings, unindexed) = expected.into_parts();
    compare(storage, gen, doc.index(), &postings, &unindexed)
}

fn compare(
    storage: &dyn Storage,
    gen: u64,
    doc: u32,
    postings: &HashMap<(Head, Vec<u8>), RoaringBitmap>,
    unindexed: &HashMap<u32, u64>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut stored = stored_entries(storage, gen, doc)?;
    for (key, bitmap) in postings {
        match stored.remove(key) {
            Some(found) if &found == bitmap => {}
            Some(found) => problems.push(format!(
                "the value index holds {} nodes for {key:?}, the records {}",
                found.len(),
                bitmap.len()
            )),
            None => problems.push(format!("the value index lacks {key:?} ({} nodes)", bitmap.len())),
        }
    }
    if !stored.is_empty() {
        problems.push(format!("the value index holds {} entries no node gives", stored.len()));
    }
    for (name, count) in unindexed {
        let found = unindexed_elements(storage, gen, doc, *name)?;
        if found != *count {
            problems
                .push(format!("{found} elements of name {name} are counted as unindexed, the records give {count}"));
        }
    }
    Ok(problems)
}
