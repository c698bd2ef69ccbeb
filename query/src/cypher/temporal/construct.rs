//! The temporal functions: constructors (`date(...)` from nothing, a string, a map or
//! another value), clocks (`date.realtime()`, `.statement()`, `.transaction()`),
//! `truncate`, `datetime.fromepoch[millis]` and the `duration` functions.

use std::collections::BTreeMap;

use sprig_index::graph::{Temporal, NANOS_PER_SECOND};

use super::duration::{approximate, between, Between};
use super::{kind_of, parse, range_error, CivilDate, Kind, Parts, Zone};
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};

/// Which clock a no-argument constructor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The time the statement started (also used for the transaction's clock: a
    /// statement is its own transaction or the first of one that reads the same).
    Statement,
    /// The time of the call.
    Realtime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Construct,
    Clock(Clock),
    Truncate,
    FromEpoch,
    FromEpochMillis,
    Between(Between),
}

/// A temporal function, as the planner resolves it by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemporalFunction {
    kind: Kind,
    op: Op,
}

/// Every temporal function's name in lower case, with what it is.
const FUNCTIONS: &[(&str, TemporalFunction)] = &{
    const fn f(kind: Kind, op: Op) -> TemporalFunction {
        TemporalFunction { kind, op }
    }
    use Kind as K;
    use Op as O;
    let realtime = O::Clock(Clock::Realtime);
    let statement = O::Clock(Clock::Statement);
    [
        ("date", f(K::Date, O::Construct)),
        ("date.realtime", f(K::Date, realtime)),
        ("date.statement", f(K::Date, statement)),
        ("date.transaction", f(K::Date, statement)),
        ("date.truncate", f(K::Date, O::Truncate)),
        ("localtime", f(K::LocalTime, O::Construct)),
        ("localtime.realtime", f(K::LocalTime, realtime)),
        ("localtime.statement", f(K::LocalTime, statement)),
        ("localtime.transaction", f(K::LocalTime, statement)),
        ("localtime.truncate", f(K::LocalTime, O::Truncate)),
        ("time", f(K::Time, O::Construct)),
        ("time.realtime", f(K::Time, realtime)),
        ("time.statement", f(K::Time, statement)),
        ("time.transaction", f(K::Time, statement)),
        ("time.truncate", f(K::Time, O::Truncate)),
        ("localdatetime", f(K::LocalDateTime, O::Construct)),
        ("localdatetime.realtime", f(K::LocalDateTime, realtime)),
        ("localdatetime.statement", f(K::LocalDateTime, statement)),
        ("localdatetime.transaction", f(K::LocalDateTime, statement)),
        ("localdatetime.truncate", f(K::LocalDateTime, O::Truncate)),
        ("datetime", f(K::DateTime, O::Construct)),
        ("datetime.realtime", f(K::DateTime, realtime)),
        ("datetime.statement", f(K::DateTime, statement)),
        ("datetime.transaction", f(K::DateTime, statement)),
        ("datetime.truncate", f(K::DateTime, O::Truncate)),
        ("datetime.fromepoch", f(K::DateTime, O::FromEpoch)),
        ("datetime.fromepochmillis", f(K::DateTime, O::FromEpochMillis)),
        ("duration", f(K::Duration, O::Construct)),
        ("duration.between", f(K::Duration, O::Between(Between::All))),
        ("duration.inmonths", f(K::Duration, O::Between(Between::Months))),
        ("duration.indays", f(K::Duration, O::Between(Between::Days))),
        ("duration.inseconds", f(K::Duration, O::Between(Between::Seconds))),
    ]
};

impl TemporalFunction {
    /// The function called `lower` (a lower-case name), if it is a temporal one.
    pub fn lookup(lower: &str) -> Option<TemporalFunction> {
        FUNCTIONS.iter().find(|(n, _)| *n == lower).map(|(_, f)| *f)
    }

