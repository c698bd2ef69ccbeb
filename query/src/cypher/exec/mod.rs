//! Physical operators: pull-based iterators over rows, built from the logical plan.
//! Blocking operators (aggregation, sort, eager) materialize only their own input.
//! One operator family per file; `build` turns a plan into operators, and `context`
//! holds what a running statement carries.

mod build;
pub mod chunk_filter;
mod chunked;
pub mod context;
mod expand;
pub mod group_table;
mod grouping;
mod index_order;
pub mod memory;
mod order;
mod parallel;
mod procedures;
pub mod projection;
mod rows;
mod scan;
mod schema;
mod shortest;
mod write;

pub use build::{build, build_unprofiled};
pub(crate) use context::set;
pub use context::{BoxOp, Ctx, GraphRef, OpStats, Operator, Row, WriteStats};
pub(crate) use expand::{list_of, of_types, type_tokens};
pub(crate) use scan::LabelTest;
pub use shortest::PROJECT_AFTER_SEARCHES;
