//! The memory a statement's intermediate results may hold. Operators that buffer
//! (sort, aggregation, distinct, eager barriers) and functions that build large
//! lists (`range`) reserve what they keep against one budget per statement; past it
//! the statement stops with `Error::MemoryLimit` instead of growing until the
//! process is killed. Sizes are estimates (a value's heap bytes plus its slot), good
//! to a small factor, which is what a limit needs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};

/// The budget when the caller sets none: 4 GiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 4 << 30;

/// One statement's budget, shared by its operators' reservations.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    held: AtomicUsize,
}

impl MemoryBudget {
    pub fn new(limit: usize) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget { limit, held: AtomicUsize::new(0) })
    }

    /// Checks that one value of `bytes` (about to be built) fits in what is left.
    pub fn check(&self, bytes: usize) -> Result<()> {
        if self.held.load(Ordering::Relaxed).saturating_add(bytes) > self.limit {
            return Err(Error::MemoryLimit(self.limit));
        }
        Ok(())
    }
}

/// What one operator holds of the budget; given back when dropped or cleared.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<MemoryBudget>,
    bytes: usize,
}

impl Reservation {
    pub fn new(budget: &Arc<MemoryBudget>) -> Reservation {
        Reservation { budget: budget.clone(), bytes: 0 }
    }

    /// Holds `bytes` more; an error (holding nothing more) past the limit.
    pub fn grow(&mut self, bytes: usize) -> Result<()> {
        let before = self.budget.held.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > self.budget.limit {
            self.budget.held.fetch_sub(bytes, Ordering::Relaxed);
            return Err(Error::MemoryLimit(self.budget.limit));
        }
        self.bytes += bytes;
        Ok(())
    }
}

impl Reservation {
    /// One reservation holding what both hold (from the same budget): the state
    /// of two halves of a split pipeline, merged into one.
    pub fn join(first: Option<Reservation>, later: Option<Reservation>) -> Option<Reservation> {
        match (first, later) {
            (Some(mut mine), Some(mut theirs)) => {
                mine.bytes += std::mem::take(&mut theirs.bytes);
                Some(mine)
            }
            (mine, theirs) => mine.or(theirs),
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// Estimated bytes a value holds: its slot plus what it owns on the heap (shared
/// strings and lists are counted at every holder, which errs on the safe side).
pub fn value_bytes(v: &V) -> usize {
    const SLOT: usize = std::mem::size_of::<V>();
    // A stack, not recursion: values built at run time may nest deeply.
    let mut total = 0usize;
    let mut todo: Vec<&V> = vec![v];
    while let Some(v) = todo.pop() {
        total += SLOT;
        match v {
            V::String(s) => total += s.len(),
            V::List(items) => todo.extend(items.iter()),
            V::Map(m) => {
                for (k, v) in m.iter() {
                    total += k.len() + 24;
                    todo.push(v);
                }
            }
            V::Path(p) => total += 16 * (p.nodes.len() + p.rels.len()),
            _ => {}
        }
    }
    total
}

/// Estimated bytes of a row.
pub fn row_bytes(row: &[V]) -> usize {
    24 + row.iter().map(value_bytes).sum::<usize>()
}
