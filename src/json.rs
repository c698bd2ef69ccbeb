//! JSON and query values, both ways: XPath and Cypher results as SPEC section 4
//! prints them (the command line and the server write the same), and JSON
//! (command-line parameters, request bodies, registry records) as Cypher values.

use serde_json::{json, Value as Json};

use crate::{CypherValue, NodeInfo, NodeValue, RelValue, ResultValue, XPathValue};

/// A JSON number, or the strings "NaN", "Infinity", "-Infinity"; integral values
/// without a fraction (XPath has one number type, and `count()` reads best as `3`).
pub fn number_json(n: f64) -> Json {
    if n.is_nan() {
        Json::from("NaN")
    } else if n.is_infinite() {
        Json::from(if n > 0.0 { "Infinity" } else { "-Infinity" })
    } else if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Json::from(n as i64)
    } else {
        json!(n)
    }
}

/// The columns of an XPath node in row-shaped formats, and the keys of its JSON object.
pub const XPATH_NODE_COLUMNS: [&str; 5] = ["doc", "type", "path", "name", "string"];

/// An XPath node's cells, in the order of [`XPATH_NODE_COLUMNS`].
pub fn xpath_node_row(n: &NodeInfo) -> Vec<Json> {
    vec![json!(n.doc), json!(n.node_type.as_str()), json!(n.path), json!(n.name), json!(n.string)]
}

/// An XPath node as a JSON object keyed by [`XPATH_NODE_COLUMNS`].
pub fn xpath_node_json(n: &NodeInfo) -> Json {
    Json::Object(XPATH_NODE_COLUMNS.iter().map(|h| h.to_string()).zip(xpath_node_row(n)).collect())
}

/// An XPath result that is not a node-set: its kind, its JSON value, and its text.
pub fn xpath_scalar(value: &XPathValue) -> Option<(&'static str, Json, String)> {
    let text = |n: f64| match number_json(n) {
        Json::String(s) => s,
        other => other.to_string(),
    };
    match value {
        XPathValue::Number(n) => Some(("number", number_json(*n), text(*n))),
        XPathValue::String(s) => Some(("string", Json::from(s.clone()), s.clone())),
        XPathValue::Boolean(b) => Some(("boolean", Json::from(*b), b.to_string())),
        XPathValue::NodeSet(_) => None,
    }
}

/// An XPath result as SPEC section 4's JSON: `{"kind", "value"}`, or for a node-set
/// `{"kind": "nodeset", "count", "nodes": [...]}`.
pub fn xpath_json(value: &XPathValue) -> crate::Result<Json> {
    if let Some((kind, value, _)) = xpath_scalar(value) {
        return Ok(json!({"kind": kind, "value": value}));
    }
    let XPathValue::NodeSet(nodes) = value else { return Ok(Json::Null) };
    let described = nodes.iter().map(|n| n.map(|n| xpath_node_json(&n))).collect::<crate::Result<Vec<_>>>()?;
    Ok(json!({"kind": "nodeset", "count": nodes.len(), "nodes": described}))
}

fn float_json(f: f64) -> Json {
    if f.is_nan() {
        Json::from("NaN")
    } else if f.is_infinite() {
        Json::from(if f > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        // serde_json prints finite floats with a '.' or an exponent (1.0, 1e300).
        json!(f)
    }
}

fn node_json(n: &NodeValue) -> Json {
    let mut m = serde_json::Map::new();
    m.insert("~type".into(), json!("node"));
    m.insert("~id".into(), json!(n.id));
    m.insert("~labels".into(), json!(n.labels));
    for (k, v) in &n.properties {
        m.insert(k.clone(), value_json(v));
    }
    Json::Object(m)
}

fn rel_json(r: &RelValue) -> Json {
    let mut m = serde_json::Map::new();
    m.insert("~type".into(), json!("relationship"));
    m.insert("~id".into(), json!(r.id));
    m.insert("~rel".into(), json!(r.rel_type));
    m.insert("~start".into(), json!(r.start));
    m.insert("~end".into(), json!(r.end));
    for (k, v) in &r.properties {
        m.insert(k.clone(), value_json(v));
    }
    Json::Object(m)
}

/// A result value as JSON (SPEC section 4).
pub fn value_json(v: &ResultValue) -> Json {
    match v {
        ResultValue::Null => Json::Null,
        ResultValue::Bool(b) => json!(b),
        ResultValue::Int(i) => json!(i),
        ResultValue::Float(f) => float_json(*f),
        ResultValue::String(s) => json!(s),
        ResultValue::List(l) => Json::Array(l.iter().map(value_json).collect()),
        ResultValue::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), value_json(v))).collect()),
        ResultValue::Node(n) => node_json(n),
        ResultValue::Relationship(r) => rel_json(r),
        ResultValue::Path { nodes, relationships } => json!({
            "~type": "path",
            "nodes": nodes.iter().map(node_json).collect::<Vec<_>>(),
            "relationships": relationships.iter().map(rel_json).collect::<Vec<_>>(),
        }),
        ResultValue::Temporal(t) => json!(ResultValue::temporal_string(t)),
    }
}

