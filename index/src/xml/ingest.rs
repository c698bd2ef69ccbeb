//! Streaming XML ingest: one pass over quick-xml events with a stack of open elements.
//!
//! Nodes are numbered in document order as they are met and written out a chunk at a
//! time, so memory holds one chunk, the open-element stack, the name table, the path
//! summary and the posting bitmaps, never the document.

use std::io::Read;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use roaring::RoaringBitmap;

use super::dtd::{resolve_reference, DtdInfo};
use super::names::{NameTable, QName};
use super::node::{Chunk, NodeKind, NodeRecord, CHUNK_NODES, NO_NAME, NO_PARENT, OPEN_END};
use super::path_summary::PathSummary;
use super::position::PositionReader;
use super::region_lists::RegionLists;
use super::value_feed::ValueFeed;
use super::value_index::{ValueOwner, MAX_INDEXED_VALUE};
use super::DocMeta;
use crate::fast_map::FastMap;
use crate::keys::xml as keys;
use crate::storage::{Keyspace, Storage, WriteBatch};
use crate::{Error, Result};

/// Chunks written between two flushes of the storage during a load.
const FLUSH_EVERY_CHUNKS: u32 = 64;

/// Full chunks waiting for the writer thread at most (each about 100-300 KiB).
const CHUNKS_IN_FLIGHT: usize = 4;

/// The writer thread of a load: compresses and stores each chunk it is sent, and
/// flushes the storage now and then so that its dirty pages can be written out.
fn write_chunks(
    storage: &dyn Storage,
    gen: u64,
    doc: u32,
    chunks: std::sync::mpsc::Receiver<(u32, Chunk)>,
) -> Result<()> {
    for (no, chunk) in chunks {
        let mut batch = WriteBatch::default();
        batch.put(Keyspace::Nodes, keys::chunk(gen, doc, no), chunk.encode(no * CHUNK_NODES)?);
        storage.apply(batch)?;
        if (no + 1).is_multiple_of(FLUSH_EVERY_CHUNKS) {
            storage.flush()?;
        }
    }
    Ok(())
}

/// Most text that entity references may add to one document (each entity is also
/// limited to [`super::dtd::MAX_ENTITY_TEXT`]): many references to a large entity
/// would otherwise multiply a small file into gigabytes.
const MAX_ENTITY_EXPANSION: usize = 64 << 20;

/// Most bytes of text the nodes of one chunk may hold: a stored chunk must stay
/// below what the codec reads back (2 GiB).
const MAX_CHUNK_TEXT: usize = 1 << 30;

/// The namespace URI bound to the `xml` prefix.
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// Counts of what one load stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocStats {
    pub nodes: u64,
    pub elements: u64,
    pub attributes: u64,
    pub texts: u64,
    pub bytes: u64,
}

impl DocStats {
    /// Adds `other`'s counts to these (documents of one collection, summed).
    pub fn add(&mut self, other: &DocStats) {
        self.nodes += other.nodes;
        self.elements += other.elements;
        self.attributes += other.attributes;
        self.texts += other.texts;
        self.bytes += other.bytes;
    }
}

struct OpenElement {
    pre: u32,
    name: u32,
    path: u32,
    /// What the element holds so far, for the value index.
    content: Content,
    /// Index of this element's entry in its path's region list.
    region: usize,
    /// Length of the namespace scope before this element's declarations.
    scope_mark: usize,
}

/// An open element's children so far, as the value index sees them.
enum Content {
    Empty,
    /// One text node: its text when short enough to index, and its number.
    Text(Option<String>, f64),
    /// Anything else: its string-value is not one text node.
    Mixed,
}

