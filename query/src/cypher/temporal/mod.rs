//! openCypher's temporal types: `date`, `localtime`, `time`, `localdatetime`,
//! `datetime` and `duration`.
//!
//! A value is stored as [`Temporal`] (plain numbers, in the index crate). Here it is
//! taken apart into [`Parts`] (a calendar date, a time of day, a zone), worked on,
//! and put back together; calendars and time zones are jiff's. The submodules:
//! `parse` reads ISO 8601 strings, `format` writes them, `construct` builds values
//! from maps, strings, other values and clocks (and truncates), `duration` does the
//! arithmetic, `access` reads components (`d.year`, `d.offset`, ...).

mod access;
mod calendar;
mod construct;
mod duration;
mod format;
mod parse;

use std::cmp::Ordering;
use std::sync::Arc;

use jiff::tz::{Offset, TimeZone};
use sprig_index::graph::{Duration, Temporal, NANOS_PER_DAY, NANOS_PER_SECOND};

use crate::{Error, Result};

pub(crate) use calendar::CivilDate;

pub use access::component;
pub use construct::{call, fold, TemporalFunction};
pub use duration::{add_duration, divide_duration, duration_sum, multiply_duration, negate};
pub use format::to_string;

/// The temporal kinds, as constructors name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Date,
    LocalTime,
    Time,
    LocalDateTime,
    DateTime,
    Duration,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Date => "date",
            Kind::LocalTime => "localtime",
            Kind::Time => "time",
            Kind::LocalDateTime => "localdatetime",
            Kind::DateTime => "datetime",
            Kind::Duration => "duration",
        }
    }

    fn has_date(self) -> bool {
        matches!(self, Kind::Date | Kind::LocalDateTime | Kind::DateTime)
    }

    fn has_time(self) -> bool {
        matches!(self, Kind::LocalTime | Kind::Time | Kind::LocalDateTime | Kind::DateTime)
    }

    fn has_zone(self) -> bool {
        matches!(self, Kind::Time | Kind::DateTime)
    }
}

/// The kind of a value.
pub(crate) fn kind_of(t: &Temporal) -> Kind {
    match t {
        Temporal::Date { .. } => Kind::Date,
        Temporal::LocalTime { .. } => Kind::LocalTime,
        Temporal::Time { .. } => Kind::Time,
        Temporal::LocalDateTime { .. } => Kind::LocalDateTime,
        Temporal::DateTime { .. } => Kind::DateTime,
        Temporal::Duration(_) => Kind::Duration,
    }
}

/// A zone: a fixed offset (seconds east of UTC) or a named IANA zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Zone {
    Offset(i32),
    Named(Arc<str>),
}

impl Zone {
    /// The zone called `name`: `Z`, `+01:00`, `-0130`, `+05`, or an IANA name.
    fn parse(name: &str) -> Result<Zone> {
        if let Some(offset) = parse::offset(name) {
            return Ok(Zone::Offset(offset));
        }
        time_zone(name)?;
        Ok(Zone::Named(name.into()))
    }

    /// The instant (seconds since the epoch) and offset of the local date-time
    /// `local_seconds` (seconds since 1970-01-01T00:00 in local time) in this zone, as
    /// Java's ZonedDateTime resolves it: a local time that a change of offset repeats
    /// takes the earlier offset, one that it skips moves forward by the gap.
    fn resolve_local(&self, local_seconds: i64) -> Result<(i64, i32)> {
        match self {
            Zone::Offset(o) => Ok((local_seconds - i64::from(*o), *o)),
            Zone::Named(name) => {
                let tz = time_zone(name)?;
                let dt = local_datetime(local_seconds)?;
                let ts = tz.to_ambiguous_timestamp(dt).compatible().map_err(range_error)?;
                let offset = tz.to_offset(ts).seconds();
                // Past jiff's years the rules are those at its edge: keep the local time.
                let in_range = timestamp(local_seconds)?.as_second() == local_seconds;
                Ok((if in_range { ts.as_second() } else { local_seconds - i64::from(offset) }, offset))
            }
        }
    }

    /// The offset a time takes in this zone: a time has no date to resolve a named
    /// zone at, so it takes the zone's offset today.
    fn offset_today(&self) -> Result<i32> {
        match self {
            Zone::Offset(o) => Ok(*o),
            Zone::Named(_) => self.offset_at_instant(jiff::Timestamp::now().as_second()),
        }
    }

    /// The zone of a stored date-time: its name if it has one, else its offset.
    fn of_datetime(offset: i32, name: &Option<Arc<str>>) -> Zone {
        match name {
            Some(n) => Zone::Named(n.clone()),
            None => Zone::Offset(offset),
        }
    }

    /// The zone's name as a date-time keeps it (`None` for an offset).
    fn name(&self) -> Option<Arc<str>> {
        match self {
            Zone::Named(n) => Some(n.clone()),
            Zone::Offset(_) => None,
        }
    }

