//! Temporal values as Bolt's structures (Date `D`, Time `T`, LocalTime `t`,
//! LocalDateTime `d`, DateTime `I`/`i` from 5.0 or `F`/`f` on 4.4, Duration `E`), both
//! ways, so that the Neo4j drivers read and send them as their own date types.

use sprig_index::graph::{Duration, Temporal};

use super::packstream::Value;

/// `t` as the structure a client of this protocol version reads (`utc`: Bolt 5's
/// UTC-based date-times).
pub fn structure(t: &Temporal, utc: bool) -> Value {
    let int = Value::Int;
    match t {
        Temporal::Date { days } => Value::Struct(b'D', vec![int(*days)]),
        Temporal::LocalTime { nanos } => Value::Struct(b't', vec![int(*nanos)]),
        Temporal::Time { nanos, offset } => Value::Struct(b'T', vec![int(*nanos), int(i64::from(*offset))]),
        Temporal::LocalDateTime { seconds, nanos } => Value::Struct(b'd', vec![int(*seconds), int(i64::from(*nanos))]),
        Temporal::DateTime { seconds, nanos, offset, zone } => {
            // Bolt 4.4 carries the local date-time's seconds, Bolt 5 the instant's.
            let seconds = if utc { *seconds } else { seconds + i64::from(*offset) };
            let (tag, last) = match zone {
                Some(name) => (if utc { b'i' } else { b'f' }, Value::String(name.to_string())),
                None => (if utc { b'I' } else { b'F' }, int(i64::from(*offset))),
            };
            Value::Struct(tag, vec![int(seconds), int(i64::from(*nanos)), last])
        }
        Temporal::Duration(d) => {
            Value::Struct(b'E', vec![int(d.months), int(d.days), int(d.seconds), int(i64::from(d.nanos))])
        }
    }
}

/// The temporal value a client sent as structure `tag` with `fields`; `None` when the
/// structure is not a temporal one sprig has, or its fields are not as Bolt defines.
pub fn from_structure(tag: u8, fields: &[Value], utc: bool) -> Option<Temporal> {
    read_structure(tag, fields, utc).filter(sprig_query::cypher::temporal::in_range)
}

fn read_structure(tag: u8, fields: &[Value], utc: bool) -> Option<Temporal> {
    let int = |i: usize| match fields.get(i) {
        Some(Value::Int(v)) => Some(*v),
        _ => None,
    };
    let nanos = |i: usize| int(i).and_then(|v| u32::try_from(v).ok()).filter(|v| *v < 1_000_000_000);
    // Offsets within ±18 hours, times of day within a day, as Neo4j accepts them.
    let offset = |i: usize| int(i).and_then(|v| i32::try_from(v).ok()).filter(|o| o.abs() <= 18 * 3600);
    let time_of_day = |i: usize| int(i).filter(|n| (0..86_400 * 1_000_000_000).contains(n));
    Some(match (tag, fields.len()) {
        (b'D', 1) => Temporal::Date { days: int(0)? },
        (b't', 1) => Temporal::LocalTime { nanos: time_of_day(0)? },
        (b'T', 2) => Temporal::Time { nanos: time_of_day(0)?, offset: offset(1)? },
        (b'd', 2) => Temporal::LocalDateTime { seconds: int(0)?, nanos: nanos(1)? },
        (b'I' | b'F', 3) => {
            let offset = offset(2)?;
            let seconds = if tag == b'I' || utc { int(0)? } else { int(0)? - i64::from(offset) };
            Temporal::DateTime { seconds, nanos: nanos(1)?, offset, zone: None }
        }
        (b'E', 4) => Temporal::Duration(Duration::normalized(int(0)?, int(1)?, int(2)?, int(3)?)?),
        _ => return None,
    })
}

/// A date-time in a named zone a client sent (`i` from Bolt 5: the instant; `f` on
/// 4.4: the local date-time), resolved with the zone's rules.
pub fn zoned_from_structure(tag: u8, fields: &[Value]) -> Option<Result<Temporal, String>> {
    match (tag, fields) {
        (b'i' | b'f', [Value::Int(seconds), Value::Int(nanos), Value::String(zone)]) => {
            let nanos = u32::try_from(*nanos).ok().filter(|n| *n < 1_000_000_000)?;
            let local = tag == b'f';
            Some(sprig_query::cypher::temporal::zoned_datetime(*seconds, nanos, zone, local).map_err(|e| e.to_string()))
        }
        _ => None,
    }
}