/// Ingests one document into generation `gen` as document number `doc`.
pub(crate) struct DocumentIngest<'a> {
    storage: &'a dyn Storage,
    gen: u64,
    doc: u32,
    names: &'a mut NameTable,
    paths: &'a mut PathSummary,
    chunk: Chunk,
    chunk_base: u32,
    next_pre: u32,
    patches: Vec<(u32, u32)>,
    stack: Vec<OpenElement>,
    scope: Vec<(String, String)>,
    pending_text: String,
    name_postings: FastMap<(u8, u32), RoaringBitmap>,
    /// Bytes of text entity references have added so far.
    entity_text: usize,
    /// Path -> `(pre, end)` of its nodes, in document order: the region table.
    regions: RegionLists,
    /// The index [`RegionLists::push`] gave the last node's entry.
    last_region: usize,
    ids: Vec<(String, u32)>,
    values: ValueFeed,
    /// Full chunks go to the writer thread ([`write_chunks`]) through this.
    chunk_writer: Option<std::sync::mpsc::SyncSender<(u32, Chunk)>>,
    dtd: DtdInfo,
    seen_root_element: bool,
    /// Any event has been read (the XML declaration must come first).
    started: bool,
    seen_doctype: bool,
    stats: DocStats,
}

impl<'a> DocumentIngest<'a> {
    pub(crate) fn new(
        storage: &'a dyn Storage,
        gen: u64,
        doc: u32,
        names: &'a mut NameTable,
        paths: &'a mut PathSummary,
    ) -> Result<Self> {
        Ok(DocumentIngest {
            storage,
            gen,
            doc,
            names,
            paths,
            chunk: Chunk::default(),
            chunk_base: 0,
            next_pre: 0,
            patches: Vec::new(),
            stack: Vec::new(),
            scope: Vec::new(),
            pending_text: String::new(),
            name_postings: FastMap::default(),
            entity_text: 0,
            regions: RegionLists::default(),
            last_region: 0,
            ids: Vec::new(),
            values: ValueFeed::start()?,
            chunk_writer: None,
            dtd: DtdInfo::default(),
            seen_root_element: false,
            started: false,
            seen_doctype: false,
            stats: DocStats::default(),
        })
    }

    /// Reads the whole document and writes its chunks, postings and metadata. The
    /// chunks are compressed and written on a second thread while this one parses.
    pub(crate) fn run(mut self, name: &str, input: impl Read) -> Result<DocStats> {
        let (storage, gen, doc) = (self.storage, self.gen, self.doc);
        std::thread::scope(|scope| {
            let (sender, chunks) = std::sync::mpsc::sync_channel(CHUNKS_IN_FLIGHT);
            let writer = scope.spawn(move || write_chunks(storage, gen, doc, chunks));
            self.chunk_writer = Some(sender);
            // `read` consumes the ingest and with it the sender: the writer then ends.
            let stats = self.read(name, input);
            let written =
                writer.join().unwrap_or_else(|_| Err(Error::corrupted("xml load", "the chunk writer failed")));
            written?;
            stats
        })
    }

    fn read(mut self, name: &str, input: impl Read) -> Result<DocStats> {
        let mut reader = Reader::from_reader(PositionReader::new(input));
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        let root = self.emit(NodeKind::Root, NO_NAME, NO_PARENT, 0, PathSummary::ROOT, "")?;
        debug_assert_eq!(root, 0);
        let mut buf = Vec::new();
        loop {
            let event = match reader.read_event_into(&mut buf) {
                Ok(ev) => ev,
                Err(e) => {
                    let (line, column) = reader.get_ref().line_column(reader.error_position());
                    return Err(Error::Xml { message: e.to_string(), line, column });
                }
            };
            let res = match event {
                Event::Eof => break,
                ev => self.handle(ev),
            };
            if let Err(message) = res {
                let (line, column) = reader.get_ref().line_column(reader.buffer_position());
                return Err(Error::Xml { message, line, column });
            }
            buf.clear();
        }
        let at_end = |message: String| {
            let (line, column) = reader.get_ref().line_column(reader.buffer_position());
            Error::Xml { message, line, column }
        };
        if let Some(open) = self.stack.last() {
            let rec = self.record(open.pre);
            let name = rec.and_then(|r| self.names.get(r.name)).map(|q| q.written()).unwrap_or_default();
            return Err(at_end(format!("unexpected end of input: element <{name}> is not closed")));
        }
        if !self.seen_root_element {
            return Err(at_end("no root element".to_string()));
        }
        self.stats.bytes = reader.buffer_position();
        self.finish(name)
    }

