//! Dates over openCypher's whole range of years (-999,999,999 to 999,999,999) on
//! top of jiff's calendar, which covers -9999 to 9999. The Gregorian calendar repeats
//! every 400 years (146,097 days, exactly 20,871 weeks, so weekdays and ISO weeks
//! repeat too): a date is kept as a jiff date in the cycle starting at 2000 and the
//! number of 400-year cycles it is shifted by. Every calendar question is jiff's.

use std::cmp::Ordering;

use jiff::civil::{Date, ISOWeekDate, Weekday};

use super::range_error;
use crate::Result;

const CYCLE_YEARS: i64 = 400;
const CYCLE_DAYS: i64 = 146_097;
/// The first year of the cycle every date is shifted into.
const BASE_YEAR: i64 = 2000;
/// The years openCypher allows.
pub(super) const MAX_YEAR: i64 = 999_999_999;

const EPOCH: Date = Date::constant(1970, 1, 1);
const BASE: Date = Date::constant(2000, 1, 1);

/// A proleptic Gregorian date in openCypher's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilDate {
    /// The date shifted into the years 2000 to 2399.
    inner: Date,
    /// How many 400-year cycles the true date lies after `inner`.
    cycles: i64,
}

impl PartialOrd for CivilDate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CivilDate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cycles.cmp(&other.cycles).then(self.inner.cmp(&other.inner))
    }
}

/// Days since 1970-01-01 of a date in jiff's range (through the UTC offset, which
/// is plain arithmetic in jiff).
fn days_of(d: Date) -> i64 {
    jiff::tz::Offset::UTC
        .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
        .map_or_else(|_| d.duration_since(EPOCH).as_secs(), |t| t.as_second())
        .div_euclid(86_400)
}

fn check_year(year: i64) -> Result<()> {
    if (-MAX_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(range_error(format!("year {year} is outside -{MAX_YEAR}..{MAX_YEAR}")))
    }
}

/// The cycle shift of `year` and the year it becomes in the base cycle.
fn shift(year: i64) -> (i64, i16) {
    let cycles = (year - BASE_YEAR).div_euclid(CYCLE_YEARS);
    (cycles, (year - cycles * CYCLE_YEARS) as i16)
}

fn small(v: i64) -> Result<i8> {
    i8::try_from(v).map_err(range_error)
}

impl CivilDate {
    fn new(inner: Date, cycles: i64) -> Result<CivilDate> {
        let d = CivilDate { inner, cycles };
        check_year(d.year())?;
        Ok(d)
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days(days: i64) -> Result<CivilDate> {
        let from_base = days - days_of(BASE);
        let cycles = from_base.div_euclid(CYCLE_DAYS);
        let in_cycle = days_of(BASE) + from_base.rem_euclid(CYCLE_DAYS);
        let instant = jiff::Timestamp::from_second(in_cycle * 86_400).map_err(range_error)?;
        CivilDate::new(jiff::tz::Offset::UTC.to_datetime(instant).date(), cycles)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        days_of(self.inner) + self.cycles * CYCLE_DAYS
    }

    pub fn from_ymd(year: i64, month: i64, day: i64) -> Result<CivilDate> {
        check_year(year)?;
        let (cycles, y) = shift(year);
        CivilDate::new(Date::new(y, small(month)?, small(day)?).map_err(range_error)?, cycles)
    }

    /// The date of ISO week `week`, weekday `weekday` (Monday 1) of week-year `year`.
    pub fn from_iso_week(year: i64, week: i64, weekday: i64) -> Result<CivilDate> {
        check_year(year)?;
        let (cycles, y) = shift(year);
        let weekday = Weekday::from_monday_one_offset(small(weekday)?).map_err(range_error)?;
        let inner = ISOWeekDate::new(y, small(week)?, weekday).map_err(range_error)?.date();
        // Week 1 may begin in the year before: the cycle is the week-year's.
        CivilDate::from_days(days_of(inner) + cycles * CYCLE_DAYS)
    }

    /// Day `ordinal` (1-based) of `year`.
    pub fn from_ordinal(year: i64, ordinal: i64) -> Result<CivilDate> {
        let first = CivilDate::from_ymd(year, 1, 1)?;
        let ordinal = i16::try_from(ordinal).map_err(range_error)?;
        let inner = first.inner.with().day_of_year(ordinal).build().map_err(range_error)?;
        CivilDate::new(inner, first.cycles)
    }

    pub fn year(self) -> i64 {
        i64::from(self.inner.year()) + self.cycles * CYCLE_YEARS
    }

    pub fn month(self) -> i64 {
        i64::from(self.inner.month())
    }

    pub fn day(self) -> i64 {
        i64::from(self.inner.day())
    }

    pub fn day_of_year(self) -> i64 {
        i64::from(self.inner.day_of_year())
    }

    /// Monday 1 to Sunday 7.
    pub fn weekday(self) -> i64 {
        i64::from(self.inner.weekday().to_monday_one_offset())
    }

    /// The ISO week-year and week.
    pub fn iso_week(self) -> (i64, i64) {
        let iso = self.inner.iso_week_date();
        (i64::from(iso.year()) + self.cycles * CYCLE_YEARS, i64::from(iso.week()))
    }

    pub fn first_of_month(self) -> CivilDate {
        CivilDate { inner: self.inner.first_of_month(), cycles: self.cycles }
    }

    pub fn plus_days(self, days: i64) -> Result<CivilDate> {
        CivilDate::from_days(self.days().checked_add(days).ok_or_else(|| range_error("too many days"))?)
    }

    /// `months` later, the day clamped to the end of the month (as Java's plusMonths).
    pub fn plus_months(self, months: i64) -> Result<CivilDate> {
        let total = (self.year() * 12 + self.month() - 1).checked_add(months).ok_or_else(|| range_error(months))?;
        let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
        let first = CivilDate::from_ymd(year, month, 1)?;
        let day = self.day().min(i64::from(first.inner.days_in_month()));
        CivilDate::from_ymd(year, month, day)
    }
}
