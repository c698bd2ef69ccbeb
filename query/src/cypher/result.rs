//! Result values: Cypher values with nodes, relationships and paths resolved to
//! their labels, types and properties (what a client sees).

use std::collections::BTreeMap;

use sprig_index::graph::{NodeId, RelId, Temporal};

use crate::cypher::exec::Ctx;
use crate::cypher::value::CypherValue as V;
use crate::Result;

#[derive(Debug, Clone, PartialEq)]
pub struct NodeValue {
    pub id: NodeId,
    pub labels: Vec<String>,
    pub properties: BTreeMap<String, ResultValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelValue {
    pub id: RelId,
    pub rel_type: String,
    pub start: NodeId,
    pub end: NodeId,
    pub properties: BTreeMap<String, ResultValue>,
}

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<ResultValue>),
    Map(BTreeMap<String, ResultValue>),
    Node(NodeValue),
    Relationship(RelValue),
    Path { nodes: Vec<NodeValue>, relationships: Vec<RelValue> },
    /// A date, time, date-time or duration; text formats write its ISO 8601 form
    /// ([`ResultValue::temporal_string`]).
    Temporal(Temporal),
}

fn props(p: &sprig_index::graph::Properties) -> BTreeMap<String, ResultValue> {
    p.iter().map(|(k, v)| (k.clone(), plain(&V::from_property(v)))).collect()
}

fn plain(v: &V) -> ResultValue {
    match v {
        V::Null => ResultValue::Null,
        V::Bool(b) => ResultValue::Bool(*b),
        V::Int(i) => ResultValue::Int(*i),
        V::Float(f) => ResultValue::Float(*f),
        V::String(s) => ResultValue::String(s.to_string()),
        V::List(l) => ResultValue::List(l.iter().map(plain).collect()),
        V::Temporal(t) => ResultValue::Temporal((**t).clone()),
        _ => ResultValue::Null,
    }
}

pub(crate) fn node_value(id: NodeId, ctx: &mut Ctx<'_>) -> Result<NodeValue> {
    // A node deleted by this statement is still returned, without labels or properties.
    Ok(match ctx.graph.node(id)? {
        Some(rec) => NodeValue { id, labels: rec.labels.clone(), properties: props(&rec.properties) },
        None => NodeValue { id, labels: Vec::new(), properties: BTreeMap::new() },
    })
}

pub(crate) fn rel_value(id: RelId, ctx: &mut Ctx<'_>) -> Result<RelValue> {
    Ok(match ctx.graph.rel(id)? {
        Some(rec) => RelValue {
            id,
            rel_type: rec.rel_type.clone(),
            start: rec.start,
            end: rec.end,
            properties: props(&rec.properties),
        },
        None => RelValue { id, rel_type: String::new(), start: 0, end: 0, properties: BTreeMap::new() },
    })
}

/// Resolves `v` against the graph.
pub(crate) fn resolve(v: &V, ctx: &mut Ctx<'_>) -> Result<ResultValue> {
    Ok(match v {
        V::List(l) => ResultValue::List(l.iter().map(|x| resolve(x, ctx)).collect::<Result<_>>()?),
        V::Map(m) => {
            let mut out = BTreeMap::new();
            for (k, x) in m.iter() {
                out.insert(k.clone(), resolve(x, ctx)?);
            }
            ResultValue::Map(out)
        }
        V::Node(id) => ResultValue::Node(node_value(*id, ctx)?),
        V::Rel(id) => ResultValue::Relationship(rel_value(*id, ctx)?),
        V::Path(p) => ResultValue::Path {
            nodes: p.nodes.iter().map(|n| node_value(*n, ctx)).collect::<Result<_>>()?,
            relationships: p.rels.iter().map(|r| rel_value(*r, ctx)).collect::<Result<_>>()?,
        },
        other => plain(other),
    })
}

impl ResultValue {
    /// The value as a Cypher parameter (nodes and relationships are kept as maps).
    pub fn to_parameter(&self) -> V {
        match self {
            ResultValue::Null => V::Null,
            ResultValue::Bool(b) => V::Bool(*b),
            ResultValue::Int(i) => V::Int(*i),
            ResultValue::Float(f) => V::Float(*f),
            ResultValue::String(s) => V::string(s.as_str()),
            ResultValue::List(l) => V::list(l.iter().map(ResultValue::to_parameter).collect()),
            ResultValue::Map(m) => V::map(m.iter().map(|(k, v)| (k.clone(), v.to_parameter())).collect()),
            ResultValue::Node(n) => V::map(n.properties.iter().map(|(k, v)| (k.clone(), v.to_parameter())).collect()),
            ResultValue::Relationship(r) => {
                V::map(r.properties.iter().map(|(k, v)| (k.clone(), v.to_parameter())).collect())
            }
            ResultValue::Path { .. } => V::Null,
            ResultValue::Temporal(t) => V::Temporal(std::sync::Arc::new(t.clone())),
        }
    }

    /// The ISO 8601 form of a temporal value (`1984-10-11`, `P1DT2H`), as `toString`
    /// gives it.
    pub fn temporal_string(t: &Temporal) -> String {
        crate::cypher::temporal::to_string(t)
    }
}