    fn handle(&mut self, event: Event<'_>) -> std::result::Result<(), String> {
        let first = !std::mem::replace(&mut self.started, true);
        match event {
            Event::Start(start) => self.start_element(&start, false),
            Event::Empty(start) => self.start_element(&start, true),
            Event::End(_) => {
                self.flush_text()?;
                self.end_element()
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                if self.stack.is_empty() {
                    if content.chars().all(char::is_whitespace) {
                        return Ok(());
                    }
                    return Err("text is not allowed outside the root element".into());
                }
                self.pending_text.push_str(&content);
                Ok(())
            }
            Event::CData(cdata) => {
                if self.stack.is_empty() {
                    return Err("CDATA is not allowed outside the root element".into());
                }
                let content = cdata.xml10_content();
                self.pending_text.push_str(&content);
                Ok(())
            }
            Event::GeneralRef(reference) => {
                if self.stack.is_empty() {
                    return Err("a reference is not allowed outside the root element".into());
                }
                let name: &str = &reference;
                let entities = &self.dtd.entities;
                let text = resolve_reference(name, |n| entities.get(n).map(|v| Ok(v.clone())))?;
                if text.contains('<') && !name.starts_with('#') && name != "lt" {
                    return Err(format!(
                        "the entity '&{name};' contains markup, which sprig does not expand (only text entities)"
                    ));
                }
                self.add_entity_text(text.len())?;
                self.pending_text.push_str(&text);
                Ok(())
            }
            Event::Comment(comment) => {
                self.flush_text()?;
                let content = comment.xml10_content();
                if content.contains("--") || content.ends_with('-') {
                    return Err("'--' is not allowed inside a comment".into());
                }
                check_chars(&content, "a comment")?;
                let (parent, level, path) = self.parent_context();
                let path = self.paths.child(path, NodeKind::Comment, NO_NAME);
                self.emit(NodeKind::Comment, NO_NAME, parent, level, path, &content).map_err(|e| e.to_string())?;
                Ok(())
            }
            Event::PI(pi) => {
                self.flush_text()?;
                let target = pi.target().to_string();
                if target.contains(':') {
                    return Err(format!("the processing-instruction target '{target}' contains a colon"));
                }
                check_qname(&target, "processing-instruction target")?;
                if target.eq_ignore_ascii_case("xml") {
                    return Err("the XML declaration is only allowed at the start of the document".into());
                }
                let content = pi.content().trim_start().replace("\r\n", "\n");
                check_chars(&content, "a processing instruction")?;
                let name = self.names.intern(QName { prefix: String::new(), local: target, uri: String::new() });
                let (parent, level, path) = self.parent_context();
                let path = self.paths.child(path, NodeKind::ProcessingInstruction, name);
                self.emit(NodeKind::ProcessingInstruction, name, parent, level, path, &content)
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            Event::DocType(doctype) => {
                if self.seen_root_element {
                    return Err("DOCTYPE is only allowed before the root element".into());
                }
                if std::mem::replace(&mut self.seen_doctype, true) {
                    return Err("a document may have only one DOCTYPE".into());
                }
                self.dtd = DtdInfo::parse(&doctype.xml10_content())?;
                Ok(())
            }
            Event::Decl(decl) => {
                if !first {
                    return Err("the XML declaration is only allowed at the very start of the document".into());
                }
                check_declaration(&decl)
            }
            Event::Eof => Ok(()),
        }
    }

    /// Parent pre, level and path for a node about to be emitted at the current depth.
    fn parent_context(&self) -> (u32, u16, u32) {
        match self.stack.last() {
            Some(open) => (open.pre, self.stack.len() as u16 + 1, open.path),
            None => (0, 1, PathSummary::ROOT),
        }
    }

    fn start_element(&mut self, start: &BytesStart<'_>, empty: bool) -> std::result::Result<(), String> {
        self.flush_text()?;
        if self.stack.is_empty() {
            if self.seen_root_element {
                return Err("only one root element is allowed".into());
            }
            self.seen_root_element = true;
        }
        if self.stack.len() >= u16::MAX as usize - 2 {
            return Err("elements nest deeper than 65533 levels".into());
        }
        let scope_mark = self.scope.len();
        // Namespace declarations first: they apply to the element's own name and attributes.
        let mut attributes: Vec<(String, String)> = Vec::new();
        let mut declarations: Vec<(String, String)> = Vec::new();
        check_attribute_spacing(start.attributes_raw().as_bytes())?;
        for attr in start.attributes() {
            let attr = attr.map_err(|e| e.to_string())?;
            let key = attr.key.0.to_string();
            check_qname(&key, "attribute")?;
            if attr.value.contains('<') {
                return Err(format!("'<' is not allowed in the value of attribute '{key}'"));
            }
            let entities = &self.dtd.entities;
            let value = attr
                .normalized_value_with(quick_xml::XmlVersion::Implicit1_0, 16, |n| {
                    resolve_predefined_entity(n).or_else(|| entities.get(n).map(String::as_str))
                })
                .map_err(|e| format!("in attribute '{key}': {e}"))?
                .into_owned();
            self.add_entity_text(value.len().saturating_sub(attr.value.len()))?;
            check_chars(&value, "an attribute value")?;
            if key == "xmlns" {
                check_binding("", &value)?;
                declarations.push((String::new(), value));
            } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                check_binding(prefix, &value)?;
                if value.is_empty() {
                    return Err(format!("the prefix '{prefix}' cannot be undeclared in XML 1.0"));
                }
                declarations.push((prefix.to_string(), value));
            } else {
                attributes.push((key, value));
            }
        }
        self.scope.extend(declarations.iter().cloned());

        let written = start.name().0;
        check_qname(written, "element")?;
        let (prefix, _) = split_qname(written);
        let uri = match resolve_prefix(&self.scope, prefix) {
            Some(uri) => uri,
            None if prefix.is_empty() => "",
            None => return Err(format!("unbound namespace prefix '{prefix}'")),
        };
        let name = self.names.intern_written(written, uri);
        let (parent, level, parent_path) = self.parent_context();
        let path = self.paths.child(parent_path, NodeKind::Element, name);
        let pre = self.emit(NodeKind::Element, name, parent, level, path, "").map_err(|e| e.to_string())?;
        let region = self.last_region;
        self.stats.elements += 1;

        for (prefix, uri) in declarations {
            let decl = self.names.intern(QName { prefix: String::new(), local: prefix, uri });
            let decl_path = self.paths.child(path, NodeKind::NamespaceDecl, decl);
            self.emit(NodeKind::NamespaceDecl, decl, pre, level + 1, decl_path, "").map_err(|e| e.to_string())?;
        }
        let mut seen: Vec<(String, String)> = Vec::with_capacity(attributes.len());
        for (key, value) in attributes {
            let (aprefix, alocal) = split_qname(&key);
            let auri = if aprefix.is_empty() {
                String::new()
            } else {
                resolve_prefix(&self.scope, aprefix)
                    .ok_or_else(|| format!("unbound namespace prefix '{aprefix}'"))?
                    .to_string()
            };
            if seen.iter().any(|(u, l)| *u == auri && l == alocal) {
                return Err(format!("duplicate attribute '{key}'"));
            }
            seen.push((auri.clone(), alocal.to_string()));
            let is_id = (auri == XML_NAMESPACE && alocal == "id")
                || (!self.dtd.id_attributes.is_empty()
                    && self.dtd.id_attributes.contains(&(written.to_string(), key.clone())));
            if is_id {
                let id = value.trim().to_string();
                if !self.ids.iter().any(|(v, _)| *v == id) {
                    self.ids.push((id, pre));
                }
            }
            let aname = self.names.intern_written(&key, &auri);
            let apath = self.paths.child(path, NodeKind::Attribute, aname);
            let apre =
                self.emit(NodeKind::Attribute, aname, pre, level + 1, apath, &value).map_err(|e| e.to_string())?;
            self.values.add(ValueOwner::Attribute, aname, &value, apre);
            self.stats.attributes += 1;
        }
        self.stack.push(OpenElement { pre, name, path, content: Content::Empty, region, scope_mark });
        if empty {
            self.end_element()?;
        }
        Ok(())
    }

