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

pub mod cypher;
mod error;
pub mod exec;
pub mod explain;
pub mod logical;
pub mod optimizer;
pub mod physical;
pub mod status;
pub mod syntax;
pub mod value;

pub use error::{Error, Result};
pub use exec::{NodeDescriber, NodeInfo, NodeType};
pub use logical::CompileOptions;
pub use status::{Phase, Status};
pub use syntax::{SyntaxError, TextPosition};
pub use value::{Node, Value};

/// Parses and compiles an XPath expression (no data needed).
pub fn prepare_xpath(text: &str, options: &CompileOptions) -> Result<logical::XPathPlan> {
    let ast = syntax::xpath::parse(text)?;
    logical::compile(&ast, options)
}

/// Parses, compiles and evaluates `text` over `collection`.
pub fn evaluate_xpath(collection: &sprig_index::Collection, text: &str, options: &CompileOptions) -> Result<Value> {
    let plan = prepare_xpath(text, options)?;
    exec::Navigator::new(collection)?.evaluate(&plan)
}
