//! ORDER BY (with top-k), SKIP and LIMIT, column truncation and UNION.

use std::collections::{HashSet, VecDeque};

use crate::cypher::exec::memory::{row_bytes, Reservation};
use crate::cypher::plan::expr::CExpr;
use crate::cypher::value::{CypherValue as V, GroupKey, RowKey};
use crate::{Error, Result};

use super::context::{BoxOp, Ctx, Operator, Row};
use super::parallel::SplitPipeline;

pub(super) fn count_value(e: &CExpr, what: &str, ctx: &mut Ctx<'_>) -> Result<usize> {
    match e.eval(&Vec::new(), ctx)? {
        V::Int(i) if i >= 0 => Ok(i as usize),
        V::Int(_) => Err(Error::Runtime {
            class: "SyntaxError",
            detail: "NegativeIntegerArgument",
            message: format!("{what} must not be negative"),
        }),
        other => Err(Error::Runtime {
            class: "SyntaxError",
            detail: "InvalidArgumentType",
            message: format!("{what} must be an integer, not {}", other.type_name()),
        }),
    }
}

pub(super) fn compare_keys(a: &[V], b: &[V], asc: &[bool]) -> std::cmp::Ordering {
    for ((x, y), up) in a.iter().zip(b).zip(asc) {
        let o = x.order(y);
        let o = if *up { o } else { o.reverse() };
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

pub(super) struct Sort {
    pub(super) input: BoxOp,
    pub(super) keys: Vec<(CExpr, bool)>,
    pub(super) limit: Option<CExpr>,
    pub(super) output: Option<VecDeque<Row>>,
    pub(super) held: Option<Reservation>,
    /// Set when the input pipeline can run as two halves, one per core.
    pub(super) split: Option<SplitPipeline>,
}

/// Rows with their sort keys, sorted.
type Keyed = Vec<(Vec<V>, Row)>;

impl Operator for Sort {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.output.is_none() {
            let limit = match &self.limit {
                Some(l) => Some(count_value(l, "LIMIT", ctx)?),
                None => None,
            };
            let asc: Vec<bool> = self.keys.iter().map(|k| k.1).collect();
            let keys = &self.keys;
            let sort = |input: &mut BoxOp, ctx: &mut Ctx<'_>| sorted(input, keys, &asc, limit, ctx);
            let ((rows, held), theirs) = match &self.split {
                Some(split) => split.run(&mut self.input, ctx, sort)?,
                None => (sort(&mut self.input, ctx)?, None),
            };
            let (rows, held) = match theirs {
                Some((later, their_held)) => {
                    (merge_sorted(rows, later, &asc, limit), Reservation::join(held, their_held))
                }
                None => (rows, held),
            };
            self.held = held;
            self.output = Some(rows.into_iter().map(|r| r.1).collect());
        }
        Ok(self.output.as_mut().and_then(|o| o.pop_front()))
    }
    fn reset(&mut self, arg: &Row) {
        self.output = None;
        self.held = None;
        self.input.reset(arg);
    }
}

/// The rows of `input` with their keys, sorted (stable); the first `limit` only.
fn sorted(
    input: &mut BoxOp,
    keys: &[(CExpr, bool)],
    asc: &[bool],
    limit: Option<usize>,
    ctx: &mut Ctx<'_>,
) -> Result<(Keyed, Option<Reservation>)> {
    let mut held: Option<Reservation> = None;
    let mut rows: Keyed = Vec::new();
    let mut key: Vec<V> = Vec::with_capacity(keys.len());
    while let Some(row) = input.next(ctx)? {
        key.clear();
        // Top-k with a full buffer: keys are evaluated one at a time, and a
        // row stops as soon as it cannot beat the last kept row (a second
        // key is read only on a tie of the first).
        let mut against = match limit {
            Some(k) if rows.len() == k => rows.last().map(|last: &(Vec<V>, Row)| last.0.as_slice()),
            _ => None,
        };
        let mut beaten = false;
        for (i, (e, up)) in keys.iter().enumerate() {
            let v = e.eval(&row, ctx)?;
            if let Some(last) = against {
                let o = v.order(&last[i]);
                match if *up { o } else { o.reverse() } {
                    std::cmp::Ordering::Greater => {
                        beaten = true;
                        break;
                    }
                    std::cmp::Ordering::Less => against = None,
                    std::cmp::Ordering::Equal => {}
                }
            }
            key.push(v);
        }
        // Still tied with the last kept row on every key: ties keep input order.
        if beaten || against.is_some() {
            continue;
        }
        match limit {
            // Top-k: a sorted buffer of at most k rows.
            Some(k) => {
                if k == 0 {
                    continue;
                }
                let at = rows.partition_point(|r| compare_keys(&r.0, &key, asc).is_le());
                rows.insert(at, (key.clone(), row));
                rows.truncate(k);
            }
            None => {
                let held = held.get_or_insert_with(|| ctx.reservation());
                held.grow(row_bytes(&row) + row_bytes(&key))?;
                rows.push((key.clone(), row));
            }
        }
    }
    if limit.is_none() {
        rows.sort_by(|a, b| compare_keys(&a.0, &b.0, asc));
    }
    Ok((rows, held))
}

/// Two sorted lists as one, `first` winning ties (its rows came first), cut to
/// `limit`: what sorting both in one list gives.
fn merge_sorted(first: Keyed, later: Keyed, asc: &[bool], limit: Option<usize>) -> Keyed {
    let total = first.len() + later.len();
    let mut out = Vec::with_capacity(limit.map_or(total, |k| k.min(total)));
    let (mut a, mut b) = (first.into_iter().peekable(), later.into_iter().peekable());
    while limit.is_none_or(|k| out.len() < k) {
        let take_first = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => compare_keys(&x.0, &y.0, asc).is_le(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.extend(if take_first { a.next() } else { b.next() });
    }
    out
}

pub(super) struct SkipLimit {
    pub(super) input: BoxOp,
    pub(super) count: CExpr,
    pub(super) skip: bool,
    pub(super) n: Option<usize>,
    /// `LIMIT 0` over writes still pulls once, so that the Eager below runs them all.
    pub(super) writes_below: bool,
}

impl Operator for SkipLimit {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.n.is_none() {
            let n = count_value(&self.count, if self.skip { "SKIP" } else { "LIMIT" }, ctx)?;
            self.n = Some(n);
            if n == 0 && !self.skip {
                // Writes below (behind an Eager) must still happen; reads must not run
                // at all (`RETURN 1/x LIMIT 0` raises nothing).
                if self.writes_below {
                    self.input.next(ctx)?;
                }
                return Ok(None);
            }
        }
        let n = self.n.get_or_insert(0);
        if self.skip {
            while *n > 0 {
                if self.input.next(ctx)?.is_none() {
                    return Ok(None);
                }
                *n -= 1;
            }
            self.input.next(ctx)
        } else {
            if *n == 0 {
                return Ok(None);
            }
            *n -= 1;
            self.input.next(ctx)
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.n = None;
        self.input.reset(arg);
    }
}

pub(super) struct Truncate {
    pub(super) input: BoxOp,
    pub(super) width: usize,
}

impl Operator for Truncate {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        Ok(self.input.next(ctx)?.map(|mut r| {
            r.truncate(self.width);
            r
        }))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

pub(super) struct Union {
    pub(super) inputs: Vec<BoxOp>,
    pub(super) at: usize,
    pub(super) seen: Option<HashSet<RowKey>>,
}

impl Operator for Union {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        while self.at < self.inputs.len() {
            match self.inputs[self.at].next(ctx)? {
                Some(row) => {
                    if let Some(seen) = &mut self.seen {
                        if !seen.insert(RowKey(row.iter().cloned().map(GroupKey).collect())) {
                            continue;
                        }
                    }
                    return Ok(Some(row));
                }
                None => self.at += 1,
            }
        }
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.at = 0;
        if let Some(s) = &mut self.seen {
            s.clear();
        }
        for i in &mut self.inputs {
            i.reset(arg);
        }
    }
}