    fn end_element(&mut self) -> std::result::Result<(), String> {
        let open = self.stack.pop().ok_or("end tag without a start tag")?;
        self.scope.truncate(open.scope_mark);
        match &open.content {
            Content::Empty => self.values.add(ValueOwner::Element, open.name, "", open.pre),
            Content::Text(Some(text), _) => self.values.add(ValueOwner::Element, open.name, text, open.pre),
            Content::Text(None, n) => self.values.add_number(ValueOwner::Element, open.name, *n, open.pre),
            Content::Mixed => self.values.skip_element(open.name),
        }
        let end = self.next_pre - 1;
        self.regions.set_end(open.path, open.region, end);
        if self.regions.full() {
            // Every open element is on the stack here: write the final entries out.
            let open = self.stack.iter().map(|e| (e.path, e.region));
            let drained = self.regions.spill(open).map_err(|e| e.to_string())?;
            for e in &mut self.stack {
                e.region -= drained.get(&e.path).copied().unwrap_or(0);
            }
        }
        if open.pre >= self.chunk_base {
            if let Some(rec) = self.chunk.record_mut((open.pre - self.chunk_base) as usize) {
                rec.end = end;
            }
        } else {
            self.patches.push((open.pre, end));
        }
        Ok(())
    }

    fn flush_text(&mut self) -> std::result::Result<(), String> {
        if self.pending_text.is_empty() {
            return Ok(());
        }
        let text = std::mem::take(&mut self.pending_text);
        check_chars(&text, "text")?;
        let (parent, level, parent_path) = self.parent_context();
        let path = self.paths.child(parent_path, NodeKind::Text, NO_NAME);
        self.emit(NodeKind::Text, NO_NAME, parent, level, path, &text).map_err(|e| e.to_string())?;
        self.stats.texts += 1;
        Ok(())
    }

