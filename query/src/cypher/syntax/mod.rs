//! Cypher text to AST.

pub mod ast;
mod expressions;
mod parser;

pub use parser::parse_statement;
