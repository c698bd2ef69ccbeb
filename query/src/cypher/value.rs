//! Cypher's run-time values, with openCypher's equality (three-valued), comparison
//! and the total order used by ORDER BY.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sprig_index::graph::{NodeId, PropertyValue, RawValue, RelId, Temporal};

use crate::cypher::temporal;

/// A path: nodes and the relationships between them (`rels.len() + 1 == nodes.len()`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathValue {
    pub nodes: Vec<NodeId>,
    pub rels: Vec<RelId>,
}

/// A Cypher value. Nodes and relationships are references into the graph.
#[derive(Debug, Clone)]
pub enum CypherValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(Arc<str>),
    List(Arc<Vec<CypherValue>>),
    Map(Arc<BTreeMap<String, CypherValue>>),
    Node(NodeId),
    Rel(RelId),
    Path(Arc<PathValue>),
    /// A date, time, date-time or duration (shared: it is larger than the others).
    Temporal(Arc<Temporal>),
}

impl CypherValue {
    pub fn string(s: impl Into<Arc<str>>) -> Self {
        CypherValue::String(s.into())
    }

    pub fn list(items: Vec<CypherValue>) -> Self {
        CypherValue::List(Arc::new(items))
    }

    pub fn map(entries: BTreeMap<String, CypherValue>) -> Self {
        CypherValue::Map(Arc::new(entries))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, CypherValue::Null)
    }

    /// The openCypher type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            CypherValue::Null => "Null",
            CypherValue::Bool(_) => "Boolean",
            CypherValue::Int(_) => "Integer",
            CypherValue::Float(_) => "Float",
            CypherValue::String(_) => "String",
            CypherValue::List(_) => "List",
            CypherValue::Map(_) => "Map",
            CypherValue::Node(_) => "Node",
            CypherValue::Rel(_) => "Relationship",
            CypherValue::Path(_) => "Path",
            CypherValue::Temporal(t) => t.type_name(),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            CypherValue::Int(i) => Some(*i as f64),
            CypherValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Three-valued equality: `None` is null.
    pub fn equals(&self, other: &CypherValue) -> Option<bool> {
        use CypherValue as V;
        match (self, other) {
            (V::Null, _) | (_, V::Null) => None,
            (V::Int(a), V::Int(b)) => Some(a == b),
            (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => Some(num_eq(self, other)),
            (V::Bool(a), V::Bool(b)) => Some(a == b),
            (V::String(a), V::String(b)) => Some(a == b),
            (V::Node(a), V::Node(b)) => Some(a == b),
            (V::Rel(a), V::Rel(b)) => Some(a == b),
            (V::Path(a), V::Path(b)) => Some(a == b),
            (V::Temporal(a), V::Temporal(b)) => Some(temporal::equals(a, b)),
            (V::List(a), V::List(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                all_equal(a.iter().zip(b.iter()))
            }
            (V::Map(a), V::Map(b)) => {
                if a.len() != b.len() || a.keys().ne(b.keys()) {
                    return Some(false);
                }
                all_equal(a.values().zip(b.values()))
            }
            _ => Some(false),
        }
    }

    /// Three-valued comparison for `<`, `<=`, ...: `None` when the values are not
    /// comparable (different types, nulls, NaN).
    pub fn compare(&self, other: &CypherValue) -> Option<Ordering> {
        use CypherValue as V;
        match (self, other) {
            (V::Int(a), V::Int(b)) => Some(a.cmp(b)),
            (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => num_cmp(self, other),
            (V::String(a), V::String(b)) => Some(a.cmp(b)),
            (V::Bool(a), V::Bool(b)) => Some(a.cmp(b)),
            (V::Temporal(a), V::Temporal(b)) => temporal::compare(a, b),
            (V::List(a), V::List(b)) => {
                for (x, y) in a.iter().zip(b.iter()) {
                    match x.compare(y)? {
                        Ordering::Equal => {}
                        o => return Some(o),
                    }
                }
                Some(a.len().cmp(&b.len()))
            }
            _ => None,
        }
    }

    fn order_class(&self) -> u8 {
        match self {
            CypherValue::Map(_) => 0,
            CypherValue::Node(_) => 1,
            CypherValue::Rel(_) => 2,
            CypherValue::List(_) => 3,
            CypherValue::Path(_) => 4,
            CypherValue::Temporal(t) => 5 + temporal::order_rank(t),
            CypherValue::String(_) => 11,
            CypherValue::Bool(_) => 12,
            CypherValue::Int(_) | CypherValue::Float(_) => 13,
            CypherValue::Null => 15,
        }
    }

    /// The total order of ORDER BY: by type class, then within the type; NaN after
    /// every number, null last.
    pub fn order(&self, other: &CypherValue) -> Ordering {
        use CypherValue as V;
        let (ca, cb) = (self.order_class(), other.order_class());
        if ca != cb {
            return ca.cmp(&cb);
        }
        match (self, other) {
            (V::Int(a), V::Int(b)) => a.cmp(b),
            (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => {
                let (a, b) = (self.as_f64().unwrap_or(0.0), other.as_f64().unwrap_or(0.0));
                match (a.is_nan(), b.is_nan()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    _ => num_cmp(self, other).unwrap_or(Ordering::Equal),
                }
            }
            (V::String(a), V::String(b)) => a.cmp(b),
            (V::Bool(a), V::Bool(b)) => a.cmp(b),
            (V::Node(a), V::Node(b)) | (V::Rel(a), V::Rel(b)) => a.cmp(b),
            (V::List(a), V::List(b)) => {
                for (x, y) in a.iter().zip(b.iter()) {
                    match x.order(y) {
                        Ordering::Equal => {}
                        o => return o,
                    }
                }
                a.len().cmp(&b.len())
            }
            (V::Path(a), V::Path(b)) => a.nodes.cmp(&b.nodes).then(a.rels.cmp(&b.rels)),
            (V::Temporal(a), V::Temporal(b)) => temporal::order(a, b),
            (V::Map(a), V::Map(b)) => {
                for ((ka, va), (kb, vb)) in a.iter().zip(b.iter()) {
                    match ka.cmp(kb).then_with(|| va.order(vb)) {
                        Ordering::Equal => {}
                        o => return o,
                    }
                }
                a.len().cmp(&b.len())
            }
            _ => Ordering::Equal,
        }
    }

    /// Converts a stored property to a value.
    pub fn from_property(p: &PropertyValue) -> CypherValue {
        match p {
            PropertyValue::Bool(b) => CypherValue::Bool(*b),
            PropertyValue::Int(i) => CypherValue::Int(*i),
            PropertyValue::Float(f) => CypherValue::Float(*f),
            PropertyValue::String(s) => CypherValue::String(s.clone()),
            PropertyValue::List(items) => CypherValue::list(items.iter().map(CypherValue::from_property).collect()),
            PropertyValue::Temporal(t) => CypherValue::Temporal(Arc::new(t.clone())),
        }
    }

    /// The stored form of a value: `Ok(None)` for null (removes the property);
    /// an error message for values that cannot be stored.
    pub fn to_property(&self) -> Result<Option<PropertyValue>, String> {
        Ok(Some(match self {
            CypherValue::Null => return Ok(None),
            CypherValue::Bool(b) => PropertyValue::Bool(*b),
            CypherValue::Int(i) => PropertyValue::Int(*i),
            CypherValue::Float(f) => PropertyValue::Float(*f),
            CypherValue::String(s) => PropertyValue::String(s.clone()),
            CypherValue::Temporal(t) => PropertyValue::Temporal((**t).clone()),
            CypherValue::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    match item {
                        CypherValue::List(_) | CypherValue::Map(_) => {
                            return Err("a property list cannot hold lists or maps".into())
                        }
                        CypherValue::Null => return Err("a property list cannot hold null".into()),
                        other => match other.to_property()? {
                            Some(p) => out.push(p),
                            None => return Err("a property list cannot hold null".into()),
                        },
                    }
                }
                PropertyValue::List(out)
            }
            other => return Err(format!("a {} cannot be stored as a property", other.type_name())),
        }))
    }
}

/// A property read from stored bytes as a value.
pub fn from_raw(raw: RawValue<'_>) -> CypherValue {
    match raw {
        RawValue::Bool(b) => CypherValue::Bool(b),
        RawValue::Int(i) => CypherValue::Int(i),
        RawValue::Float(f) => CypherValue::Float(f),
        RawValue::Str(s) => CypherValue::string(s),
        RawValue::List(items) => CypherValue::list(items.iter().map(CypherValue::from_property).collect()),
        RawValue::Temporal(t) => CypherValue::Temporal(Arc::new(t)),
    }
}

/// `stored = value` for a property read from stored bytes (three-valued).
pub fn raw_equals(stored: &RawValue<'_>, value: &CypherValue) -> Option<bool> {
    match (stored, value) {
        (_, CypherValue::Null) => None,
        (RawValue::Str(a), CypherValue::String(b)) => Some(**a == **b),
        (RawValue::Int(a), CypherValue::Int(b)) => Some(a == b),
        (RawValue::Bool(a), CypherValue::Bool(b)) => Some(a == b),
        (RawValue::Int(a), CypherValue::Float(_)) => CypherValue::Int(*a).equals(value),
        (RawValue::Float(a), CypherValue::Int(_) | CypherValue::Float(_)) => CypherValue::Float(*a).equals(value),
        (RawValue::Temporal(a), CypherValue::Temporal(b)) => Some(temporal::equals(a, b)),
        (RawValue::List(items), _) => {
            CypherValue::list(items.iter().map(CypherValue::from_property).collect()).equals(value)
        }
        _ => Some(false),
    }
}

/// `stored = value` without building a query value (three-valued; `None` is null).
pub fn property_equals(stored: &PropertyValue, value: &CypherValue) -> Option<bool> {
    match (stored, value) {
        (_, CypherValue::Null) => None,
        (PropertyValue::String(a), CypherValue::String(b)) => Some(**a == **b),
        (PropertyValue::Int(a), CypherValue::Int(b)) => Some(a == b),
        (PropertyValue::Bool(a), CypherValue::Bool(b)) => Some(a == b),
        (PropertyValue::List(_), _) => CypherValue::from_property(stored).equals(value),
        (PropertyValue::Temporal(a), CypherValue::Temporal(b)) => Some(temporal::equals(a, b)),
        (PropertyValue::Int(_) | PropertyValue::Float(_), CypherValue::Int(_) | CypherValue::Float(_)) => {
            CypherValue::from_property(stored).equals(value)
        }
        _ => Some(false),
    }
}

/// Element-wise three-valued equality: false if any pair differs, else null if any
/// pair is unknown, else true.
fn all_equal<'a>(pairs: impl Iterator<Item = (&'a CypherValue, &'a CypherValue)>) -> Option<bool> {
    let mut unknown = false;
    for (x, y) in pairs {
        match x.equals(y) {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown {
        None
    } else {
        Some(true)
    }
}

fn num_eq(a: &CypherValue, b: &CypherValue) -> bool {
    match (a, b) {
        (CypherValue::Int(x), CypherValue::Float(y)) | (CypherValue::Float(y), CypherValue::Int(x)) => {
            (*x as f64) == *y && (y.fract() != 0.0 || (*y as i128) == (*x as i128))
        }
        _ => a.as_f64() == b.as_f64(),
    }
}

fn num_cmp(a: &CypherValue, b: &CypherValue) -> Option<Ordering> {
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// A value as a grouping / DISTINCT key: equal values (1 and 1.0, two nulls) hash and
/// compare equal.
#[derive(Debug, Clone)]
pub struct GroupKey(pub CypherValue);

impl PartialEq for GroupKey {
    fn eq(&self, other: &Self) -> bool {
        group_eq(&self.0, &other.0)
    }
}

impl Eq for GroupKey {}

fn group_eq(a: &CypherValue, b: &CypherValue) -> bool {
    use CypherValue as V;
    match (a, b) {
        (V::Null, V::Null) => true,
        (V::Float(x), V::Float(y)) if x.is_nan() && y.is_nan() => true,
        (V::List(x), V::List(y)) => x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| group_eq(p, q)),
        (V::Map(x), V::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|((ka, va), (kb, vb))| ka == kb && group_eq(va, vb))
        }
        _ => a.equals(b) == Some(true),
    }
}

impl Hash for GroupKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(&self.0, state);
    }
}

