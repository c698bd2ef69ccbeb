//! Executors of logical plans.

pub mod describe;
mod explain;
pub mod navigate;
mod step_filters;
mod structural;

pub use describe::{NodeDescriber, NodeInfo, NodeType};
pub use navigate::{Navigator, OperatorStats};