    pub fn name(self) -> &'static str {
        FUNCTIONS.iter().find(|(_, f)| *f == self).map_or("date", |(n, _)| n)
    }

    pub fn arity(self) -> (usize, usize) {
        match self.op {
            Op::Construct | Op::Clock(_) => (0, 1),
            Op::Truncate => (2, 3),
            Op::FromEpoch | Op::Between(_) => (2, 2),
            Op::FromEpochMillis => (1, 1),
        }
    }

    /// True when the function makes a date, time or date-time (not a duration),
    /// which a property index orders as Cypher does.
    pub fn makes_instant(self) -> bool {
        self.kind != Kind::Duration && !matches!(self.op, Op::Between(_))
    }

    /// The real-time clock gives a new answer on every call.
    pub fn is_nondeterministic(self) -> bool {
        self.op == Op::Clock(Clock::Realtime)
    }
}

/// `f` on constant arguments, computed once while planning (a `date('2020-01-01')`
/// in a predicate is then not parsed again for every row); `None` when the answer
/// depends on a clock or is an error, which is left for the statement to raise.
pub fn fold(f: TemporalFunction, args: &[V]) -> Option<V> {
    let reads_clock = match f.op {
        Op::Clock(_) => true,
        Op::Construct => match args.first() {
            None => true,
            Some(V::Map(m)) => m.keys().all(|k| k == "timezone"),
            Some(_) => false,
        },
        _ => false,
    };
    if reads_clock {
        return None;
    }
    call(f, args, jiff::Timestamp::UNIX_EPOCH).ok()
}

/// Calls `f` on evaluated arguments; `statement_time` is the statement's clock.
pub fn call(f: TemporalFunction, args: &[V], statement_time: jiff::Timestamp) -> Result<V> {
    if args.iter().any(V::is_null) {
        return Ok(V::Null);
    }
    let value = |t: Temporal| Ok(V::Temporal(std::sync::Arc::new(t)));
    match f.op {
        Op::Construct if args.is_empty() => value(now(f.kind, None, statement_time)?),
        Op::Construct => value(construct(f.kind, &args[0], statement_time)?),
        Op::Clock(clock) => {
            let at = match clock {
                Clock::Statement => statement_time,
                Clock::Realtime => jiff::Timestamp::now(),
            };
            let zone = match args.first() {
                None => None,
                Some(V::String(s)) => Some(Zone::parse(s)?),
                Some(V::Map(m)) => zone_field(m)?,
                Some(other) => return Err(arg_type(f, other)),
            };
            value(now(f.kind, zone, at)?)
        }
        Op::Truncate => {
            let unit = match &args[0] {
                V::String(s) => s.to_string(),
                other => return Err(arg_type(f, other)),
            };
            let Some(V::Temporal(t)) = args.get(1) else { return Err(arg_type(f, &args[1])) };
            let empty = BTreeMap::new();
            let fields = match args.get(2) {
                None => &empty,
                Some(V::Map(m)) => m.as_ref(),
                Some(other) => return Err(arg_type(f, other)),
            };
            value(truncate(f.kind, &unit, t, fields)?)
        }
        Op::FromEpoch | Op::FromEpochMillis => {
            let ints: Vec<i64> = args
                .iter()
                .map(|a| match a {
                    V::Int(i) => Ok(*i),
                    other => Err(arg_type(f, other)),
                })
                .collect::<Result<_>>()?;
            let (seconds, nanos) = if f.op == Op::FromEpoch {
                let total = i128::from(ints[0]) * i128::from(NANOS_PER_SECOND) + i128::from(ints[1]);
                split_nanos(total)?
            } else {
                (ints[0].div_euclid(1000), (ints[0].rem_euclid(1000) * 1_000_000) as u32)
            };
            let t = Temporal::DateTime { seconds, nanos, offset: 0, zone: None };
            Parts::of(&t)?;
            value(t)
        }
        Op::Between(unit) => match (&args[0], &args[1]) {
            (V::Temporal(a), V::Temporal(b)) => value(Temporal::Duration(between(a, b, unit)?)),
            (V::Temporal(_), other) | (other, _) => Err(arg_type(f, other)),
        },
    }
}

