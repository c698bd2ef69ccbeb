//! Reading temporal values from ISO 8601 strings, in the forms openCypher accepts:
//! calendar (`2015-07-21`, `20150721`, `2015-07`), week (`2015-W30-2`, `2015W30`) and
//! ordinal (`2015-202`) dates; times with or without colons and a fraction of up to
//! nine digits; offsets (`Z`, `+01`, `+0100`, `+01:00`) and zone names
//! (`[Europe/Stockholm]`); durations (`P1Y2M3.5DT4H`, `P2012-02-02T14:37:21.545`).

use sprig_index::graph::{Duration, NANOS_PER_SECOND};

use super::duration::approximate;
use super::{CivilDate, Kind, Parts, Zone};
use crate::{Error, Result};

fn invalid(text: &str, what: &str) -> Error {
    Error::argument("InvalidArgumentValue", format!("'{text}' is not a valid {what}"))
}

/// A cursor over the bytes of the string being read.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn digits_ahead(&self) -> usize {
        self.s[self.pos..].iter().take_while(|b| b.is_ascii_digit()).count()
    }

    /// Exactly `n` digits as a number.
    fn number(&mut self, n: usize) -> Option<i64> {
        if self.digits_ahead() < n {
            return None;
        }
        let text = std::str::from_utf8(&self.s[self.pos..self.pos + n]).ok()?;
        self.pos += n;
        text.parse().ok()
    }

    fn done(&self) -> bool {
        self.pos == self.s.len()
    }
}

/// The offset named by `text` (`Z`, `+01`, `+0100`, `+01:00`, `-01:30:15`), if it is one.
pub(super) fn offset(text: &str) -> Option<i32> {
    let mut c = Cursor { s: text.as_bytes(), pos: 0 };
    let o = offset_at(&mut c)?;
    c.done().then_some(o)
}

fn offset_at(c: &mut Cursor<'_>) -> Option<i32> {
    if c.eat(b'Z') || c.eat(b'z') {
        return Some(0);
    }
    let sign = match c.peek()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    c.pos += 1;
    let hours = c.number(2)?;
    let colon = c.eat(b':');
    let minutes = if c.digits_ahead() >= 2 {
        c.number(2)?
    } else if colon {
        return None;
    } else {
        0
    };
    let seconds = if c.eat(b':') { c.number(2)? } else { 0 };
    if hours > 18 || minutes > 59 || seconds > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60 + seconds) as i32)
}

fn date_at(c: &mut Cursor<'_>, text: &str) -> Result<CivilDate> {
    let bad = || invalid(text, "date");
    let year = match c.peek() {
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let n = c.digits_ahead().clamp(1, 9);
            let y = c.number(n).ok_or_else(bad)?;
            if sign == b'-' {
                -y
            } else {
                y
            }
        }
        _ => c.number(4).ok_or_else(bad)?,
    };
    let dash = c.eat(b'-');
    let date = if c.eat(b'W') {
        let week = c.number(2).ok_or_else(bad)?;
        let has_day = if dash { c.eat(b'-') } else { c.digits_ahead() >= 1 };
        let day = if has_day { c.number(1).ok_or_else(bad)? } else { 1 };
        CivilDate::from_iso_week(year, week, day)?
    } else {
        match (dash, c.digits_ahead()) {
            (_, 0) if !dash => CivilDate::from_ymd(year, 1, 1)?,
            (true, 3) | (false, 3) => {
                let ordinal = c.number(3).ok_or_else(bad)?;
                CivilDate::from_ordinal(year, ordinal)?
            }
            (true, 2) => {
                let month = c.number(2).ok_or_else(bad)?;
                let day = if c.eat(b'-') { c.number(2).ok_or_else(bad)? } else { 1 };
                CivilDate::from_ymd(year, month, day)?
            }
            (false, 2) => CivilDate::from_ymd(year, c.number(2).ok_or_else(bad)?, 1)?,
            (false, 4) => {
                let month = c.number(2).ok_or_else(bad)?;
                CivilDate::from_ymd(year, month, c.number(2).ok_or_else(bad)?)?
            }
            _ => return Err(bad()),
        }
    };
    Ok(date)
}

