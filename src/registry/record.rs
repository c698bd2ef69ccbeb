//! The registry's records (SPEC section 6) and the rules every stored set of them
//! obeys. The JSON import format is these types, serialized by serde.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::RegistryError;

/// A set of registry records: what an import file holds, and what the registry holds.
/// Models refer to the other records by name (papers by title).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Records {
    /// Papers that report results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub papers: Vec<Paper>,
    /// Pruning and compression methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<Method>,
    /// Datasets models are evaluated on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<Dataset>,
    /// Hardware models are deployed on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hardware: Vec<Hardware>,
    /// Base and derived models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<Model>,
}

/// `(:Paper {title, venue, year, authors})`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paper {
    /// The paper's title, its key.
    pub title: String,
    /// Journal or conference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    /// Year of publication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i64>,
    /// Authors as the paper lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
}

/// `(:Method {name, kind, granularity, criterion, schedule})`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// The method's name, its key.
    pub name: String,
    /// e.g. structured, unstructured, quantization, distillation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// e.g. filter, channel, head, N:M, PE-wise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<String>,
    /// e.g. magnitude, Wanda, ADMM, slimming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criterion: Option<String>,
    /// e.g. one-shot, gradual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

/// `(:Dataset {name, domain})`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// The dataset's name, its key.
    pub name: String,
    /// e.g. vision, language, speech.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// `(:Hardware {name, kind})`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// The platform's name, its key.
    pub name: String,
    /// e.g. FPGA, mobile, embedded GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `(:Model {name, family, task, params, params_after, sparsity, size_mb, notes})` with
/// its outgoing relationships.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// The model's name, its key.
    pub name: String,
    /// e.g. ResNet, Transformer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// e.g. image classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Parameters before compression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<i64>,
    /// Parameters after compression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params_after: Option<i64>,
    /// The fraction of weights (or of the pruned dimensions) removed, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparsity: Option<f64>,
    /// The compression rate (original size / compressed size), at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<f64>,
    /// Size after compression, in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_mb: Option<f64>,
    /// What the numbers do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// `DERIVED_FROM` the base model(s).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived_from: Vec<Derivation>,
    /// `PRUNED_WITH` methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pruned_with: Vec<Pruning>,
    /// `EVALUATED_ON` datasets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluated_on: Vec<Evaluation>,
    /// `DEPLOYED_ON` hardware.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployed_on: Vec<Deployment>,
    /// `REPORTED_IN` papers, by title.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reported_in: Vec<String>,
}

/// `(pruned)-[:DERIVED_FROM {relation}]->(base)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derivation {
    /// The base model's name.
    pub model: String,
    /// `pruned`, `quantized` or `distilled`.
    pub relation: String,
}

/// `(m)-[:PRUNED_WITH {ratio, target}]->(method)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pruning {
    /// The method's name.
    pub method: String,
    /// The fraction pruned by this method, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// What was pruned (weights, filters, heads, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// `(m)-[:EVALUATED_ON {metric, value, baseline, delta}]->(dataset)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// The dataset's name.
    pub dataset: String,
    /// What was measured, with its unit (e.g. `top-1 accuracy (%)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The compressed model's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The reference's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// Change against the reference in the metric's unit, negative for a loss; for a
    /// range, its worst end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    /// For a range of changes, its best end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_best: Option<f64>,
    /// The reference (the dense model unless said otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<String>,
}

/// `(m)-[:DEPLOYED_ON {latency_ms, speedup, throughput, power_w}]->(hardware)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// The hardware's name.
    pub hardware: String,
    /// Latency per inference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Speed-up against the reference; for a range, its high end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup: Option<f64>,
    /// For a range of speed-ups, its low end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup_low: Option<f64>,
    /// Throughput, in `throughput_unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<f64>,
    /// e.g. `GOP/s`, `images/s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_unit: Option<String>,
    /// Power draw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    /// The reference of `speedup` (the uncompressed model unless said otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<String>,
}

/// The relations a `DERIVED_FROM` may state.
pub const RELATIONS: [&str; 3] = ["pruned", "quantized", "distilled"];

