//! The operator tree that EXPLAIN and PROFILE show. Pure data; the root crate
//! renders it as text or JSON.

use std::time::Duration;

/// A detail value of an operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Int(u64),
    Text(String),
}

/// One operator of a plan, with estimates and (after PROFILE) actual figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanNode {
    pub operator: String,
    pub details: Vec<(String, Detail)>,
    pub estimated_rows: Option<u64>,
    /// Actual rows produced, summed over executions (PROFILE only).
    pub rows: Option<u64>,
    /// Time spent in the operator, summed over executions (PROFILE only).
    pub time: Option<Duration>,
    pub children: Vec<PlanNode>,
}

impl PlanNode {
    pub fn new(operator: impl Into<String>) -> Self {
        PlanNode { operator: operator.into(), ..Default::default() }
    }

    pub fn detail(mut self, key: &str, value: impl Into<Detail>) -> Self {
        self.details.push((key.to_string(), value.into()));
        self
    }

    pub fn child(mut self, child: PlanNode) -> Self {
        self.children.push(child);
        self
    }

    /// The value of detail `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Detail> {
        self.details.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl From<u64> for Detail {
    fn from(v: u64) -> Self {
        Detail::Int(v)
    }
}

impl From<usize> for Detail {
    fn from(v: usize) -> Self {
        Detail::Int(v as u64)
    }
}

impl From<&str> for Detail {
    fn from(v: &str) -> Self {
        Detail::Text(v.to_string())
    }
}

impl From<String> for Detail {
    fn from(v: String) -> Self {
        Detail::Text(v)
    }
}
