//! `check` finds damage: a healthy collection or graph reports nothing, and each kind
//! of index made to disagree with the data (a postings list, a region-table segment,
//! a label bitmap, an adjacency list, a property-index entry, an LIndex document) is
//! reported.

use std::sync::Arc;

use sprig_index::graph::text::{TextIndexDef, TextIndexKind, DEFAULT_WALKS};
use sprig_index::graph::{GraphStore, IndexDef, PropertyValue};
use sprig_index::xml::check::check_collection;
use sprig_index::{Keyspace, MemoryStorage, Storage, WriteBatch, XmlStore};

const DOC: &str = r#"<a xmlns:p="urn:p"><b id="1">x<c/></b><p:b>y</p:b><!--z--><b><c><c/></c></b></a>"#;

fn loaded() -> (Arc<dyn Storage>, XmlStore) {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
    let store = XmlStore::open(storage.clone()).unwrap();
    let mut load = store.begin_load("d").unwrap();
    load.add_document("d", DOC.as_bytes()).unwrap();
    load.commit().unwrap();
    (storage, store)
}

fn first_key(storage: &dyn Storage, ks: Keyspace) -> Vec<u8> {
    storage.keys_with_prefix(ks, &[]).unwrap().into_iter().next().unwrap()
}

fn change(storage: &dyn Storage, f: impl FnOnce(&mut WriteBatch)) {
    let mut batch = WriteBatch::default();
    f(&mut batch);
    storage.apply(batch).unwrap();
}

#[test]
fn a_healthy_collection_passes() {
    let (_, store) = loaded();
    let report = check_collection(&store.collection("d").unwrap()).unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.documents, 1);
    assert!(report.nodes > 10);
}

#[test]
fn a_lost_postings_list_is_found() {
    let (storage, store) = loaded();
    let key = first_key(storage.as_ref(), Keyspace::Postings);
    change(storage.as_ref(), |b| b.delete(Keyspace::Postings, key));
    let report = check_collection(&store.collection("d").unwrap()).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].contains("the postings of"), "{:?}", report.problems);
}

#[test]
fn a_postings_list_with_a_wrong_node_is_found() {
    let (storage, store) = loaded();
    let key = first_key(storage.as_ref(), Keyspace::Postings);
    let mut bitmap = roaring::RoaringBitmap::new();
    bitmap.insert(2);
    let mut bytes = Vec::new();
    bitmap.serialize_into(&mut bytes).unwrap();
    change(storage.as_ref(), |b| b.put(Keyspace::Postings, key, bytes));
    let report = check_collection(&store.collection("d").unwrap()).unwrap();
    assert!(!report.problems.is_empty());
}

#[test]
fn a_damaged_region_table_is_found() {
    let (storage, store) = loaded();
    // Replace the first region segment by one with an extra region.
    let regions = storage.scan_prefix(Keyspace::Regions, &[]).unwrap();
    let (key, _) = regions.iter().find(|(k, _)| k[12] == b's').unwrap().clone();
    let fake: Vec<u8> = (0u32..3).flat_map(|i| [i.to_le_bytes(), i.to_le_bytes()].concat()).collect();
    change(storage.as_ref(), |b| b.put(Keyspace::Regions, key, lz4_flex::compress_prepend_size(&fake)));
    let collection = store.collection("d").unwrap();
    match check_collection(&collection) {
        Ok(report) => assert!(!report.problems.is_empty(), "a wrong segment went unnoticed"),
        Err(e) => assert!(e.to_string().contains("region"), "{e}"),
    }
}