fn hash_value<H: Hasher>(v: &CypherValue, state: &mut H) {
    use CypherValue as V;
    match v {
        V::Null => 0u8.hash(state),
        V::Bool(b) => (1u8, b).hash(state),
        V::Int(i) => (2u8, *i as f64 as i64 == *i, *i as f64).to_bits_hash(state),
        V::Float(f) => (2u8, true, *f).to_bits_hash(state),
        V::String(s) => (3u8, s).hash(state),
        V::List(items) => {
            4u8.hash(state);
            items.len().hash(state);
            for i in items.iter() {
                hash_value(i, state);
            }
        }
        V::Map(m) => {
            5u8.hash(state);
            for (k, v) in m.iter() {
                k.hash(state);
                hash_value(v, state);
            }
        }
        V::Node(n) => (6u8, n).hash(state),
        V::Rel(r) => (7u8, r).hash(state),
        V::Path(p) => (8u8, p).hash(state),
        V::Temporal(t) => hash_temporal(t, state),
    }
}

/// Temporal values hash by their instant (equal ones share it).
fn hash_temporal<H: Hasher>(t: &Temporal, state: &mut H) {
    9u8.hash(state);
    match t {
        Temporal::DateTime { seconds, nanos, .. } => (0u8, seconds, nanos).hash(state),
        Temporal::Time { nanos, offset } => (1u8, nanos - i64::from(*offset) * 1_000_000_000).hash(state),
        other => other.hash(state),
    }
}

