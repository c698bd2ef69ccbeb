//! The query side of sprig: XPath 1.0 text -> AST -> logical plan -> evaluation.
//!
//! ```
//! use std::sync::Arc;
//! use sprig_index::{MemoryStorage, XmlStore};
//! use sprig_query::{evaluate_xpath, CompileOptions, Value};
//! let store = XmlStore::open(Arc::new(MemoryStorage::default()))?;
//! let mut load = store.begin_load("d")?;
//! load.add_document("d", "<a><b/><b/></a>".as_bytes())?;
//! load.commit()?;
//! let coll = store.collection("d")?;
//! assert_eq!(evaluate_xpath(&coll, "count(//b)", &CompileOptions::default())?, Value::Number(2.0));
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

pub mod common;
pub mod cypher;
mod error;
pub mod status;
pub mod xpath;

pub use common::{SyntaxError, TextPosition};
pub use error::{Error, Result};
pub use status::{Phase, Status};
pub use xpath::compile::CompileOptions;
pub use xpath::exec::{NodeDescriber, NodeInfo, NodeType};
pub use xpath::value::{Node, Value};
pub use xpath::{evaluate_xpath, prepare_xpath};
