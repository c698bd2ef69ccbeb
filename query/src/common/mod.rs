//! What the XPath and Cypher sides share: query text positions and syntax errors,
//! bounds on query size, deadline and interrupt checks, and the EXPLAIN tree.

pub mod compare;
pub mod explain;
pub mod limits;
pub mod stop;
mod syntax_error;

pub use syntax_error::{SyntaxError, TextPosition};
