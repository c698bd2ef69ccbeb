//! The catalog of XML collections: atomic loads by generation, pinned snapshots for
//! readers, and clean-up of generations nobody can see any more.
//!
//! A load writes everything under a fresh generation number, invisible to readers;
//! `commit` publishes it with one catalog write. A failed or abandoned load deletes
//! its generation, and `open` deletes generations left by a crash, so the database is
//! always exactly as before the load or exactly as after it.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::cache::SharedCache;
use crate::codec::{Decoder, Encoder, FORMAT_VERSION};
use crate::keys::xml as keys;
use crate::storage::{Keyspace, Storage, WriteBatch};
use crate::xml::cache::XmlCache;
use crate::xml::collection_meta::{CollectionMeta, DocEntry};
use crate::xml::document::Document;
use crate::xml::ingest::{DocStats, DocumentIngest};
use crate::xml::names::NameTable;
use crate::xml::path_summary::PathSummary;
use crate::xml::DocMeta;
use crate::{Error, Result};

/// The XML collections of one database. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct XmlStore {
    storage: Arc<dyn Storage>,
    /// Decoded chunks and region segments, shared by every reader.
    cache: XmlCache,
    /// Held by the one load in progress.
    writer: Mutex<()>,
    registry: Arc<Mutex<GenerationRegistry>>,
}

/// Which generations readers still use, and which were replaced meanwhile.
#[derive(Debug, Default)]
struct GenerationRegistry {
    pins: HashMap<u64, usize>,
    retired: HashSet<u64>,
}

/// A catalog entry, as listed by `collections`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionInfo {
    pub name: String,
    pub generation: u64,
    pub documents: u32,
    pub nodes: u64,
    pub bytes: u64,
}

impl XmlStore {
    /// Opens the store on `storage`: checks the format version (writing it on a new
    /// database) and removes generations that no catalog entry references.
    pub fn open(storage: Arc<dyn Storage>) -> Result<Self> {
        Self::open_with_cache(storage, Arc::default())
    }

    /// [`open`](Self::open), keeping decoded data in `cache` (which the database's
    /// other stores share, so that one budget bounds them all).
    pub fn open_with_cache(storage: Arc<dyn Storage>, cache: Arc<SharedCache>) -> Result<Self> {
        let format = storage.get(Keyspace::Meta, keys::FORMAT)?;
        let format = match format {
            // A new database, which another process may be creating too: the first
            // writer writes the version, the others read it (nothing is cached yet, so
            // this handle may move to the newest version here).
            None if storage.shared() => {
                storage.begin_writes()?;
                let written = (|| {
                    if let Some(newest) = storage.newer_version()? {
                        storage.read_at(newest)?;
                    }
                    let format = storage.get(Keyspace::Meta, keys::FORMAT)?;
                    if format.is_none() {
                        write_format(storage.as_ref())?;
                    }
                    Ok::<_, Error>(format)
                })();
                storage.end_writes();
                written?
            }
            None => {
                write_format(storage.as_ref())?;
                None
            }
            found => found,
        };
        if let Some(v) = format {
            let found = Decoder::new(&v, "format version").u32()?;
            if found != FORMAT_VERSION {
                return Err(Error::FormatVersion { found, expected: FORMAT_VERSION });
            }
        }
        let store = XmlStore { storage, cache: XmlCache::new(cache), writer: Mutex::new(()), registry: Arc::default() };
        // Where other processes write too, a generation no catalog entry names may be
        // a load under way: only a writer collects (see `begin_load`).
        if !store.storage.shared() {
            store.collect_garbage()?;
        }
        Ok(store)
    }

    /// Removes generations that no catalog entry references and no reader of this
    /// process uses (readers of other processes keep reading the versions they pin).
    fn collect_garbage(&self) -> Result<()> {
        let mut live: HashSet<u64> = self.collections()?.into_iter().map(|c| c.generation).collect();
        live.extend(self.lock_registry()?.pins.keys().copied());
        let mut dead = HashSet::new();
        // Visit one key per generation (seeking past each), not every key: opening a
        // large database must not read its data.
        for ks in DATA_KEYSPACES {
            let mut from = Vec::new();
            while let Some(key) = self.storage.next_key(ks, &from)? {
                let Some(gen) = keys::generation_of(&key) else { break };
                if !live.contains(&gen) {
                    dead.insert(gen);
                }
                match gen.checked_add(1) {
                    Some(next) => from = keys::generation(next),
                    None => break,
                }
            }
        }
        for gen in dead {
            drop_generation(self.storage.as_ref(), &self.cache, gen)?;
        }
        Ok(())
    }

