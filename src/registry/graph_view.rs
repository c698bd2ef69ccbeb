//! The registry's graph view: records written as nodes and relationships of graph
//! `registry` (SPEC section 6), and read back from it. Reading back checks every
//! node and relationship against the schema, so a Cypher write that breaks it fails.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};
use sprig_index::graph::GraphTxn;
use sprig_query::cypher::{self, CypherOptions};

use super::record::*;
use super::{RegistryError, REGISTRY};
use crate::json::{json_value, value_json};
use crate::{Error, Result, ResultValue};

fn run(txn: &mut GraphTxn, query: &str, params: Vec<(&str, Json)>) -> Result<Vec<Vec<ResultValue>>> {
    let options = CypherOptions {
        params: params.into_iter().map(|(k, v)| (k.to_string(), json_value(&v))).collect(),
        default_graph: REGISTRY.to_string(),
        ..CypherOptions::default()
    };
    Ok(cypher::run_text(txn, query, &options)?.rows)
}

/// The JSON object of a record's own fields (its relationship lists left out).
fn fields(value: &impl serde::Serialize, drop: &[&str]) -> Result<Json> {
    let mut json = serde_json::to_value(value).map_err(|e| RegistryError::new(e.to_string()))?;
    if let Json::Object(map) = &mut json {
        for key in drop {
            map.remove(*key);
        }
    }
    Ok(json)
}

const MODEL_LISTS: [&str; 5] = ["derived_from", "pruned_with", "evaluated_on", "deployed_on", "reported_in"];

/// Writes `new` (records not yet in the graph) into graph `registry` inside `txn`.
/// References must name records that exist in the graph or in `new`.
pub fn write(txn: &mut GraphTxn, new: &Records) -> Result<()> {
    // Relationships find their ends by key: without an index each lookup scans the label.
    for (label, key) in
        [("Model", "name"), ("Method", "name"), ("Dataset", "name"), ("Hardware", "name"), ("Paper", "title")]
    {
        let name = format!("registry_{}_{key}", label.to_lowercase());
        run(txn, &format!("CREATE INDEX {name} IF NOT EXISTS FOR (n:{label}) ON (n.{key})"), vec![])?;
    }
    let mut nodes: Vec<(&str, Vec<Json>)> = vec![
        ("Paper", new.papers.iter().map(|p| fields(p, &[])).collect::<Result<_>>()?),
        ("Method", new.methods.iter().map(|m| fields(m, &[])).collect::<Result<_>>()?),
        ("Dataset", new.datasets.iter().map(|d| fields(d, &[])).collect::<Result<_>>()?),
        ("Hardware", new.hardware.iter().map(|h| fields(h, &[])).collect::<Result<_>>()?),
    ];
    nodes.push(("Model", new.models.iter().map(|m| fields(m, &MODEL_LISTS)).collect::<Result<_>>()?));
    for (label, rows) in nodes {
        if !rows.is_empty() {
            run(
                txn,
                &format!("UNWIND $rows AS row CREATE (n:{label}) SET n = row"),
                vec![("rows", Json::Array(rows))],
            )?;
        }
    }
    // One statement per relationship type; `i` keeps each model's list order (the
    // relationships are created, and so numbered, in that order).
    let mut rels: BTreeMap<(&str, &str, &str), Vec<Json>> = BTreeMap::new();
    for m in &new.models {
        let mut push = |rel: &'static str, label: &'static str, key: &'static str, target: &str, props: Json| {
            let row = serde_json::json!({"m": m.name, "t": target, "props": props});
            rels.entry((rel, label, key)).or_default().push(row);
        };
        for d in &m.derived_from {
            push("DERIVED_FROM", "Model", "name", &d.model, fields(d, &["model"])?);
        }
        for p in &m.pruned_with {
            push("PRUNED_WITH", "Method", "name", &p.method, fields(p, &["method"])?);
        }
        for e in &m.evaluated_on {
            push("EVALUATED_ON", "Dataset", "name", &e.dataset, fields(e, &["dataset"])?);
        }
        for d in &m.deployed_on {
            push("DEPLOYED_ON", "Hardware", "name", &d.hardware, fields(d, &["hardware"])?);
        }
        for title in &m.reported_in {
            push("REPORTED_IN", "Paper", "title", title, Json::Object(Map::new()));
        }
    }
    for ((rel, label, key), rows) in rels {
        let query = format!(
            "UNWIND $rows AS row MATCH (m:Model {{name: row.m}}), (t:{label} {{{key}: row.t}}) \
             CREATE (m)-[r:{rel}]->(t) SET r = row.props RETURN count(r)"
        );
        let expected = rows.len() as i64;
        let created = run(txn, &query, vec![("rows", Json::Array(rows))])?;
        if created.first().and_then(|r| r.first()) != Some(&ResultValue::Int(expected)) {
            return Err(
                RegistryError::new(format!("a {rel} relationship names a record that is not in the registry")).into()
            );
        }
    }
    Ok(())
}

