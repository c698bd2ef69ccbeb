//! A graph transaction and an XML collection published in one storage batch
//! (`GraphTxn::commit_through` + `CollectionLoad::commit_with`): both become visible
//! together, and when the apply fails neither does.

use std::sync::Arc;

use sprig_index::graph::GraphStore;
use sprig_index::{Error, MemoryStorage, Storage, XmlStore};

fn model_count(graphs: &GraphStore) -> usize {
    let mut txn = graphs.begin_read();
    txn.graph("g").and_then(|g| g.label_nodes(Some("Model"))).map_or(0, |n| n.len() as usize)
}

#[test]
fn graph_and_collection_commit_together_or_not_at_all() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
    let graphs = GraphStore::open(storage.clone());
    let xml = XmlStore::open(storage.clone()).unwrap();

    // A failing apply: neither the graph nor the collection changes.
    let mut txn = graphs.begin_write().unwrap();
    txn.graph("g").unwrap().create_node(vec!["Model".into()], Default::default()).unwrap();
    let mut load = xml.begin_load("c").unwrap();
    load.add_document("d", "<model/>".as_bytes()).unwrap();
    let failed = txn.commit_through(|_batch| Err(Error::InvalidName("refused".into())));
    assert!(failed.is_err());
    drop(load);
    assert_eq!(model_count(&graphs), 0);
    assert!(xml.collection("c").is_err());

    // The joint commit: both at once, from one batch.
    let mut txn = graphs.begin_write().unwrap();
    txn.graph("g").unwrap().create_node(vec!["Model".into()], Default::default()).unwrap();
    let mut load = xml.begin_load("c").unwrap();
    load.add_document("d", "<model/>".as_bytes()).unwrap();
    txn.commit_through(|batch| load.commit_with(batch).map(|_| ())).unwrap();
    assert_eq!(model_count(&graphs), 1);
    assert_eq!(xml.collection("c").unwrap().len(), 1);

    // Reopened from storage, both are there.
    let graphs = GraphStore::open(storage.clone());
    let xml = XmlStore::open(storage).unwrap();
    assert_eq!(model_count(&graphs), 1);
    assert_eq!(xml.collection("c").unwrap().len(), 1);
}
