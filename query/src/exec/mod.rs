//! Executors of logical plans.

pub mod describe;
pub mod navigate;

pub use describe::{NodeDescriber, NodeInfo, NodeType};
pub use navigate::Navigator;