    /// The offset of this zone at the instant `utc_seconds`.
    fn offset_at_instant(&self, utc_seconds: i64) -> Result<i32> {
        match self {
            Zone::Offset(o) => Ok(*o),
            Zone::Named(name) => Ok(time_zone(name)?.to_offset(timestamp(utc_seconds)?).seconds()),
        }
    }
}

fn time_zone(name: &str) -> Result<TimeZone> {
    TimeZone::get(name).map_err(|_| Error::argument("InvalidArgumentValue", format!("unknown time zone '{name}'")))
}

/// A local date-time as jiff has it; past jiff's years (-9999 to 9999) the nearest
/// it has, whose zone rules are the ones that hold that far out.
fn local_datetime(local_seconds: i64) -> Result<jiff::civil::DateTime> {
    Ok(Offset::UTC.to_datetime(timestamp(local_seconds)?))
}

/// The instant `seconds` after the epoch, clamped to jiff's range (a day inside it, so
/// that an offset applied later stays inside).
fn timestamp(seconds: i64) -> Result<jiff::Timestamp> {
    let (min, max) = (jiff::Timestamp::MIN.as_second() + 86_400, jiff::Timestamp::MAX.as_second() - 86_400);
    jiff::Timestamp::from_second(seconds.clamp(min, max)).map_err(range_error)
}

/// A value out of the supported range (years -999,999,999 to 999,999,999).
fn range_error(e: impl std::fmt::Display) -> Error {
    Error::argument("InvalidArgumentValue", format!("temporal value out of range: {e}"))
}

/// A value taken apart: a calendar date, nanoseconds since midnight and a zone, each
/// present when the kind has it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parts {
    pub date: Option<CivilDate>,
    pub time: Option<i64>,
    pub zone: Option<Zone>,
}

impl Parts {
    /// Takes a value apart (a duration has no parts).
    pub fn of(t: &Temporal) -> Result<Parts> {
        Ok(match t {
            Temporal::Date { days } => Parts { date: Some(CivilDate::from_days(*days)?), ..Parts::default() },
            Temporal::LocalTime { nanos } => Parts { time: Some(*nanos), ..Parts::default() },
            Temporal::Time { nanos, offset } => {
                Parts { time: Some(*nanos), zone: Some(Zone::Offset(*offset)), ..Parts::default() }
            }
            Temporal::LocalDateTime { seconds, nanos } => Parts::local(*seconds, *nanos)?,
            Temporal::DateTime { seconds, nanos, offset, zone } => {
                let mut p = Parts::local(seconds + i64::from(*offset), *nanos)?;
                p.zone = Some(Zone::of_datetime(*offset, zone));
                p
            }
            Temporal::Duration(_) => Parts::default(),
        })
    }

    fn local(seconds: i64, nanos: u32) -> Result<Parts> {
        let days = seconds.div_euclid(86_400);
        let time = seconds.rem_euclid(86_400) * NANOS_PER_SECOND + i64::from(nanos);
        Ok(Parts { date: Some(CivilDate::from_days(days)?), time: Some(time), zone: None })
    }

    /// Seconds since 1970-01-01T00:00 in local time, and the fraction.
    fn local_seconds(&self) -> (i64, u32) {
        let days = self.date.map_or(0, CivilDate::days);
        let time = self.time.unwrap_or(0);
        (days * 86_400 + time / NANOS_PER_SECOND, (time % NANOS_PER_SECOND) as u32)
    }

    /// Puts the parts together as a value of `kind`; missing parts are midnight and
    /// UTC, a date is required where the kind has one.
    pub fn build(&self, kind: Kind) -> Result<Temporal> {
        let need_date = || {
            self.date.ok_or_else(|| Error::argument("InvalidArgumentValue", format!("{}() needs a date", kind.name())))
        };
        Ok(match kind {
            Kind::Date => Temporal::Date { days: need_date()?.days() },
            Kind::LocalTime => Temporal::LocalTime { nanos: self.time.unwrap_or(0) },
            Kind::Time => {
                let offset = self.zone.as_ref().map_or(Ok(0), Zone::offset_today)?;
                Temporal::Time { nanos: self.time.unwrap_or(0), offset }
            }
            Kind::LocalDateTime => {
                need_date()?;
                let (seconds, nanos) = self.local_seconds();
                Temporal::LocalDateTime { seconds, nanos }
            }
            Kind::DateTime => {
                need_date()?;
                let (local, nanos) = self.local_seconds();
                let zone = self.zone.clone().unwrap_or(Zone::Offset(0));
                let (seconds, offset) = zone.resolve_local(local)?;
                Temporal::DateTime { seconds, nanos, offset, zone: zone.name() }
            }
            Kind::Duration => return Err(Error::type_error("a duration has no date or time parts")),
        })
    }
}

/// Whether `t` lies in openCypher's range (years -999,999,999 to 999,999,999), as a
/// value that came from outside (a Bolt parameter) must.
pub fn in_range(t: &Temporal) -> bool {
    Parts::of(t).is_ok()
}

