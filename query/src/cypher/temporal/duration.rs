//! Durations: building them from numbers that may have fractions, their arithmetic,
//! adding them to dates and times, and the duration between two values
//! (`duration.between`, `inMonths`, `inDays`, `inSeconds`), as openCypher defines them.

use sprig_index::graph::{Duration, Temporal, NANOS_PER_DAY, NANOS_PER_SECOND};

use super::{in_zone, CivilDate, Kind, Parts, Zone, AVERAGE_MONTH_SECONDS};
use crate::{Error, Result};

fn overflow() -> Error {
    Error::overflow("duration out of range")
}

fn to_i64(f: f64) -> Result<i64> {
    if f.is_finite() && f.abs() < 9.2e18 {
        Ok(f.trunc() as i64)
    } else {
        Err(overflow())
    }
}

/// A duration from amounts that may have fractions: the fraction of a month becomes
/// days (of an average month), of a day seconds, of a second nanoseconds.
pub(super) fn approximate(months: f64, days: f64, seconds: f64, nanos: f64) -> Result<Duration> {
    let whole_months = to_i64(months)?;
    let days = days + (months - whole_months as f64) * AVERAGE_MONTH_SECONDS as f64 / 86_400.0;
    let whole_days = to_i64(days)?;
    let seconds = seconds + (days - whole_days as f64) * 86_400.0;
    let whole_seconds = to_i64(seconds)?;
    let nanos = nanos + (seconds - whole_seconds as f64) * NANOS_PER_SECOND as f64;
    Duration::normalized(whole_months, whole_days, whole_seconds, to_i64(nanos)?).ok_or_else(overflow)
}

/// `-d`.
pub fn negate(d: &Duration) -> Duration {
    Duration::normalized(-d.months, -d.days, -d.seconds, -i64::from(d.nanos)).unwrap_or(*d)
}

/// `a + b` or `a - b` of two durations.
pub fn duration_sum(a: &Duration, b: &Duration, subtract: bool) -> Result<Duration> {
    let b = if subtract { negate(b) } else { *b };
    let add = |x: i64, y: i64| x.checked_add(y).ok_or_else(overflow);
    Duration::normalized(
        add(a.months, b.months)?,
        add(a.days, b.days)?,
        add(a.seconds, b.seconds)?,
        i64::from(a.nanos) + i64::from(b.nanos),
    )
    .ok_or_else(overflow)
}

/// `d * n`: exact for integers, through fractions for floats.
pub fn multiply_duration(d: &Duration, n: &crate::cypher::value::CypherValue) -> Result<Duration> {
    use crate::cypher::value::CypherValue as V;
    match n {
        V::Int(i) => {
            let mul = |x: i64| x.checked_mul(*i).ok_or_else(overflow);
            Duration::normalized(mul(d.months)?, mul(d.days)?, mul(d.seconds)?, i64::from(d.nanos) * i)
                .ok_or_else(overflow)
        }
        V::Float(f) => scaled(d, *f),
        other => Err(Error::type_error(format!("cannot multiply a Duration by a {}", other.type_name()))),
    }
}

/// `d / n`, through fractions.
pub fn divide_duration(d: &Duration, n: &crate::cypher::value::CypherValue) -> Result<Duration> {
    let divisor =
        n.as_f64().ok_or_else(|| Error::type_error(format!("cannot divide a Duration by a {}", n.type_name())))?;
    if divisor == 0.0 {
        return Err(Error::division_by_zero());
    }
    scaled(d, 1.0 / divisor)
}

fn scaled(d: &Duration, f: f64) -> Result<Duration> {
    approximate(d.months as f64 * f, d.days as f64 * f, d.seconds as f64 * f, f64::from(d.nanos) * f)
}