fn split_nanos(total: i128) -> Result<(i64, u32)> {
    let seconds = i64::try_from(total.div_euclid(i128::from(NANOS_PER_SECOND))).map_err(range_error)?;
    Ok((seconds, total.rem_euclid(i128::from(NANOS_PER_SECOND)) as u32))
}

fn arg_type(f: TemporalFunction, v: &V) -> Error {
    Error::type_error(format!("{}() cannot take a {}", f.name(), v.type_name()))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::argument("InvalidArgumentValue", message)
}

/// The clock's reading as a value of `kind`, in `zone` (UTC when none).
fn now(kind: Kind, zone: Option<Zone>, at: jiff::Timestamp) -> Result<Temporal> {
    let zone = zone.unwrap_or(Zone::Offset(0));
    let t = Temporal::DateTime { seconds: at.as_second(), nanos: at.subsec_nanosecond() as u32, offset: 0, zone: None };
    let t = super::in_zone(&t, &zone)?;
    let mut parts = Parts::of(&t)?;
    if kind == Kind::Time {
        // A named zone's offset today.
        parts.zone = Some(Zone::Offset(match &t {
            Temporal::DateTime { offset, .. } => *offset,
            _ => 0,
        }));
    }
    parts.build(kind)
}

fn construct(kind: Kind, arg: &V, statement_time: jiff::Timestamp) -> Result<Temporal> {
    match (kind, arg) {
        (Kind::Duration, V::String(s)) => Ok(Temporal::Duration(parse::duration(s)?)),
        (Kind::Duration, V::Map(m)) => Ok(Temporal::Duration(duration_from_map(m)?)),
        (Kind::Duration, V::Temporal(t)) if kind_of(t) == Kind::Duration => Ok((**t).clone()),
        (_, V::String(s)) => {
            let mut parts = parse::parts(s, kind)?;
            if kind == Kind::DateTime && parts.zone.is_none() {
                parts.zone = Some(Zone::Offset(0));
            }
            parts.build(kind)
        }
        (Kind::Duration, other) => Err(Error::type_error(format!("duration() cannot take a {}", other.type_name()))),
        (_, V::Map(m)) => from_map(kind, m, statement_time),
        (_, V::Temporal(t)) => select(kind, t),
        (_, other) => Err(Error::type_error(format!("{}() cannot take a {}", kind.name(), other.type_name()))),
    }
}

/// A value of `kind` made of another value's parts (`date(datetime)`, `time(localtime)`).
fn select(kind: Kind, t: &Temporal) -> Result<Temporal> {
    if kind_of(t) == Kind::Duration {
        return Err(Error::type_error(format!("{}() cannot take a Duration", kind.name())));
    }
    let mut parts = Parts::of(t)?;
    if kind.has_date() && parts.date.is_none() {
        return Err(invalid(format!("{}() needs a date, and a {} has none", kind.name(), t.type_name())));
    }
    if kind.has_zone() && parts.zone.is_none() {
        parts.zone = Some(Zone::Offset(0));
    }
    if kind == Kind::Time {
        if let Temporal::DateTime { offset, .. } = t {
            parts.zone = Some(Zone::Offset(*offset));
        }
    }
    parts.build(kind)
}

fn zone_field(m: &BTreeMap<String, V>) -> Result<Option<Zone>> {
    match m.get("timezone") {
        None | Some(V::Null) => Ok(None),
        Some(V::String(s)) => Ok(Some(Zone::parse(s)?)),
        Some(other) => Err(Error::type_error(format!("timezone must be a String, not a {}", other.type_name()))),
    }
}

const DATE_FIELDS: [&str; 8] = ["year", "month", "day", "week", "dayOfWeek", "ordinalDay", "quarter", "dayOfQuarter"];
const TIME_FIELDS: [&str; 6] = ["hour", "minute", "second", "millisecond", "microsecond", "nanosecond"];

