//! One text index (an LIndex or a full-text index) as a tantivy index held in memory
//! and persisted file by file in the database's storage, in the same batch as the graph
//! commit that changed it: the stored index always matches the stored graph.
//!
//! Tantivy's segment files never change once written (deletions go to new `.del`
//! files), so a commit stores the files the new `meta.json` names and deletes the
//! ones it no longer names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use roaring::RoaringTreemap;
use tantivy::directory::{Directory, RamDirectory};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STRING};
use tantivy::{DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, TERMINATED};

use super::terms::{
    fragments, path_matches, saturated_term, scan_prefix, split_term, term_stem, StepPattern, TextTest, LONG,
};
use super::{TextIndexDef, TextIndexKind};
use crate::graph::store::KS;
use crate::keys::graph::graph_prefix;
use crate::storage::{Storage, WriteBatch};
use crate::{Error, Result};

const META_FILE: &str = "meta.json";
/// Above this many segments a commit merges them into one.
const MAX_SEGMENTS: usize = 8;

pub(crate) fn tantivy_error(e: impl std::fmt::Display) -> Error {
    Error::corrupted("text index", e)
}

/// The fields of a text index's schema.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub id: Field,
    /// LIndex: the path terms (raw, one value per term).
    pub terms: Field,
    /// Full-text: one analysed field per property, named like it.
    pub text: Vec<Field>,
}

fn schema(def: &TextIndexDef) -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_u64_field("~id", INDEXED | FAST);
    let terms = b.add_text_field("~terms", STRING);
    let text = match def.kind {
        TextIndexKind::LIndex { .. } => Vec::new(),
        TextIndexKind::FullText => {
            let indexing = TextFieldIndexing::default()
                .set_tokenizer("default")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions);
            let options = TextOptions::default().set_indexing_options(indexing);
            def.properties.iter().map(|p| b.add_text_field(p, options.clone())).collect()
        }
    };
    (b.build(), Fields { id, terms, text })
}

/// Storage key of file `path` of index `name` in `graph`.
fn file_key(graph: &str, name: &str, path: &Path) -> Vec<u8> {
    let mut k = files_prefix(graph, name);
    k.extend_from_slice(path.to_string_lossy().as_bytes());
    k
}

pub(crate) fn files_prefix(graph: &str, name: &str) -> Vec<u8> {
    let mut k = graph_prefix(graph, b't');
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k
}

/// A text index in memory.
pub struct TextIndexHandle {
    pub(crate) def: TextIndexDef,
    pub(crate) index: Index,
    dir: RamDirectory,
    reader: IndexReader,
    pub(crate) fields: Fields,
    writer: Mutex<Option<IndexWriter<TantivyDocument>>>,
    /// Files stored for the last commit (the storage holds exactly these).
    persisted: Mutex<BTreeSet<PathBuf>>,
    /// Dictionary ranges already read, by (segment, range prefix).
    term_lists: Mutex<std::collections::HashMap<(tantivy::index::SegmentId, String), Arc<TermList>>>,
}

impl std::fmt::Debug for TextIndexHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndexHandle").field("def", &self.def).finish()
    }
}

impl TextIndexHandle {
    /// A new, empty index (nothing stored yet).
    pub(crate) fn create(def: TextIndexDef) -> Result<Arc<TextIndexHandle>> {
        let (schema, fields) = schema(&def);
        let dir = RamDirectory::create();
        let index = Index::create(dir.clone(), schema, Default::default()).map_err(tantivy_error)?;
        Self::from_index(def, index, dir, fields, BTreeSet::new())
    }