/// `t + d` (`subtract`: `t - d`): months, then days, then seconds and nanoseconds, each
/// where the kind has them (a date adds whole days of the seconds; a time wraps
/// around midnight; a date-time adds months and days in local time and the rest to
/// its instant).
pub fn add_duration(t: &Temporal, d: &Duration, subtract: bool) -> Result<Temporal> {
    let d = if subtract { negate(d) } else { *d };
    let time_nanos = |d: &Duration| i128::from(d.seconds) * i128::from(NANOS_PER_SECOND) + i128::from(d.nanos);
    let wrap = |nanos: i64| -> i64 {
        let shift = (time_nanos(&d) % i128::from(NANOS_PER_DAY)) as i64;
        (nanos + shift).rem_euclid(NANOS_PER_DAY)
    };
    Ok(match t {
        Temporal::Duration(x) => Temporal::Duration(duration_sum(x, &d, false)?),
        Temporal::LocalTime { nanos } => Temporal::LocalTime { nanos: wrap(*nanos) },
        Temporal::Time { nanos, offset } => Temporal::Time { nanos: wrap(*nanos), offset: *offset },
        // Without months, days are a fixed count: no calendar needed.
        Temporal::Date { days } if d.months == 0 => {
            let total =
                days.checked_add(d.days).and_then(|x| x.checked_add(d.seconds / 86_400)).ok_or_else(overflow)?;
            CivilDate::from_days(total)?;
            Temporal::Date { days: total }
        }
        Temporal::LocalDateTime { seconds, nanos } if d.months == 0 => {
            let shift = i128::from(d.days) * 86_400 * i128::from(NANOS_PER_SECOND) + time_nanos(&d);
            shift_instant(&Temporal::LocalDateTime { seconds: *seconds, nanos: *nanos }, shift)?
        }
        // At a fixed offset a day is 86,400 seconds.
        Temporal::DateTime { zone: None, .. } if d.months == 0 => {
            shift_instant(t, i128::from(d.days) * 86_400 * i128::from(NANOS_PER_SECOND) + time_nanos(&d))?
        }
        Temporal::Date { days } => {
            let date = plus_months_days(CivilDate::from_days(*days)?, d.months, d.days)?;
            Temporal::Date { days: date.plus_days(d.seconds / 86_400)?.days() }
        }
        Temporal::LocalDateTime { .. } | Temporal::DateTime { .. } => {
            let mut parts = Parts::of(t)?;
            let date = parts.date.ok_or_else(overflow)?;
            parts.date = Some(plus_months_days(date, d.months, d.days)?);
            let kind = super::kind_of(t);
            // Months and days move the local date-time; the offset is resolved again.
            let moved = parts.build(kind)?;
            let shift = time_nanos(&Duration { months: 0, days: 0, ..d });
            shift_instant(&moved, shift)?
        }
    })
}

/// Months first, clamping the day to the month's end, then days (as Java's plus).
fn plus_months_days(date: CivilDate, months: i64, days: i64) -> Result<CivilDate> {
    date.plus_months(months)?.plus_days(days)
}

/// A date-time moved by `nanos` on the time line (for a local date-time, in local time).
fn shift_instant(t: &Temporal, nanos: i128) -> Result<Temporal> {
    let total = |seconds: i64, frac: u32| -> Result<(i64, u32)> {
        let all = i128::from(seconds) * i128::from(NANOS_PER_SECOND) + i128::from(frac) + nanos;
        let s = all.div_euclid(i128::from(NANOS_PER_SECOND));
        let n = all.rem_euclid(i128::from(NANOS_PER_SECOND));
        Ok((i64::try_from(s).map_err(|_| overflow())?, n as u32))
    };
    Ok(match t {
        Temporal::LocalDateTime { seconds, nanos: frac } => {
            let (seconds, nanos) = total(*seconds, *frac)?;
            CivilDate::from_days(seconds.div_euclid(86_400))?;
            Temporal::LocalDateTime { seconds, nanos }
        }
        Temporal::DateTime { seconds, nanos: frac, zone, offset } => {
            let (seconds, nanos) = total(*seconds, *frac)?;
            let z = Zone::of_datetime(*offset, zone);
            let moved = Temporal::DateTime { seconds, nanos, offset: *offset, zone: zone.clone() };
            let moved = in_zone(&moved, &z)?;
            Parts::of(&moved)?;
            moved
        }
        other => other.clone(),
    })
}

/// What `duration.between` and its variants measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Between {
    /// Months, then days, then the rest.
    All,
    Months,
    Days,
    Seconds,
}

