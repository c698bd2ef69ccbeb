//! Property values as stored, their binary form, and an order-preserving key form for
//! property indexes.

use std::collections::BTreeMap;

use crate::codec::{Decoder, Encoder};
use crate::graph::temporal::Temporal;
use crate::Result;

/// A value that can be stored as a node or relationship property (openCypher's
/// "storable" values: no maps, nodes or paths; lists hold storable scalars).
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Shared, so that reading a string property into a query value copies nothing.
    String(std::sync::Arc<str>),
    List(Vec<PropertyValue>),
    /// A date, time, date-time or duration.
    Temporal(Temporal),
}

/// Properties of one entity, by key. Absent keys mean null.
pub type Properties = BTreeMap<String, PropertyValue>;

const BOOL: u8 = 1;
const INT: u8 = 2;
const FLOAT: u8 = 3;
const STRING: u8 = 4;
const LIST: u8 = 5;
const TEMPORAL: u8 = 6;

impl PropertyValue {
    pub(crate) fn encode(&self, enc: &mut Encoder) {
        match self {
            PropertyValue::Bool(b) => {
                enc.u8(BOOL).u8(u8::from(*b));
            }
            PropertyValue::Int(i) => {
                enc.u8(INT).u64(*i as u64);
            }
            PropertyValue::Float(f) => {
                enc.u8(FLOAT).u64(f.to_bits());
            }
            PropertyValue::String(s) => {
                enc.u8(STRING).str(s);
            }
            PropertyValue::List(items) => {
                enc.u8(LIST).u32(items.len() as u32);
                for item in items {
                    item.encode(enc);
                }
            }
            PropertyValue::Temporal(t) => {
                enc.u8(TEMPORAL);
                t.encode(enc);
            }
        }
    }

    pub(crate) fn decode(dec: &mut Decoder<'_>) -> Result<PropertyValue> {
        Ok(match dec.u8()? {
            BOOL => PropertyValue::Bool(dec.u8()? != 0),
            INT => PropertyValue::Int(dec.u64()? as i64),
            FLOAT => PropertyValue::Float(f64::from_bits(dec.u64()?)),
            STRING => PropertyValue::String(dec.string()?.into()),
            LIST => {
                let n = dec.u32()? as usize;
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(PropertyValue::decode(dec)?);
                }
                PropertyValue::List(items)
            }
            TEMPORAL => PropertyValue::Temporal(Temporal::decode(dec)?),
            other => return Err(crate::Error::corrupted("graph property", format!("unknown value tag {other}"))),
        })
    }

    /// The order-preserving key form used by property indexes: values of one type sort
    /// as the type does, numbers (integers and floats together) numerically. Integers
    /// beyond 2^53 may share a key with a neighbour; index users re-check the predicate.
    pub fn index_key(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        match self {
            PropertyValue::Bool(b) => {
                out.push(b'b');
                out.push(u8::from(*b));
            }
            PropertyValue::Int(i) => {
                out.push(b'n');
                out.extend_from_slice(&sortable_f64(*i as f64));
            }
            PropertyValue::Float(f) => {
                if f.is_nan() {
                    return None;
                }
                out.push(b'n');
                out.extend_from_slice(&sortable_f64(*f));
            }
            PropertyValue::String(s) => {
                out.push(b's');
                // 0x00 is escaped so that the terminator sorts before every continuation.
                for &b in s.as_bytes() {
                    if b == 0 {
                        out.extend_from_slice(&[0, 0xff]);
                    } else {
                        out.push(b);
                    }
                }
                out.extend_from_slice(&[0, 0]);
            }
            PropertyValue::List(_) => return None,
            PropertyValue::Temporal(t) => return t.index_key(),
        }
        Some(out)
    }
}

/// The key prefix shared by every string that starts with `prefix` (see [`PropertyValue::index_key`]).
pub fn string_prefix_key(prefix: &str) -> Vec<u8> {
    let mut out = vec![b's'];
    for &b in prefix.as_bytes() {
        if b == 0 {
            out.extend_from_slice(&[0, 0xff]);
        } else {
            out.push(b);
        }
    }
    out
}

fn sortable_f64(f: f64) -> [u8; 8] {
    let f = if f == 0.0 { 0.0 } else { f };
    let bits = f.to_bits();
    let key = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
    key.to_be_bytes()
}

/// Writes the stored form of a CSV field (as [`crate::graph::infer_value`] reads it)
/// without building a value; false for an empty field (absent).
pub(crate) fn encode_inferred(enc: &mut Encoder, s: &str) -> bool {
    match infer(s) {
        Inferred::Absent => return false,
        Inferred::Str => enc.u8(STRING).str(s),
        Inferred::Int(i) => enc.u8(INT).u64(i as u64),
        Inferred::Float(f) => enc.u8(FLOAT).u64(f.to_bits()),
        Inferred::Bool(b) => enc.u8(BOOL).u8(u8::from(b)),
    };
    true
}

/// A property read straight from stored bytes, borrowing its strings.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// Lists are decoded (they are rare).
    List(Vec<PropertyValue>),
    Temporal(Temporal),
}