impl Records {
    /// Adds `new` to these records. Shared records (papers, methods, datasets,
    /// hardware) that are already present must be identical; a model must be new.
    pub fn merge(&mut self, new: Records) -> Result<(), RegistryError> {
        fn add<T: PartialEq + std::fmt::Debug>(
            what: &str,
            have: &mut Vec<T>,
            new: Vec<T>,
            key: impl Fn(&T) -> &str,
        ) -> Result<(), RegistryError> {
            for item in new {
                add_once(have, item, &key).map_err(|c| {
                    RegistryError::new(format!(
                        "{what} '{}' is already in the registry with other fields: {}, not {}",
                        c.key, c.kept, c.given
                    ))
                })?;
            }
            Ok(())
        }
        add("paper", &mut self.papers, new.papers, |p| &p.title)?;
        add("method", &mut self.methods, new.methods, |m| &m.name)?;
        add("dataset", &mut self.datasets, new.datasets, |d| &d.name)?;
        add("hardware", &mut self.hardware, new.hardware, |h| &h.name)?;
        for model in new.models {
            if self.models.iter().any(|m| m.name == model.name) {
                return Err(RegistryError::new(format!("duplicate model name '{}'", model.name)));
            }
            self.models.push(model);
        }
        Ok(())
    }

    /// Checks every rule a stored registry obeys: unique non-empty keys, references
    /// to records that exist, fractions in [0, 1], known relations, no model derived
    /// from itself (directly or through others).
    pub fn validate(&self) -> Result<(), RegistryError> {
        let papers = unique_keys("paper title", self.papers.iter().map(|p| p.title.as_str()))?;
        let methods = unique_keys("method name", self.methods.iter().map(|m| m.name.as_str()))?;
        let datasets = unique_keys("dataset name", self.datasets.iter().map(|d| d.name.as_str()))?;
        let hardware = unique_keys("hardware name", self.hardware.iter().map(|h| h.name.as_str()))?;
        let models = unique_keys("model name", self.models.iter().map(|m| m.name.as_str()))?;
        for p in &self.papers {
            if let Some(year) = p.year {
                if !(1900..=2100).contains(&year) {
                    return Err(RegistryError::new(format!(
                        "paper '{}': year {year} is not a plausible year",
                        p.title
                    )));
                }
            }
        }
        for m in &self.models {
            let at = |field: &str| format!("model '{}': {field}", m.name);
            fraction(&at("sparsity"), m.sparsity)?;
            at_least(&at("compression"), m.compression, 1.0)?;
            non_negative(&at("size_mb"), m.size_mb)?;
            for (field, v) in [("params", m.params), ("params_after", m.params_after)] {
                if v.is_some_and(|v| v < 0) {
                    return Err(RegistryError::new(format!("{} must not be negative", at(field))));
                }
            }
            for d in &m.derived_from {
                if !models.contains(d.model.as_str()) {
                    return Err(RegistryError::new(format!(
                        "{}: base model '{}' is not in the registry",
                        at("derived_from"),
                        d.model
                    )));
                }
                if !RELATIONS.contains(&d.relation.as_str()) {
                    return Err(RegistryError::new(format!(
                        "{}: relation '{}' is not one of pruned, quantized, distilled",
                        at("derived_from"),
                        d.relation
                    )));
                }
            }
            for p in &m.pruned_with {
                known(&at("pruned_with"), "method", &methods, &p.method)?;
                fraction(&at("pruned_with ratio"), p.ratio)?;
            }
            for e in &m.evaluated_on {
                known(&at("evaluated_on"), "dataset", &datasets, &e.dataset)?;
            }
            for d in &m.deployed_on {
                known(&at("deployed_on"), "hardware", &hardware, &d.hardware)?;
                for (field, v) in [
                    ("latency_ms", d.latency_ms),
                    ("speedup", d.speedup),
                    ("speedup_low", d.speedup_low),
                    ("throughput", d.throughput),
                    ("power_w", d.power_w),
                ] {
                    non_negative(&at(&format!("deployed_on {field}")), v)?;
                }
            }
            for title in &m.reported_in {
                known(&at("reported_in"), "paper", &papers, title)?;
            }
        }
        self.check_acyclic()
    }