    fn record(&self, pre: u32) -> Option<&NodeRecord> {
        pre.checked_sub(self.chunk_base).and_then(|i| self.chunk.record(i as usize))
    }

    fn add_entity_text(&mut self, bytes: usize) -> std::result::Result<(), String> {
        self.entity_text += bytes;
        if self.entity_text > MAX_ENTITY_EXPANSION {
            return Err(format!(
                "entity references expand to more than {} MiB of text (refused, as a defence against entity \
                 expansion attacks)",
                MAX_ENTITY_EXPANSION >> 20
            ));
        }
        Ok(())
    }

    fn emit(&mut self, kind: NodeKind, name: u32, parent: u32, level: u16, path: u32, text: &str) -> Result<u32> {
        if self.chunk.decoded_bytes() + text.len() > MAX_CHUNK_TEXT {
            return Err(Error::Limit(format!(
                "more than {} MiB of text in {CHUNK_NODES} consecutive nodes",
                MAX_CHUNK_TEXT >> 20
            )));
        }
        let pre = self.next_pre;
        if pre == u32::MAX - 1 {
            return Err(Error::Limit("a document may hold at most 4294967293 nodes".into()));
        }
        self.next_pre += 1;
        let end = if kind == NodeKind::Element || kind == NodeKind::Root { OPEN_END } else { pre };
        self.chunk.push(NodeRecord { kind, level, name, parent, end, path }, text);
        if name != NO_NAME {
            push_sorted(self.name_postings.entry((kind as u8, name)).or_default(), pre);
        }
        if kind != NodeKind::NamespaceDecl {
            self.last_region = self.regions.push(path, pre, end);
        }
        self.paths.count(path);
        self.stats.nodes += 1;
        if !matches!(kind, NodeKind::Attribute | NodeKind::NamespaceDecl | NodeKind::Root) {
            if let Some(parent) = self.stack.last_mut() {
                parent.content = match (&parent.content, kind) {
                    (Content::Empty, NodeKind::Text) => Content::Text(
                        (text.len() <= MAX_INDEXED_VALUE).then(|| text.to_string()),
                        super::value_index::xpath_number(text),
                    ),
                    _ => Content::Mixed,
                };
            }
        }
        if self.chunk.len() == CHUNK_NODES as usize {
            self.write_chunk()?;
        }
        Ok(pre)
    }