impl<'a> RawValue<'a> {
    /// The borrowed view of a decoded value.
    pub fn of(v: &'a PropertyValue) -> RawValue<'a> {
        match v {
            PropertyValue::Bool(b) => RawValue::Bool(*b),
            PropertyValue::Int(i) => RawValue::Int(*i),
            PropertyValue::Float(f) => RawValue::Float(*f),
            PropertyValue::String(s) => RawValue::Str(s),
            PropertyValue::List(l) => RawValue::List(l.clone()),
            PropertyValue::Temporal(t) => RawValue::Temporal(t.clone()),
        }
    }

    /// The owned value (a string is copied once).
    pub fn to_owned(&self) -> PropertyValue {
        match self {
            RawValue::Bool(b) => PropertyValue::Bool(*b),
            RawValue::Int(i) => PropertyValue::Int(*i),
            RawValue::Float(f) => PropertyValue::Float(*f),
            RawValue::Str(s) => PropertyValue::String((*s).into()),
            RawValue::List(l) => PropertyValue::List(l.clone()),
            RawValue::Temporal(t) => PropertyValue::Temporal(t.clone()),
        }
    }
}

fn skip_value(dec: &mut Decoder<'_>) -> Result<()> {
    match dec.u8()? {
        BOOL => {
            dec.u8()?;
        }
        INT | FLOAT => {
            dec.u64()?;
        }
        STRING => {
            dec.bytes()?;
        }
        LIST => {
            for _ in 0..dec.u32()? {
                skip_value(dec)?;
            }
        }
        TEMPORAL => Temporal::skip(dec)?,
        other => return Err(crate::Error::corrupted("graph property", format!("unknown value tag {other}"))),
    }
    Ok(())
}

/// Finds property `key` in encoded properties (as [`encode_properties`] writes them)
/// without decoding the others.
pub(crate) fn find_raw_property<'a>(dec: &mut Decoder<'a>, key: &str) -> Result<Option<RawValue<'a>>> {
    let n = dec.u32()?;
    for _ in 0..n {
        let k = dec.bytes()?;
        if k != key.as_bytes() {
            skip_value(dec)?;
            continue;
        }
        return Ok(Some(match dec.u8()? {
            BOOL => RawValue::Bool(dec.u8()? != 0),
            INT => RawValue::Int(dec.u64()? as i64),
            FLOAT => RawValue::Float(f64::from_bits(dec.u64()?)),
            STRING => RawValue::Str(
                std::str::from_utf8(dec.bytes()?).map_err(|e| crate::Error::corrupted("graph property", e))?,
            ),
            LIST => {
                let n = dec.u32()? as usize;
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(PropertyValue::decode(dec)?);
                }
                RawValue::List(items)
            }
            TEMPORAL => RawValue::Temporal(Temporal::decode(dec)?),
            other => return Err(crate::Error::corrupted("graph property", format!("unknown value tag {other}"))),
        }));
    }
    Ok(None)
}

pub(crate) fn encode_properties(enc: &mut Encoder, props: &Properties) {
    enc.u32(props.len() as u32);
    for (k, v) in props {
        enc.str(k);
        v.encode(enc);
    }
}

pub(crate) fn decode_properties(dec: &mut Decoder<'_>) -> Result<Properties> {
    let n = dec.u32()? as usize;
    let mut props = Properties::new();
    for _ in 0..n {
        let k = dec.string()?;
        let v = PropertyValue::decode(dec)?;
        props.insert(k, v);
    }
    Ok(props)
}

/// How a CSV field reads as a property.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Inferred {
    Absent,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str,
}

pub(crate) fn infer(s: &str) -> Inferred {
    if s.is_empty() {
        return Inferred::Absent;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Inferred::Int(i);
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) {
        if let Ok(f) = s.parse::<f64>() {
            return Inferred::Float(f);
        }
    }
    match s {
        "true" => Inferred::Bool(true),
        "false" => Inferred::Bool(false),
        _ => Inferred::Str,
    }
}

/// A CSV value as a property: integers, floats and booleans by their look, empty as
/// absent, anything else a string.
pub fn infer_value(s: &str) -> Option<PropertyValue> {
    Some(match infer(s) {
        Inferred::Absent => return None,
        Inferred::Int(i) => PropertyValue::Int(i),
        Inferred::Float(f) => PropertyValue::Float(f),
        Inferred::Bool(b) => PropertyValue::Bool(b),
        Inferred::Str => PropertyValue::String(s.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_sort_like_numbers_and_strings() {
        let nums = [-1e9, -3.5, -1.0, 0.0, 0.5, 2.0, 1e12];
        let keys: Vec<_> = nums.iter().map(|f| PropertyValue::Float(*f).index_key().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(PropertyValue::Int(2).index_key(), PropertyValue::Float(2.0).index_key());
        let a = PropertyValue::String("ab".into()).index_key().unwrap();
        let b = PropertyValue::String("abc".into()).index_key().unwrap();
        assert!(a < b && b.starts_with(&string_prefix_key("ab")));
    }

    #[test]
    fn values_round_trip() {
        let v = PropertyValue::List(vec![PropertyValue::Int(-4), PropertyValue::String("x".into())]);
        let mut enc = Encoder::default();
        v.encode(&mut enc);
        let buf = enc.finish();
        assert_eq!(PropertyValue::decode(&mut Decoder::new(&buf, "t")).unwrap(), v);
    }
}
