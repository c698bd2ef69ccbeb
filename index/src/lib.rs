//! Storage and indexes of sprig.
//!
//! - [`storage`]: the [`Storage`] trait (keyspaces, atomic batches) with a sled backend
//!   and an in-memory one.
//! - [`xml`]: streaming ingest of XML into region-labelled node records, the name
//!   table, the path summary and roaring posting lists.
//! - [`XmlStore`]: the catalog of collections, atomic loads and pinned snapshots.
//!
//! This crate knows nothing about XPath, query plans or output formats.
//!
//! ```
//! use std::sync::Arc;
//! use sprig_index::{MemoryStorage, XmlStore};
//! let store = XmlStore::open(Arc::new(MemoryStorage::default()))?;
//! let mut load = store.begin_load("books")?;
//! load.add_document("books", "<a><b/>text</a>".as_bytes())?;
//! load.commit()?;
//! let books = store.collection("books")?;
//! let doc = books.document(0)?;
//! assert_eq!(doc.string_value(0)?, "text");
//! # Ok::<_, sprig_index::Error>(())
//! ```

pub mod cache;
mod codec;
mod error;
mod fast_map;
pub mod graph;
mod keys;
pub mod parallel;
pub mod storage;

pub mod xml;

pub use cache::{default_cache_mb, CacheStats, SharedCache};
pub use codec::FORMAT_VERSION;
pub use error::{Error, Result};
pub use storage::{Keyspace, MemoryStorage, SledStorage, Staged, Storage, WriteBatch};
pub use xml::document::{Document, NodeReader};
pub use xml::ingest::{DocStats, XML_NAMESPACE};
pub use xml::names::{NameTable, QName};
pub use xml::node::{NodeKind, NodeRecord, NO_NAME, NO_PARENT};
pub use xml::path_summary::{PathEntry, PathSummary};
pub use xml::store::{Collection, CollectionInfo, CollectionLoad, XmlStore};
pub use xml::value_index::ValueOwner;
