//! Evaluating a planned XPath expression: navigation over region labels, and the
//! structural joins that evaluate twig patterns.

mod axes;
pub mod describe;
mod explain;
mod functions;
pub mod joins;
pub mod navigate;
mod parallel;
mod step_filters;
mod structural;

pub use describe::{NodeDescriber, NodeInfo, NodeType};
pub use navigate::{Navigator, OperatorStats};