fn decode<T: DeserializeOwned>(what: &str, json: Json) -> Result<T> {
    serde_json::from_value(json.clone())
        .map_err(|e| Error::from(RegistryError::new(format!("graph 'registry': {what} {json}: {e}"))))
}

/// Decodes a node's record into `list` and returns its key.
fn push<T: DeserializeOwned>(list: &mut Vec<T>, label: &str, json: Json, key: fn(&T) -> &str) -> Result<String> {
    let item: T = decode(label, json)?;
    let k = key(&item).to_string();
    list.push(item);
    Ok(k)
}

fn object(v: &ResultValue) -> Map<String, Json> {
    match value_json(v) {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

/// Reads every record of graph `registry` as `txn` sees it, checking the schema:
/// each node has one registry label and only its fields, each relationship joins
/// the labels its type allows.
pub fn read(txn: &mut GraphTxn) -> Result<Records> {
    let mut records = Records::default();
    // Node id -> (label, key) and the index of each model in `records.models`.
    let mut keys: BTreeMap<i64, (String, String)> = BTreeMap::new();
    let mut model_at: BTreeMap<i64, usize> = BTreeMap::new();
    for row in run(txn, "MATCH (n) RETURN id(n), labels(n), properties(n) ORDER BY id(n)", vec![])? {
        let [ResultValue::Int(id), ResultValue::List(labels), props] = row.as_slice() else { continue };
        let props = object(props);
        let label = match labels.as_slice() {
            [ResultValue::String(l)] => l.clone(),
            other => {
                let shown: Vec<Json> = other.iter().map(value_json).collect();
                return Err(RegistryError::new(format!(
                    "graph 'registry': a node has labels {shown:?}; each has exactly one of Model, Method, Dataset, Hardware, Paper"
                ))
                .into());
            }
        };
        if label == "Model" {
            if let Some(key) = MODEL_LISTS.iter().find(|k| props.contains_key(**k)) {
                return Err(RegistryError::new(format!(
                    "graph 'registry': a Model has a property '{key}', which is a relationship"
                ))
                .into());
            }
        }
        let json = Json::Object(props);
        let key = match label.as_str() {
            "Paper" => push(&mut records.papers, "Paper", json, |p| &p.title)?,
            "Method" => push(&mut records.methods, "Method", json, |m| &m.name)?,
            "Dataset" => push(&mut records.datasets, "Dataset", json, |d| &d.name)?,
            "Hardware" => push(&mut records.hardware, "Hardware", json, |h| &h.name)?,
            "Model" => {
                model_at.insert(*id, records.models.len());
                push(&mut records.models, "Model", json, |m| &m.name)?
            }
            other => {
                return Err(RegistryError::new(format!(
                    "graph 'registry': unknown label '{other}' (the registry holds Model, Method, Dataset, Hardware, Paper)"
                ))
                .into())
            }
        };
        keys.insert(*id, (label, key));
    }
    let query = "MATCH (a)-[r]->(b) RETURN id(a), type(r), properties(r), id(b) ORDER BY id(r)";
    for row in run(txn, query, vec![])? {
        let [ResultValue::Int(a), ResultValue::String(rel), props, ResultValue::Int(b)] = row.as_slice() else {
            continue;
        };
        let (Some(&m), Some((target_label, target))) = (model_at.get(a), keys.get(b)) else {
            return Err(RegistryError::new(format!(
                "graph 'registry': a {rel} relationship does not start at a Model"
            ))
            .into());
        };
        let expect = match rel.as_str() {
            "DERIVED_FROM" => ("Model", "model"),
            "PRUNED_WITH" => ("Method", "method"),
            "EVALUATED_ON" => ("Dataset", "dataset"),
            "DEPLOYED_ON" => ("Hardware", "hardware"),
            "REPORTED_IN" => ("Paper", "title"),
            other => {
                return Err(RegistryError::new(format!("graph 'registry': unknown relationship type '{other}'")).into())
            }
        };
        if target_label != expect.0 {
            return Err(RegistryError::new(format!(
                "graph 'registry': {rel} must end at a {}, not a {target_label}",
                expect.0
            ))
            .into());
        }
        let mut props = object(props);
        if props.contains_key(expect.1) {
            return Err(RegistryError::new(format!("graph 'registry': unknown field '{}' on {rel}", expect.1)).into());
        }
        props.insert(expect.1.to_string(), Json::String(target.clone()));
        let what = format!("{rel} relationship");
        let model = &mut records.models[m];
        match rel.as_str() {
            "DERIVED_FROM" => model.derived_from.push(decode(&what, Json::Object(props))?),
            "PRUNED_WITH" => model.pruned_with.push(decode(&what, Json::Object(props))?),
            "EVALUATED_ON" => model.evaluated_on.push(decode(&what, Json::Object(props))?),
            "DEPLOYED_ON" => model.deployed_on.push(decode(&what, Json::Object(props))?),
            _ => {
                if props.len() > 1 {
                    return Err(RegistryError::new("graph 'registry': REPORTED_IN has no fields").into());
                }
                model.reported_in.push(target.clone());
            }
        }
    }
    records.normalize();
    Ok(records)
}
