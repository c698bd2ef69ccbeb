//! Who may run when: readers share the read gate for the length of a query, a commit
//! takes it exclusively, and one writer at a time holds the writer lock. A thread that
//! holds a read gate cannot begin a write (it would wait for itself).

use super::*;

/// The right to write among processes ([`GraphStore::write_turn`]); given back on drop.
#[derive(Debug)]
pub struct WriteTurn {
    storage: Arc<dyn Storage>,
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        self.storage.end_writes();
    }
}

/// Held by a reader for the length of a query: no commit is applied meanwhile.
#[derive(Debug)]
pub struct ReadGate<'a> {
    _guard: RwLockReadGuard<'a, ()>,
    /// Not `Send`: the count of shares is per thread.
    _here: std::marker::PhantomData<*const ()>,
}

impl Drop for ReadGate<'_> {
    fn drop(&mut self) {
        HELD_GATES.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

thread_local! {
    /// Shares of the read gate this thread holds (queries running, streaming results
    /// not yet dropped).
    static HELD_GATES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The error for a write on a thread that holds a streaming result's read share (it
/// would wait for itself).
pub(super) fn held_rows_error() -> Result<()> {
    if HELD_GATES.with(std::cell::Cell::get) > 0 {
        return Err(Error::InvalidName(
            "this thread still holds the rows of a query; read them to the end or drop them before writing".into(),
        ));
    }
    Ok(())
}

/// A share of the read gate that a streaming result owns. While it lives, commits
/// wait; a commit on the thread that holds it is an error instead of a deadlock.
#[derive(Debug)]
pub struct OwnedReadGate {
    _guard: parking_lot::ArcRwLockReadGuard<parking_lot::RawRwLock, ()>,
    /// Not `Send`: the count is per thread.
    _here: std::marker::PhantomData<*const ()>,
}

impl Drop for OwnedReadGate {
    fn drop(&mut self) {
        HELD_GATES.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

impl GraphStore {
    /// Taken by a query for its whole run: commits wait until it is released. On a
    /// store other processes write, the query reads the newest published version.
    pub fn read_gate(&self) -> Result<ReadGate<'_>> {
        self.catch_up()?;
        // A thread that already holds a share (an open streaming result) takes another
        // even while a commit waits; a fair lock would make it wait for itself.
        let guard = if HELD_GATES.with(std::cell::Cell::get) > 0 {
            self.shared.gate.read_recursive()
        } else {
            self.shared.gate.read()
        };
        HELD_GATES.with(|n| n.set(n.get() + 1));
        Ok(ReadGate { _guard: guard, _here: std::marker::PhantomData })
    }

    /// A share of the read gate that outlives this borrow, for a result that streams.
    pub fn owned_read_gate(&self) -> Result<OwnedReadGate> {
        self.catch_up()?;
        let guard = if HELD_GATES.with(std::cell::Cell::get) > 0 {
            self.shared.gate.read_arc_recursive()
        } else {
            self.shared.gate.read_arc()
        };
        HELD_GATES.with(|n| n.set(n.get() + 1));
        Ok(OwnedReadGate { _guard: guard, _here: std::marker::PhantomData })
    }

    /// On a store that other processes write too, moves this process's reads to the
    /// newest version they published and forgets what was cached from older ones
    /// (chunks, planning statistics, loaded text indexes). It waits for this
    /// process's running queries, as a commit does; a thread that still holds rows
    /// of a query goes on reading the version those rows came from.
    pub fn catch_up(&self) -> Result<()> {
        let Some(version) = self.storage.newer_version()? else { return Ok(()) };
        if HELD_GATES.with(std::cell::Cell::get) > 0 {
            return Ok(());
        }
        let _exclusive = self.shared.gate.write();
        if self.storage.read_at(version)? {
            self.shared.cache.evict_all();
            if let Ok(mut remembered) = self.shared.statistics.lock() {
                remembered.clear();
            }
            if let Ok(mut text) = self.shared.text.lock() {
                text.clear();
            }
        }
        Ok(())
    }

    /// The right to write for as long as the turn lives: on a store other processes
    /// write too, waits for theirs to end, then catches up. Graph writers take it
    /// themselves; XML loads take it through this.
    pub fn write_turn(&self) -> Result<WriteTurn> {
        self.storage.begin_writes()?;
        let turn = WriteTurn { storage: self.storage.clone() };
        self.catch_up()?;
        Ok(turn)
    }

    pub(in crate::graph) fn acquire_writer(&self) -> Result<()> {
        let poisoned = |_| Error::corrupted("graph store", "lock poisoned");
        {
            let mut active = self.shared.writer_active.lock().map_err(poisoned)?;
            while *active {
                active = self.shared.writer_done.wait(active).map_err(poisoned)?;
            }
            *active = true;
        }
        // Then the right to write among processes, reading what the last writer left.
        if let Err(e) = self.storage.begin_writes() {
            self.release_local_writer();
            return Err(e);
        }
        if let Err(e) = self.catch_up() {
            self.release_writer();
            return Err(e);
        }
        Ok(())
    }

    pub(in crate::graph) fn release_writer(&self) {
        self.storage.end_writes();
        self.release_local_writer();
    }

    fn release_local_writer(&self) {
        if let Ok(mut active) = self.shared.writer_active.lock() {
            *active = false;
            self.shared.writer_done.notify_one();
        }
    }

    /// Applies `batch` while no reader runs and drops the cached chunks it rewrites,
    /// then makes it durable.
    pub(in crate::graph) fn apply_exclusive(&self, batch: WriteBatch, rewritten: &[CacheKey]) -> Result<()> {
        self.apply_exclusive_then(batch, rewritten, |b| self.storage.apply(b), || Ok(()))
    }

    /// Forgets the planning statistics of the graphs whose chunks a commit rewrote:
    /// a `SET` changes what a predicate keeps without changing the graph's size.
    fn forget_statistics(&self, rewritten: &[CacheKey]) {
        let graphs: std::collections::BTreeSet<u32> = rewritten.iter().map(|k| k.0).collect();
        if graphs.is_empty() {
            return;
        }
        if let Ok(mut remembered) = self.shared.statistics.lock() {
            remembered.retain(|key, _| !graphs.contains(&key.0));
        }
    }

    /// [`apply_exclusive`](Self::apply_exclusive) through `apply` (which may add writes
    /// of its own to the batch), running `then` before readers may start again (text
    /// indexes switch to the commit there).
    pub(in crate::graph) fn apply_exclusive_then(
        &self,
        batch: WriteBatch,
        rewritten: &[CacheKey],
        apply: impl FnOnce(WriteBatch) -> Result<()>,
        then: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        {
            held_rows_error()?;
            let _exclusive = self.shared.gate.write();
            apply(batch)?;
            self.shared.cache.evict(rewritten);
            self.forget_statistics(rewritten);
            then()?;
        }
        self.storage.flush()
    }
}