/// Nanoseconds since midnight.
fn time_at(c: &mut Cursor<'_>, text: &str) -> Result<i64> {
    let bad = || invalid(text, "time");
    let hour = c.number(2).ok_or_else(bad)?;
    let mut minute = 0;
    let mut second = 0;
    let mut fraction = 0;
    let colon = c.eat(b':');
    if colon || c.digits_ahead() >= 2 {
        minute = c.number(2).ok_or_else(bad)?;
        let colon2 = if colon { c.eat(b':') } else { false };
        if colon2 || (!colon && c.digits_ahead() >= 2) {
            second = c.number(2).ok_or_else(bad)?;
            if c.eat(b'.') || c.eat(b',') {
                let n = c.digits_ahead();
                if n == 0 || n > 9 {
                    return Err(bad());
                }
                fraction = c.number(n).ok_or_else(bad)? * 10i64.pow(9 - n as u32);
            }
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }
    Ok((hour * 3600 + minute * 60 + second) * NANOS_PER_SECOND + fraction)
}

/// An offset and `[Zone/Name]` after a time, if present.
fn zone_at(c: &mut Cursor<'_>, text: &str) -> Result<Option<Zone>> {
    let mut zone = None;
    if matches!(c.peek(), Some(b'Z' | b'z' | b'+' | b'-')) {
        zone = Some(Zone::Offset(offset_at(c).ok_or_else(|| invalid(text, "time zone offset"))?));
    }
    if c.eat(b'[') {
        let start = c.pos;
        while c.peek().is_some_and(|b| b != b']') {
            c.pos += 1;
        }
        let name = std::str::from_utf8(&c.s[start..c.pos]).map_err(|_| invalid(text, "time zone"))?;
        if !c.eat(b']') {
            return Err(invalid(text, "time zone"));
        }
        zone = Some(Zone::parse(name)?);
    }
    Ok(zone)
}

/// The parts of `text` read as a value of `kind`.
pub(super) fn parts(text: &str, kind: Kind) -> Result<Parts> {
    let mut c = Cursor { s: text.trim().as_bytes(), pos: 0 };
    let mut parts = Parts::default();
    if kind.has_date() {
        parts.date = Some(date_at(&mut c, text)?);
        if c.eat(b'T') || c.eat(b't') {
            parts.time = Some(time_at(&mut c, text)?);
        }
    } else {
        c.eat(b'T');
        parts.time = Some(time_at(&mut c, text)?);
    }
    if kind.has_time() {
        parts.zone = zone_at(&mut c, text)?;
    }
    if !c.done() {
        return Err(invalid(text, kind.name()));
    }
    Ok(parts)
}

/// A duration string: `P[nY][nM][nW][nD][T[nH][nM][nS]]` (numbers may have a
/// fraction and a sign), or `PYYYY-MM-DDTHH:MM:SS.f`.
pub(super) fn duration(text: &str) -> Result<Duration> {
    let bad = || invalid(text, "duration");
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let body = t.strip_prefix(['P', 'p']).ok_or_else(bad)?;
    let d = if body.len() > 4 && body.as_bytes()[4] == b'-' {
        alternative_duration(body, text)?
    } else {
        designated_duration(body, text)?
    };
    Ok(if negative { super::duration::negate(&d) } else { d })
}

fn designated_duration(body: &str, text: &str) -> Result<Duration> {
    let bad = || invalid(text, "duration");
    let (date_part, time_part) = match body.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    // months, days, seconds and nanoseconds, as numbers that may have fractions
    let mut units = [0.0f64; 4];
    let mut exact = [0i64; 4];
    let mut fractional = false;
    let mut any = false;
    let mut read = |part: &str, table: &[(char, usize, i64)]| -> Result<()> {
        let mut rest = part;
        let mut last = 0;
        while !rest.is_empty() {
            let end = rest.find(|ch: char| ch.is_ascii_alphabetic()).ok_or_else(bad)?;
            let (number, unit) = (&rest[..end], rest[end..].chars().next().ok_or_else(bad)?);
            let position = table.iter().position(|(u, _, _)| u.eq_ignore_ascii_case(&unit)).ok_or_else(bad)?;
            if position < last || number.is_empty() {
                return Err(bad());
            }
            last = position + 1;
            let (_, slot, scale) = table[position];
            let number = number.replace(',', ".");
            if let Ok(i) = number.parse::<i64>() {
                exact[slot] = i.checked_mul(scale).and_then(|v| v.checked_add(exact[slot])).ok_or_else(bad)?;
                units[slot] += i as f64 * scale as f64;
            } else {
                let f: f64 = number.parse().map_err(|_| bad())?;
                fractional = true;
                units[slot] += f * scale as f64;
            }
            any = true;
            rest = &rest[end + 1..];
        }
        Ok(())
    };
    read(date_part, &[('Y', 0, 12), ('M', 0, 1), ('W', 1, 7), ('D', 1, 1)])?;
    if let Some(tp) = time_part {
        if tp.is_empty() {
            return Err(bad());
        }
        read(tp, &[('H', 2, 3600), ('M', 2, 60), ('S', 2, 1)])?;
    }
    if !any {
        return Err(bad());
    }
    if fractional {
        approximate(units[0], units[1], units[2], 0.0)
    } else {
        Duration::normalized(exact[0], exact[1], exact[2], 0).ok_or_else(bad)
    }
}

fn alternative_duration(body: &str, text: &str) -> Result<Duration> {
    let bad = || invalid(text, "duration");
    let mut c = Cursor { s: body.as_bytes(), pos: 0 };
    let years = c.number(4).ok_or_else(bad)?;
    let months = if c.eat(b'-') { c.number(2).ok_or_else(bad)? } else { 0 };
    let days = if c.eat(b'-') { c.number(2).ok_or_else(bad)? } else { 0 };
    let nanos = if c.eat(b'T') { time_at(&mut c, text)? } else { 0 };
    if !c.done() {
        return Err(bad());
    }
    Duration::normalized(years * 12 + months, days, 0, nanos).ok_or_else(bad)
}