fn int_field(m: &BTreeMap<String, V>, key: &str) -> Result<Option<i64>> {
    match m.get(key) {
        None | Some(V::Null) => Ok(None),
        Some(V::Int(i)) => Ok(Some(*i)),
        Some(other) => Err(Error::type_error(format!("{key} must be an Integer, not a {}", other.type_name()))),
    }
}

fn temporal_field<'m>(m: &'m BTreeMap<String, V>, key: &str) -> Result<Option<&'m Temporal>> {
    match m.get(key) {
        None | Some(V::Null) => Ok(None),
        Some(V::Temporal(t)) if kind_of(t) != Kind::Duration => Ok(Some(t)),
        Some(other) => Err(Error::type_error(format!("{key} must be a temporal value, not a {}", other.type_name()))),
    }
}

/// A value of `kind` from a map of fields, which may name other values to start from
/// (`date`, `time`, `datetime`) and a `timezone`.
fn from_map(kind: Kind, m: &BTreeMap<String, V>, statement_time: jiff::Timestamp) -> Result<Temporal> {
    for key in m.keys() {
        let known = DATE_FIELDS.contains(&key.as_str()) && kind.has_date()
            || TIME_FIELDS.contains(&key.as_str()) && kind.has_time()
            || key == "timezone" && (kind.has_zone() || m.len() == 1)
            || ["epochSeconds", "epochMillis"].contains(&key.as_str()) && kind == Kind::DateTime
            || ["date", "time", "datetime"].contains(&key.as_str());
        if !known {
            return Err(invalid(format!("{}() does not take the field '{key}'", kind.name())));
        }
    }
    let zone = zone_field(m)?;
    if m.len() == 1 && zone.is_some() {
        return now(kind, zone, statement_time);
    }
    if m.contains_key("epochSeconds") || m.contains_key("epochMillis") {
        return from_epoch_fields(m, zone);
    }
    let mut base = Parts::default();
    let mut base_zoned_value = false;
    if let Some(t) = temporal_field(m, "datetime")? {
        base = Parts::of(t)?;
        base_zoned_value = base.zone.is_some();
    }
    if let Some(t) = temporal_field(m, "date")? {
        base.date = Some(Parts::of(t)?.date.ok_or_else(|| invalid(format!("a {} has no date", t.type_name())))?);
    }
    if let Some(t) = temporal_field(m, "time")? {
        let p = Parts::of(t)?;
        base.time = Some(p.time.ok_or_else(|| invalid(format!("a {} has no time", t.type_name())))?);
        if p.zone.is_some() {
            base.zone = match t {
                Temporal::DateTime { offset, .. } if kind == Kind::Time => Some(Zone::Offset(*offset)),
                _ => p.zone,
            };
            base_zoned_value = true;
        }
    }
    assemble(kind, m, base, zone, base_zoned_value)
}

/// `datetime({epochSeconds: s, nanosecond: n})` or `datetime({epochMillis: ms})`, in
/// UTC or the map's `timezone`.
fn from_epoch_fields(m: &BTreeMap<String, V>, zone: Option<Zone>) -> Result<Temporal> {
    let f = |k| int_field(m, k);
    let sub_second = f("millisecond")?.unwrap_or(0) * 1_000_000
        + f("microsecond")?.unwrap_or(0) * 1000
        + f("nanosecond")?.unwrap_or(0);
    let total = match (f("epochSeconds")?, f("epochMillis")?) {
        (Some(s), None) => i128::from(s) * i128::from(NANOS_PER_SECOND),
        (None, Some(ms)) => i128::from(ms) * 1_000_000,
        _ => return Err(invalid("give either epochSeconds or epochMillis")),
    } + i128::from(sub_second);
    if TIME_FIELDS[..3].iter().chain(DATE_FIELDS.iter()).any(|k| m.contains_key(*k)) {
        return Err(invalid("epochSeconds and epochMillis cannot be combined with date or time fields"));
    }
    let (seconds, nanos) = split_nanos(total)?;
    let t = Temporal::DateTime { seconds, nanos, offset: 0, zone: None };
    let t = super::in_zone(&t, &zone.unwrap_or(Zone::Offset(0)))?;
    Parts::of(&t)?;
    Ok(t)
}