fn graph_store() -> (Arc<dyn Storage>, GraphStore) {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
    let store = GraphStore::open(storage.clone());
    let mut txn = store.begin_write().unwrap();
    let g = txn.graph("g").unwrap();
    g.create_index(IndexDef { name: "by_name".into(), label: "P".into(), property: "name".into() }).unwrap();
    g.create_text_index(TextIndexDef {
        name: "near".into(),
        kind: TextIndexKind::LIndex { hops: 1, walks: DEFAULT_WALKS },
        on_relationships: false,
        label: "P".into(),
        properties: vec!["name".into()],
    })
    .unwrap();
    let mut ids = Vec::new();
    for i in 0..20 {
        let props = [("name".to_string(), PropertyValue::String(format!("p{i}").into()))].into_iter().collect();
        ids.push(g.create_node(vec!["P".into()], props).unwrap());
    }
    for i in 0..20 {
        g.create_rel("K", ids[i], ids[(i * 3 + 1) % 20], Default::default()).unwrap();
    }
    txn.commit().unwrap();
    (storage, store)
}

fn graph_key(storage: &dyn Storage, ks: Keyspace, tag: &[u8]) -> Vec<u8> {
    let mut prefix = b"g\0".to_vec();
    prefix.extend_from_slice(tag);
    storage.keys_with_prefix(ks, &prefix).unwrap().into_iter().next().unwrap()
}

#[test]
fn a_healthy_graph_passes() {
    let (_, store) = graph_store();
    let report = store.check_graph("g").unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!((report.nodes, report.relationships, report.property_indexes, report.text_indexes), (20, 20, 1, 1));
}

#[test]
fn a_lost_property_index_entry_is_found() {
    let (storage, store) = graph_store();
    let key = graph_key(storage.as_ref(), Keyspace::Graph, b"x");
    change(storage.as_ref(), |b| b.delete(Keyspace::Graph, key));
    let report = store.check_graph("g").unwrap();
    assert!(report.problems.iter().any(|p| p.contains("index 'by_name' misses 1")), "{:?}", report.problems);
}

#[test]
fn a_wrong_label_bitmap_is_found() {
    let (storage, _) = graph_store();
    let mut key = b"g\0l".to_vec();
    key.push(b'P');
    let mut bitmap = roaring::RoaringTreemap::new();
    bitmap.insert(3);
    let mut bytes = Vec::new();
    bitmap.serialize_into(&mut bytes).unwrap();
    change(storage.as_ref(), |b| b.put(Keyspace::Graph, key, bytes));
    // A fresh store: the old one caches the bitmap it read.
    let report = GraphStore::open(storage).check_graph("g").unwrap();
    assert!(report.problems.iter().any(|p| p.contains("label 'P'")), "{:?}", report.problems);
}

#[test]
fn a_lost_adjacency_chunk_is_found() {
    let (storage, _) = graph_store();
    let key = graph_key(storage.as_ref(), Keyspace::GraphChunks, b"a");
    change(storage.as_ref(), |b| b.delete(Keyspace::GraphChunks, key));
    let report = GraphStore::open(storage).check_graph("g").unwrap();
    assert!(report.problems.iter().any(|p| p.contains("is missing from the")), "{:?}", report.problems);
}

#[test]
fn a_stale_lindex_is_found() {
    let (storage, store) = graph_store();
    // Change a name behind the index's back: write the node chunk of a second store
    // whose transaction renamed a node, without its text index files.
    let files_before: Vec<(Vec<u8>, Vec<u8>)> = storage.scan_prefix(Keyspace::Graph, b"g\0t").unwrap();
    let mut txn = store.begin_write().unwrap();
    let g = txn.graph("g").unwrap();
    g.set_node_property(0, "name", Some(PropertyValue::String("renamed".into()))).unwrap();
    txn.commit().unwrap();
    let files_after = storage.scan_prefix(Keyspace::Graph, b"g\0t").unwrap();
    change(storage.as_ref(), |b| {
        for (k, _) in &files_after {
            b.delete(Keyspace::Graph, k.clone());
        }
        for (k, v) in files_before {
            b.put(Keyspace::Graph, k, v);
        }
    });
    let report = GraphStore::open(storage).check_graph("g").unwrap();
    assert!(report.problems.iter().any(|p| p.contains("text index 'near'")), "{:?}", report.problems);
}
