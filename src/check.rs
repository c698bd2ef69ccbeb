//! `Database::check`: every collection and graph re-derived from its records and
//! compared with its indexes (the checks themselves live in sprig-index:
//! `xml::check` and `graph::GraphStore::check_graph`), plus the registry's rule that
//! its two views hold the same models.

use crate::{Database, Result};

/// What [`Database::check`] looked at and what it found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// One line per collection or graph checked, e.g. `collection books: 1 documents, 60 nodes, 12 paths`.
    pub checked: Vec<String>,
    /// Every disagreement found; empty for a healthy database.
    pub problems: Vec<String>,
    /// States that are not damage but are worth knowing (text indexes waiting for a
    /// write after an interrupted bulk load).
    pub notes: Vec<String>,
}

impl CheckReport {
    /// No problem found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Database {
    /// Verifies that every index agrees with the data it indexes: region labels, path
    /// summaries, name postings and region tables of every document; adjacency lists,
    /// label bitmaps, counters, property indexes, LIndexes and full-text indexes of
    /// every graph; and that the registry's graph and XML views hold the same models.
    /// Reads everything once; a database of a few GB takes minutes.
    pub fn check(&self) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        for info in self.xml()?.collections()? {
            let collection = self.inner.xml.collection(&info.name)?;
            let c = sprig_index::xml::check::check_collection(&collection)?;
            report.checked.push(format!(
                "collection {}: {} documents, {} nodes, {} paths",
                info.name, c.documents, c.nodes, c.paths
            ));
            report.problems.extend(c.problems);
        }
        for graph in self.inner.graphs.graphs()? {
            let g = self.inner.graphs.check_graph(&graph)?;
            report.checked.push(format!(
                "graph {graph}: {} nodes, {} relationships, {} property indexes, {} text indexes",
                g.nodes, g.relationships, g.property_indexes, g.text_indexes
            ));
            if g.text_pending {
                report.notes.push(format!(
                    "graph {graph}: a bulk load's entities wait for their text documents; the text indexes \
                     are not used until the next write of the graph indexes them"
                ));
            }
            report.problems.extend(g.problems);
        }
        self.check_registry_views(&mut report)?;
        Ok(report)
    }

    fn check_registry_views(&self, report: &mut CheckReport) -> Result<()> {
        use crate::registry::REGISTRY;
        let graph_exists = self.inner.graphs.graphs()?.iter().any(|g| g == REGISTRY);
        let collection = match self.inner.xml.collection(REGISTRY) {
            Ok(c) => Some(c),
            Err(sprig_index::Error::UnknownCollection(_)) => None,
            Err(e) => return Err(e.into()),
        };
        if !graph_exists && collection.is_none() {
            return Ok(());
        }
        let records = self.registry()?;
        if let Err(e) = records.validate() {
            report.problems.push(format!("registry: the stored records break a rule: {e}"));
        }
        let models: Vec<String> = records.models.iter().map(|m| m.name.clone()).collect();
        let mut documents = Vec::new();
        if let Some(c) = &collection {
            for i in 0..c.len() {
                documents.push(c.document(i)?.name().to_string());
            }
        }
        if models != documents {
            report.problems.push(format!(
                "registry: graph 'registry' holds {} models, collection 'registry' {} documents, and they differ",
                models.len(),
                documents.len()
            ));
        }
        Ok(())
    }
}
