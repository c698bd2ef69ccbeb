//! The string forms of temporal values, as `toString` and every output format write
//! them (ISO 8601, as Neo4j and Java print them).

use std::fmt::Write;

use sprig_index::graph::{Duration, Temporal, NANOS_PER_SECOND};

use super::{CivilDate, Parts};

/// `1984-10-11`, `12:31:14.645`, `12:31+01:00`, `1984-10-11T12:31Z[Europe/London]`,
/// `P1Y2M3DT4H5M6.7S`.
pub fn to_string(t: &Temporal) -> String {
    let mut out = String::new();
    match t {
        Temporal::Duration(d) => duration(&mut out, d),
        Temporal::Date { days } => date(&mut out, *days),
        Temporal::LocalTime { nanos } => time(&mut out, *nanos),
        Temporal::Time { nanos, offset } => {
            time(&mut out, *nanos);
            offset_to(&mut out, *offset);
        }
        Temporal::LocalDateTime { .. } | Temporal::DateTime { .. } => {
            // Out-of-range values cannot be built, so taking apart cannot fail.
            let parts = Parts::of(t).unwrap_or_default();
            if let Some(d) = parts.date {
                date(&mut out, d.days());
            }
            out.push('T');
            time(&mut out, parts.time.unwrap_or(0));
            if let Temporal::DateTime { offset, zone, .. } = t {
                offset_to(&mut out, *offset);
                if let Some(z) = zone {
                    let _ = write!(out, "[{z}]");
                }
            }
        }
    }
    out
}

fn date(out: &mut String, days: i64) {
    let Ok(d) = CivilDate::from_days(days) else {
        let _ = write!(out, "{days}");
        return;
    };
    let year = d.year();
    if year > 9999 {
        let _ = write!(out, "+{year}");
    } else if year < 0 {
        let _ = write!(out, "-{:04}", -year);
    } else {
        let _ = write!(out, "{year:04}");
    }
    let _ = write!(out, "-{:02}-{:02}", d.month(), d.day());
}

/// `HH:MM`, then seconds when there are any, then a fraction of 3, 6 or 9 digits.
fn time(out: &mut String, nanos: i64) {
    let seconds = nanos / NANOS_PER_SECOND;
    let fraction = nanos % NANOS_PER_SECOND;
    let _ = write!(out, "{:02}:{:02}", seconds / 3600, seconds / 60 % 60);
    if seconds % 60 != 0 || fraction != 0 {
        let _ = write!(out, ":{:02}", seconds % 60);
        if fraction != 0 {
            if fraction % 1_000_000 == 0 {
                let _ = write!(out, ".{:03}", fraction / 1_000_000);
            } else if fraction % 1000 == 0 {
                let _ = write!(out, ".{:06}", fraction / 1000);
            } else {
                let _ = write!(out, ".{fraction:09}");
            }
        }
    }
}

/// `Z` for UTC, else `+HH:MM` (with `:SS` when the offset has seconds).
pub(super) fn offset_to(out: &mut String, offset: i32) {
    if offset == 0 {
        out.push('Z');
        return;
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    let _ = write!(out, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60);
    if abs % 60 != 0 {
        let _ = write!(out, ":{:02}", abs % 60);
    }
}

pub(super) fn offset_string(offset: i32) -> String {
    let mut s = String::new();
    offset_to(&mut s, offset);
    s
}

/// `P{y}Y{m}M{d}DT{h}H{m}M{s}S`, leaving out zero fields; `PT0S` when all are zero.
/// Seconds and their fraction carry one sign (`PT-0.4S`).
fn duration(out: &mut String, d: &Duration) {
    if *d == Duration::default() {
        out.push_str("PT0S");
        return;
    }
    out.push('P');
    let field = |out: &mut String, v: i64, unit: char| {
        if v != 0 {
            let _ = write!(out, "{v}{unit}");
        }
    };
    field(out, d.months / 12, 'Y');
    field(out, d.months % 12, 'M');
    field(out, d.days, 'D');
    if d.seconds == 0 && d.nanos == 0 {
        return;
    }
    out.push('T');
    let (mut s, mut n) = (d.seconds, i64::from(d.nanos));
    if s < 0 && n != 0 {
        s += 1;
        n -= NANOS_PER_SECOND;
    }
    field(out, s / 3600, 'H');
    field(out, s % 3600 / 60, 'M');
    let s = s % 60;
    if s == 0 && n == 0 {
        return;
    }
    if s == 0 && n < 0 {
        out.push('-');
    }
    let _ = write!(out, "{s}");
    if n != 0 {
        let digits = format!("{:09}", n.abs());
        let _ = write!(out, ".{}", digits.trim_end_matches('0'));
    }
    out.push('S');
}
