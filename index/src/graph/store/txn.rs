//! A transaction over several graphs: the overlays it opened, the end-of-statement
//! check, and the commit that applies every overlay's batch at once.

use super::*;

impl Drop for GraphTxn {
    fn drop(&mut self) {
        if self.writer && self.owns_lock {
            self.store.release_writer();
        }
    }
}

impl GraphTxn {
    /// A write transaction for a caller that holds the writer lock (and keeps it).
    pub(in crate::graph) fn with_writer_held(store: &GraphStore) -> GraphTxn {
        GraphTxn { store: store.clone(), graphs: HashMap::new(), writer: true, owns_lock: false }
    }

    /// Takes graph `name`'s view out of this transaction, for a reader that outlives
    /// it (a streaming result). Only for read transactions.
    pub fn take_graph(&mut self, name: &str) -> Result<Overlay> {
        if self.writer {
            return Err(Error::InvalidName("a write transaction keeps its graphs".into()));
        }
        self.graph(name)?;
        self.graphs.remove(name).ok_or_else(|| Error::corrupted("graph store", "overlay vanished"))
    }

    /// The view of graph `name` in this transaction (it need not exist yet).
    pub fn graph(&mut self, name: &str) -> Result<&mut Overlay> {
        if !self.graphs.contains_key(name) {
            validate_graph_name(name)?;
            let overlay = Overlay::new(self.store.clone(), name.to_string(), self.writer)?;
            self.graphs.insert(name.to_string(), overlay);
        }
        self.graphs.get_mut(name).ok_or_else(|| Error::corrupted("graph store", "overlay vanished"))
    }

    /// True when this transaction changed something.
    pub fn is_dirty(&self) -> bool {
        self.graphs.values().any(|g| g.dirty)
    }

    /// True when this transaction changed graph `name`.
    pub fn changed(&self, name: &str) -> bool {
        self.graphs.get(name).is_some_and(|g| g.dirty)
    }

    /// Marks the end of a statement: checks constraints that hold per statement.
    pub fn check_statement(&mut self) -> Result<()> {
        for g in self.graphs.values_mut() {
            g.check_deleted_nodes()?;
        }
        Ok(())
    }

    /// Applies every change in one atomic batch and makes it durable.
    pub fn commit(self) -> Result<()> {
        let storage = self.store.storage.clone();
        self.commit_through(move |batch| if batch.is_empty() { Ok(()) } else { storage.apply(batch) })
    }

    /// [`GraphTxn::commit`], handing the batch to `apply` instead of storage. `apply`
    /// runs while no graph reader runs; it must apply the batch (with any writes of its
    /// own, such as another store's publication) atomically, or fail, and then nothing
    /// of this transaction is visible. It is called even when the transaction changed
    /// nothing, with an empty batch.
    pub fn commit_through(mut self, apply: impl FnOnce(WriteBatch) -> Result<()>) -> Result<()> {
        if !self.writer {
            return Err(Error::InvalidName("a read transaction cannot commit".into()));
        }
        let mut batch = WriteBatch::default();
        let mut rewritten = Vec::new();
        let mut texts = TextCommit::default();
        let mut written = Ok(());
        for g in self.graphs.values_mut() {
            written = g.check_deleted_nodes().and_then(|_| g.write_into(&mut batch, &mut rewritten, &mut texts));
            if written.is_err() {
                break;
            }
        }
        let store = self.store.clone();
        let result = written.and_then(|_| {
            if batch.is_empty() {
                // Nothing of the graphs changes: readers need not wait.
                return apply(batch);
            }
            store.apply_exclusive_then(batch, &rewritten, apply, || {
                // Readers start again only once the text indexes show this commit too
                // (dropped first: an index may be dropped and made again under its name).
                for (graph, name) in &texts.dropped {
                    store.forget_text(graph, name);
                }
                for (graph, h) in &texts.committed {
                    h.reload()?;
                    if let Ok(mut map) = store.shared.text.lock() {
                        map.insert((graph.clone(), h.def.name.clone()), h.clone());
                    }
                }
                Ok(())
            })
        });
        if result.is_err() {
            // A text index may have committed in memory what storage never got.
            for (graph, h) in &texts.committed {
                store.forget_text(graph, &h.def.name);
            }
        }
        result?;
        self.graphs.clear();
        Ok(())
    }
}

/// What a commit did to text indexes, to be made visible once the batch is applied.
#[derive(Default)]
pub(super) struct TextCommit {
    pub(super) committed: Vec<(String, Arc<TextIndexHandle>)>,
    pub(super) dropped: Vec<(String, String)>,
}