    /// Every collection, by name.
    pub fn collections(&self) -> Result<Vec<CollectionInfo>> {
        let mut res = Vec::new();
        for (key, value) in self.storage.scan_prefix(Keyspace::Catalog, &[])? {
            let name = String::from_utf8(key).map_err(|e| Error::corrupted("catalog", e))?;
            res.push(decode_catalog_entry(name, &value)?);
        }
        Ok(res)
    }

    fn lock_registry(&self) -> Result<MutexGuard<'_, GenerationRegistry>> {
        self.registry.lock().map_err(|_| Error::corrupted("generation registry", "lock poisoned"))
    }

    /// A consistent snapshot of collection `name`; later loads do not change it.
    pub fn collection(&self, name: &str) -> Result<Collection> {
        // Read the catalog and pin under the registry lock, so that a commit cannot
        // retire the generation in between.
        let info = {
            let mut registry = self.lock_registry()?;
            let value = self
                .storage
                .get(Keyspace::Catalog, name.as_bytes())?
                .ok_or_else(|| Error::UnknownCollection(name.to_string()))?;
            let info = decode_catalog_entry(name.to_string(), &value)?;
            *registry.pins.entry(info.generation).or_default() += 1;
            info
        };
        let pin = Arc::new(Pin {
            storage: self.storage.clone(),
            cache: self.cache.clone(),
            registry: self.registry.clone(),
            gen: info.generation,
        });
        // Decoding the path summary of a recursive document (a hundred thousand
        // paths and their indexes) costs milliseconds: once per generation.
        let meta = self.cache.get_or_load(self.cache.collection_key(info.generation), || {
            let meta = self.read_collection_meta(&info)?;
            let size = meta.decoded_bytes();
            Ok((meta, size))
        })?;
        Ok(Collection {
            storage: self.storage.clone(),
            cache: self.cache.clone(),
            info,
            names: meta.names.clone(),
            paths: meta.paths.clone(),
            docs: meta.docs.clone(),
            _pin: pin,
        })
    }

    fn read_collection_meta(&self, info: &CollectionInfo) -> Result<CollectionMeta> {
        let name = &info.name;
        let meta = self
            .storage
            .get(Keyspace::DocMeta, &keys::collection_meta(info.generation))?
            .ok_or_else(|| Error::corrupted("collection metadata", format!("missing for '{name}'")))?;
        let mut dec = Decoder::new(&meta, "collection metadata");
        let names = NameTable::decode(&mut dec)?;
        let paths = PathSummary::decode(&mut dec)?;
        let mut docs = Vec::with_capacity(info.documents as usize);
        for doc in 0..info.documents {
            let bytes = self
                .storage
                .get(Keyspace::DocMeta, &keys::doc_meta(info.generation, doc))?
                .ok_or_else(|| Error::corrupted("document metadata", format!("document {doc} of '{name}' missing")))?;
            let meta = DocMeta::decode(&bytes)?;
            let patches = Arc::new(meta.patches.iter().copied().collect());
            docs.push((Arc::new(meta), patches));
        }
        Ok(CollectionMeta { names: Arc::new(names), paths: Arc::new(paths), docs })
    }

    /// Starts loading collection `name`; it replaces any collection of that name on
    /// [`CollectionLoad::commit`]. Only one load runs at a time.
    pub fn begin_load(&self, name: &str) -> Result<CollectionLoad<'_>> {
        let guard = self.writer.lock().map_err(|_| Error::corrupted("writer lock", "lock poisoned"))?;
        if self.storage.shared() {
            // This process holds the right to write: no other load is under way, and
            // what a load that died left behind goes now.
            self.collect_garbage()?;
        }
        let gen = match self.storage.get(Keyspace::Meta, keys::NEXT_GEN)? {
            Some(v) => Decoder::new(&v, "generation counter").u64()?,
            None => 1,
        };
        let mut batch = WriteBatch::default();
        batch.put(Keyspace::Meta, keys::NEXT_GEN.to_vec(), (gen + 1).to_le_bytes().to_vec());
        self.storage.apply(batch)?;
        Ok(CollectionLoad {
            store: self,
            _guard: guard,
            name: name.to_string(),
            gen,
            names: NameTable::default(),
            paths: PathSummary::default(),
            doc_names: Vec::new(),
            stats: DocStats::default(),
            committed: false,
        })
    }

    /// Puts document `doc_name` into collection `name`: it replaces the document of
    /// that name in its place, or comes after the others, or makes a new collection.
    /// The other documents are kept; readers keep their snapshot, and on any error
    /// the collection is left as it was. Returns the document's stats and whether it
    /// replaced one.
    pub fn put_document(&self, name: &str, doc_name: &str, input: impl Read) -> Result<(DocStats, bool)> {
        let mut load = self.begin_load(name)?;
        // The writer lock is held: no commit can retire the old generation meanwhile.
        let old = self
            .storage
            .get(Keyspace::Catalog, name.as_bytes())?
            .map(|v| decode_catalog_entry(name.to_string(), &v))
            .transpose()?;
        let Some(old) = old else {
            let stats = load.add_document(doc_name, input)?;
            load.commit()?;
            return Ok((stats, false));
        };
        let meta = self.read_collection_meta(&old)?;
        let replaced = meta.docs.iter().position(|(doc, _)| doc.name == doc_name);
        load.copy_from(&old, &meta, replaced)?;
        let stats = match replaced {
            Some(doc) => load.ingest(doc as u32, doc_name, input)?,
            None => load.add_document(doc_name, input)?,
        };
        load.commit()?;
        Ok((stats, replaced.is_some()))
    }

    /// Removes collection `name`. Returns false when there was none.
    pub fn drop_collection(&self, name: &str) -> Result<bool> {
        let _guard = self.writer.lock().map_err(|_| Error::corrupted("writer lock", "lock poisoned"))?;
        let Some(value) = self.storage.get(Keyspace::Catalog, name.as_bytes())? else { return Ok(false) };
        let info = decode_catalog_entry(name.to_string(), &value)?;
        let mut batch = WriteBatch::default();
        batch.delete(Keyspace::Catalog, name.as_bytes().to_vec());
        self.publish(batch, Some(info.generation))?;
        Ok(true)
    }

    /// Applies a catalog change, then retires `old` (dropping it now if unpinned).
    fn publish(&self, batch: WriteBatch, old: Option<u64>) -> Result<()> {
        let drop_now = {
            let mut registry = self.lock_registry()?;
            self.storage.apply(batch)?;
            self.storage.flush()?;
            match old {
                Some(gen) if registry.pins.get(&gen).copied().unwrap_or(0) > 0 => {
                    registry.retired.insert(gen);
                    None
                }
                other => other,
            }
        };
        if let Some(gen) = drop_now {
            drop_generation(self.storage.as_ref(), &self.cache, gen)?;
        }
        Ok(())
    }
}

