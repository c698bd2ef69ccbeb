//! Value indexes, as BaseX's attribute and text indexes: which attributes, and which
//! elements whose content is one text node, have a given value, so that
//! `[@id = 'person0']`, `[payment = 'Creditcard']` and `[profile/@income > 50000]`
//! find their nodes without reading every candidate's value.
//!
//! Two entries per indexed node: the value as a string (values up to
//! [`MAX_INDEXED_VALUE`] bytes), and its XPath number when it has one (a sortable
//! encoding). Entries are sorted per (owner kind, name, strings or numbers) and
//! packed into compressed blocks of about 4 KiB, each stored under the key of its
//! last value (see `keys::xml`): an equality lookup reads one block, and the index
//! costs a few bytes per node on disk rather than a storage key per value. During a
//! load the entries gather in memory; whenever they pass [`FLUSH_BYTES`] they are
//! written, sorted, as one more part of an anonymous temporary file, and the end of
//! the load merges the parts (one block of each in memory at a time) into the
//! stored index.
//!
//! An element is indexed by its string-value only when that value is one text node
//! (or nothing). An element with other children (mixed content, comments) is
//! counted instead, by name: a lookup on a name with such elements is refused, so
//! the index never misses a node that would pass.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use roaring::RoaringBitmap;

use crate::codec::{compress, decompress, Decoder, Encoder};
use crate::fast_map::FastMap;
use crate::keys::xml as keys;
use crate::storage::{Keyspace, Storage, WriteBatch};
use crate::Result;

/// Longest string value indexed; a longer value can only equal a longer literal,
/// which the planner then does not look up.
pub const MAX_INDEXED_VALUE: usize = 64;

/// Postings gathered in memory during a load before they are written out.
const FLUSH_BYTES: usize = 16 << 20;

/// What a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueOwner {
    /// An attribute node (its `pre` is the attribute's).
    Attribute = 0,
    /// An element whose string-value is its one text child, or empty (its `pre` is
    /// the element's).
    Element = 1,
}