/// A date-time in the zone called `zone`: at the instant `seconds` since the epoch,
/// or (`local`) at that local date-time.
pub fn zoned_datetime(seconds: i64, nanos: u32, zone: &str, local: bool) -> Result<Temporal> {
    let z = Zone::parse(zone)?;
    let utc = if local { z.resolve_local(seconds)?.0 } else { seconds };
    let t = Temporal::DateTime { seconds: utc, nanos, offset: 0, zone: None };
    let t = in_zone(&t, &z)?;
    Parts::of(&t)?;
    Ok(t)
}

/// A date-time in `zone` at the same instant as `t` (a date-time).
fn in_zone(t: &Temporal, zone: &Zone) -> Result<Temporal> {
    match t {
        Temporal::DateTime { seconds, nanos, .. } => {
            let offset = zone.offset_at_instant(*seconds)?;
            Ok(Temporal::DateTime { seconds: *seconds, nanos: *nanos, offset, zone: zone.name() })
        }
        Temporal::Time { nanos, offset } => {
            let new = zone.offset_today()?;
            let shifted = (nanos + i64::from(new - offset) * NANOS_PER_SECOND).rem_euclid(NANOS_PER_DAY);
            Ok(Temporal::Time { nanos: shifted, offset: new })
        }
        other => Ok(other.clone()),
    }
}

/// Compares two values of one kind (times and date-times by their instant first);
/// `None` for different kinds and for durations, which have no order.
pub fn compare(a: &Temporal, b: &Temporal) -> Option<Ordering> {
    use Temporal as T;
    match (a, b) {
        (T::Date { days: x }, T::Date { days: y }) => Some(x.cmp(y)),
        (T::LocalTime { nanos: x }, T::LocalTime { nanos: y }) => Some(x.cmp(y)),
        // Times and date-times order by their instant; at one instant, by local time
        // and then zone, so that only the same local time in the same zone is equal.
        (T::Time { nanos: x, offset: ox }, T::Time { nanos: y, offset: oy }) => {
            Some(utc_nanos(*x, *ox).cmp(&utc_nanos(*y, *oy)).then(x.cmp(y)))
        }
        (T::LocalDateTime { seconds: x, nanos: nx }, T::LocalDateTime { seconds: y, nanos: ny }) => {
            Some(x.cmp(y).then(nx.cmp(ny)))
        }
        (
            T::DateTime { seconds: x, nanos: nx, offset: ox, zone: zx },
            T::DateTime { seconds: y, nanos: ny, offset: oy, zone: zy },
        ) => Some(x.cmp(y).then(nx.cmp(ny)).then(ox.cmp(oy)).then(zx.cmp(zy))),
        _ => None,
    }
}

fn utc_nanos(nanos: i64, offset: i32) -> i64 {
    nanos - i64::from(offset) * NANOS_PER_SECOND
}

/// openCypher equality (as Neo4j's): times and date-times are equal when their local
/// time and zone are (the same instant in two zones is not equal); durations when
/// their components are; values of different kinds are not equal.
pub fn equals(a: &Temporal, b: &Temporal) -> bool {
    match (a, b) {
        (Temporal::Duration(x), Temporal::Duration(y)) => x == y,
        _ => compare(a, b) == Some(Ordering::Equal),
    }
}

/// The rank of a kind in ORDER BY's order across types (after paths, before strings).
pub fn order_rank(t: &Temporal) -> u8 {
    match t {
        Temporal::DateTime { .. } => 0,
        Temporal::LocalDateTime { .. } => 1,
        Temporal::Date { .. } => 2,
        Temporal::Time { .. } => 3,
        Temporal::LocalTime { .. } => 4,
        Temporal::Duration(_) => 5,
    }
}

/// ORDER BY's total order within one kind: as [`compare`], durations by their
/// average length, then by components.
pub fn order(a: &Temporal, b: &Temporal) -> Ordering {
    if let Some(o) = compare(a, b) {
        return o;
    }
    match (a, b) {
        (Temporal::Duration(x), Temporal::Duration(y)) => average_nanos(x)
            .cmp(&average_nanos(y))
            .then(x.months.cmp(&y.months))
            .then(x.days.cmp(&y.days))
            .then(x.seconds.cmp(&y.seconds))
            .then(x.nanos.cmp(&y.nanos)),
        _ => order_rank(a).cmp(&order_rank(b)),
    }
}

/// Seconds in an average Gregorian month (365.2425 / 12 days), as openCypher uses to
/// turn fractions of months into days.
const AVERAGE_MONTH_SECONDS: i64 = 2_629_746;

fn average_nanos(d: &Duration) -> i128 {
    let seconds =
        i128::from(d.months) * i128::from(AVERAGE_MONTH_SECONDS) + i128::from(d.days) * 86_400 + i128::from(d.seconds);
    seconds * i128::from(NANOS_PER_SECOND) + i128::from(d.nanos)
}
