//! A node scan that returns an index seek's nodes in the index's order, in place of
//! an ORDER BY on the indexed property (`rules::OrderFromIndex`): the candidates are
//! listed in key order once per input row, then tested a growing batch at a time
//! (a LIMIT above stops it early), each batch emitted in key order.

use roaring::RoaringTreemap;
use sprig_index::graph::{NodeId, CHUNK_LEN};

use crate::cypher::exec::scan::{index_bounds, IndexBounds, NodeScan};
use crate::cypher::exec::{Ctx, Row};
use crate::cypher::plan::ScanSource;
use crate::Result;

const FIRST_BATCH: usize = 64;
const MAX_BATCH: usize = 4096;

/// The candidates of the current input row in the order to return them.
#[derive(Debug, Default)]
pub(super) struct InOrder {
    ids: Vec<NodeId>,
    next: usize,
    batch: usize,
}

impl NodeScan {
    /// The candidates of `row` in index order, when this scan returns them so.
    pub(super) fn candidates_in_order(&self, row: &Row, ctx: &mut Ctx<'_>) -> Result<Option<InOrder>> {
        let ScanSource::IndexSeek { index, seek, ordered: Some(ascending) } = &self.source else { return Ok(None) };
        let mut ids = match index_bounds(seek, row, ctx)? {
            IndexBounds::Keys(from, to) => ctx.graph.index_seek_ordered(index, &from, to.as_deref())?,
            // A list or null bound: no stored value compares, so no row passes.
            IndexBounds::WholeLabel | IndexBounds::Nothing => Vec::new(),
        };
        if !ascending {
            ids.reverse();
        }
        Ok(Some(InOrder { ids, next: 0, batch: FIRST_BATCH }))
    }

    /// Tests the next batch of candidates in order into `batch.passed`; marks the
    /// batch done when none is left.
    pub(super) fn test_in_order(&mut self, ctx: &mut Ctx<'_>) -> Result<()> {
        let Some(order) = &mut self.in_order else {
            self.batch.done = true;
            return Ok(());
        };
        if order.next >= order.ids.len() {
            self.batch.done = true;
            return Ok(());
        }
        let end = (order.next + order.batch).min(order.ids.len());
        let ids = &order.ids[order.next..end];
        order.next = end;
        order.batch = (order.batch * 2).min(MAX_BATCH);
        let subset: RoaringTreemap = ids.iter().copied().collect();
        let (Some(lo), Some(hi)) = (subset.min(), subset.max()) else { return Ok(()) };
        let len = CHUNK_LEN as u64;
        let passed: RoaringTreemap = self
            .test
            .passing(&subset, lo / len..hi / len + 1, self.slot, &self.wanted, &self.predicates, ctx)?
            .into_iter()
            .collect();
        self.batch.passed.extend(ids.iter().copied().filter(|id| passed.contains(*id)));
        Ok(())
    }
}
