//! Key layouts. Every key of a collection's data starts with its generation, so that a
//! whole generation can be dropped by prefix.
//!
//! ```text
//! Meta      "format"                              -> u32 FORMAT_VERSION
//!           "next_gen"                            -> u64
//! Catalog   collection name (utf-8)               -> CatalogEntry
//! DocMeta   gen:u64 'c'                           -> CollectionMeta (names, path summary, doc names)
//!           gen:u64 'd' doc:u32                   -> DocMeta (node count, end patches, stats)
//! Nodes     gen:u64 doc:u32 chunk:u32             -> Chunk (records + text)
//! Postings  gen:u64 doc:u32 'n' kind:u8 name:u32  -> roaring bitmap of pre
//!           gen:u64 doc:u32 'v' owner:u8 name:u32 kind:u8 last-value
//!                                                 -> lz4(block of (value, pre deltas)), value index
//!           gen:u64 doc:u32 'u' name:u32          -> u64 elements of that name not in the value index
//! Ids       gen:u64 doc:u32 value (utf-8)         -> pre:u32
//! Regions   gen:u64 doc:u32 'd'                   -> lz4(directory: n, (path:u32, start:u64, len:u32)*)
//!           gen:u64 doc:u32 's' segment:u32       -> lz4((pre:u32, end:u32)*), partitions in path order
//! ```
//! All integers in keys are big-endian.

use crate::codec::KeyBuilder;

pub const FORMAT: &[u8] = b"format";
pub const NEXT_GEN: &[u8] = b"next_gen";

pub fn generation(gen: u64) -> Vec<u8> {
    KeyBuilder::default().u64(gen).build()
}

pub fn collection_meta(gen: u64) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u8(b'c').build()
}

pub fn doc_meta(gen: u64, doc: u32) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u8(b'd').u32(doc).build()
}

/// The prefix of every key of one document in the Nodes, Postings, Ids and Regions keyspaces.
pub fn document(gen: u64, doc: u32) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u32(doc).build()
}

pub fn chunk(gen: u64, doc: u32, chunk: u32) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u32(doc).u32(chunk).build()
}

pub fn name_postings(gen: u64, doc: u32, kind: u8, name: u32) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u32(doc).u8(b'n').u8(kind).u32(name).build()
}

/// The prefix of every name-postings key of one document.
pub fn name_postings_prefix(gen: u64, doc: u32) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u32(doc).u8(b'n').build()
}

/// The prefix of every value-index key of one document.
pub fn value_prefix(gen: u64, doc: u32) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u32(doc).u8(b'v').build()
}

/// The prefix of the value-index blocks of one (owner kind, name, strings or numbers).
pub fn value_head(gen: u64, doc: u32, owner: u8, name: u32, kind: u8) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u32(doc).u8(b'v').u8(owner).u32(name).u8(kind).build()
}

/// A value-index block: its head and the block's last value.
pub fn value_block(gen: u64, doc: u32, owner: u8, name: u32, kind: u8, last: &[u8]) -> Vec<u8> {
    let mut key = value_head(gen, doc, owner, name, kind);
    key.extend_from_slice(last);
    key
}

/// How many elements named `name` the value index leaves out.
pub fn value_unindexed(gen: u64, doc: u32, name: u32) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u32(doc).u8(b'u').u32(name).build()
}

pub fn region_directory(gen: u64, doc: u32) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u32(doc).u8(b'd').build()
}

pub fn region_segment(gen: u64, doc: u32, segment: u32) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u32(doc).u8(b's').u32(segment).build()
}

pub fn id(gen: u64, doc: u32, value: &str) -> Vec<u8> {
    KeyBuilder::default().u64(gen).u32(doc).bytes(value.as_bytes()).build()
}

/// The generation a data key belongs to.
pub fn generation_of(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}