/// How many bytes of copied keys and values a document copy writes at a time.
const COPY_BATCH_BYTES: usize = 16 << 20;

/// The keyspaces whose keys start with a generation.
const DATA_KEYSPACES: [Keyspace; 5] =
    [Keyspace::DocMeta, Keyspace::Nodes, Keyspace::Postings, Keyspace::Ids, Keyspace::Regions];

/// Marks a new database with the format version.
fn write_format(storage: &dyn Storage) -> Result<()> {
    let mut batch = WriteBatch::default();
    batch.put(Keyspace::Meta, keys::FORMAT.to_vec(), FORMAT_VERSION.to_le_bytes().to_vec());
    storage.apply(batch)?;
    storage.flush()
}

fn decode_catalog_entry(name: String, value: &[u8]) -> Result<CollectionInfo> {
    let mut dec = Decoder::new(value, "catalog");
    Ok(CollectionInfo { name, generation: dec.u64()?, documents: dec.u32()?, nodes: dec.u64()?, bytes: dec.u64()? })
}

fn drop_generation(storage: &dyn Storage, cache: &XmlCache, gen: u64) -> Result<()> {
    cache.forget_generation(gen);
    let prefix = keys::generation(gen);
    for ks in DATA_KEYSPACES {
        let mut batch = WriteBatch::default();
        for key in storage.keys_with_prefix(ks, &prefix)? {
            batch.delete(ks, key);
        }
        if !batch.is_empty() {
            storage.apply(batch)?;
        }
    }
    Ok(())
}