    fn check_acyclic(&self) -> Result<(), RegistryError> {
        let bases: BTreeMap<&str, Vec<&str>> = self
            .models
            .iter()
            .map(|m| (m.name.as_str(), m.derived_from.iter().map(|d| d.model.as_str()).collect()))
            .collect();
        for start in bases.keys() {
            let mut seen = BTreeSet::new();
            let mut stack = vec![*start];
            while let Some(name) = stack.pop() {
                for base in bases.get(name).into_iter().flatten() {
                    if base == start {
                        return Err(RegistryError::new(format!("model '{start}' is derived from itself")));
                    }
                    if seen.insert(*base) {
                        stack.push(base);
                    }
                }
            }
        }
        Ok(())
    }

    /// Sorts every list by key, so that two equal registries compare equal.
    pub fn normalize(&mut self) {
        self.papers.sort_by(|a, b| a.title.cmp(&b.title));
        self.methods.sort_by(|a, b| a.name.cmp(&b.name));
        self.datasets.sort_by(|a, b| a.name.cmp(&b.name));
        self.hardware.sort_by(|a, b| a.name.cmp(&b.name));
        self.models.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// The model named `name`.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The method named `name`.
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.iter().find(|m| m.name == name)
    }

    /// The dataset named `name`.
    pub fn dataset(&self, name: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.name == name)
    }

    /// The hardware named `name`.
    pub fn hardware(&self, name: &str) -> Option<&Hardware> {
        self.hardware.iter().find(|h| h.name == name)
    }

    /// The paper titled `title`.
    pub fn paper(&self, title: &str) -> Option<&Paper> {
        self.papers.iter().find(|p| p.title == title)
    }
}

/// Two records with one key and different fields: the key, the one kept, the one given.
pub(super) struct Conflict {
    pub key: String,
    pub kept: String,
    pub given: String,
}

/// Adds `item` to `list` unless an equal record is there already; one with the same
/// key and other fields is a [`Conflict`].
pub(super) fn add_once<T: PartialEq + std::fmt::Debug>(
    list: &mut Vec<T>,
    item: T,
    key: impl Fn(&T) -> &str,
) -> Result<(), Conflict> {
    match list.iter().find(|h| key(h) == key(&item)) {
        Some(h) if *h == item => Ok(()),
        Some(h) => Err(Conflict { key: key(&item).to_string(), kept: format!("{h:?}"), given: format!("{item:?}") }),
        None => {
            list.push(item);
            Ok(())
        }
    }
}

fn unique_keys<'a>(what: &str, keys: impl Iterator<Item = &'a str>) -> Result<BTreeSet<&'a str>, RegistryError> {
    let mut set = BTreeSet::new();
    for key in keys {
        if key.trim().is_empty() {
            return Err(RegistryError::new(format!("a {what} is empty")));
        }
        if !set.insert(key) {
            return Err(RegistryError::new(format!("duplicate {what} '{key}'")));
        }
    }
    Ok(set)
}

fn known(at: &str, what: &str, keys: &BTreeSet<&str>, key: &str) -> Result<(), RegistryError> {
    if keys.contains(key) {
        Ok(())
    } else {
        Err(RegistryError::new(format!("{at}: {what} '{key}' is not in the registry")))
    }
}

fn fraction(at: &str, v: Option<f64>) -> Result<(), RegistryError> {
    match v {
        Some(v) if !(0.0..=1.0).contains(&v) => {
            Err(RegistryError::new(format!("{at} is {v}, outside [0, 1] (a fraction: 80% is 0.8)")))
        }
        _ => Ok(()),
    }
}

fn at_least(at: &str, v: Option<f64>, min: f64) -> Result<(), RegistryError> {
    match v {
        // NaN is caught too: it is not at least anything.
        Some(v) if v.is_nan() || v < min => Err(RegistryError::new(format!("{at} is {v}, less than {min}"))),
        _ => Ok(()),
    }
}

fn non_negative(at: &str, v: Option<f64>) -> Result<(), RegistryError> {
    at_least(at, v, 0.0)
}
