//! `sprig registry import | list | show | export`.

use std::path::PathBuf;

use serde_json::json;
use sprig::registry::{self, Format as FileFormat};
use sprig::{Database, Error};

use super::output::{self, Format};

#[derive(Debug, clap::Subcommand)]
pub enum RegistryCommand {
    /// Add the records of a file (.json or .xml, see docs/registry.md) in one
    /// transaction: all of them or, when one is wrong, none.
    ///
    /// Example: sprig registry import fixtures/registry/seed.json
    Import {
        /// The file.
        file: PathBuf,
    },
    /// One line per compressed model: base, method, sparsity, metric change,
    /// speed-up, hardware.
    ///
    /// Example: sprig registry list --format markdown
    List,
    /// A model's whole record, the records it refers to, and its lineage.
    ///
    /// Example: sprig registry show "ResNet-18 PE-wise pruned + ternarized"
    Show {
        /// The model's name.
        name: String,
    },
    /// Print the whole registry in an import format (json, or xml with --format xml).
    ///
    /// Example: sprig registry export --format xml > registry.xml
    Export,
}

/// Where the registry is: the database itself, or a server (`--connect`).
pub trait RegistrySource {
    /// Imports a file's text; the counts of what was added, as JSON.
    fn import(&self, text: &str, kind: FileFormat) -> Result<serde_json::Value, Error>;
    /// The list's rows, as JSON objects keyed like [`registry::ListEntry`].
    fn list(&self) -> Result<Vec<serde_json::Value>, Error>;
    /// A model's record and lineage.
    fn show(&self, name: &str) -> Result<Option<serde_json::Value>, Error>;
    /// Every record in an import format.
    fn export(&self, xml: bool) -> Result<String, Error>;
}

impl RegistrySource for Database {
    fn import(&self, text: &str, kind: FileFormat) -> Result<serde_json::Value, Error> {
        let stats = self.registry_import_text(text, kind)?;
        Ok(json!({"models": stats.models, "papers": stats.papers, "methods": stats.methods,
                  "datasets": stats.datasets, "hardware": stats.hardware}))
    }

    fn list(&self) -> Result<Vec<serde_json::Value>, Error> {
        self.registry_list()?
            .into_iter()
            .map(|e| serde_json::to_value(e).map_err(|e| Error::Usage(e.to_string())))
            .collect()
    }

    fn show(&self, name: &str) -> Result<Option<serde_json::Value>, Error> {
        self.registry_show(name)
    }

    fn export(&self, xml: bool) -> Result<String, Error> {
        let records = self.registry()?;
        Ok(if xml { registry::to_xml(&records) } else { registry::to_json(&records) })
    }
}

pub fn run(source: &dyn RegistrySource, command: &RegistryCommand, format: Format) -> Result<(), Error> {
    match command {
        RegistryCommand::Import { file } => {
            let kind = FileFormat::of_path(file)
                .ok_or_else(|| Error::Usage(format!("'{}': a registry file ends in .json or .xml", file.display())))?;
            let text = std::fs::read_to_string(file)
                .map_err(|e| Error::Usage(format!("cannot read '{}': {e}", file.display())))?;
            let stats = source.import(&text, kind)?;
            let n = |k: &str| stats[k].as_u64().unwrap_or_default();
            if matches!(format, Format::Json | Format::Jsonl) {
                println!(
                    "{}",
                    json!({"file": file.display().to_string(), "models": n("models"), "papers": n("papers"),
                        "methods": n("methods"), "datasets": n("datasets"), "hardware": n("hardware")})
                );
            } else {
                println!(
                    "{}: {} models, {} papers, {} methods, {} datasets, {} hardware added",
                    file.display(),
                    n("models"),
                    n("papers"),
                    n("methods"),
                    n("datasets"),
                    n("hardware")
                );
            }
        }
        RegistryCommand::List => {
            let header = ["model", "base", "method", "sparsity", "metric delta", "speed-up", "hardware"];
            let keys = ["model", "base", "method", "sparsity", "delta", "speedup", "hardware"];
            let rows = source.list()?.into_iter().map(|e| Ok(keys.iter().map(|k| e[*k].clone()).collect()));
            output::print_table(&header, rows, format)?;
        }
        RegistryCommand::Show { name } => {
            let shown =
                source.show(name)?.ok_or_else(|| Error::Usage(format!("no model named '{name}' in the registry")))?;
            if matches!(format, Format::Json | Format::Jsonl) {
                println!("{shown}");
            } else {
                print_show(&shown);
            }
        }
        RegistryCommand::Export => {
            let text = source.export(format == Format::Xml)?;
            match format {
                Format::Xml => print!("{text}"),
                _ => println!("{text}"),
            }
        }
    }
    Ok(())
}

/// A record as indented `key: value` lines, then the lineage chains.
fn print_show(shown: &serde_json::Value) {
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    fn walk(v: &serde_json::Value, indent: usize) {
        let pad = " ".repeat(indent);
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if v.is_object() || v.is_array() {
                        println!("{pad}{k}:");
                        walk(v, indent + 2);
                    } else {
                        println!("{pad}{k}: {}", scalar(v));
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    if item.is_object() {
                        println!("{pad}-");
                        walk(item, indent + 2);
                    } else {
                        println!("{pad}- {}", scalar(item));
                    }
                }
            }
            other => println!("{pad}{}", scalar(other)),
        }
    }
    walk(&shown["model"], 0);
    for key in ["methods", "datasets", "hardware", "papers"] {
        if shown[key].as_array().is_some_and(|a| !a.is_empty()) {
            println!("{key}:");
            walk(&shown[key], 2);
        }
    }
    println!("lineage:");
    let ancestors = shown["lineage"]["ancestors"].as_array().cloned().unwrap_or_default();
    if ancestors.is_empty() {
        println!("  derived from nothing");
    }
    for chain in ancestors {
        let parts: Vec<String> = chain.as_array().into_iter().flatten().map(scalar).collect();
        let mut line = parts.first().cloned().unwrap_or_default();
        for pair in parts[1..].chunks(2) {
            if let [relation, base] = pair {
                line.push_str(&format!(" -[{relation}]-> {base}"));
            }
        }
        println!("  {line}");
    }
    let descendants: Vec<String> =
        shown["lineage"]["descendants"].as_array().into_iter().flatten().map(scalar).collect();
    if !descendants.is_empty() {
        println!("  derived from it: {}", descendants.join(", "));
    }
}