    /// The index as stored in `storage`.
    pub(crate) fn load(storage: &dyn Storage, graph: &str, def: TextIndexDef) -> Result<Arc<TextIndexHandle>> {
        let prefix = files_prefix(graph, &def.name);
        let dir = RamDirectory::create();
        let mut persisted = BTreeSet::new();
        for key in storage.keys_with_prefix(KS, &prefix)? {
            let bytes = storage.get(KS, &key)?.unwrap_or_default();
            let name = String::from_utf8(key[prefix.len()..].to_vec()).map_err(tantivy_error)?;
            let path = PathBuf::from(name);
            dir.atomic_write(&path, &bytes).map_err(tantivy_error)?;
            persisted.insert(path);
        }
        if !persisted.contains(Path::new(META_FILE)) {
            return Err(Error::corrupted("text index", format!("index '{}' has no stored files", def.name)));
        }
        let (_, fields) = schema(&def);
        let index = Index::open(dir.clone()).map_err(tantivy_error)?;
        Self::from_index(def, index, dir, fields, persisted)
    }

    fn from_index(
        def: TextIndexDef,
        index: Index,
        dir: RamDirectory,
        fields: Fields,
        persisted: BTreeSet<PathBuf>,
    ) -> Result<Arc<TextIndexHandle>> {
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(tantivy_error)?;
        Ok(Arc::new(TextIndexHandle {
            def,
            index,
            dir,
            reader,
            fields,
            writer: Mutex::new(None),
            persisted: Mutex::new(persisted),
            term_lists: Mutex::default(),
        }))
    }

    pub(crate) fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    /// Replaces the documents of `ids` by `docs` (ids without a document are removed).
    /// A `bulk` build gets a writer with two threads and 40 MB each, dropped at its
    /// commit; changes of later commits share one thread and the 15 MB tantivy needs.
    pub(crate) fn replace(&self, ids: impl Iterator<Item = u64>, docs: Vec<TantivyDocument>, bulk: bool) -> Result<()> {
        let mut guard = self.writer.lock().map_err(|_| Error::corrupted("text index", "lock poisoned"))?;
        if guard.is_none() {
            let threads = if bulk { std::thread::available_parallelism().map_or(1, |n| n.get()).min(2) } else { 1 };
            let budget = if bulk { threads * 40_000_000 } else { 15_000_000 };
            let w = self.index.writer_with_num_threads(threads, budget).map_err(tantivy_error)?;
            w.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
            *guard = Some(w);
        }
        let Some(writer) = guard.as_mut() else { return Err(Error::corrupted("text index", "no writer")) };
        for id in ids {
            writer.delete_term(Term::from_field_u64(self.fields.id, id));
        }
        for doc in docs {
            writer.add_document(doc).map_err(tantivy_error)?;
        }
        Ok(())
    }

    /// [`commit`](Self::commit), then puts the file changes into `batch`.
    pub(crate) fn commit_into(&self, graph: &str, batch: &mut WriteBatch, compact: bool) -> Result<()> {
        self.commit(compact)?;
        self.persist_into(graph, batch)
    }

    /// Commits what [`replace`](Self::replace) added, merging small segments; with
    /// `compact` (after a bulk build) every segment is merged into one. The new state
    /// is searchable after [`reload`](Self::reload).
    pub(crate) fn commit(&self, compact: bool) -> Result<()> {
        let mut guard = self.writer.lock().map_err(|_| Error::corrupted("text index", "lock poisoned"))?;
        if let Some(writer) = guard.as_mut() {
            writer.commit().map_err(tantivy_error)?;
            let segments = self.index.searchable_segment_ids().map_err(tantivy_error)?;
            if segments.len() > MAX_SEGMENTS || (compact && segments.len() > 1) {
                writer.merge(&segments).wait().map_err(tantivy_error)?;
            }
        }
        if compact {
            // The bulk writer's memory goes back; later changes get a small writer.
            if let Some(writer) = guard.take() {
                writer.wait_merging_threads().map_err(tantivy_error)?;
            }
        }
        Ok(())
    }

