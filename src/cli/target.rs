//! What the shell talks to: the database itself, or `sprig serve` (`--connect`).
//! Statements, plans, listings and loads go to either; path summaries need the
//! database itself.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value as Json;
use sprig::{
    BulkLoadStats, CollectionInfo, CypherOptions, CypherValue, Database, Error, Explained, Rows, WriteStats, XPathOptions,
};

use super::output::{print_xpath, Format};
use super::remote::Remote;

#[derive(Clone)]
pub enum Target {
    Local(Database),
    Remote(Arc<Remote>),
}

impl Target {
    pub fn cypher(&self, query: &str, options: &CypherOptions) -> Result<Rows, Error> {
        match self {
            Target::Local(db) => db.cypher_with(query, options),
            Target::Remote(remote) => {
                let (graph, params) = remote_statement(options);
                remote.cypher_rows(graph, query, params)
            }
        }
    }

    /// Evaluates and prints an XPath expression.
    pub fn print_xpath(
        &self,
        collection: &str,
        expr: &str,
        options: &XPathOptions,
        format: Format,
    ) -> Result<(), Error> {
        match self {
            Target::Local(db) => print_xpath(&db.xpath_with(collection, expr, options)?, format),
            Target::Remote(remote) => remote.print_xpath(collection, expr, options, format),
        }
    }

    /// The plan of a Cypher statement; with `runs`, profiled.
    pub fn cypher_plan(&self, query: &str, options: &CypherOptions, runs: Option<usize>) -> Result<Explained, Error> {
        match (self, runs) {
            (Target::Local(db), None) => db.explain_cypher(query, options),
            (Target::Local(db), Some(runs)) => db.profile_cypher(query, options, runs),
            (Target::Remote(remote), runs) => {
                let (graph, params) = remote_statement(options);
                remote.cypher_plan(graph, query, params, runs)
            }
        }
    }

    /// The plan of an XPath expression; with `runs`, profiled.
    pub fn xpath_plan(
        &self,
        collection: &str,
        expr: &str,
        options: &XPathOptions,
        runs: Option<usize>,
    ) -> Result<Explained, Error> {
        match (self, runs) {
            (Target::Local(db), None) => db.explain_xpath(collection, expr, options),
            (Target::Local(db), Some(runs)) => db.profile_xpath(collection, expr, options, runs),
            (Target::Remote(remote), runs) => remote.xpath_plan(collection, expr, options, runs),
        }
    }

    /// Bulk-loads two CSV files into `graph`.
    pub fn load_graph(&self, graph: &str, nodes: &std::path::Path, edges: &std::path::Path) -> Result<BulkLoadStats, Error> {
        match self {
            Target::Local(db) => {
                let open = |p: &std::path::Path| -> Result<Box<dyn std::io::Read>, Error> {
                    let f = std::fs::File::open(p)
                        .map_err(|e| Error::Usage(format!("cannot open '{}': {e}", p.display())))?;
                    Ok(Box::new(std::io::BufReader::new(f)))
                };
                let (n, e) = (nodes.display().to_string(), edges.display().to_string());
                db.load_graph_csv(graph, (&n, open(nodes)?), (&e, open(edges)?), &mut |_| {})
            }
            Target::Remote(remote) => remote.load_graph(graph, nodes, edges),
        }
    }

    /// Runs a Cypher script in one transaction.
    pub fn load_cypher(&self, graph: &str, script: &str) -> Result<WriteStats, Error> {
        match self {
            Target::Local(db) => db.load_cypher_script(graph, script),
            Target::Remote(remote) => remote.load_cypher(graph, script),
        }
    }

    pub fn graphs(&self) -> Result<Vec<String>, Error> {
        match self {
            Target::Local(db) => db.graphs(),
            Target::Remote(remote) => remote.graphs(),
        }
    }

    pub fn collections(&self) -> Result<Vec<CollectionInfo>, Error> {
        match self {
            Target::Local(db) => db.collections(),
            Target::Remote(remote) => remote.collections(),
        }
    }

    /// Loads one document as a collection and prints what was loaded.
    pub fn load_xml(&self, collection: &str, file: &std::path::Path, format: Format) -> Result<(), Error> {
        match self {
            Target::Local(db) => {
                let input = std::fs::File::open(file)
                    .map_err(|e| Error::Usage(format!("cannot open '{}': {e}", file.display())))?;
                let started = Instant::now();
                let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("collection").to_string();
                let stats =
                    db.load_xml_documents(collection, vec![(stem, Box::new(input) as Box<dyn std::io::Read>)])?;
                super::output::print_load(collection, 1, &stats, started.elapsed(), format)
            }
            Target::Remote(remote) => remote.load_file(file, collection, format),
        }
    }
}

/// The graph and the parameters of a statement, as a request to the server carries them.
fn remote_statement(options: &CypherOptions) -> (&str, serde_json::Map<String, Json>) {
    let params = options.params.0.iter().map(|(k, v)| (k.clone(), param_json(v))).collect();
    (options.graph.as_deref().unwrap_or(sprig::DEFAULT_GRAPH), params)
}

/// A parameter's value as JSON, as a request body carries it.
pub fn param_json(v: &CypherValue) -> Json {
    match v {
        CypherValue::Null => Json::Null,
        CypherValue::Bool(b) => Json::from(*b),
        CypherValue::Int(i) => Json::from(*i),
        CypherValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        CypherValue::String(s) => Json::from(s.as_ref()),
        CypherValue::List(items) => Json::Array(items.iter().map(param_json).collect()),
        CypherValue::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), param_json(v))).collect()),
        other => Json::from(format!("{other:?}")),
    }
}