/// The duration from `a` to `b`. When only one has a date, the other is taken on its
/// date; when only one has a zone, the other is taken in its zone; two zoned values
/// are compared in `a`'s zone.
pub(super) fn between(a: &Temporal, b: &Temporal, unit: Between) -> Result<Duration> {
    let (ka, kb) = (super::kind_of(a), super::kind_of(b));
    if ka == Kind::Duration || kb == Kind::Duration {
        return Err(Error::type_error("duration.between() takes two dates or times, not durations"));
    }
    let (mut pa, mut pb) = (Parts::of(a)?, Parts::of(b)?);
    let dated = pa.date.is_some() && pb.date.is_some();
    if pa.date.is_none() {
        pa.date = pb.date;
    }
    if pb.date.is_none() {
        pb.date = pa.date;
    }
    // Values with neither a date are compared on one arbitrary day.
    let day = CivilDate::from_days(0)?;
    pa.date = pa.date.or(Some(day));
    pb.date = pb.date.or(Some(day));
    match (&pa.zone, &pb.zone) {
        (Some(z), None) => pb.zone = Some(z.clone()),
        (None, Some(z)) => pa.zone = Some(z.clone()),
        _ => {}
    }
    let zoned = pa.zone.is_some();
    let (ta, tb) = if zoned {
        let (x, y) = (pa.build(Kind::DateTime)?, pb.build(Kind::DateTime)?);
        let zone = pa.zone.clone().unwrap_or(Zone::Offset(0));
        (x.clone(), in_zone(&y, &zone)?)
    } else {
        (pa.build(Kind::LocalDateTime)?, pb.build(Kind::LocalDateTime)?)
    };
    // Local date-times of both, for whole months and days.
    let (la, lb) = (Parts::of(&ta)?, Parts::of(&tb)?);
    let mut months = 0;
    let mut days = 0;
    let mut from = ta.clone();
    if dated && matches!(unit, Between::All | Between::Months) {
        months = months_until(&la, &lb);
        from = add_duration(&from, &Duration { months, ..Duration::default() }, false)?;
    }
    if dated && matches!(unit, Between::All | Between::Days) {
        days = days_until(&Parts::of(&from)?, &lb);
        from = add_duration(&from, &Duration { days, ..Duration::default() }, false)?;
    }
    if matches!(unit, Between::Months | Between::Days) {
        return Ok(Duration { months, days, ..Duration::default() });
    }
    let nanos = instant_nanos(&tb) - instant_nanos(&from);
    let per_second = i128::from(NANOS_PER_SECOND);
    let seconds = i64::try_from(nanos.div_euclid(per_second)).map_err(|_| overflow())?;
    Duration::normalized(months, days, seconds, nanos.rem_euclid(per_second) as i64).ok_or_else(overflow)
}

fn instant_nanos(t: &Temporal) -> i128 {
    match t {
        Temporal::LocalDateTime { seconds, nanos } | Temporal::DateTime { seconds, nanos, .. } => {
            i128::from(*seconds) * i128::from(NANOS_PER_SECOND) + i128::from(*nanos)
        }
        _ => 0,
    }
}

/// Whole months from `a` to `b` (local date-times), as Java's `until(MONTHS)`: the end
/// date steps back a day when its time of day is before the start's.
fn months_until(a: &Parts, b: &Parts) -> i64 {
    let (Some(da), Some(db)) = (a.date, b.date) else { return 0 };
    let db = adjusted_end(da, a.time, db, b.time);
    let packed = |d: CivilDate| (d.year() * 12 + d.month() - 1) * 32 + d.day();
    (packed(db) - packed(da)) / 32
}

fn days_until(a: &Parts, b: &Parts) -> i64 {
    let (Some(da), Some(db)) = (a.date, b.date) else { return 0 };
    adjusted_end(da, a.time, db, b.time).days() - da.days()
}

fn adjusted_end(da: CivilDate, ta: Option<i64>, db: CivilDate, tb: Option<i64>) -> CivilDate {
    let (ta, tb) = (ta.unwrap_or(0), tb.unwrap_or(0));
    if db > da && tb < ta {
        db.plus_days(-1).unwrap_or(db)
    } else if db < da && tb > ta {
        db.plus_days(1).unwrap_or(db)
    } else {
        db
    }
}
