//! Temporal property values as stored: openCypher's six temporal types in plain
//! numbers (the calendar arithmetic lives in the query crate), their binary form and
//! their order-preserving index keys.

use std::sync::Arc;

use crate::codec::{Decoder, Encoder};
use crate::Result;

/// Nanoseconds in a second.
pub const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// Nanoseconds in a day.
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;

/// A date, time, date-time or duration. Offsets are seconds east of UTC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Temporal {
    /// Days since 1970-01-01.
    Date { days: i64 },
    /// Nanoseconds since midnight.
    LocalTime { nanos: i64 },
    /// Nanoseconds since midnight in local time, and the offset.
    Time { nanos: i64, offset: i32 },
    /// Seconds since 1970-01-01T00:00 (no zone), and the fraction.
    LocalDateTime { seconds: i64, nanos: u32 },
    /// Seconds since the epoch (UTC), the fraction, the offset at that instant, and the
    /// zone's name when the value was given one (`Europe/Stockholm`) rather than an offset.
    DateTime { seconds: i64, nanos: u32, offset: i32, zone: Option<Arc<str>> },
    /// Months, days and seconds kept apart (a month or day has no fixed length);
    /// `nanos` is in `0..1e9`.
    Duration(Duration),
}

/// openCypher's duration: months, days, seconds and nanoseconds, each kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Duration {
    pub months: i64,
    pub days: i64,
    pub seconds: i64,
    pub nanos: i32,
}

impl Duration {
    /// A duration with `nanos` carried into seconds so that it lies in `0..1e9`;
    /// `None` on overflow.
    pub fn normalized(months: i64, days: i64, seconds: i64, nanos: i64) -> Option<Duration> {
        let seconds = seconds.checked_add(nanos.div_euclid(NANOS_PER_SECOND))?;
        Some(Duration { months, days, seconds, nanos: nanos.rem_euclid(NANOS_PER_SECOND) as i32 })
    }
}

const DATE: u8 = 1;
const LOCAL_TIME: u8 = 2;
const TIME: u8 = 3;
const LOCAL_DATE_TIME: u8 = 4;
const DATE_TIME: u8 = 5;
const DURATION: u8 = 6;

impl Temporal {
    /// The openCypher type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Temporal::Date { .. } => "Date",
            Temporal::LocalTime { .. } => "LocalTime",
            Temporal::Time { .. } => "Time",
            Temporal::LocalDateTime { .. } => "LocalDateTime",
            Temporal::DateTime { .. } => "DateTime",
            Temporal::Duration(_) => "Duration",
        }
    }

    pub(crate) fn encode(&self, enc: &mut Encoder) {
        match self {
            Temporal::Date { days } => {
                enc.u8(DATE).u64(*days as u64);
            }
            Temporal::LocalTime { nanos } => {
                enc.u8(LOCAL_TIME).u64(*nanos as u64);
            }
            Temporal::Time { nanos, offset } => {
                enc.u8(TIME).u64(*nanos as u64).u32(*offset as u32);
            }
            Temporal::LocalDateTime { seconds, nanos } => {
                enc.u8(LOCAL_DATE_TIME).u64(*seconds as u64).u32(*nanos);
            }
            Temporal::DateTime { seconds, nanos, offset, zone } => {
                enc.u8(DATE_TIME).u64(*seconds as u64).u32(*nanos).u32(*offset as u32);
                enc.str(zone.as_deref().unwrap_or(""));
            }
            Temporal::Duration(d) => {
                enc.u8(DURATION).u64(d.months as u64).u64(d.days as u64).u64(d.seconds as u64).u32(d.nanos as u32);
            }
        }
    }

    pub(crate) fn decode(dec: &mut Decoder<'_>) -> Result<Temporal> {
        Ok(match dec.u8()? {
            DATE => Temporal::Date { days: dec.u64()? as i64 },
            LOCAL_TIME => Temporal::LocalTime { nanos: dec.u64()? as i64 },
            TIME => Temporal::Time { nanos: dec.u64()? as i64, offset: dec.u32()? as i32 },
            LOCAL_DATE_TIME => Temporal::LocalDateTime { seconds: dec.u64()? as i64, nanos: dec.u32()? },
            DATE_TIME => {
                let (seconds, nanos, offset) = (dec.u64()? as i64, dec.u32()?, dec.u32()? as i32);
                let zone = dec.string()?;
                let zone = (!zone.is_empty()).then(|| Arc::from(zone));
                Temporal::DateTime { seconds, nanos, offset, zone }
            }
            DURATION => Temporal::Duration(Duration {
                months: dec.u64()? as i64,
                days: dec.u64()? as i64,
                seconds: dec.u64()? as i64,
                nanos: dec.u32()? as i32,
            }),
            other => return Err(crate::Error::corrupted("graph property", format!("unknown temporal kind {other}"))),
        })
    }

    pub(crate) fn skip(dec: &mut Decoder<'_>) -> Result<()> {
        Temporal::decode(dec).map(|_| ())
    }

    /// The key of a property index: values of one type sort as the type does (date-times
    /// and times by their instant, as openCypher compares them). Durations have no
    /// order, so no key.
    pub fn index_key(&self) -> Option<Vec<u8>> {
        let mut out = vec![b't'];
        match self {
            Temporal::Date { days } => {
                out.push(DATE);
                out.extend_from_slice(&sortable_i64(*days));
            }
            Temporal::LocalTime { nanos } => {
                out.push(LOCAL_TIME);
                out.extend_from_slice(&sortable_i64(*nanos));
            }
            Temporal::Time { nanos, offset } => {
                out.push(TIME);
                out.extend_from_slice(&sortable_i64(nanos - i64::from(*offset) * NANOS_PER_SECOND));
            }
            Temporal::LocalDateTime { seconds, nanos } => {
                out.push(LOCAL_DATE_TIME);
                out.extend_from_slice(&sortable_i64(*seconds));
                out.extend_from_slice(&nanos.to_be_bytes());
            }
            Temporal::DateTime { seconds, nanos, .. } => {
                out.push(DATE_TIME);
                out.extend_from_slice(&sortable_i64(*seconds));
                out.extend_from_slice(&nanos.to_be_bytes());
            }
            Temporal::Duration(_) => return None,
        }
        Some(out)
    }
}

fn sortable_i64(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporals_round_trip_and_keys_sort_by_instant() {
        let values = [
            Temporal::Date { days: -3 },
            Temporal::Time { nanos: 5, offset: -3600 },
            Temporal::DateTime { seconds: 7, nanos: 9, offset: 3600, zone: Some("Europe/Stockholm".into()) },
            Temporal::Duration(Duration { months: -1, days: 2, seconds: -3, nanos: 4 }),
        ];
        for v in values {
            let mut enc = Encoder::default();
            v.encode(&mut enc);
            let buf = enc.finish();
            assert_eq!(Temporal::decode(&mut Decoder::new(&buf, "t")).unwrap(), v);
        }
        let key = |days| Temporal::Date { days }.index_key().unwrap();
        assert!(key(-5) < key(-1) && key(-1) < key(0) && key(0) < key(3));
        // 12:00+01:00 is 11:00 UTC, before 11:30Z.
        let t = |h: i64, m: i64, offset| Temporal::Time { nanos: (h * 60 + m) * 60 * NANOS_PER_SECOND, offset };
        assert!(t(12, 0, 3600).index_key() < t(11, 30, 0).index_key());
    }
}
