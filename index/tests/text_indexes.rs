//! Text indexes of the graph store through its public API: an LIndex built,
//! persisted, kept in step with commits and rollbacks; full-text search with a
//! transaction's own changes.

use std::sync::Arc;

use roaring::RoaringTreemap;
use sprig_index::graph::text::{StepPattern, TextIndexDef, TextIndexKind, TextTest, DEFAULT_WALKS};
use sprig_index::graph::{Direction, GraphStore, NodeId, Overlay, Properties, PropertyValue};
use sprig_index::{MemoryStorage, Storage};
fn text(s: &str) -> PropertyValue {
    PropertyValue::String(s.into())
}

fn person(g: &mut Overlay, bio: &str) -> NodeId {
    let props = [("bio".to_string(), text(bio))].into_iter().collect();
    g.create_node(vec!["Person".into()], props).unwrap()
}

fn lindex(hops: u32) -> TextIndexDef {
    TextIndexDef {
        name: "bios".into(),
        kind: TextIndexKind::LIndex { hops, walks: DEFAULT_WALKS },
        on_relationships: false,
        label: "Person".into(),
        properties: vec!["bio".into()],
    }
}

fn knows_in() -> Vec<StepPattern> {
    vec![StepPattern { direction: Some(Direction::Incoming), types: vec!["KNOWS".into()], labels: vec![] }]
}

fn ids(b: Option<Arc<RoaringTreemap>>) -> Vec<u64> {
    b.map(|b| b.iter().collect()).unwrap_or_default()
}

#[test]
fn lindex_is_built_persisted_and_kept_in_step() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
    let store = GraphStore::open(storage.clone());
    let mut txn = store.begin_write().unwrap();
    let g = txn.graph("g").unwrap();
    let a = person(g, "red apple");
    let b = person(g, "green pear");
    let c = person(g, "blue");
    g.create_rel("KNOWS", a, b, Properties::new()).unwrap();
    g.create_rel("KNOWS", b, c, Properties::new()).unwrap();
    assert!(g.create_text_index(lindex(1)).unwrap());
    txn.commit().unwrap();

    let contains = |s: &str| vec![TextTest::Contains(s.into())];
    let mut r = store.begin_read();
    let g = r.graph("g").unwrap();
    assert_eq!(ids(g.lindex_candidates("bios", &[], "bio", &contains("ppl")).unwrap()), [a]);
    assert_eq!(ids(g.lindex_candidates("bios", &knows_in(), "bio", &contains("apple")).unwrap()), [b]);
    assert_eq!(ids(g.lindex_candidates("bios", &knows_in(), "bio", &contains("ea")).unwrap()), [c]);
    assert_eq!(g.lindex_candidates("bios", &[], "bio", &contains(" ")).unwrap(), None);
    drop(r);

    // Another store over the same storage loads the committed files.
    let reopened = GraphStore::open(storage.clone());
    let mut r = reopened.begin_read();
    let g = r.graph("g").unwrap();
    assert_eq!(ids(g.lindex_candidates("bios", &knows_in(), "bio", &contains("apple")).unwrap()), [b]);
    drop(r);

    // Inside a transaction its changes are candidates; after rollback they are gone.
    let mut txn = store.begin_write().unwrap();
    let g = txn.graph("g").unwrap();
    g.set_node_property(c, "bio", Some(text("apple pie"))).unwrap();
    let found = ids(g.lindex_candidates("bios", &[], "bio", &contains("apple")).unwrap());
    assert!(found.contains(&a) && found.contains(&c));
    drop(txn);
    let mut r = store.begin_read();
    assert_eq!(ids(r.graph("g").unwrap().lindex_candidates("bios", &[], "bio", &contains("apple")).unwrap()), [a]);
    drop(r);

    // A committed relationship change reaches the other end's document.
    let mut txn = store.begin_write().unwrap();
    let g = txn.graph("g").unwrap();
    g.create_rel("KNOWS", a, c, Properties::new()).unwrap();
    txn.commit().unwrap();
    let mut r = store.begin_read();
    let g = r.graph("g").unwrap();
    assert_eq!(ids(g.lindex_candidates("bios", &knows_in(), "bio", &contains("apple")).unwrap()), [b, c]);
}

#[test]
fn fulltext_sees_commits_and_own_changes() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
    let store = GraphStore::open(storage);
    let mut txn = store.begin_write().unwrap();
    let g = txn.graph("g").unwrap();
    let a = person(g, "The quick brown fox");
    let b = person(g, "a lazy dog, quick quick");
    let def = TextIndexDef { name: "ft".into(), kind: TextIndexKind::FullText, ..lindex(0) };
    assert!(g.create_text_index(def).unwrap());
    txn.commit().unwrap();
    let mut r = store.begin_read();
    let hits = r.graph("g").unwrap().fulltext_query("ft", "quick", false).unwrap();
    assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [b, a]);
    assert!(r.graph("g").unwrap().fulltext_query("ft", "title:(", false).is_err());
    drop(r);
    let mut txn = store.begin_write().unwrap();
    let g = txn.graph("g").unwrap();
    g.set_node_property(a, "bio", Some(text("slow"))).unwrap();
    let c = person(g, "quick thinking");
    let hits = g.fulltext_query("ft", "quick", false).unwrap();
    let mut found: Vec<u64> = hits.iter().map(|h| h.0).collect();
    found.sort();
    assert_eq!(found, [b, c]);
    txn.commit().unwrap();
    let mut r = store.begin_read();
    assert_eq!(r.graph("g").unwrap().fulltext_query("ft", "FOX", false).unwrap(), []);
    assert_eq!(r.graph("g").unwrap().fulltext_query("ft", "thinking", false).unwrap().len(), 1);
}
