//! Components of temporal values: `d.year`, `t.minute`, `dt.offset`, `dur.days`, ...

use sprig_index::graph::{Duration, Temporal, NANOS_PER_SECOND};

use super::construct::quarter_day;
use super::format::offset_string;
use super::Parts;
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};

fn unsupported(t: &Temporal, key: &str) -> Error {
    Error::argument("InvalidArgumentValue", format!("a {} has no component '{key}'", t.type_name()))
}

/// `t.key`.
pub fn component(t: &Temporal, key: &str) -> Result<V> {
    if let Temporal::Duration(d) = t {
        return duration_component(d, key).ok_or_else(|| unsupported(t, key));
    }
    let parts = Parts::of(t)?;
    if let Some(d) = parts.date {
        let (week_year, week) = d.iso_week();
        let quarter = (d.month() - 1) / 3 + 1;
        let v = match key {
            "year" => Some(d.year()),
            "quarter" => Some(quarter),
            "month" => Some(d.month()),
            "week" => Some(week),
            "weekYear" => Some(week_year),
            "day" => Some(d.day()),
            "ordinalDay" => Some(d.day_of_year()),
            "weekDay" | "dayOfWeek" => Some(d.weekday()),
            "dayOfQuarter" => Some(quarter_day(d, quarter)),
            _ => None,
        };
        if let Some(v) = v {
            return Ok(V::Int(v));
        }
    }
    if let Some(nanos) = parts.time {
        let seconds = nanos / NANOS_PER_SECOND;
        let fraction = nanos % NANOS_PER_SECOND;
        let v = match key {
            "hour" => Some(seconds / 3600),
            "minute" => Some(seconds / 60 % 60),
            "second" => Some(seconds % 60),
            "millisecond" => Some(fraction / 1_000_000),
            "microsecond" => Some(fraction / 1000),
            "nanosecond" => Some(fraction),
            _ => None,
        };
        if let Some(v) = v {
            return Ok(V::Int(v));
        }
    }
    let offset = match t {
        Temporal::Time { offset, .. } | Temporal::DateTime { offset, .. } => Some(*offset),
        _ => None,
    };
    if let Some(offset) = offset {
        match key {
            "timezone" => {
                return Ok(match t {
                    Temporal::DateTime { zone: Some(z), .. } => V::String(z.clone()),
                    _ => V::string(offset_string(offset)),
                })
            }
            "offset" => return Ok(V::string(offset_string(offset))),
            "offsetMinutes" => return Ok(V::Int(i64::from(offset) / 60)),
            "offsetSeconds" => return Ok(V::Int(i64::from(offset))),
            _ => {}
        }
    }
    if let Temporal::DateTime { seconds, nanos, .. } = t {
        match key {
            "epochSeconds" => return Ok(V::Int(*seconds)),
            "epochMillis" => return Ok(V::Int(seconds * 1000 + i64::from(*nanos) / 1_000_000)),
            _ => {}
        }
    }
    Err(unsupported(t, key))
}

fn duration_component(d: &Duration, key: &str) -> Option<V> {
    let nanos = i64::from(d.nanos);
    let v = match key {
        "years" => d.months / 12,
        "quarters" => d.months / 3,
        "months" => d.months,
        "weeks" => d.days / 7,
        "days" => d.days,
        "hours" => d.seconds / 3600,
        "minutes" => d.seconds / 60,
        "seconds" => d.seconds,
        "milliseconds" => d.seconds.checked_mul(1000)?.checked_add(nanos / 1_000_000)?,
        "microseconds" => d.seconds.checked_mul(1_000_000)?.checked_add(nanos / 1000)?,
        "nanoseconds" => d.seconds.checked_mul(NANOS_PER_SECOND)?.checked_add(nanos)?,
        "quartersOfYear" => d.months % 12 / 3,
        "monthsOfQuarter" => d.months % 3,
        "monthsOfYear" => d.months % 12,
        "daysOfWeek" => d.days % 7,
        "minutesOfHour" => d.seconds / 60 % 60,
        "secondsOfMinute" => d.seconds % 60,
        "millisecondsOfSecond" => nanos / 1_000_000,
        "microsecondsOfSecond" => nanos / 1000,
        "nanosecondsOfSecond" => nanos,
        _ => return None,
    };
    Some(V::Int(v))
}
