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
//! load the entries gather in memory and are written out whenever they pass
//! [`FLUSH_BYTES`]; each write is one more part (its number is in the block keys),
//! and a lookup unites the parts.
//!
//! An element is indexed by its string-value only when that value is one text node
//! (or nothing). An element with other children (mixed content, comments) is
//! counted instead, by name: a lookup on a name with such elements is refused, so
//! the index never misses a node that would pass.

use std::collections::HashMap;

use roaring::RoaringBitmap;

use crate::codec::{compress, decompress, Decoder, Encoder};
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
    /// (head, value bytes) -> nodes.
    postings: HashMap<(Head, Vec<u8>), RoaringBitmap>,
    bytes: usize,
    /// Write a part once `bytes` passes this (`FLUSH_BYTES`; tests set less).
    flush_bytes: usize,
    parts: u16,
    /// Elements not indexed (mixed content), by name.
    unindexed: HashMap<u32, u64>,
}

impl Default for ValueIndexBuilder {
    fn default() -> Self {
        ValueIndexBuilder {
            postings: HashMap::new(),
            bytes: 0,
            flush_bytes: FLUSH_BYTES,
            parts: 0,
            unindexed: HashMap::new(),
        }
    }
}

/// Entries are written in blocks of about this many bytes before compression.
const BLOCK_BYTES: usize = 4096;

const AREA: &str = "value index block";

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
        // Nodes arrive in document order: a push at the end of the bitmap.
        if let Some(bitmap) = self.postings.get_mut(&(head, value.to_vec())) {
            if bitmap.try_push(pre).is_err() {
                bitmap.insert(pre);
            }
            self.bytes += 4;
        } else {
            // The key, the bitmap and the map's own overhead, roughly.
            self.bytes += value.len() + 160;
            let mut bitmap = RoaringBitmap::new();
            bitmap.insert(pre);
            self.postings.insert((head, value.to_vec()), bitmap);
        }
    }

    /// The postings and unindexed counts gathered (for `check`).
    pub(crate) fn into_parts(self) -> (HashMap<(Head, Vec<u8>), RoaringBitmap>, HashMap<u32, u64>) {
        (self.postings, self.unindexed)
    }

    /// Writes the gathered postings out once they pass the memory bound.
    pub(crate) fn flush_if_full(&mut self, storage: &dyn Storage, gen: u64, doc: u32) -> Result<()> {
        if self.bytes >= self.flush_bytes {
            self.flush(storage, gen, doc)?;
        }
        Ok(())
    }

    /// Writes the gathered postings as one more part: per head, sorted by value, in
    /// blocks keyed by their last value (so that the first block key at or after a
    /// value names the only block that can hold it).
    fn flush(&mut self, storage: &dyn Storage, gen: u64, doc: u32) -> Result<()> {
        let mut entries: Vec<((Head, Vec<u8>), RoaringBitmap)> = self.postings.drain().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut batch = WriteBatch::default();
        let mut block = Encoder::default();
        let mut block_len = 0usize;
        for (i, ((head, value), bitmap)) in entries.iter().enumerate() {
            block.bytes(value).u32(bitmap.len() as u32);
            let mut last = 0u32;
            for pre in bitmap {
                block.u32(pre - last);
                last = pre;
            }
            block_len += value.len() + 8 + 4 * bitmap.len() as usize;
            let head_ends = entries.get(i + 1).is_none_or(|next| next.0 .0 != *head);
            if head_ends || block_len >= BLOCK_BYTES {
                let key = keys::value_block(gen, doc, head.owner, head.name, head.kind, self.parts, value);
                batch.put(Keyspace::Postings, key, compress(&std::mem::take(&mut block).finish()));
                block_len = 0;
            }
        }
        self.parts += 1;
        self.bytes = 0;
        storage.apply(batch)
    }

    /// Writes what is left and the counts of unindexed elements.
    pub(crate) fn finish(mut self, storage: &dyn Storage, gen: u64, doc: u32) -> Result<()> {
        self.flush(storage, gen, doc)?;
        let mut batch = WriteBatch::default();
        for (name, count) in &self.unindexed {
            batch.put(Keyspace::Postings, keys::value_unindexed(gen, doc, *name), count.to_le_bytes().to_vec());
        }
        batch.put(Keyspace::Postings, keys::value_parts(gen, doc), self.parts.to_le_bytes().to_vec());
        storage.apply(batch)
    }
}

/// The entries of one stored block: (value bytes, nodes).
fn decode_block(stored: &[u8]) -> Result<Vec<(Vec<u8>, RoaringBitmap)>> {
    let raw = decompress(stored, AREA)?;
    let mut dec = Decoder::new(&raw, AREA);
    let mut out = Vec::new();
    while !dec.is_empty() {
        let value = dec.bytes()?.to_vec();
        let n = dec.u32()?;
        let mut bitmap = RoaringBitmap::new();
        let mut pre = 0u32;
        for _ in 0..n {
            pre = pre.checked_add(dec.u32()?).ok_or_else(|| crate::Error::corrupted(AREA, "node past the end"))?;
            bitmap.insert(pre);
        }
        out.push((value, bitmap));
    }
    Ok(out)
}

/// Nodes of document `doc` owned by `owner` with name `name` whose value equals
/// `value`: in each part, the one block whose key is the first at or after it.
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
    for part in 0..parts(storage, gen, doc)? {
        let key = keys::value_block(gen, doc, owner as u8, name, b's', part, value.as_bytes());
        let Some(found) = storage.next_key(Keyspace::Postings, &key)? else { continue };
        if !found.starts_with(&head) || found.get(head.len()..head.len() + 2) != Some(&part.to_be_bytes()[..]) {
            continue;
        }
        let Some(stored) = storage.get(Keyspace::Postings, &found)? else { continue };
        for (v, bitmap) in decode_block(&stored)? {
            if v == value.as_bytes() {
                *into |= bitmap;
            }
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
    for (_, stored) in storage.scan_prefix(Keyspace::Postings, &head)? {
        for (v, bitmap) in decode_block(&stored)? {
            let Ok(b) = <[u8; 8]>::try_from(&v[..]) else { continue };
            if passes(from_sortable(b)) {
                *into |= bitmap;
            }
        }
    }
    Ok(())
}

/// Every entry stored for document `doc`, parts united (for `check`).
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

/// How many parts the load wrote (one per flush), from the document's record of it.
fn parts(storage: &dyn Storage, gen: u64, doc: u32) -> Result<u16> {
    Ok(match storage.get(Keyspace::Postings, &keys::value_parts(gen, doc))? {
        Some(v) => v.get(..2).and_then(|b| b.try_into().ok()).map_or(0, u16::from_le_bytes),
        None => 0,
    })
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
    fn lookups_unite_the_parts_of_a_load() {
        let storage = crate::MemoryStorage::default();
        let mut b = ValueIndexBuilder { flush_bytes: 1, ..Default::default() };
        // Every add passes the bound: each node lands in a part of its own.
        for (pre, v) in [(3, "b"), (5, "a"), (8, "b"), (9, "10"), (12, "9.5"), (20, "b")] {
            b.add(ValueOwner::Attribute, 7, v, pre);
            b.flush_if_full(&storage, 1, 0).unwrap();
        }
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
        // Strings "a", "b", "10", "9.5" and numbers 10, 9.5.
        assert_eq!(stored_entries(&storage, 1, 0).unwrap().len(), 6);
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