/// A JSON parameter as a Cypher value.
pub fn json_value(v: &serde_json::Value) -> CypherValue {
    use serde_json::Value as J;
    match v {
        J::Null => CypherValue::Null,
        J::Bool(b) => CypherValue::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => CypherValue::Int(i),
            None => CypherValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => CypherValue::from(s.as_str()),
        J::Array(items) => CypherValue::list(items.iter().map(json_value).collect()),
        J::Object(m) => CypherValue::map(m.iter().map(|(k, v)| (k.clone(), json_value(v))).collect()),
    }
}

fn properties_of(m: &serde_json::Map<String, Json>) -> std::collections::BTreeMap<String, ResultValue> {
    m.iter().filter(|(k, _)| !k.starts_with('~')).map(|(k, v)| (k.clone(), result_value(v))).collect()
}

fn node_of(m: &serde_json::Map<String, Json>) -> NodeValue {
    NodeValue {
        id: m.get("~id").and_then(Json::as_u64).unwrap_or_default(),
        labels: m
            .get("~labels")
            .and_then(Json::as_array)
            .map(|l| l.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        properties: properties_of(m),
    }
}

fn rel_of(m: &serde_json::Map<String, Json>) -> RelValue {
    let id = |k: &str| m.get(k).and_then(Json::as_u64).unwrap_or_default();
    RelValue {
        id: id("~id"),
        rel_type: m.get("~rel").and_then(Json::as_str).unwrap_or_default().to_string(),
        start: id("~start"),
        end: id("~end"),
        properties: properties_of(m),
    }
}

/// A result value read back from SPEC section 4's JSON ([`value_json`]'s inverse,
/// for a client of `sprig serve`): objects marked `~type` are nodes,
/// relationships and paths; numbers with a fraction or exponent are floats. The
/// strings "NaN", "Infinity" and "-Infinity" stay strings (the JSON cannot tell
/// them from floats).
pub fn result_value(v: &Json) -> ResultValue {
    match v {
        Json::Null => ResultValue::Null,
        Json::Bool(b) => ResultValue::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => ResultValue::Int(i),
            _ => ResultValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => ResultValue::String(s.clone()),
        Json::Array(items) => ResultValue::List(items.iter().map(result_value).collect()),
        Json::Object(m) => match m.get("~type").and_then(Json::as_str) {
            Some("node") => ResultValue::Node(node_of(m)),
            Some("relationship") => ResultValue::Relationship(rel_of(m)),
            Some("path") => {
                let list = |k: &str| m.get(k).and_then(Json::as_array).cloned().unwrap_or_default();
                let objects = |items: Vec<Json>| -> Vec<serde_json::Map<String, Json>> {
                    items.into_iter().filter_map(|x| if let Json::Object(o) = x { Some(o) } else { None }).collect()
                };
                ResultValue::Path {
                    nodes: objects(list("nodes")).iter().map(node_of).collect(),
                    relationships: objects(list("relationships")).iter().map(rel_of).collect(),
                }
            }
            _ => ResultValue::Map(m.iter().map(|(k, v)| (k.clone(), result_value(v))).collect()),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn result_values_survive_a_round_trip_through_json() {
        let node = NodeValue {
            id: 7,
            labels: vec!["Person".into(), "Admin".into()],
            properties: BTreeMap::from([("name".into(), ResultValue::String("Ann".into()))]),
        };
        let rel = RelValue {
            id: 3,
            rel_type: "KNOWS".into(),
            start: 7,
            end: 9,
            properties: BTreeMap::from([("w".into(), ResultValue::Float(0.5))]),
        };
        let other = NodeValue { id: 9, labels: vec![], properties: BTreeMap::new() };
        let values = vec![
            ResultValue::Null,
            ResultValue::Bool(true),
            ResultValue::Int(-4),
            ResultValue::Float(1.0),
            ResultValue::Float(2.5e300),
            ResultValue::String("~type".into()),
            ResultValue::List(vec![ResultValue::Int(1), ResultValue::String("x".into())]),
            ResultValue::Map(BTreeMap::from([("k".into(), ResultValue::List(vec![]))])),
            ResultValue::Node(node.clone()),
            ResultValue::Relationship(rel.clone()),
            ResultValue::Path { nodes: vec![node, other], relationships: vec![rel] },
        ];
        for v in values {
            assert_eq!(result_value(&value_json(&v)), v, "{v:?}");
        }
    }
}
