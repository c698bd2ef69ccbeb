//! PackStream, Bolt's value encoding: markers and sizes as the Bolt specification
//! gives them (null, booleans, integers in the shortest form, 64-bit floats,
//! bytes, strings, lists, maps with string keys, and tagged structures).
//!
//! Decoding never trusts a length: each value takes at least one byte, so a
//! collection claiming more items than bytes remain is refused before anything is
//! allocated, and nesting deeper than [`MAX_DEPTH`] is refused, so no input can
//! make the decoder allocate more than a few times its size or overflow the stack.

use thiserror::Error;

/// How deeply lists, maps and structures may nest in one message.
pub const MAX_DEPTH: usize = 64;

/// A PackStream value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    String(String),
    List(Vec<Value>),
    /// Entries in the order they were written.
    Map(Vec<(String, Value)>),
    /// A structure: its tag byte and fields.
    Struct(u8, Vec<Value>),
}

impl Value {
    /// The entry `key` of a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    #[cfg(test)]
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A map from string keys, in this order.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
}

/// Why bytes are not PackStream.
#[derive(Debug, Error, PartialEq)]
pub enum DecodeError {
    #[error("the message ends inside a value (at byte {0})")]
    Truncated(usize),
    #[error("unknown PackStream marker 0x{marker:02X} at byte {at}")]
    Marker { marker: u8, at: usize },
    #[error("a value claims {claimed} items or bytes at byte {at}, more than the message holds")]
    Oversized { claimed: u64, at: usize },
    #[error("values nest deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("a map key at byte {0} is not a string")]
    KeyNotString(usize),
    #[error("a string at byte {0} is not UTF-8")]
    NotUtf8(usize),
    #[error("{0} bytes follow the message's value")]
    Trailing(usize),
}

