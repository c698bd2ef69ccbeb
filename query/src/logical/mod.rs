//! Logical plans: the AST with names resolved and checked, ready for an executor.

pub mod twig;
pub mod xpath;

pub use xpath::{compile, CompileOptions, Expr, Function, Step, Test, XPathPlan};