    /// Puts into `batch` the files the last commit added, and deletes the ones it no
    /// longer names, so that storage holds exactly that commit.
    fn persist_into(&self, graph: &str, batch: &mut WriteBatch) -> Result<()> {
        let mut living: BTreeSet<PathBuf> = BTreeSet::new();
        living.insert(PathBuf::from(META_FILE));
        let metas = self.index.load_metas().map_err(tantivy_error)?;
        living.extend(metas.list_segment_files().into_iter().filter(|p| self.dir.exists(p).unwrap_or(false)));
        let mut persisted = self.persisted.lock().map_err(|_| Error::corrupted("text index", "lock poisoned"))?;
        for path in &living {
            if path.as_os_str() == META_FILE || !persisted.contains(path) {
                let bytes = self.dir.atomic_read(path).map_err(tantivy_error)?;
                batch.put(KS, file_key(graph, &self.def.name, path), bytes);
            }
        }
        for path in persisted.difference(&living) {
            batch.delete(KS, file_key(graph, &self.def.name, path));
            let _ = self.dir.delete(path);
        }
        *persisted = living;
        Ok(())
    }

    /// Makes the last commit searchable.
    pub(crate) fn reload(&self) -> Result<()> {
        self.reader.reload().map_err(tantivy_error)
    }

    /// Bytes of the stored files.
    pub fn size_bytes(&self) -> u64 {
        self.dir.total_mem_usage() as u64
    }

    /// Documents in the index.
    pub fn documents(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// Every live document's entity id, with its LIndex terms (sorted) when `terms`
    /// is set: the index read back whole, for `check`. Linear in the index's size.
    pub(crate) fn documents_by_id(&self, terms: bool) -> Result<std::collections::BTreeMap<u64, Vec<String>>> {
        let mut out: std::collections::BTreeMap<u64, Vec<String>> = std::collections::BTreeMap::new();
        for segment in self.searcher().segment_readers() {
            let ids = segment.fast_fields().u64("~id").map_err(tantivy_error)?;
            let alive = segment.alive_bitset();
            let mut by_doc: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
            for doc in 0..segment.max_doc() {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    if let Some(id) = ids.first(doc) {
                        by_doc.insert(doc, id);
                        out.entry(id).or_default();
                    }
                }
            }
            if !terms {
                continue;
            }
            let inverted = segment.inverted_index(self.fields.terms).map_err(tantivy_error)?;
            let mut stream = inverted.terms().stream().map_err(tantivy_error)?;
            while stream.advance() {
                let term = String::from_utf8_lossy(stream.key()).into_owned();
                let mut postings = inverted
                    .read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)
                    .map_err(tantivy_error)?;
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    if let Some(id) = by_doc.get(&doc) {
                        out.entry(*id).or_default().push(term.clone());
                    }
                    doc = postings.advance();
                }
            }
        }
        for list in out.values_mut() {
            list.sort_unstable();
        }
        Ok(out)
    }

    /// The terms of one segment in the dictionary range of `prefix`, split into (path,
    /// property, token), read once: segments never change, so the list never goes stale.
    fn term_list(&self, segment: &tantivy::SegmentReader, prefix: &str) -> Result<Arc<TermList>> {
        let key = (segment.segment_id(), prefix.to_string());
        let mut cache = self.term_lists.lock().map_err(|_| Error::corrupted("text index", "lock poisoned"))?;
        if let Some(l) = cache.get(&key) {
            return Ok(l.clone());
        }
        let inverted = segment.inverted_index(self.fields.terms).map_err(tantivy_error)?;
        let mut upper = prefix.as_bytes().to_vec();
        upper.push(0xFF);
        let mut stream =
            inverted.terms().range().ge(prefix.as_bytes()).lt(&upper).into_stream().map_err(tantivy_error)?;
        let mut list = Vec::new();
        while stream.advance() {
            let Ok(term) = std::str::from_utf8(stream.key()) else { continue };
            let Some((path, prop, token)) = split_term(term) else { continue };
            list.push(ListedTerm {
                path: path.into(),
                prop: prop.into(),
                token: token.into(),
                info: stream.value().clone(),
            });
        }
        let live: BTreeSet<tantivy::index::SegmentId> =
            self.searcher().segment_readers().iter().map(|s| s.segment_id()).collect();
        cache.retain(|(seg, _), _| live.contains(seg));
        let list = Arc::new(list);
        cache.insert(key, list.clone());
        Ok(list)
    }

    /// Nodes whose LIndex document has, along a walk fitting `steps`, text in `property`
    /// that can pass every test; `None` when no test can be pruned by the index.
    pub(crate) fn candidates(
        &self,
        steps: &[StepPattern],
        property: &str,
        tests: &[TextTest],
    ) -> Result<Option<RoaringTreemap>> {
        let searcher = self.searcher();
        let prefix = scan_prefix(steps, property);
        let stem = term_stem("", property);
        let want_prop = &stem[1..stem.len() - 1];
        // Nodes with too many walks of this length to list are kept by every fragment.
        let mut saturated: Vec<u64> = Vec::new();
        if !steps.is_empty() {
            let marker = saturated_term(steps.len());
            for segment in searcher.segment_readers() {
                let inverted = segment.inverted_index(self.fields.terms).map_err(tantivy_error)?;
                let Some(info) = inverted.terms().get(marker.as_bytes()).map_err(tantivy_error)? else { continue };
                let ids = segment.fast_fields().u64("~id").map_err(tantivy_error)?;
                add_postings(&inverted, &info, &ids, segment.alive_bitset(), &mut saturated)?;
            }
        }
        let mut result: Option<RoaringTreemap> = None;
        for test in tests {
            let Some(frags) = fragments(test) else { continue };
            for frag in frags {
                let finder = memchr::memmem::Finder::new(frag.text.as_bytes());
                let mut found: Vec<u64> = Vec::new();
                for segment in searcher.segment_readers() {
                    let list = self.term_list(segment, &prefix)?;
                    let inverted = segment.inverted_index(self.fields.terms).map_err(tantivy_error)?;
                    let ids = segment.fast_fields().u64("~id").map_err(tantivy_error)?;
                    let alive = segment.alive_bitset();
                    for t in list.iter() {
                        if &*t.prop != want_prop || (&*t.token != LONG && !frag.matches(&t.token, &finder)) {
                            continue;
                        }
                        if !path_matches(&t.path, steps) {
                            continue;
                        }
                        add_postings(&inverted, &t.info, &ids, alive, &mut found)?;
                    }
                }
                found.extend_from_slice(&saturated);
                // Ids of one term rise with documents; several terms or segments interleave.
                if !found.is_sorted() {
                    radsort::sort(&mut found);
                }
                found.dedup();
                let found = RoaringTreemap::from_sorted_iter(found).map_err(tantivy_error)?;
                result = Some(match result {
                    None => found,
                    Some(r) => r & found,
                });
            }
        }
        Ok(result)
    }
}

