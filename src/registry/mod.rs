//! The model registry (SPEC section 6): records of pruned and compressed models, kept
//! as graph `registry` and as collection `registry` (one XML document per model).
//!
//! Every write of graph `registry`, whether an import or a Cypher statement, commits
//! through [`commit`]: it reads the registry back from the transaction, checks it,
//! renders the XML documents, and publishes the collection in the same storage batch
//! as the graph. So the two views always agree, and a rejected record changes neither.

mod graph_view;
mod record;
mod report;
mod xml;

use sprig_index::graph::GraphTxn;

pub use record::{
    Dataset, Deployment, Derivation, Evaluation, Hardware, Method, Model, Paper, Pruning, Records, RELATIONS,
};
pub use report::{Lineage, ListEntry};

use crate::{Database, Error, Result};

/// The graph and the collection that hold the registry.
pub const REGISTRY: &str = "registry";

/// A registry record that breaks a rule, or an import file that cannot be read; with
/// its position in the file when there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct RegistryError {
    /// What is wrong.
    pub message: String,
    /// 1-based line and column in the import file.
    pub position: Option<(u64, u64)>,
}

impl RegistryError {
    pub(crate) fn new(message: impl Into<String>) -> RegistryError {
        RegistryError { message: message.into(), position: None }
    }

    pub(crate) fn at(message: impl Into<String>, position: (u64, u64)) -> RegistryError {
        RegistryError { message: message.into(), position: Some(position) }
    }
}

/// The format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// [`Records`] as JSON.
    Json,
    /// A `<registry>` or `<model>` document (`fixtures/registry/registry.xsd`).
    Xml,
}

impl Format {
    /// The format a file name's extension names.
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "xml" => Some(Format::Xml),
            _ => None,
        }
    }
}

/// Parses an import file.
pub fn parse(text: &str, format: Format) -> Result<Records> {
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| {
            let message = format!("invalid registry JSON: {e}");
            Error::Registry(RegistryError::at(message, (e.line() as u64, e.column() as u64)))
        }),
        Format::Xml => Ok(xml::parse(text)?),
    }
}

/// The registry as JSON (the import format).
pub fn to_json(records: &Records) -> String {
    serde_json::to_string_pretty(records).unwrap_or_default()
}

/// The registry as one `<registry>` XML document (the import format).
pub fn to_xml(records: &Records) -> String {
    xml::registry_document(records)
}

/// Commits `txn`; when it changed graph `registry`, checks the registry it leaves and
/// publishes collection `registry` from it in the same atomic batch.
pub(crate) fn commit(db: &Database, mut txn: GraphTxn) -> Result<()> {
    if !txn.changed(REGISTRY) {
        return Ok(txn.commit()?);
    }
    let records = graph_view::read(&mut txn)?;
    records.validate()?;
    let xml_store = &db.inner.xml;
    let mut load = xml_store.begin_load(REGISTRY)?;
    for model in &records.models {
        load.add_document(&model.name, xml::model_document(&records, model).as_bytes())?;
    }
    txn.commit_through(|graph_batch| load.commit_with(graph_batch).map(|_| ()))?;
    Ok(())
}

impl Database {
    /// Adds `records` to the registry in one transaction.
    ///
    /// ```
    /// use sprig::registry::Format;
    /// let db = sprig::Database::in_memory()?;
    /// db.registry_import_text(
    ///     r#"{"methods": [{"name": "magnitude", "kind": "unstructured"}],
    ///         "models": [{"name": "ResNet-50"},
    ///                    {"name": "ResNet-50 90%", "sparsity": 0.9,
    ///                     "derived_from": [{"model": "ResNet-50", "relation": "pruned"}],
    ///                     "pruned_with": [{"method": "magnitude", "ratio": 0.9}]}]}"#,
    ///     Format::Json,
    /// )?;
    /// // Both views hold it: the graph ...
    /// let base: String = db
    ///     .cypher("USE registry MATCH (:Model {sparsity: 0.9})-[:DERIVED_FROM]->(b) RETURN b.name AS b", ())?
    ///     .single()?.get("b")?;
    /// assert_eq!(base, "ResNet-50");
    /// // ... and the XML documents.
    /// assert_eq!(db.xpath("registry", "string(//model[@sparsity > 0.5]/pruning/@kind)")?,
    ///            sprig::XPathValue::String("unstructured".into()));
    /// // A wrong record changes neither.
    /// let err = db.registry_import_text(r#"{"models": [{"name": "x", "sparsity": 9}]}"#, Format::Json).unwrap_err();
    /// assert_eq!(err.kind(), "registry");
    /// assert_eq!(db.registry()?.models.len(), 2);
    /// # Ok::<_, sprig::Error>(())
    /// ```
    ///
    /// All of them land or, if any
    /// breaks a rule (a duplicate name, a fraction outside [0, 1], a reference to a
    /// record that does not exist, ...), none, and both views stay as they were.
    pub fn registry_import(&self, records: Records) -> Result<ImportStats> {
        let mut txn = self.inner.graphs.begin_write()?;
        let mut all = graph_view::read(&mut txn)?;
        let before = all.clone();
        all.merge(records)?;
        all.validate()?;
        let stats = ImportStats {
            models: all.models.len() - before.models.len(),
            papers: all.papers.len() - before.papers.len(),
            methods: all.methods.len() - before.methods.len(),
            datasets: all.datasets.len() - before.datasets.len(),
            hardware: all.hardware.len() - before.hardware.len(),
        };
        let new = Records {
            papers: all.papers[before.papers.len()..].to_vec(),
            methods: all.methods[before.methods.len()..].to_vec(),
            datasets: all.datasets[before.datasets.len()..].to_vec(),
            hardware: all.hardware[before.hardware.len()..].to_vec(),
            models: all.models[before.models.len()..].to_vec(),
        };
        graph_view::write(&mut txn, &new)?;
        commit(self, txn)?;
        Ok(stats)
    }

    /// Parses an import file and adds its records ([`Database::registry_import`]).
    pub fn registry_import_text(&self, text: &str, format: Format) -> Result<ImportStats> {
        self.registry_import(parse(text, format)?)
    }

    /// Every record of the registry, each list sorted by name.
    pub fn registry(&self) -> Result<Records> {
        let mut txn = self.inner.graphs.begin_read();
        let _gate = self.inner.graphs.read_gate()?;
        graph_view::read(&mut txn)
    }
}

/// What an import added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Models added.
    pub models: usize,
    /// Papers added.
    pub papers: usize,
    /// Methods added.
    pub methods: usize,
    /// Datasets added.
    pub datasets: usize,
    /// Hardware added.
    pub hardware: usize,
}
