//! sprig's values as Bolt writes them (Node, Relationship, UnboundRelationship and
//! Path structures, with element ids from 5.0), and parameters read back into
//! Cypher values (temporal values in `temporal.rs`). A parameter of a type sprig does
//! not have (bytes, points) is refused by name, never changed into something else.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::packstream::Value;
use crate::{CypherValue, NodeValue, RelValue, ResultValue};

const NODE: u8 = 0x4E;
const RELATIONSHIP: u8 = 0x52;
const UNBOUND_RELATIONSHIP: u8 = 0x72;
const PATH: u8 = 0x50;

/// Whether structures carry element ids (Bolt 5.0 and later).
#[derive(Debug, Clone, Copy)]
pub struct ElementIds(pub bool);

fn id(n: u64) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn properties(p: &BTreeMap<String, ResultValue>, ids: ElementIds) -> Value {
    Value::Map(p.iter().map(|(k, v)| (k.clone(), value(v, ids))).collect())
}

fn node(n: &NodeValue, ids: ElementIds) -> Value {
    let mut fields = vec![
        id(n.id),
        Value::List(n.labels.iter().cloned().map(Value::String).collect()),
        properties(&n.properties, ids),
    ];
    if ids.0 {
        fields.push(Value::String(n.id.to_string()));
    }
    Value::Struct(NODE, fields)
}

fn relationship(r: &RelValue, ids: ElementIds) -> Value {
    let mut fields =
        vec![id(r.id), id(r.start), id(r.end), Value::String(r.rel_type.clone()), properties(&r.properties, ids)];
    if ids.0 {
        fields.extend([r.id, r.start, r.end].map(|i| Value::String(i.to_string())));
    }
    Value::Struct(RELATIONSHIP, fields)
}

fn unbound(r: &RelValue, ids: ElementIds) -> Value {
    let mut fields = vec![id(r.id), Value::String(r.rel_type.clone()), properties(&r.properties, ids)];
    if ids.0 {
        fields.push(Value::String(r.id.to_string()));
    }
    Value::Struct(UNBOUND_RELATIONSHIP, fields)
}

/// A path as Bolt writes one: its distinct nodes (the start first), its distinct
/// relationships without ends, and per step the relationship's 1-based index
/// (negative when walked against its direction) and the next node's index.
fn path(nodes: &[NodeValue], rels: &[RelValue], ids: ElementIds) -> Value {
    let mut distinct_nodes: Vec<&NodeValue> = Vec::new();
    let mut distinct_rels: Vec<&RelValue> = Vec::new();
    let mut indices = Vec::with_capacity(rels.len() * 2);
    fn node_index<'n>(distinct: &mut Vec<&'n NodeValue>, n: &'n NodeValue) -> usize {
        distinct.iter().position(|d| d.id == n.id).unwrap_or_else(|| {
            distinct.push(n);
            distinct.len() - 1
        })
    }
    if let Some(first) = nodes.first() {
        node_index(&mut distinct_nodes, first);
    }
    for (step, rel) in rels.iter().enumerate() {
        let (Some(from), Some(to)) = (nodes.get(step), nodes.get(step + 1)) else { break };
        let r = distinct_rels.iter().position(|d| d.id == rel.id).unwrap_or_else(|| {
            distinct_rels.push(rel);
            distinct_rels.len() - 1
        }) as i64
            + 1;
        let forward = rel.start == from.id && rel.end == to.id;
        indices.push(Value::Int(if forward { r } else { -r }));
        indices.push(Value::Int(node_index(&mut distinct_nodes, to) as i64));
    }
    Value::Struct(
        PATH,
        vec![
            Value::List(distinct_nodes.into_iter().map(|n| node(n, ids)).collect()),
            Value::List(distinct_rels.into_iter().map(|r| unbound(r, ids)).collect()),
            Value::List(indices),
        ],
    )
}

/// A result value as Bolt writes it.
pub fn value(v: &ResultValue, ids: ElementIds) -> Value {
    match v {
        ResultValue::Null => Value::Null,
        ResultValue::Bool(b) => Value::Bool(*b),
        ResultValue::Int(i) => Value::Int(*i),
        ResultValue::Float(f) => Value::Float(*f),
        ResultValue::String(s) => Value::String(s.clone()),
        ResultValue::List(items) => Value::List(items.iter().map(|v| value(v, ids)).collect()),
        ResultValue::Map(m) => properties(m, ids),
        ResultValue::Node(n) => node(n, ids),
        ResultValue::Relationship(r) => relationship(r, ids),
        ResultValue::Path { nodes, relationships } => path(nodes, relationships, ids),
        ResultValue::Temporal(t) => super::temporal::structure(t, ids.0),
    }
}

/// What a structure tag a client may send stands for, for the refusal.
fn structure_name(tag: u8) -> &'static str {
    match tag {
        b'D' => "a date",
        b'T' | b't' => "a time",
        b'F' | b'f' | b'I' | b'i' => "a date-time",
        b'd' => "a local date-time",
        b'E' => "a duration",
        b'X' | b'Y' => "a point",
        NODE | RELATIONSHIP | UNBOUND_RELATIONSHIP | PATH => "a graph entity",
        _ => "an unknown structure",
    }
}