trait BitsHash {
    fn to_bits_hash<H: Hasher>(&self, state: &mut H);
}

impl BitsHash for (u8, bool, f64) {
    fn to_bits_hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        // Numbers hash by their float value so that 1 and 1.0 meet; NaNs share a bucket.
        let f = if self.2.is_nan() {
            f64::NAN
        } else if self.2 == 0.0 {
            0.0
        } else {
            self.2
        };
        f.to_bits().hash(state);
    }
}

/// A row's values as one grouping key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowKey(pub Vec<GroupKey>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_is_three_valued() {
        use CypherValue as V;
        assert_eq!(V::Int(1).equals(&V::Float(1.0)), Some(true));
        assert_eq!(V::Null.equals(&V::Null), None);
        let l1 = V::list(vec![V::Int(1), V::Null]);
        let l2 = V::list(vec![V::Int(2), V::Null]);
        assert_eq!(l1.equals(&l2), Some(false));
        assert_eq!(l1.equals(&l1.clone()), None);
        assert_eq!(V::string("a").equals(&V::Int(1)), Some(false));
    }

    #[test]
    fn order_puts_null_last_and_nan_after_numbers() {
        use CypherValue as V;
        let mut v = vec![V::Null, V::Float(f64::NAN), V::Int(3), V::string("a"), V::Float(1.5)];
        v.sort_by(|a, b| a.order(b));
        assert!(matches!(v[0], V::String(_)));
        assert!(matches!(v[1], V::Float(f) if f == 1.5));
        assert!(matches!(v[3], V::Float(f) if f.is_nan()));
        assert!(v[4].is_null());
        assert_eq!(GroupKey(V::Int(1)), GroupKey(V::Float(1.0)));
    }
}

macro_rules! from_scalar {
    ($($t:ty => $variant:ident as $conv:ty),* $(,)?) => {
        $(impl From<$t> for CypherValue {
            fn from(v: $t) -> Self {
                CypherValue::$variant(<$conv>::from(v))
            }
        })*
    };
}

from_scalar!(bool => Bool as bool, i64 => Int as i64, i32 => Int as i64, u32 => Int as i64, f64 => Float as f64);

impl From<Temporal> for CypherValue {
    fn from(t: Temporal) -> Self {
        CypherValue::Temporal(Arc::new(t))
    }
}

impl From<&str> for CypherValue {
    fn from(v: &str) -> Self {
        CypherValue::string(v)
    }
}

impl From<String> for CypherValue {
    fn from(v: String) -> Self {
        CypherValue::string(v)
    }
}

impl<T: Into<CypherValue>> From<Vec<T>> for CypherValue {
    fn from(v: Vec<T>) -> Self {
        CypherValue::list(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<CypherValue>> From<Option<T>> for CypherValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(CypherValue::Null, Into::into)
    }
}
