//! Physical operators: pull-based iterators over rows, built from the logical plan.
//! Blocking operators (aggregation, sort, eager) materialize only their own input.
//! One operator family per file; `build` turns a plan into operators, and `context`
//! holds what a running statement carries.

use std::sync::Arc;
use std::time::Duration;

use crate::cypher::eval::expr::CExpr;
use crate::cypher::plan::*;
use crate::cypher::value::CypherValue as V;
use crate::Result;

mod build;
pub mod chunk_filter;
mod chunked;
mod context;
mod expand;
pub mod group_table;
mod grouping;
pub mod memory;
mod order;
mod procedures;
pub mod projection;
mod rows;
mod scan;
mod schema;
mod shortest;
mod write;

pub use build::build;
pub use context::{Ctx, GraphRef};
pub(crate) use expand::{group_rows, list_of, of_types, type_tokens};
pub(crate) use scan::LabelTest;
pub use shortest::PROJECT_AFTER_SEARCHES;

/// A row: one value per slot.
pub type Row = Vec<V>;

/// Counters of what a statement changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub nodes_created: u64,
    pub nodes_deleted: u64,
    pub relationships_created: u64,
    pub relationships_deleted: u64,
    pub properties_set: u64,
    pub labels_added: u64,
    pub labels_removed: u64,
    pub indexes_added: u64,
    pub indexes_removed: u64,
}

impl WriteStats {
    /// Every change counted, a number that grows with each write.
    pub fn total(&self) -> u64 {
        self.nodes_created
            + self.nodes_deleted
            + self.relationships_created
            + self.relationships_deleted
            + self.properties_set
            + self.labels_added
            + self.labels_removed
            + self.indexes_added
            + self.indexes_removed
    }
}

/// Rows and time of one operator (PROFILE).
#[derive(Debug, Clone, Default)]
pub struct OpStats {
    pub rows: u64,
    pub time: Duration,
}

/// A physical operator.
pub trait Operator {
    /// The next row, or `None` when done.
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>>;
    /// Starts over with a new argument row (passed down to `Argument`).
    fn reset(&mut self, arg: &Row);
}

pub type BoxOp = Box<dyn Operator>;

/// A copy of `row` wide enough for slot `widest`, made with one allocation (a clone
/// then `set` past the end would reallocate).
fn widened(row: &Row, widest: usize) -> Row {
    let mut out = Vec::with_capacity(row.len().max(widest + 1));
    out.extend_from_slice(row);
    out
}

/// The candidates of an LIndex lookup (`None`: the index cannot prune it).
pub(crate) fn lindex_candidates(
    prune: &LIndexPrune,
    ctx: &mut Ctx<'_>,
) -> Result<Option<Arc<roaring::RoaringTreemap>>> {
    Ok(ctx.graph.lindex_candidates(&prune.index, &prune.steps, &prune.property, &prune.tests)?)
}

pub(super) fn set(row: &mut Row, slot: usize, v: V) {
    if row.len() <= slot {
        row.resize(slot + 1, V::Null);
    }
    row[slot] = v;
}

/// True when `plan` (rooted at `Argument`) yields a row for `row`.
pub fn subplan_has_row(plan: &LogicalOp, row: &Row, ctx: &mut Ctx<'_>) -> Result<bool> {
    let mut op = build(plan, false);
    op.reset(row);
    Ok(op.next(ctx)?.is_some())
}

/// `map` evaluated on every row `plan` yields for `row`.
pub fn subplan_collect(plan: &LogicalOp, row: &Row, map: &CExpr, ctx: &mut Ctx<'_>) -> Result<Vec<V>> {
    let mut op = build(plan, false);
    op.reset(row);
    let mut out = Vec::new();
    while let Some(r) = op.next(ctx)? {
        out.push(map.eval(&r, ctx)?);
    }
    Ok(out)
}