/// A parameter's value; `Err` names what sprig has no type for. `utc`: the client
/// speaks Bolt 5 (date-times carry their instant).
pub fn parameter(v: &Value, utc: bool) -> Result<CypherValue, String> {
    Ok(match v {
        Value::Null => CypherValue::Null,
        Value::Bool(b) => CypherValue::Bool(*b),
        Value::Int(i) => CypherValue::Int(*i),
        Value::Float(f) => CypherValue::Float(*f),
        Value::String(s) => CypherValue::string(s.as_str()),
        Value::Bytes(_) => return Err("a byte array".into()),
        Value::List(items) => {
            CypherValue::List(Arc::new(items.iter().map(|i| parameter(i, utc)).collect::<Result<_, _>>()?))
        }
        Value::Map(entries) => CypherValue::Map(Arc::new(
            entries.iter().map(|(k, v)| Ok((k.clone(), parameter(v, utc)?))).collect::<Result<_, String>>()?,
        )),
        Value::Struct(tag, fields) => {
            let t = match super::temporal::zoned_from_structure(*tag, fields) {
                Some(t) => t?,
                None => super::temporal::from_structure(*tag, fields, utc).ok_or_else(|| structure_name(*tag))?,
            };
            CypherValue::Temporal(Arc::new(t))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u64) -> NodeValue {
        NodeValue { id, labels: vec!["L".into()], properties: BTreeMap::new() }
    }

    fn r(id: u64, start: u64, end: u64) -> RelValue {
        RelValue { id, rel_type: "R".into(), start, end, properties: BTreeMap::new() }
    }

    /// A path that walks one relationship back and forth: the Bolt specification's
    /// own example shape (nodes and relationships once each, signs for direction).
    #[test]
    fn paths_list_nodes_and_relationships_once_with_signed_steps() {
        let walked = ResultValue::Path {
            nodes: vec![n(1), n(2), n(1), n(3)],
            relationships: vec![r(7, 1, 2), r(7, 1, 2), r(8, 3, 1)],
        };
        let Value::Struct(PATH, fields) = value(&walked, ElementIds(true)) else { panic!("not a path") };
        let ids = |v: &Value| match v {
            Value::List(items) => items
                .iter()
                .map(|i| match i {
                    Value::Struct(_, f) => f[0].as_int().unwrap_or(-99),
                    other => other.as_int().unwrap_or(-99),
                })
                .collect::<Vec<_>>(),
            _ => vec![],
        };
        assert_eq!(ids(&fields[0]), vec![1, 2, 3]);
        assert_eq!(ids(&fields[1]), vec![7, 8]);
        assert_eq!(ids(&fields[2]), vec![1, 1, -1, 0, -2, 2]);
        let Value::Struct(NODE, node_fields) = value(&ResultValue::Node(n(5)), ElementIds(false)) else { panic!() };
        assert_eq!(node_fields.len(), 3, "4.4 has no element ids");
    }

    #[test]
    fn parameters_sprig_has_no_type_for_are_refused_by_name() {
        let point = Value::Struct(b'X', vec![Value::Int(7203), Value::Float(1.0), Value::Float(2.0)]);
        assert_eq!(parameter(&point, true).err(), Some("a point".to_string()));
        let bad_date = Value::Struct(b'D', vec![Value::String("x".into())]);
        assert_eq!(parameter(&bad_date, true).err(), Some("a date".to_string()));
        let past_midnight = Value::Struct(b't', vec![Value::Int(86_400 * 1_000_000_000)]);
        assert_eq!(parameter(&past_midnight, true).err(), Some("a time".to_string()));
        let far_date = Value::Struct(b'D', vec![Value::Int(i64::MAX / 2)]);
        assert_eq!(parameter(&far_date, true).err(), Some("a date".to_string()));
        let far_offset = Value::Struct(b'T', vec![Value::Int(0), Value::Int(19 * 3600)]);
        assert_eq!(parameter(&far_offset, true).err(), Some("a time".to_string()));
        let bytes = Value::List(vec![Value::Int(1), Value::Bytes(vec![1])]);
        assert_eq!(parameter(&bytes, true).err(), Some("a byte array".to_string()));
        let ok = Value::map([("a", Value::List(vec![Value::Int(1), Value::Float(2.5), Value::Null]))]);
        assert!(matches!(parameter(&ok, true), Ok(CypherValue::Map(_))));
    }

    #[test]
    fn temporal_values_go_both_ways() {
        use sprig_index::graph::Temporal;
        let values = [
            Temporal::Date { days: 19000 },
            Temporal::Time { nanos: 5, offset: 3600 },
            Temporal::DateTime { seconds: 1000, nanos: 7, offset: 3600, zone: Some("Europe/Stockholm".into()) },
            Temporal::DateTime { seconds: 1000, nanos: 7, offset: -3600, zone: None },
        ];
        for utc in [true, false] {
            for t in &values {
                let back = parameter(&value(&ResultValue::Temporal(t.clone()), ElementIds(utc)), utc).unwrap();
                let CypherValue::Temporal(got) = back else { panic!("{back:?}") };
                assert_eq!(*got, *t, "utc {utc}");
            }
        }
    }
}
