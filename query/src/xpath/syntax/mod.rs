//! XPath 1.0 syntax: the [AST](ast) and its [parser](parser).
//! Grammar: <https://www.w3.org/TR/1999/REC-xpath-19991116/>.

pub mod ast;
pub mod parser;

pub use parser::parse;