/// Builds a value of `kind` from the fields of `m` over `base`. A `zone` given for a
/// zoned base moves the result to that zone at the same instant; otherwise the
/// fields are read in `zone`.
fn assemble(kind: Kind, m: &BTreeMap<String, V>, base: Parts, zone: Option<Zone>, convert: bool) -> Result<Temporal> {
    let mut parts = Parts::default();
    if kind.has_date() {
        parts.date = Some(date_fields(m, base.date)?);
    }
    if kind.has_time() {
        parts.time = Some(time_fields(m, base.time)?);
    }
    if kind.has_zone() {
        parts.zone = match (&zone, convert) {
            (Some(_), true) | (None, _) => base.zone.clone().or(Some(Zone::Offset(0))),
            (Some(z), false) => Some(z.clone()),
        };
    }
    let built = parts.build(kind)?;
    match (zone, convert) {
        (Some(z), true) => super::in_zone(&built, &z),
        _ => Ok(built),
    }
}

fn date_fields(m: &BTreeMap<String, V>, base: Option<CivilDate>) -> Result<CivilDate> {
    let f = |k| int_field(m, k);
    let (year, month, day) = (f("year")?, f("month")?, f("day")?);
    let (week, day_of_week, ordinal) = (f("week")?, f("dayOfWeek")?, f("ordinalDay")?);
    let (quarter, day_of_quarter) = (f("quarter")?, f("dayOfQuarter")?);
    if year.is_none() && base.is_none() {
        if [month, day, week, day_of_week, ordinal, quarter, day_of_quarter].iter().any(Option::is_some) {
            return Err(invalid("a date needs a year"));
        }
        return Err(invalid("a date needs at least a year"));
    }
    let mixed = |a: bool, b: bool| if a && b { Err(invalid("the date fields do not fit together")) } else { Ok(()) };
    let calendar = month.is_some() || day.is_some();
    let weekly = week.is_some() || day_of_week.is_some();
    let quarterly = quarter.is_some() || day_of_quarter.is_some();
    mixed(calendar, weekly || ordinal.is_some() || quarterly)?;
    mixed(weekly, ordinal.is_some() || quarterly)?;
    mixed(ordinal.is_some(), quarterly)?;
    if weekly {
        let iso = base.map(CivilDate::iso_week);
        let y = year.or(iso.map(|(y, _)| y)).unwrap_or(1970);
        let w = week.or(iso.map(|(_, w)| w)).unwrap_or(1);
        let d = day_of_week.or(base.map(CivilDate::weekday)).unwrap_or(1);
        if week.is_none() && base.is_none() {
            return Err(invalid("dayOfWeek needs a week"));
        }
        return CivilDate::from_iso_week(y, w, d);
    }
    let y = year.or(base.map(CivilDate::year)).unwrap_or(1970);
    if let Some(o) = ordinal {
        return CivilDate::from_ordinal(y, o);
    }
    if quarterly {
        let (bq, bd) = base.map_or((1, 1), |d| {
            let q = (d.month() - 1) / 3 + 1;
            (q, quarter_day(d, q))
        });
        let q = quarter.unwrap_or(bq);
        let day = day_of_quarter.unwrap_or(if quarter.is_some() && base.is_none() { 1 } else { bd });
        if !(1..=4).contains(&q) || !(1..=92).contains(&day) {
            return Err(invalid("quarter or dayOfQuarter out of range"));
        }
        let date = CivilDate::from_ymd(y, (q - 1) * 3 + 1, 1)?.plus_days(day - 1)?;
        if (date.month() - 1) / 3 + 1 != q {
            return Err(invalid("dayOfQuarter past the end of the quarter"));
        }
        return Ok(date);
    }
    let mo = month.or(base.map(CivilDate::month)).unwrap_or(1);
    let da = day.or(base.map(CivilDate::day)).unwrap_or(1);
    if day.is_some() && month.is_none() && base.is_none() {
        return Err(invalid("day needs a month"));
    }
    CivilDate::from_ymd(y, mo, da)
}

