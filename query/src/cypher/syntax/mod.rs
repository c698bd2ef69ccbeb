//! Cypher text to AST.

pub mod ast;
mod parser;

pub use parser::parse_statement;
