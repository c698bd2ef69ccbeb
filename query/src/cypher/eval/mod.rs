//! Evaluating expressions over a row: compiled expressions with three-valued logic,
//! the function library, aggregate accumulators, and `xpath()` over XML collections.

pub mod aggregate;
pub mod expr;
pub mod functions;
mod xpath_call;