/// The day of its quarter (1-based) of `d`, in quarter `q`.
pub(super) fn quarter_day(d: CivilDate, q: i64) -> i64 {
    let start = CivilDate::from_ymd(d.year(), (q - 1) * 3 + 1, 1).unwrap_or(d);
    d.days() - start.days() + 1
}

fn time_fields(m: &BTreeMap<String, V>, base: Option<i64>) -> Result<i64> {
    let f = |k| int_field(m, k);
    let (hour, minute, second) = (f("hour")?, f("minute")?, f("second")?);
    let (milli, micro, nano) = (f("millisecond")?, f("microsecond")?, f("nanosecond")?);
    let b = base.unwrap_or(0);
    let b_seconds = b / NANOS_PER_SECOND;
    if base.is_none() {
        // A smaller unit needs the larger ones.
        let given = [hour, minute, second, milli.or(micro).or(nano)];
        if let Some(last) = given.iter().rposition(Option::is_some) {
            if given[..last].iter().any(Option::is_none) {
                return Err(invalid("a time field needs the larger ones (hour, then minute, then second)"));
            }
        }
    }
    let h = hour.unwrap_or(b_seconds / 3600);
    let mi = minute.unwrap_or(b_seconds / 60 % 60);
    let s = second.unwrap_or(b_seconds % 60);
    let fraction = if milli.is_some() || micro.is_some() || nano.is_some() {
        let limit = |v: Option<i64>, max: i64, what: &str| match v {
            Some(x) if !(0..max).contains(&x) => Err(invalid(format!("{what} out of range"))),
            _ => Ok(v.unwrap_or(0)),
        };
        let ms = limit(milli, 1000, "millisecond")?;
        let us = limit(micro, if milli.is_some() { 1000 } else { 1_000_000 }, "microsecond")?;
        let max_ns = if micro.is_some() {
            1000
        } else if milli.is_some() {
            1_000_000
        } else {
            NANOS_PER_SECOND
        };
        let ns = limit(nano, max_ns, "nanosecond")?;
        ms * 1_000_000 + us * 1000 + ns
    } else {
        b % NANOS_PER_SECOND
    };
    if !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0..60).contains(&s) {
        return Err(invalid("hour, minute or second out of range"));
    }
    Ok((h * 3600 + mi * 60 + s) * NANOS_PER_SECOND + fraction)
}

/// `duration({years: 1, days: 1.5, ...})`.
fn duration_from_map(m: &BTreeMap<String, V>) -> Result<sprig_index::graph::Duration> {
    // (field, slot: months, days, seconds or nanoseconds, scale)
    const UNITS: [(&str, usize, i64); 10] = [
        ("years", 0, 12),
        ("quarters", 0, 3),
        ("months", 0, 1),
        ("weeks", 1, 7),
        ("days", 1, 1),
        ("hours", 2, 3600),
        ("minutes", 2, 60),
        ("seconds", 2, 1),
        ("milliseconds", 3, 1_000_000),
        ("microseconds", 3, 1000),
    ];
    let mut exact = [0i64; 4];
    let mut approx = [0f64; 4];
    let mut fractional = false;
    for (key, value) in m {
        let (slot, scale) = match UNITS.iter().find(|(n, _, _)| n == key) {
            Some((_, slot, scale)) => (*slot, *scale),
            None if key == "nanoseconds" => (3, 1),
            None => return Err(invalid(format!("duration() does not take the field '{key}'"))),
        };
        match value {
            V::Null => {}
            V::Int(i) => {
                exact[slot] = i
                    .checked_mul(scale)
                    .and_then(|v| v.checked_add(exact[slot]))
                    .ok_or_else(|| Error::overflow("duration out of range"))?;
                approx[slot] += *i as f64 * scale as f64;
            }
            V::Float(f) => {
                fractional = true;
                approx[slot] += f * scale as f64;
            }
            other => {
                return Err(Error::type_error(format!("{key} must be a number, not a {}", other.type_name())));
            }
        }
    }
    if fractional {
        approximate(approx[0], approx[1], approx[2], approx[3])
    } else {
        sprig_index::graph::Duration::normalized(exact[0], exact[1], exact[2], exact[3])
            .ok_or_else(|| Error::overflow("duration out of range"))
    }
}