/// Adds the nodes of the live documents of one term's postings to `found` (a list:
/// inserting into a treemap one by one costs a tree lookup each).
fn add_postings(
    inverted: &tantivy::InvertedIndexReader,
    info: &tantivy::postings::TermInfo,
    ids: &tantivy::columnar::Column<u64>,
    alive: Option<&tantivy::fastfield::AliveBitSet>,
    found: &mut Vec<u64>,
) -> Result<()> {
    let mut postings = inverted.read_postings_from_terminfo(info, IndexRecordOption::Basic).map_err(tantivy_error)?;
    let mut doc = postings.doc();
    while doc != TERMINATED {
        if alive.is_none_or(|a| a.is_alive(doc)) {
            if let Some(id) = ids.first(doc) {
                found.push(id);
            }
        }
        doc = postings.advance();
    }
    Ok(())
}

/// One term of a segment's dictionary, split.
struct ListedTerm {
    path: Box<str>,
    prop: Box<str>,
    token: Box<str>,
    info: tantivy::postings::TermInfo,
}

type TermList = Vec<ListedTerm>;

/// The LIndex terms of a document built for the index (see [`TextIndexHandle::documents_by_id`]).
pub(crate) fn document_terms(doc: &TantivyDocument, fields: &Fields) -> Vec<String> {
    use tantivy::schema::Value;
    doc.get_all(fields.terms).filter_map(|v| v.as_str().map(str::to_string)).collect()
}