/// XPath's `number(string)`: optional whitespace, an optional minus, digits with an
/// optional fraction; anything else is NaN (no `+`, no exponent).
pub fn xpath_number(s: &str) -> f64 {
    let t = s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    let digits = t.strip_prefix('-').unwrap_or(t);
    let mut seen_digit = false;
    let mut seen_dot = false;
    for c in digits.chars() {
        match c {
            '0'..='9' => seen_digit = true,
            '.' if !seen_dot => seen_dot = true,
            _ => return f64::NAN,
        }
    }
    if !seen_digit {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// `x` as 8 bytes that sort as the numbers do (NaN is never encoded).
pub(crate) fn sortable(x: f64) -> [u8; 8] {
    let x = if x == 0.0 { 0.0 } else { x }; // -0 and 0 are one key
    let bits = x.to_bits();
    let flipped = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
    flipped.to_be_bytes()
}

pub(crate) fn from_sortable(b: [u8; 8]) -> f64 {
    let bits = u64::from_be_bytes(b);
    f64::from_bits(if bits >> 63 == 1 { bits & !(1 << 63) } else { !bits })
}

/// Which entries of the index a block holds: one owner kind, one name, strings or
/// numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Head {
    owner: u8,
    name: u32,
    /// `b's'` for string values, `b'n'` for sortable numbers.
    kind: u8,
}

/// The value index of one document, gathered during its load.
#[derive(Debug)]
pub(crate) struct ValueIndexBuilder {
    /// Head -> value bytes -> nodes (two levels, so that a lookup borrows the value
    /// instead of allocating a key).
    postings: FastMap<Head, FastMap<Box<[u8]>, RoaringBitmap>>,
    bytes: usize,
    /// Write a part once `bytes` passes this (`FLUSH_BYTES`; tests set less).
    flush_bytes: usize,
    /// Parts written to the temporary file: per head, per part, its blocks.
    parts: BTreeMap<Head, Vec<Vec<(u64, u32)>>>,
    part_count: usize,
    /// The temporary file, when no part is being written to it.
    file: Option<File>,
    /// The part being written on its own thread while the load goes on.
    spilling: Option<Spill>,
    /// Elements not indexed (mixed content), by name.
    unindexed: FastMap<u32, u64>,
}

/// Gathered entries by head, before sorting.
type Gathered = Vec<(Head, FastMap<Box<[u8]>, RoaringBitmap>)>;
/// Per head, the blocks (offset, length) of one part in the temporary file.
type PartBlocks = Vec<(Head, Vec<(u64, u32)>)>;

/// A part being sorted and written by a thread of its own; it gives the file back.
#[derive(Debug)]
struct Spill {
    part: usize,
    handle: std::thread::JoinHandle<Result<(File, PartBlocks)>>,
}

impl Default for ValueIndexBuilder {
    fn default() -> Self {
        ValueIndexBuilder {
            postings: FastMap::default(),
            bytes: 0,
            flush_bytes: FLUSH_BYTES,
            parts: BTreeMap::new(),
            part_count: 0,
            file: None,
            spilling: None,
            unindexed: FastMap::default(),
        }
    }
}

/// Entries are written in blocks of about this many bytes before compression.
const BLOCK_BYTES: usize = 4096;

const AREA: &str = "value index block";

/// Fills blocks with entries in value order; each full block comes out with its
/// last value.
#[derive(Default)]
struct BlockWriter {
    block: Encoder,
    len: usize,
    last: Vec<u8>,
}

impl BlockWriter {
    fn push(&mut self, value: &[u8], bitmap: &RoaringBitmap) -> Option<(Vec<u8>, Vec<u8>)> {
        self.len += encode_entry(&mut self.block, value, bitmap);
        self.last.clear();
        self.last.extend_from_slice(value);
        (self.len >= BLOCK_BYTES).then(|| self.take())
    }

    fn take(&mut self) -> (Vec<u8>, Vec<u8>) {
        self.len = 0;
        (std::mem::take(&mut self.last), compress(&std::mem::take(&mut self.block).finish()))
    }

    fn finish(mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        (self.len > 0).then(|| self.take())
    }
}

impl ValueIndexBuilder {
    /// Indexes `value` of the node `pre` (an attribute, or a text-only element) named `name`.
    pub(crate) fn add(&mut self, owner: ValueOwner, name: u32, value: &str, pre: u32) {
        if value.len() <= MAX_INDEXED_VALUE {
            self.push(Head { owner: owner as u8, name, kind: b's' }, value.as_bytes(), pre);
        }
        self.add_number(owner, name, xpath_number(value), pre);
    }

    /// Indexes only the number `n` (NaN: nothing) of the node `pre` (a value too long
    /// to index as a string).
    pub(crate) fn add_number(&mut self, owner: ValueOwner, name: u32, n: f64, pre: u32) {
        if !n.is_nan() {
            self.push(Head { owner: owner as u8, name, kind: b'n' }, &sortable(n), pre);
        }
    }

    /// Counts an element of `name` whose value is not indexed.
    pub(crate) fn skip_element(&mut self, name: u32) {
        *self.unindexed.entry(name).or_default() += 1;
    }

    fn push(&mut self, head: Head, value: &[u8], pre: u32) {
        let values = self.postings.entry(head).or_default();
        // Nodes arrive in document order: a push at the end of the bitmap.
        if let Some(bitmap) = values.get_mut(value) {
            if bitmap.try_push(pre).is_err() {
                bitmap.insert(pre);
            }
            self.bytes += 4;
        } else {
            // The key, the bitmap and the map's own overhead, roughly.
            self.bytes += value.len() + 160;
            let mut bitmap = RoaringBitmap::new();
            bitmap.insert(pre);
            values.insert(value.into(), bitmap);
        }
    }

    /// The postings and unindexed counts gathered (for `check`).
    pub(crate) fn into_parts(self) -> (HashMap<(Head, Vec<u8>), RoaringBitmap>, HashMap<u32, u64>) {
        let flat = self
            .postings
            .into_iter()
            .flat_map(|(head, values)| values.into_iter().map(move |(v, b)| ((head, v.into_vec()), b)))
            .collect();
        (flat, self.unindexed.into_iter().collect())
    }

    /// The gathered entries, taken out.
    fn drain(&mut self) -> Gathered {
        self.bytes = 0;
        self.postings.drain().collect()
    }

    /// Writes the gathered entries to the temporary file as one more part once they
    /// pass the memory bound.
    pub(crate) fn flush_if_full(&mut self) -> Result<()> {
        if self.bytes >= self.flush_bytes {
            self.spill_part()?;
        }
        Ok(())
    }

    /// Hands the gathered entries to a thread that sorts them and writes them to the
    /// temporary file as one more part (after the part before it is written: at most
    /// two parts are in memory).
    fn spill_part(&mut self) -> Result<()> {
        if self.postings.is_empty() {
            return Ok(());
        }
        let gathered = self.drain();
        self.finish_spill()?;
        let file = match self.file.take() {
            Some(f) => f,
            None => tempfile::tempfile()?,
        };
        let part = self.part_count;
        self.part_count += 1;
        let handle = std::thread::Builder::new()
            .name("value-index-part".into())
            .spawn(move || write_part(file, sort_heads(gathered)))?;
        self.spilling = Some(Spill { part, handle });
        Ok(())
    }

    /// Waits for the part being written; takes its file back and notes its blocks.
    fn finish_spill(&mut self) -> Result<()> {
        let Some(spill) = self.spilling.take() else { return Ok(()) };
        let (file, heads) =
            spill.handle.join().map_err(|_| crate::Error::corrupted(AREA, "the thread writing a part failed"))??;
        self.file = Some(file);
        for (head, blocks) in heads {
            let per_part = self.parts.entry(head).or_default();
            per_part.resize(spill.part + 1, Vec::new());
            per_part[spill.part] = blocks;
        }
        Ok(())
    }

    /// Writes the index of the document: what is gathered, merged with the parts
    /// written out before (one block of each part in memory at a time), as blocks
    /// keyed by their last value, and the counts of unindexed elements.
    pub(crate) fn finish(mut self, storage: &dyn Storage, gen: u64, doc: u32) -> Result<()> {
        let put = |batch: &mut WriteBatch, head: Head, last: &[u8], block: Vec<u8>| {
            batch.put(Keyspace::Postings, keys::value_block(gen, doc, head.owner, head.name, head.kind, last), block)
        };
        let mut batch = WriteBatch::default();
        if self.part_count == 0 {
            let gathered = self.drain();
            for (head, entries) in sort_heads(gathered) {
                let mut writer = BlockWriter::default();
                for (v, b) in &entries {
                    if let Some((last, block)) = writer.push(v, b) {
                        put(&mut batch, head, &last, block);
                    }
                }
                if let Some((last, block)) = writer.finish() {
                    put(&mut batch, head, &last, block);
                }
            }
        } else {
            self.spill_part()?;
            self.finish_spill()?;
            let file = self.file.as_ref();
            for (head, per_part) in std::mem::take(&mut self.parts) {
                let mut cursors: Vec<PartCursor> = per_part
                    .into_iter()
                    .map(|blocks| PartCursor { blocks: blocks.into_iter(), entries: Default::default() })
                    .collect();
                let mut writer = BlockWriter::default();
                while let Some((value, bitmap)) = next_merged(&mut cursors, file)? {
                    if let Some((last, block)) = writer.push(&value, &bitmap) {
                        put(&mut batch, head, &last, block);
                    }
                }
                if let Some((last, block)) = writer.finish() {
                    put(&mut batch, head, &last, block);
                }
                if batch.len() >= 1024 {
                    storage.apply(std::mem::take(&mut batch))?;
                }
            }
        }
        for (name, count) in &self.unindexed {
            batch.put(Keyspace::Postings, keys::value_unindexed(gen, doc, *name), count.to_le_bytes().to_vec());
        }
        storage.apply(batch)
    }
}

/// Each head's entries sorted by value, heads in order.
fn sort_heads(gathered: Gathered) -> Vec<(Head, Vec<(Box<[u8]>, RoaringBitmap)>)> {
    let mut heads: Vec<(Head, Vec<(Box<[u8]>, RoaringBitmap)>)> = gathered
        .into_iter()
        .map(|(head, values)| {
            let mut entries: Vec<(Box<[u8]>, RoaringBitmap)> = values.into_iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            (head, entries)
        })
        .collect();
    heads.sort_unstable_by_key(|(h, _)| *h);
    heads
}

/// Appends sorted entries to `file` as one part, in blocks; returns the file and
/// where each head's blocks are.
fn write_part(file: File, heads: Vec<(Head, Vec<(Box<[u8]>, RoaringBitmap)>)>) -> Result<(File, PartBlocks)> {
    let mut at = (&file).seek(SeekFrom::End(0))?;
    let mut out = std::io::BufWriter::new(&file);
    let mut written = Vec::with_capacity(heads.len());
    for (head, entries) in heads {
        let mut blocks = Vec::new();
        let mut writer = BlockWriter::default();
        let full = entries.iter().filter_map(|(v, b)| writer.push(v, b)).collect::<Vec<_>>();
        for (_, block) in full.into_iter().chain(writer.finish()) {
            out.write_all(&block)?;
            blocks.push((at, block.len() as u32));
            at += block.len() as u64;
        }
        written.push((head, blocks));
    }
    out.flush()?;
    drop(out);
    Ok((file, written))
}

/// One part's blocks of one head in the temporary file, read a block at a time.
struct PartCursor {
    blocks: std::vec::IntoIter<(u64, u32)>,
    entries: std::collections::VecDeque<(Vec<u8>, RoaringBitmap)>,
}

impl PartCursor {
    /// The next entry's value, reading the next block when the current one is done.
    fn peek(&mut self, file: Option<&File>) -> Result<Option<&[u8]>> {
        while self.entries.is_empty() {
            let (Some((offset, len)), Some(file)) = (self.blocks.next(), file) else { return Ok(None) };
            let mut stored = vec![0u8; len as usize];
            file.read_exact_at(&mut stored, offset)?;
            self.entries.extend(decode_block(&stored)?);
        }
        Ok(self.entries.front().map(|(v, _)| &v[..]))
    }
}

/// The smallest value any cursor holds next, with the nodes of every part for it.
fn next_merged(cursors: &mut [PartCursor], file: Option<&File>) -> Result<Option<(Vec<u8>, RoaringBitmap)>> {
    let mut min: Option<Vec<u8>> = None;
    for c in cursors.iter_mut() {
        if let Some(v) = c.peek(file)? {
            if min.as_deref().is_none_or(|m| v < m) {
                min = Some(v.to_vec());
            }
        }
    }
    let Some(value) = min else { return Ok(None) };
    let mut bitmap = RoaringBitmap::new();
    for c in cursors.iter_mut() {
        if c.peek(file)? == Some(&value[..]) {
            if let Some((_, b)) = c.entries.pop_front() {
                bitmap |= b;
            }
        }
    }
    Ok(Some((value, bitmap)))
}

/// Appends one entry to a block: the value, the count of nodes and their `pre`
/// deltas. Returns the bytes added.
fn encode_entry(block: &mut Encoder, value: &[u8], bitmap: &RoaringBitmap) -> usize {
    block.bytes(value).u32(bitmap.len() as u32);
    let mut last = 0u32;
    for pre in bitmap {
        block.u32(pre - last);
        last = pre;
    }
    value.len() + 8 + 4 * bitmap.len() as usize
}

/// The entries of one stored block (see [`encode_entry`]): (value bytes, nodes).
fn decode_block(stored: &[u8]) -> Result<Vec<(Vec<u8>, RoaringBitmap)>> {
    decode_block_where(stored, |_| true)
}

/// The entries of one stored block whose value passes `keep`; the others are
/// skipped without building their node sets.
fn decode_block_where(stored: &[u8], keep: impl Fn(&[u8]) -> bool) -> Result<Vec<(Vec<u8>, RoaringBitmap)>> {
    let raw = decompress(stored, AREA)?;
    let mut dec = Decoder::new(&raw, AREA);
    let mut out = Vec::new();
    while !dec.is_empty() {
        let value = dec.bytes()?;
        let n = dec.u32()?;
        if !keep(value) {
            for _ in 0..n {
                dec.u32()?;
            }
            continue;
        }
        let mut bitmap = RoaringBitmap::new();
        let mut pre = 0u32;
        for _ in 0..n {
            pre = pre.checked_add(dec.u32()?).ok_or_else(|| crate::Error::corrupted(AREA, "node past the end"))?;
            // Stored in increasing order: appending beats a search per node.
            bitmap.try_push(pre).map_err(|_| crate::Error::corrupted(AREA, "nodes out of order"))?;
        }
        out.push((value.to_vec(), bitmap));
    }
    Ok(out)
}

/// Nodes of document `doc` owned by `owner` with name `name` whose value equals
/// `value`: the one block whose key is the first at or after it.
pub(crate) fn lookup_string(
    storage: &dyn Storage,
    gen: u64,
    doc: u32,
    owner: ValueOwner,
    name: u32,
    value: &str,
    into: &mut RoaringBitmap,
) -> Result<()> {
    let head = keys::value_head(gen, doc, owner as u8, name, b's');
    let key = keys::value_block(gen, doc, owner as u8, name, b's', value.as_bytes());
    let Some(found) = storage.next_key(Keyspace::Postings, &key)? else { return Ok(()) };
    if !found.starts_with(&head) {
        return Ok(());
    }
    if let Some(stored) = storage.get(Keyspace::Postings, &found)? {
        for (_, bitmap) in decode_block_where(&stored, |v| v == value.as_bytes())? {
            *into |= bitmap;
        }
    }
    Ok(())
}

/// Nodes of document `doc` owned by `owner` with name `name` whose value is a number
/// that `passes` (every number block of the name is read: a name has few).
pub(crate) fn lookup_numbers(
    storage: &dyn Storage,
    gen: u64,
    doc: u32,
    owner: ValueOwner,
    name: u32,
    passes: &dyn Fn(f64) -> bool,
    into: &mut RoaringBitmap,
) -> Result<()> {
    let head = keys::value_head(gen, doc, owner as u8, name, b'n');
    // Many values may pass: gather their nodes, then build one set.
    let mut pres = Vec::new();
    for (_, stored) in storage.scan_prefix(Keyspace::Postings, &head)? {
        let raw = decompress(&stored, AREA)?;
        let mut dec = Decoder::new(&raw, AREA);
        while !dec.is_empty() {
            let value = dec.bytes()?;
            let keep = <[u8; 8]>::try_from(value).is_ok_and(|b| passes(from_sortable(b)));
            let mut pre = 0u32;
            for _ in 0..dec.u32()? {
                pre = pre.wrapping_add(dec.u32()?);
                if keep {
                    pres.push(pre);
                }
            }
        }
    }
    pres.sort_unstable();
    pres.dedup();
    *into |= RoaringBitmap::from_sorted_iter(pres).map_err(|e| crate::Error::corrupted(AREA, e))?;
    Ok(())
}

/// Every entry stored for document `doc` (for `check`).
pub(crate) fn stored_entries(
    storage: &dyn Storage,
    gen: u64,
    doc: u32,
) -> Result<HashMap<(Head, Vec<u8>), RoaringBitmap>> {
    let prefix = keys::value_prefix(gen, doc);
    let mut out: HashMap<(Head, Vec<u8>), RoaringBitmap> = HashMap::new();
    for (key, stored) in storage.scan_prefix(Keyspace::Postings, &prefix)? {
        let tail = &key[prefix.len()..];
        let (Some(&owner), Some(name), Some(&kind)) = (tail.first(), tail.get(1..5), tail.get(5)) else { continue };
        let head = Head { owner, name: u32::from_be_bytes([name[0], name[1], name[2], name[3]]), kind };
        for (value, bitmap) in decode_block(&stored)? {
            *out.entry((head, value)).or_default() |= bitmap;
        }
    }
    Ok(out)
}

/// How many elements named `name` the index leaves out (mixed content).
pub(crate) fn unindexed_elements(storage: &dyn Storage, gen: u64, doc: u32, name: u32) -> Result<u64> {
    Ok(match storage.get(Keyspace::Postings, &keys::value_unindexed(gen, doc, name))? {
        Some(v) => v.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes),
        None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_numbers_sort_as_numbers() {
        let xs = [-1e300, -2.5, -1.0, -0.0, 0.0, 1e-9, 1.0, 2.5, 50000.0, 1e300];
        for w in xs.windows(2) {
            assert!(sortable(w[0]) <= sortable(w[1]), "{} {}", w[0], w[1]);
            assert_eq!(from_sortable(sortable(w[1])), if w[1] == 0.0 { 0.0 } else { w[1] });
        }
    }

    #[test]
    fn parts_of_a_load_are_merged() {
        let storage = crate::MemoryStorage::default();
        let mut b = ValueIndexBuilder { flush_bytes: 1, ..Default::default() };
        // Every add passes the bound: each node lands in a part of its own.
        for (pre, v) in [(3, "b"), (5, "a"), (8, "b"), (9, "10"), (12, "9.5"), (20, "b")] {
            b.add(ValueOwner::Attribute, 7, v, pre);
            b.flush_if_full().unwrap();
        }
        assert_eq!(b.part_count, 6);
        b.skip_element(4);
        b.finish(&storage, 1, 0).unwrap();
        let mut found = RoaringBitmap::new();
        lookup_string(&storage, 1, 0, ValueOwner::Attribute, 7, "b", &mut found).unwrap();
        assert_eq!(found.iter().collect::<Vec<_>>(), vec![3, 8, 20]);
        let mut found = RoaringBitmap::new();
        lookup_string(&storage, 1, 0, ValueOwner::Element, 7, "b", &mut found).unwrap();
        assert!(found.is_empty());
        let mut found = RoaringBitmap::new();
        lookup_numbers(&storage, 1, 0, ValueOwner::Attribute, 7, &|x| x > 9.0, &mut found).unwrap();
        assert_eq!(found.iter().collect::<Vec<_>>(), vec![9, 12]);
        assert_eq!(unindexed_elements(&storage, 1, 0, 4).unwrap(), 1);
        // Strings "a", "b", "10", "9.5" and numbers 10, 9.5, in one block per head.
        assert_eq!(stored_entries(&storage, 1, 0).unwrap().len(), 6);
        assert_eq!(storage.keys_with_prefix(Keyspace::Postings, &keys::value_prefix(1, 0)).unwrap().len(), 2);
    }

    #[test]
    fn many_values_span_many_blocks() {
        let storage = crate::MemoryStorage::default();
        let mut b = ValueIndexBuilder::default();
        for pre in 0..20_000u32 {
            b.add(ValueOwner::Element, 1, &format!("v{}", pre % 5_000), pre);
        }
        b.finish(&storage, 2, 3).unwrap();
        assert!(storage.keys_with_prefix(Keyspace::Postings, &keys::value_prefix(2, 3)).unwrap().len() > 10);
        for probe in [0, 1, 2_499, 4_999] {
            let mut found = RoaringBitmap::new();
            lookup_string(&storage, 2, 3, ValueOwner::Element, 1, &format!("v{probe}"), &mut found).unwrap();
            assert_eq!(found.iter().collect::<Vec<_>>(), vec![probe, probe + 5_000, probe + 10_000, probe + 15_000]);
        }
        let mut found = RoaringBitmap::new();
        lookup_string(&storage, 2, 3, ValueOwner::Element, 1, "v5000", &mut found).unwrap();
        assert!(found.is_empty());
    }

    #[test]
    fn xpath_numbers() {
        assert_eq!(xpath_number(" 12.5\n"), 12.5);
        assert_eq!(xpath_number("-3"), -3.0);
        assert_eq!(xpath_number(".5"), 0.5);
        assert!(xpath_number("1e3").is_nan());
        assert!(xpath_number("+1").is_nan());
        assert!(xpath_number("").is_nan());
        assert!(xpath_number("-").is_nan());
    }
}