/// Keeps a generation alive while a reader uses it.
#[derive(Debug)]
struct Pin {
    storage: Arc<dyn Storage>,
    cache: XmlCache,
    registry: Arc<Mutex<GenerationRegistry>>,
    gen: u64,
}

impl Drop for Pin {
    fn drop(&mut self) {
        let Ok(mut registry) = self.registry.lock() else { return };
        let count = registry.pins.entry(self.gen).or_default();
        *count = count.saturating_sub(1);
        if *count == 0 {
            registry.pins.remove(&self.gen);
            if registry.retired.remove(&self.gen) {
                // A failure here leaves unreferenced keys, which the next open removes.
                let _ = drop_generation(self.storage.as_ref(), &self.cache, self.gen);
            }
        }
    }
}

/// A load in progress. Dropping it without [`CollectionLoad::commit`] discards
/// everything it wrote.
#[derive(Debug)]
pub struct CollectionLoad<'a> {
    store: &'a XmlStore,
    _guard: MutexGuard<'a, ()>,
    name: String,
    gen: u64,
    names: NameTable,
    paths: PathSummary,
    doc_names: Vec<String>,
    stats: DocStats,
    committed: bool,
}

impl CollectionLoad<'_> {
    /// Streams one document into the collection, as its next document.
    pub fn add_document(&mut self, doc_name: &str, input: impl Read) -> Result<DocStats> {
        let doc = self.doc_names.len() as u32;
        let stats = self.ingest(doc, doc_name, input)?;
        self.doc_names.push(doc_name.to_string());
        Ok(stats)
    }

    /// Streams one document in as document number `doc`.
    fn ingest(&mut self, doc: u32, doc_name: &str, input: impl Read) -> Result<DocStats> {
        let ingest = DocumentIngest::new(self.store.storage.as_ref(), self.gen, doc, &mut self.names, &mut self.paths)?;
        let stats = ingest.run(doc_name, input)?;
        self.stats.add(&stats);
        Ok(stats)
    }

    /// Starts from collection `old`: its names and path summary, and its documents
    /// copied key by key into this generation at the same numbers (the values hold
    /// no generation or document number, so they copy as they are), except document
    /// `skip`. Copying reads no XML; it costs a read and a write per key.
    fn copy_from(&mut self, old: &CollectionInfo, meta: &CollectionMeta, skip: Option<usize>) -> Result<()> {
        self.names = (*meta.names).clone();
        self.paths = (*meta.paths).clone();
        let storage = self.store.storage.as_ref();
        for (doc, (doc_meta, _)) in meta.docs.iter().enumerate() {
            self.doc_names.push(doc_meta.name.clone());
            if Some(doc) == skip {
                // Its nodes leave the path counts; its names and paths stay (unused ids
                // cost nothing, and renumbering would mean rewriting every document).
                let spans = super::region_table::read_directory(storage, old.generation, doc as u32)?;
                for (path, (_, regions)) in spans.into_iter().enumerate() {
                    self.paths.uncount(path as u32, u64::from(regions));
                }
                continue;
            }
            self.stats.add(&doc_meta.stats);
            let doc = doc as u32;
            let mut batch = WriteBatch::default();
            let mut batch_bytes = 0usize;
            let copy = |ks: Keyspace, key: &[u8], batch: &mut WriteBatch| -> Result<usize> {
                let value = storage
                    .get(ks, key)?
                    .ok_or_else(|| Error::corrupted("document copy", format!("a key of '{}' vanished", old.name)))?;
                let mut moved = keys::generation(self.gen);
                moved.extend_from_slice(key.get(8..).unwrap_or_default());
                let size = moved.len() + value.len();
                batch.put(ks, moved, value);
                Ok(size)
            };
            batch_bytes += copy(Keyspace::DocMeta, &keys::doc_meta(old.generation, doc), &mut batch)?;
            let prefix = keys::document(old.generation, doc);
            for ks in [Keyspace::Nodes, Keyspace::Postings, Keyspace::Ids, Keyspace::Regions] {
                for key in storage.keys_with_prefix(ks, &prefix)? {
                    batch_bytes += copy(ks, &key, &mut batch)?;
                    // The new generation is unreachable until commit: it may be
                    // written in pieces, which bounds the memory a copy holds.
                    if batch_bytes >= COPY_BATCH_BYTES {
                        storage.apply(std::mem::take(&mut batch))?;
                        batch_bytes = 0;
                    }
                }
            }
            storage.apply(batch)?;
        }
        Ok(())
    }

    /// Publishes the collection, replacing the previous one of that name atomically.
    pub fn commit(self) -> Result<DocStats> {
        self.commit_with(WriteBatch::default())
    }

    /// [`CollectionLoad::commit`], applying `extra` in the same atomic batch as the
    /// publication: both are visible after a crash, or neither is.
    pub fn commit_with(mut self, extra: WriteBatch) -> Result<DocStats> {
        let old = self
            .store
            .storage
            .get(Keyspace::Catalog, self.name.as_bytes())?
            .map(|v| decode_catalog_entry(self.name.clone(), &v))
            .transpose()?;
        let mut meta = Encoder::default();
        self.names.encode(&mut meta);
        self.paths.encode(&mut meta);
        let mut entry = Encoder::default();
        entry.u64(self.gen).u32(self.doc_names.len() as u32).u64(self.stats.nodes).u64(self.stats.bytes);
        let mut batch = WriteBatch::default();
        batch.put(Keyspace::DocMeta, keys::collection_meta(self.gen), meta.finish());
        batch.put(Keyspace::Catalog, self.name.as_bytes().to_vec(), entry.finish());
        batch.append(extra);
        self.store.publish(batch, old.map(|o| o.generation))?;
        self.committed = true;
        Ok(self.stats)
    }
}

