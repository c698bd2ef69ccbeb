//! What `sprig registry list` and `registry show` print: one line per result, and a
//! model's lineage.

use serde::Serialize;
use serde_json::json;

use super::record::{Model, Records};
use super::REGISTRY;
use crate::{CypherOptions, Database, Result};

/// One line of `registry list`: a compressed model and what it reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListEntry {
    /// The model.
    pub model: String,
    /// Its base models, joined by `, `.
    pub base: String,
    /// Its methods, joined by ` + `.
    pub method: String,
    /// Its sparsity, if given.
    pub sparsity: Option<f64>,
    /// Each evaluation with a change: `metric delta` (a range as `worst..best`), on `dataset`.
    pub delta: String,
    /// Each speed-up (a range as `low-high`), `x`, joined by `; `.
    pub speedup: String,
    /// The hardware, joined by `, `.
    pub hardware: String,
}

/// A model's lineage: the chains of models it derives from, and the models that
/// derive from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lineage {
    /// Each chain from the model to a model derived from nothing, as
    /// `[model, relation, base, relation, base, ...]`.
    pub ancestors: Vec<Vec<String>>,
    /// Models derived from this one, directly or not, by name.
    pub descendants: Vec<String>,
}

fn join<T>(items: &[T], sep: &str, f: impl Fn(&T) -> Option<String>) -> String {
    items.iter().filter_map(f).collect::<Vec<_>>().join(sep)
}

fn entry(m: &Model) -> ListEntry {
    ListEntry {
        model: m.name.clone(),
        base: join(&m.derived_from, ", ", |d| Some(d.model.clone())),
        method: join(&m.pruned_with, " + ", |p| Some(p.method.clone())),
        sparsity: m.sparsity,
        delta: join(&m.evaluated_on, "; ", |e| {
            let delta = match (e.delta, e.delta_best, e.value) {
                (Some(d), Some(b), _) => format!("{d}..{b}"),
                (Some(d), None, _) => format!("{d}"),
                (None, _, Some(v)) => format!("= {v}"),
                _ => return None,
            };
            Some(format!("{} {delta} on {}", e.metric.as_deref().unwrap_or("metric"), e.dataset))
        }),
        speedup: join(&m.deployed_on, "; ", |d| match (d.speedup_low, d.speedup) {
            (Some(lo), Some(hi)) => Some(format!("{lo}-{hi}x")),
            (None, Some(s)) => Some(format!("{s}x")),
            _ => None,
        }),
        hardware: {
            let mut names: Vec<String> = m.deployed_on.iter().map(|d| d.hardware.clone()).collect();
            names.dedup();
            names.join(", ")
        },
    }
}

/// The models that are results (derived from another, or pruned with a method), by name.
pub fn list(records: &Records) -> Vec<ListEntry> {
    records.models.iter().filter(|m| !m.derived_from.is_empty() || !m.pruned_with.is_empty()).map(entry).collect()
}

impl Database {
    /// `registry list`: one entry per compressed model.
    pub fn registry_list(&self) -> Result<Vec<ListEntry>> {
        Ok(list(&self.registry()?))
    }

    /// A model's lineage, from `DERIVED_FROM*` paths in graph `registry`.
    pub fn registry_lineage(&self, name: &str) -> Result<Lineage> {
        let options = |params| CypherOptions { graph: Some(REGISTRY.into()), params, ..CypherOptions::default() };
        let name_param = || crate::params! {"name" => name};
        let chains = self.cypher_with(
            "MATCH p = (m:Model {name: $name})-[:DERIVED_FROM*]->(b:Model) WHERE NOT (b)-[:DERIVED_FROM]->() \
             RETURN [n IN nodes(p) | n.name] AS names, [r IN relationships(p) | r.relation] AS relations \
             ORDER BY length(p), names",
            &options(name_param()),
        )?;
        let mut ancestors = Vec::new();
        for row in chains {
            let row = row?;
            let names: Vec<String> = row.get("names")?;
            let relations: Vec<String> = row.get("relations")?;
            let mut chain = Vec::new();
            for (i, n) in names.into_iter().enumerate() {
                if i > 0 {
                    chain.push(relations.get(i - 1).cloned().unwrap_or_default());
                }
                chain.push(n);
            }
            ancestors.push(chain);
        }
        let mut descendants = Vec::new();
        for row in self.cypher_with(
            "MATCH (d:Model)-[:DERIVED_FROM*]->(:Model {name: $name}) RETURN DISTINCT d.name AS name ORDER BY name",
            &options(name_param()),
        )? {
            descendants.push(row?.get("name")?);
        }
        Ok(Lineage { ancestors, descendants })
    }

    /// `registry show`: a model's record with the records it refers to, and its lineage,
    /// as JSON; `None` when there is no such model.
    pub fn registry_show(&self, name: &str) -> Result<Option<serde_json::Value>> {
        let records = self.registry()?;
        let Some(model) = records.model(name) else { return Ok(None) };
        fn distinct<'a, T: PartialEq>(items: impl Iterator<Item = Option<&'a T>>) -> Vec<&'a T> {
            let mut res: Vec<&T> = Vec::new();
            for item in items.flatten() {
                if !res.contains(&item) {
                    res.push(item);
                }
            }
            res
        }
        let methods = distinct(model.pruned_with.iter().map(|p| records.method(&p.method)));
        let datasets = distinct(model.evaluated_on.iter().map(|e| records.dataset(&e.dataset)));
        let hardware = distinct(model.deployed_on.iter().map(|d| records.hardware(&d.hardware)));
        let papers = distinct(model.reported_in.iter().map(|t| records.paper(t)));
        let lineage = self.registry_lineage(name)?;
        Ok(Some(json!({
            "model": model,
            "methods": methods,
            "datasets": datasets,
            "hardware": hardware,
            "papers": papers,
            "lineage": lineage,
        })))
    }
}