    fn write_chunk(&mut self) -> Result<()> {
        if self.chunk.len() == 0 {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.chunk);
        let no = self.chunk_base / CHUNK_NODES;
        let sent = self.chunk_writer.as_ref().map(|w| w.send((no, chunk)));
        if !matches!(sent, Some(Ok(()))) {
            return Err(Error::corrupted("xml load", "the chunk writer stopped"));
        }
        self.chunk_base = self.next_pre;
        Ok(())
    }

    fn finish(mut self, name: &str) -> Result<DocStats> {
        // The root closes last; its end is the last node.
        let last = self.next_pre - 1;
        if let Some(root) = self.regions.root_mut() {
            root.1 = last;
        }
        if self.chunk_base == 0 {
            if let Some(rec) = self.chunk.record_mut(0) {
                rec.end = last;
            }
        } else {
            self.patches.push((0, last));
        }
        self.write_chunk()?;
        let mut batch = WriteBatch::default();
        for ((kind, id), bitmap) in &self.name_postings {
            batch.put(Keyspace::Postings, keys::name_postings(self.gen, self.doc, *kind, *id), serialize(bitmap)?);
        }
        for (value, pre) in &self.ids {
            batch.put(Keyspace::Ids, keys::id(self.gen, self.doc, value), pre.to_le_bytes().to_vec());
        }
        // The region table and the value index are written side by side.
        let regions = std::mem::take(&mut self.regions);
        let values = self.values.finish()?;
        let (storage, gen, doc, paths) = (self.storage, self.gen, self.doc, &*self.paths);
        std::thread::scope(|scope| {
            let values = scope.spawn(move || values.finish(storage, gen, doc));
            let regions = regions.write(storage, gen, doc, paths);
            let values = values.join().map_err(|_| Error::corrupted("xml load", "the value index writer failed"))?;
            regions.and(values)
        })?;
        self.patches.sort_unstable();
        let meta =
            DocMeta { name: name.to_string(), node_count: self.next_pre, patches: self.patches, stats: self.stats };
        batch.put(Keyspace::DocMeta, keys::doc_meta(self.gen, self.doc), meta.encode());
        self.storage.apply(batch)?;
        Ok(self.stats)
    }
}

fn push_sorted(bitmap: &mut RoaringBitmap, pre: u32) {
    if bitmap.try_push(pre).is_err() {
        bitmap.insert(pre);
    }
}

fn serialize(bitmap: &RoaringBitmap) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bitmap.serialized_size());
    bitmap.serialize_into(&mut out)?;
    Ok(out)
}

/// The URI bound to `prefix` in `scope` (innermost declaration last); `xml` is always bound.
fn resolve_prefix<'s>(scope: &'s [(String, String)], prefix: &str) -> Option<&'s str> {
    if prefix == "xml" {
        return Some(XML_NAMESPACE);
    }
    scope.iter().rev().find(|(p, _)| p == prefix).map(|(_, uri)| uri.as_str())
}

