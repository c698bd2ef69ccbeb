//! JSON and Cypher values, both ways: result values as SPEC section 4 prints them,
//! and JSON (command-line parameters, registry records) as Cypher values.

use serde_json::{json, Value as Json};

use crate::{CypherValue, NodeValue, RelValue, ResultValue};

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