impl Drop for CollectionLoad<'_> {
    fn drop(&mut self) {
        if !self.committed {
            // A failure here leaves unreferenced keys, which the next open removes.
            let _ = drop_generation(self.store.storage.as_ref(), &self.store.cache, self.gen);
        }
    }
}

/// A pinned snapshot of one collection: its names, path summary and documents.
#[derive(Debug, Clone)]
pub struct Collection {
    storage: Arc<dyn Storage>,
    cache: XmlCache,
    info: CollectionInfo,
    names: Arc<NameTable>,
    paths: Arc<PathSummary>,
    /// Per document: its metadata and its end patches as a map.
    docs: Vec<DocEntry>,
    _pin: Arc<Pin>,
}

impl Collection {
    pub fn info(&self) -> &CollectionInfo {
        &self.info
    }
    pub fn names(&self) -> &NameTable {
        &self.names
    }
    pub fn paths(&self) -> &PathSummary {
        &self.paths
    }
    pub(crate) fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }
    /// Number of documents, in load order.
    pub fn len(&self) -> u32 {
        self.docs.len() as u32
    }
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
    /// A reader over document `idx` (0-based, in load order).
    pub fn document(&self, idx: u32) -> Result<Document> {
        let meta =
            self.docs.get(idx as usize).ok_or_else(|| Error::corrupted("collection", format!("no document {idx}")))?;
        let (meta, patches) = meta;
        Ok(Document::new(
            self.storage.clone(),
            self.cache.clone(),
            self.info.generation,
            idx,
            meta.clone(),
            patches.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;
    use crate::xml::node::NodeKind;

    fn store() -> XmlStore {
        XmlStore::open(Arc::new(MemoryStorage::default())).unwrap()
    }

    fn load(store: &XmlStore, name: &str, xml: &str) -> Result<DocStats> {
        let mut l = store.begin_load(name)?;
        l.add_document(name, xml.as_bytes())?;
        l.commit()
    }

    #[test]
    fn region_labels_and_path_summary() {
        let s = store();
        load(&s, "d", "<a x='1'><b>t</b><b/><!--c--></a>").unwrap();
        let c = s.collection("d").unwrap();
        let doc = c.document(0).unwrap();
        // root, a, @x, b, text, b, comment
        let kinds: Vec<_> = (0..doc.len()).map(|p| doc.node(p).unwrap().kind).collect();
        use NodeKind::*;
        assert_eq!(kinds, vec![Root, Element, Attribute, Element, Text, Element, Comment]);
        let a = doc.node(1).unwrap();
        assert_eq!((a.parent, a.end, a.level), (0, 6, 1));
        let text = doc.node(4).unwrap();
        assert_eq!((text.parent, text.end, text.level), (3, 4, 3));
        // Both b elements share one path; the path's postings hold exactly them.
        assert_eq!(doc.node(3).unwrap().path, doc.node(5).unwrap().path);
        let b_path = doc.node(3).unwrap().path;
        assert_eq!(doc.path_postings(b_path).unwrap().iter().collect::<Vec<_>>(), vec![3, 5]);
        assert_eq!(c.paths().get(b_path).unwrap().level, 2);
        assert_eq!(c.paths().get(b_path).unwrap().count, 2);
        // The structure-context index: both b regions, at one level, never nested.
        assert_eq!(doc.regions(b_path).unwrap(), vec![(3, 4), (5, 5)]);
        assert_eq!(doc.regions(doc.node(1).unwrap().path).unwrap(), vec![(1, 6)]);
        assert_eq!(doc.regions(0).unwrap(), vec![(0, 6)]);
        // Non-element partitions hold leaves: the attribute and the text node.
        assert_eq!(doc.regions(doc.node(2).unwrap().path).unwrap(), vec![(2, 2)]);
        assert_eq!(doc.regions(doc.node(4).unwrap().path).unwrap(), vec![(4, 4)]);
        assert_eq!(doc.string_value(0).unwrap(), "t");
    }

    #[test]
    fn ends_are_patched_across_chunks() {
        let s = store();
        let mut xml = String::from("<r>");
        for i in 0..20_000 {
            xml.push_str(&format!("<e n='{i}'>x</e>"));
        }
        xml.push_str("</r>");
        load(&s, "big", &xml).unwrap();
        let doc = s.collection("big").unwrap().document(0).unwrap();
        assert_eq!(doc.node(1).unwrap().end, doc.len() - 1);
        // 20,000 each of e, @n and text: the @n partition (regions 20,002 to 40,001)
        // crosses from the first region segment into the second.
        let n = doc.node(3).unwrap().path;
        let regions = doc.regions(n).unwrap();
        assert_eq!(regions.len(), 20_000);
        assert!(regions.windows(2).all(|w| w[0].1 < w[1].0 && w[1].0 - w[0].0 == 3));
        assert_eq!(doc.path_postings(n).unwrap().len(), 20_000);
        assert_eq!(doc.node(0).unwrap().end, doc.len() - 1);
    }

    #[test]
    fn bulk_reads_match_single_node_reads() {
        let s = store();
        let mut xml = String::from("<r>");
        for i in 0..20_000 {
            xml.push_str(&format!("<e n='{i}'>x{}<f/>y</e>", i % 7));
        }
        xml.push_str("</r>");
        load(&s, "big", &xml).unwrap();
        let doc = s.collection("big").unwrap().document(0).unwrap();
        let kind_of = |p: u32| doc.node(p).unwrap().kind;
        // Every e element and @n attribute: enough to split over workers.
        let pres: Vec<u32> =
            (0..doc.len()).filter(|&p| matches!(kind_of(p), NodeKind::Element | NodeKind::Attribute)).collect();
        let test = |v: &str| v.ends_with('3') || v == "x5y";
        let bulk = doc.string_values_pass(&pres, test).unwrap();
        let single: Vec<bool> = pres.iter().map(|&p| test(&doc.string_value(p).unwrap())).collect();
        assert_eq!(bulk, single);
        assert!(bulk.iter().filter(|&&b| b).count() > 2_000);
        // Region-table searches against node records: every third f element (the
        // partition crosses region segments), found by pre, then its e parent and r.
        let fs: Vec<u32> = pres
            .iter()
            .copied()
            .filter(|&p| doc.node(p).unwrap().kind == NodeKind::Element && doc.node(p).unwrap().level == 3)
            .collect();
        assert_eq!(fs.len(), 20_000);
        let f_path = doc.node(fs[0]).unwrap().path;
        let e_path = doc.node(2).unwrap().path;
        let mut wanted: Vec<u32> = fs.iter().copied().step_by(3).collect();
        wanted.extend([0, 2, doc.len() - 1]); // not f elements: left out
        wanted.sort_unstable();
        let found = doc.locate(&[e_path, f_path], &wanted).unwrap();
        let expected: Vec<(u32, u32, u32)> = wanted
            .iter()
            .map(|&p| (p, doc.node(p).unwrap()))
            .filter(|(_, rec)| rec.kind == NodeKind::Element)
            .map(|(p, rec)| (p, rec.end, rec.path))
            .collect();
        assert_eq!(found.len(), 6_668); // 6,667 f elements and e at 2
        assert_eq!(found, expected);
        let parents: Vec<(u32, u32)> =
            fs.iter().step_by(3).map(|&p| doc.node(p).unwrap().parent).map(|e| (e, doc.node(e).unwrap().end)).collect();
        let f_pres: Vec<u32> = fs.iter().copied().step_by(3).collect();
        assert_eq!(doc.enclosing(e_path, &f_pres).unwrap(), parents);
        let r_path = doc.node(1).unwrap().path;
        assert_eq!(doc.enclosing(r_path, &f_pres).unwrap(), vec![(1, doc.len() - 1)]);
        assert_eq!(doc.enclosing(f_path, &[0, 1, 2]).unwrap(), vec![]);
        // Inputs large enough to split over workers: every element and attribute
        // (the e and f partitions interleave), and one ancestor for all 20,000 f.
        let found = doc.locate(&[e_path, f_path], &pres).unwrap();
        let expected: Vec<(u32, u32, u32)> = pres
            .iter()
            .map(|&p| (p, doc.node(p).unwrap()))
            .filter(|(_, rec)| rec.kind == NodeKind::Element && rec.level >= 2)
            .map(|(p, rec)| (p, rec.end, rec.path))
            .collect();
        assert_eq!((found.len(), &found), (40_000, &expected));
        assert_eq!(doc.enclosing(r_path, &fs).unwrap(), vec![(1, doc.len() - 1)]);
        let within: Vec<(u32, u32)> = found.iter().map(|&(pre, end, _)| (pre, end)).collect();
        let holds_f: Vec<bool> = found.iter().map(|&(_, _, path)| path == e_path).collect();
        assert_eq!(doc.any_within(&[f_path], &within).unwrap(), holds_f);
        let mut reader = doc.reader();
        assert!(reader.any_attribute(&doc, 2, |_, v| v == "0").unwrap());
        assert!(!reader.any_attribute(&doc, 2, |_, v| v == "1").unwrap());
    }

    #[test]
    fn a_failed_load_keeps_the_old_collection_and_a_pinned_snapshot_survives_replacement() {
        let s = store();
        load(&s, "d", "<a>old</a>").unwrap();
        let pinned = s.collection("d").unwrap();
        let err = load(&s, "d", "<a><b></a>").unwrap_err();
        assert!(matches!(err, Error::Xml { line: 1, .. }), "{err}");
        assert_eq!(s.collection("d").unwrap().document(0).unwrap().string_value(0).unwrap(), "old");
        load(&s, "d", "<a>new</a>").unwrap();
        assert_eq!(s.collection("d").unwrap().document(0).unwrap().string_value(0).unwrap(), "new");
        // The replaced generation stays readable while pinned.
        assert_eq!(pinned.document(0).unwrap().string_value(0).unwrap(), "old");
        drop(pinned);
        assert_eq!(s.collections().unwrap().len(), 1);
    }

    #[test]
    fn malformed_inputs_are_errors_with_positions() {
        let s = store();
        for (xml, line) in [("<a>\n<b>\n</c></a>", 3), ("", 1), ("<a/><b/>", 1), ("<a>&nope;</a>", 1), ("<p:a/>", 1)] {
            match load(&s, "bad", xml) {
                Err(Error::Xml { line: l, .. }) => assert_eq!(l, line, "{xml}"),
                other => panic!("{xml}: {other:?}"),
            }
        }
        assert!(s.collections().unwrap().is_empty());
    }
}
