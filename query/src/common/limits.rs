//! How deep a query's syntax tree may grow. Parsing, planning and evaluation recurse
//! over the tree, so an unbounded depth (`((((...))))` ten thousand times, or a chain
//! of ten thousand `+`) would overflow the stack and abort the process; instead the
//! parser stops with a syntax error. The bounds keep the deepest legal tree well
//! inside a 2 MB stack (Rust's default for spawned threads) in debug builds.
//!
//! Two counts, per thread (a parse runs on one thread and does not nest):
//! - nesting: parser recursion (parentheses, lists, maps, predicates, function
//!   arguments, subqueries, unary operators), at most [`MAX_NESTING`] deep;
//! - operators: nodes a loop wraps around the tree built so far (binary operators,
//!   property accesses, indexing), at most [`MAX_OPERATORS`] in one query. They make
//!   left-deep chains, whose depth the nesting count does not see.

use std::cell::Cell;

/// Deepest parser recursion (bracketed or unary nesting) a query may have.
pub const MAX_NESTING: usize = 100;
/// Most binary operators and postfix accesses in one query.
pub const MAX_OPERATORS: usize = 1000;

thread_local! {
    static NESTING: Cell<usize> = const { Cell::new(0) };
    static OPERATORS: Cell<usize> = const { Cell::new(0) };
}

/// Starts counting for a new query text.
pub(crate) fn start() {
    NESTING.with(|n| n.set(0));
    OPERATORS.with(|n| n.set(0));
}

/// One level of parser recursion, given back when dropped.
pub(crate) struct Nesting(());

impl Nesting {
    /// Enters a level; the error message when the query nests too deeply.
    pub(crate) fn enter() -> Result<Nesting, String> {
        let depth = NESTING.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        let guard = Nesting(());
        if depth > MAX_NESTING {
            return Err(format!("the query nests deeper than {MAX_NESTING} levels"));
        }
        Ok(guard)
    }
}

impl Drop for Nesting {
    fn drop(&mut self) {
        NESTING.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// Counts one operator; the error message past [`MAX_OPERATORS`].
pub(crate) fn operator() -> Result<(), String> {
    let count = OPERATORS.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    if count > MAX_OPERATORS {
        return Err(format!("the query has more than {MAX_OPERATORS} operators"));
    }
    Ok(())
}