/// `kind.truncate(unit, t, fields)`: `t` cut down to the start of its `unit`, then the
/// fields set over it (a `timezone` among them replaces the zone, keeping local time).
fn truncate(kind: Kind, unit: &str, t: &Temporal, fields: &BTreeMap<String, V>) -> Result<Temporal> {
    let mut parts = Parts::of(t)?;
    let unit_lower = unit.to_ascii_lowercase();
    let date_unit = ["millennium", "century", "decade", "year", "weekyear", "quarter", "month", "week", "day"]
        .contains(&unit_lower.as_str());
    let time_units = ["hour", "minute", "second", "millisecond", "microsecond"];
    if !date_unit && !time_units.contains(&unit_lower.as_str()) {
        return Err(invalid(format!("unknown unit '{unit}' for truncate")));
    }
    if kind.has_date() && parts.date.is_none() {
        return Err(invalid(format!("{}.truncate() needs a value with a date", kind.name())));
    }
    if !kind.has_time() && !date_unit {
        return Err(invalid(format!("{}.truncate() cannot truncate to '{unit}'", kind.name())));
    }
    if date_unit && unit_lower != "day" && !kind.has_date() {
        return Err(invalid(format!("{}.truncate() cannot truncate to '{unit}'", kind.name())));
    }
    if let Some(d) = parts.date {
        parts.date = Some(truncate_date(d, &unit_lower)?);
    }
    let step = match unit_lower.as_str() {
        "hour" => 3600 * NANOS_PER_SECOND,
        "minute" => 60 * NANOS_PER_SECOND,
        "second" => NANOS_PER_SECOND,
        "millisecond" => 1_000_000,
        "microsecond" => 1000,
        _ => 86_400 * NANOS_PER_SECOND,
    };
    let time = parts.time.unwrap_or(0);
    parts.time = Some(time - time.rem_euclid(step));
    if kind == Kind::Time {
        if let Temporal::DateTime { offset, .. } = t {
            parts.zone = Some(Zone::Offset(*offset));
        }
    }
    // A sub-second field below the unit keeps the truncated larger sub-second part.
    let mut fields = fields.clone();
    let truncated = parts.time.unwrap_or(0) % NANOS_PER_SECOND;
    if unit_lower == "millisecond" && (fields.contains_key("microsecond") || fields.contains_key("nanosecond")) {
        fields.insert("millisecond".into(), V::Int(truncated / 1_000_000));
    } else if unit_lower == "microsecond" && fields.contains_key("nanosecond") {
        fields.insert("microsecond".into(), V::Int(truncated / 1000));
    }
    let zone = zone_field(&fields)?;
    fields.remove("timezone");
    let base = parts.clone();
    let mut result = assemble(kind, &fields, base, None, false)?;
    if let Some(z) = zone.filter(|_| kind.has_zone()) {
        let mut p = Parts::of(&result)?;
        p.zone = Some(z);
        result = p.build(kind)?;
    }
    Ok(result)
}

fn truncate_date(d: CivilDate, unit: &str) -> Result<CivilDate> {
    let year = d.year();
    let first_of_year = |y: i64| CivilDate::from_ymd(y, 1, 1);
    match unit {
        "millennium" => first_of_year(year.div_euclid(1000) * 1000),
        "century" => first_of_year(year.div_euclid(100) * 100),
        "decade" => first_of_year(year.div_euclid(10) * 10),
        "year" => first_of_year(year),
        "weekyear" => CivilDate::from_iso_week(d.iso_week().0, 1, 1),
        "quarter" => CivilDate::from_ymd(year, (d.month() - 1) / 3 * 3 + 1, 1),
        "month" => Ok(d.first_of_month()),
        "week" => d.plus_days(1 - d.weekday()),
        _ => Ok(d),
    }
}