/// Reads one whole message: a single value and nothing after it.
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut reader = Reader { bytes, at: 0 };
    let value = reader.value(0)?;
    match bytes.len() - reader.at {
        0 => Ok(value),
        extra => Err(DecodeError::Trailing(extra)),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or(DecodeError::Truncated(self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn uint(&mut self, width: usize) -> Result<u64, DecodeError> {
        Ok(self.take(width)?.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A length, refused when fewer than `len * min_bytes` bytes remain.
    fn length(&mut self, width: usize, min_bytes: u64) -> Result<usize, DecodeError> {
        // Errors point at the marker, just read.
        let at = self.at.saturating_sub(1);
        let len = self.uint(width)?;
        self.fits(len, min_bytes, at)
    }

    fn fits(&self, len: u64, min_bytes: u64, at: usize) -> Result<usize, DecodeError> {
        let remaining = (self.bytes.len() - self.at) as u64;
        if len.saturating_mul(min_bytes) > remaining {
            return Err(DecodeError::Oversized { claimed: len, at });
        }
        Ok(len as usize)
    }

    fn string(&mut self, len: usize) -> Result<String, DecodeError> {
        let at = self.at;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| DecodeError::NotUtf8(at))
    }

    fn items(&mut self, len: usize, depth: usize) -> Result<Vec<Value>, DecodeError> {
        (0..len).map(|_| self.value(depth + 1)).collect()
    }

    fn entries(&mut self, len: usize, depth: usize) -> Result<Vec<(String, Value)>, DecodeError> {
        let mut entries = Vec::with_capacity(len);
        for _ in 0..len {
            let at = self.at;
            let Value::String(key) = self.value(depth + 1)? else { return Err(DecodeError::KeyNotString(at)) };
            entries.push((key, self.value(depth + 1)?));
        }
        Ok(entries)
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let at = self.at;
        let marker = self.byte()?;
        Ok(match marker {
            0x00..=0x7F => Value::Int(i64::from(marker)),
            0xF0..=0xFF => Value::Int(i64::from(marker as i8)),
            0xC0 => Value::Null,
            0xC2 => Value::Bool(false),
            0xC3 => Value::Bool(true),
            0xC8 => Value::Int(i64::from(self.take(1)?[0] as i8)),
            0xC9 => Value::Int(i64::from(self.uint(2)? as u16 as i16)),
            0xCA => Value::Int(i64::from(self.uint(4)? as u32 as i32)),
            0xCB => Value::Int(self.uint(8)? as i64),
            0xC1 => Value::Float(f64::from_bits(self.uint(8)?)),
            0xCC..=0xCE => {
                let len = self.length(1 << (marker - 0xCC), 1)?;
                Value::Bytes(self.take(len)?.to_vec())
            }
            0x80..=0x8F => {
                let len = self.fits(u64::from(marker & 0x0F), 1, at)?;
                Value::String(self.string(len)?)
            }
            0xD0..=0xD2 => {
                let len = self.length(1 << (marker - 0xD0), 1)?;
                Value::String(self.string(len)?)
            }
            0x90..=0x9F => {
                let len = self.fits(u64::from(marker & 0x0F), 1, at)?;
                Value::List(self.items(len, depth)?)
            }
            0xD4..=0xD6 => {
                let len = self.length(1 << (marker - 0xD4), 1)?;
                Value::List(self.items(len, depth)?)
            }
            0xA0..=0xAF => {
                let len = self.fits(u64::from(marker & 0x0F), 2, at)?;
                Value::Map(self.entries(len, depth)?)
            }
            0xD8..=0xDA => {
                let len = self.length(1 << (marker - 0xD8), 2)?;
                Value::Map(self.entries(len, depth)?)
            }
            0xB0..=0xBF => {
                let len = self.fits(u64::from(marker & 0x0F), 1, at)?;
                let tag = self.byte()?;
                Value::Struct(tag, self.items(len, depth)?)
            }
            other => return Err(DecodeError::Marker { marker: other, at }),
        })
    }
}

/// Appends `value` to `out`.
pub fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(0xC0),
        Value::Bool(b) => out.push(if *b { 0xC3 } else { 0xC2 }),
        Value::Int(i) => encode_int(*i, out),
        Value::Float(f) => {
            out.push(0xC1);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Value::Bytes(b) => {
            header(out, b.len(), None, [0xCC, 0xCD, 0xCE]);
            out.extend_from_slice(b);
        }
        Value::String(s) => {
            header(out, s.len(), Some(0x80), [0xD0, 0xD1, 0xD2]);
            out.extend_from_slice(s.as_bytes());
        }
        Value::List(items) => encode_list(items, out),
        Value::Map(entries) => {
            header(out, entries.len(), Some(0xA0), [0xD8, 0xD9, 0xDA]);
            for (k, v) in entries {
                header(out, k.len(), Some(0x80), [0xD0, 0xD1, 0xD2]);
                out.extend_from_slice(k.as_bytes());
                encode(v, out);
            }
        }
        Value::Struct(tag, fields) => {
            // Bolt's structures have at most 8 fields.
            out.push(0xB0 | (fields.len().min(15) as u8));
            out.push(*tag);
            fields.iter().take(15).for_each(|v| encode(v, out));
        }
    }
}

/// Appends a list of `items` to `out`.
pub fn encode_list(items: &[Value], out: &mut Vec<u8>) {
    header(out, items.len(), Some(0x90), [0xD4, 0xD5, 0xD6]);
    items.iter().for_each(|v| encode(v, out));
}

fn encode_int(i: i64, out: &mut Vec<u8>) {
    if (-16..=127).contains(&i) {
        out.push(i as u8);
    } else if i8::try_from(i).is_ok() {
        out.push(0xC8);
        out.push(i as u8);
    } else if let Ok(i) = i16::try_from(i) {
        out.push(0xC9);
        out.extend_from_slice(&i.to_be_bytes());
    } else if let Ok(i) = i32::try_from(i) {
        out.push(0xCA);
        out.extend_from_slice(&i.to_be_bytes());
    } else {
        out.push(0xCB);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

/// A size marker: the tiny form when there is one and `len` fits, else 8, 16 or 32 bits.
fn header(out: &mut Vec<u8>, len: usize, tiny: Option<u8>, sized: [u8; 3]) {
    match tiny {
        Some(base) if len < 16 => out.push(base | len as u8),
        _ if len <= 0xFF => out.extend_from_slice(&[sized[0], len as u8]),
        _ if len <= 0xFFFF => {
            out.push(sized[1]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(sized[2]);
            out.extend_from_slice(&(len.min(u32::MAX as usize) as u32).to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        encode(v, &mut out);
        out
    }

    /// Encodings the Bolt specification gives as examples.
    #[test]
    fn values_encode_as_the_specification_shows() {
        assert_eq!(bytes(&Value::Int(1)), [0x01]);
        assert_eq!(bytes(&Value::Int(-16)), [0xF0]);
        assert_eq!(bytes(&Value::Int(-17)), [0xC8, 0xEF]);
        assert_eq!(bytes(&Value::Int(128)), [0xC9, 0x00, 0x80]);
        assert_eq!(bytes(&Value::Int(-129)), [0xC9, 0xFF, 0x7F]);
        assert_eq!(bytes(&Value::Int(32768)), [0xCA, 0x00, 0x00, 0x80, 0x00]);
        assert_eq!(bytes(&Value::Int(2147483648)), [0xCB, 0, 0, 0, 0, 0x80, 0, 0, 0]);
        assert_eq!(bytes(&Value::Float(1.1)), [0xC1, 0x3F, 0xF1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A]);
        assert_eq!(bytes(&Value::string("A")), [0x81, 0x41]);
        assert_eq!(bytes(&Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)])), [0x93, 1, 2, 3]);
        assert_eq!(bytes(&Value::map([("one", Value::string("eins"))])), [
            0xA1, 0x83, 0x6F, 0x6E, 0x65, 0x84, 0x65, 0x69, 0x6E, 0x73
        ]);
        assert_eq!(bytes(&Value::Struct(0x4E, vec![Value::Int(1)])), [0xB1, 0x4E, 0x01]);
        let long: String = "x".repeat(300);
        assert_eq!(bytes(&Value::string(long.clone()))[..3], [0xD1, 0x01, 0x2C]);
        assert_eq!(decode(&bytes(&Value::string(long.clone()))), Ok(Value::string(long)));
    }

    #[test]
    fn every_value_comes_back_as_it_went() {
        let nested = Value::map([
            ("ints", Value::List([0, -1, -16, -17, 127, 128, -128, -129, 40000, -40000, i64::MAX, i64::MIN]
                .into_iter().map(Value::Int).collect())),
            ("floats", Value::List(vec![Value::Float(-0.0), Value::Float(f64::INFINITY), Value::Float(1e-300)])),
            ("bytes", Value::Bytes((0..=255).collect())),
            ("text", Value::string("héllo \u{1F600}")),
            ("many", Value::List((0..70_000).map(Value::Int).collect())),
            ("struct", Value::Struct(0x50, vec![Value::Null, Value::Bool(true), Value::Bool(false)])),
            ("wide", Value::map((0..300).map(|i| (format!("k{i}"), Value::Int(i))))),
        ]);
        assert_eq!(decode(&bytes(&nested)), Ok(nested));
    }

    #[test]
    fn malformed_bytes_are_refused_with_where_they_broke() {
        assert_eq!(decode(&[]), Err(DecodeError::Truncated(0)));
        assert_eq!(decode(&[0xC9, 0x01]), Err(DecodeError::Truncated(1)));
        assert_eq!(decode(&[0xD7]), Err(DecodeError::Marker { marker: 0xD7, at: 0 }));
        assert_eq!(decode(&[0xD6, 0xFF, 0xFF, 0xFF, 0xFF]), Err(DecodeError::Oversized { claimed: u32::MAX as u64, at: 0 }));
        assert_eq!(decode(&[0xDA, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01]), Err(DecodeError::Oversized { claimed: 2, at: 0 }));
        assert_eq!(decode(&[0xA1, 0x01, 0x01]), Err(DecodeError::KeyNotString(1)));
        assert_eq!(decode(&[0x82, 0xC3, 0x28]), Err(DecodeError::NotUtf8(1)));
        assert_eq!(decode(&[0x01, 0x02]), Err(DecodeError::Trailing(1)));
        let deep: Vec<u8> = std::iter::repeat_n(0x91, 100_000).chain([0xC0]).collect();
        assert_eq!(decode(&deep), Err(DecodeError::TooDeep));
        let shallow: Vec<u8> = std::iter::repeat_n(0x91, MAX_DEPTH).chain([0xC0]).collect();
        assert!(decode(&shallow).is_ok());
    }
}