/// `p:l` -> (`p`, `l`); `l` -> (``, `l`).
/// Characters XML 1.0 allows (`Char`): no C0 controls but tab, line feed and
/// carriage return, no U+FFFE or U+FFFF (surrogates cannot occur in a `str`).
fn check_chars(text: &str, what: &str) -> std::result::Result<(), String> {
    let bytes = text.as_bytes();
    // Without an early exit the test of every byte vectorizes; text is nearly
    // always clean, and only then is the offending character looked for.
    let not_allowed = |b: u8| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r');
    if bytes.iter().fold(false, |any, &b| any | not_allowed(b)) {
        let c = bytes.iter().copied().find(|&b| not_allowed(b)).unwrap_or_default();
        return Err(format!("{what} contains the character U+{c:04X}, which XML does not allow"));
    }
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
    let noncharacter = memchr::memchr_iter(0xEF, bytes)
        .any(|i| bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)));
    if noncharacter {
        return Err(format!("{what} contains U+FFFE or U+FFFF, which XML does not allow"));
    }
    Ok(())
}

/// Attributes must be separated by whitespace (`<a b='1'c='2'>` is not well-formed);
/// quick-xml's attribute iterator accepts it.
fn check_attribute_spacing(raw: &[u8]) -> std::result::Result<(), String> {
    let mut quote: Option<u8> = None;
    for (i, &b) in raw.iter().enumerate() {
        match quote {
            Some(q) if b == q => {
                quote = None;
                if let Some(&next) = raw.get(i + 1) {
                    if !next.is_ascii_whitespace() && next != b'/' {
                        return Err("attributes must be separated by whitespace".into());
                    }
                }
            }
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None => {}
        }
    }
    Ok(())
}

/// Namespaces in XML 1.0, section 3: `xml` is bound to its namespace only, `xmlns`
/// is never declared, and neither namespace is bound to another prefix.
fn check_binding(prefix: &str, uri: &str) -> std::result::Result<(), String> {
    const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";
    match prefix {
        "xmlns" => Err("the prefix 'xmlns' cannot be declared".into()),
        "xml" if uri != XML_NAMESPACE => Err(format!("the prefix 'xml' can only be bound to {XML_NAMESPACE}")),
        "xml" => Ok(()),
        _ if uri == XML_NAMESPACE || uri == XMLNS_NAMESPACE => {
            Err(format!("the namespace {uri} cannot be bound to the prefix '{prefix}'"))
        }
        _ => Ok(()),
    }
}

/// The XML declaration: a version `1.x`, and an encoding sprig reads (UTF-8; sprig
/// does not transcode, so other encodings would be misread).
fn check_declaration(decl: &quick_xml::events::BytesDecl<'_>) -> std::result::Result<(), String> {
    let version = decl.version().map_err(|e| format!("in the XML declaration: {e}"))?;
    let version: &str = &version;
    let valid = version.strip_prefix("1.").is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return Err(format!("the XML declaration names version '{version}'; XML versions are 1.x"));
    }
    if let Some(encoding) = decl.encoding() {
        let encoding = encoding.map_err(|e| format!("in the XML declaration: {e}"))?;
        let encoding = encoding.to_ascii_lowercase();
        if !matches!(encoding.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
            return Err(format!(
                "the document is declared as '{encoding}'; sprig reads UTF-8 only (convert it first, e.g. with iconv)"
            ));
        }
    }
    Ok(())
}

/// XML 1.0's `NameStartChar`.
fn is_name_start(c: char) -> bool {
    matches!(c, 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0's `NameChar`.
fn is_name_char(c: char) -> bool {
    is_name_start(c) || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// A name is a namespace-well-formed QName: `NCName` or `NCName:NCName`. quick-xml
/// splits tags at whitespace but does not check names, so `<>` or `<1a>` would pass.
fn check_qname(name: &str, what: &str) -> std::result::Result<(), String> {
    let ncname = |part: &str| {
        let mut chars = part.chars();
        chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
    };
    let ok = match name.split_once(':') {
        Some((prefix, local)) => ncname(prefix) && ncname(local),
        None => ncname(name),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("'{}' is not a valid {what} name", name.escape_debug()))
    }
}

pub fn split_qname(name: &str) -> (&str, &str) {
    match name.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", name),
    }
}
