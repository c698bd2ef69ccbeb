//! Accumulators of the aggregate functions (`plan::aggregate::AggFunc`).

use rustc_hash::FxHashSet as HashSet;

use crate::cypher::plan::aggregate::{AggFunc, AggSpec};
use crate::cypher::value::{CypherValue as V, GroupKey};
use crate::{Error, Result};

/// The running state of one aggregate in one group. Kept small (40 bytes): an
/// aggregation over many groups holds one per group and aggregate.
#[derive(Debug, Clone)]
pub struct Accumulator {
    state: State,
    /// The values seen so far, for `DISTINCT` (boxed: most aggregates have none,
    /// and the box keeps the accumulator small).
    #[allow(clippy::box_collection)]
    seen: Option<Box<HashSet<GroupKey>>>,
}

#[derive(Debug, Clone)]
enum State {
    Count(i64),
    /// Sum and average: the integer sum while it fits and no float came, the float
    /// sum, and the count of values.
    Sum {
        int: Option<i64>,
        float: f64,
        saw_float: bool,
        count: i64,
        avg: bool,
    },
    Best {
        best: Option<V>,
        min: bool,
    },
    Collect(Vec<V>),
    /// Standard deviations and percentiles keep every number.
    Numbers(Box<Numbers>),
}

#[derive(Debug, Clone)]
struct Numbers {
    func: AggFunc,
    numbers: Vec<f64>,
    values: Vec<V>,
    percentile: Option<f64>,
}

impl Accumulator {
    pub fn new(spec: &AggSpec) -> Self {
        let state = match spec.func {
            AggFunc::CountStar | AggFunc::Count => State::Count(0),
            AggFunc::Sum | AggFunc::Avg => {
                State::Sum { int: Some(0), float: 0.0, saw_float: false, count: 0, avg: spec.func == AggFunc::Avg }
            }
            AggFunc::Min | AggFunc::Max => State::Best { best: None, min: spec.func == AggFunc::Min },
            AggFunc::Collect => State::Collect(Vec::new()),
            func @ (AggFunc::StDev | AggFunc::StDevP | AggFunc::PercentileCont | AggFunc::PercentileDisc) => {
                State::Numbers(Box::new(Numbers { func, numbers: Vec::new(), values: Vec::new(), percentile: None }))
            }
        };
        Accumulator { state, seen: spec.distinct.then(Box::default) }
    }

    /// Adds one row's argument values (none for `count(*)`).
    pub fn add(&mut self, args: &[V]) -> Result<()> {
        let Some(v) = args.first() else {
            // count(*): the only aggregate without arguments.
            if let State::Count(n) = &mut self.state {
                *n += 1;
            }
            return Ok(());
        };
        if v.is_null() {
            return Ok(());
        }
        let percentile = match args.get(1) {
            Some(p) => {
                let p = match p {
                    V::Int(i) => *i as f64,
                    V::Float(f) => *f,
                    other => {
                        return Err(Error::type_error(format!(
                            "a percentile must be a number, not {}",
                            other.type_name()
                        )))
                    }
                };
                if !(0.0..=1.0).contains(&p) {
                    return Err(Error::argument("NumberOutOfRange", format!("percentile {p} is outside [0, 1]")));
                }
                Some(p)
            }
            None => None,
        };
        if let Some(seen) = &mut self.seen {
            if !seen.insert(GroupKey(v.clone())) {
                return Ok(());
            }
        }
        match &mut self.state {
            State::Count(n) => *n += 1,
            State::Sum { int, float, saw_float, count, .. } => {
                *count += 1;
                match v {
                    V::Int(i) => {
                        *int = int.and_then(|s| s.checked_add(*i));
                        *float += *i as f64;
                    }
                    V::Float(f) => {
                        *saw_float = true;
                        *float += f;
                    }
                    other => return Err(Error::type_error(format!("cannot sum a {}", other.type_name()))),
                }
            }
            State::Best { best, min } => {
                let replace = match best {
                    None => true,
                    Some(b) => {
                        let o = v.order(b);
                        if *min {
                            o.is_lt()
                        } else {
                            o.is_gt()
                        }
                    }
                };
                if replace {
                    *best = Some(v.clone());
                }
            }
            State::Collect(values) => values.push(v.clone()),
            State::Numbers(n) => match v.as_f64() {
                Some(x) => {
                    if percentile.is_some() {
                        n.percentile = percentile;
                    }
                    n.numbers.push(x);
                    n.values.push(v.clone());
                }
                None => return Err(Error::type_error(format!("expected a number, got {}", v.type_name()))),
            },
        }
        Ok(())
    }

    /// `add(&[V::Int(i)])` without building a value, for column scans.
    pub fn add_int(&mut self, i: i64) -> Result<()> {
        if self.seen.is_some() {
            return self.add(&[V::Int(i)]);
        }
        match &mut self.state {
            State::Count(n) => *n += 1,
            State::Sum { int, float, count, .. } => {
                *count += 1;
                *int = int.and_then(|s| s.checked_add(i));
                *float += i as f64;
            }
            State::Best { best: Some(V::Int(b)), min } => {
                if (*min && i < *b) || (!*min && i > *b) {
                    *b = i;
                }
            }
            _ => return self.add(&[V::Int(i)]),
        }
        Ok(())
    }

    /// `add_int` for each of `values`, in order, in one tight loop per state.
    pub fn add_ints(&mut self, values: &[i64]) -> Result<()> {
        if self.seen.is_some() {
            return values.iter().try_for_each(|i| self.add(&[V::Int(*i)]));
        }
        match &mut self.state {
            State::Count(n) => *n += values.len() as i64,
            State::Sum { int, float, count, .. } => {
                *count += values.len() as i64;
                for &i in values {
                    *int = int.and_then(|s| s.checked_add(i));
                    *float += i as f64;
                }
            }
            State::Best { best, min } => {
                let extreme = if *min { values.iter().min() } else { values.iter().max() };
                let Some(&x) = extreme else { return Ok(()) };
                match best {
                    None => *best = Some(V::Int(x)),
                    Some(V::Int(b)) => {
                        if (*min && x < *b) || (!*min && x > *b) {
                            *b = x;
                        }
                    }
                    Some(_) => return self.add(&[V::Int(x)]),
                }
            }
            _ => return values.iter().try_for_each(|i| self.add(&[V::Int(*i)])),
        }
        Ok(())
    }

    /// Whether two accumulators of `spec` over different rows can be combined into
    /// the one all the rows would give (counts, sums, averages, min and max).
    pub fn mergeable(spec: &AggSpec) -> bool {
        if spec.distinct {
            // A distinct count adds the values the later one saw that this one did
            // not; the order does not matter to a count.
            return spec.func == AggFunc::Count;
        }
        matches!(
            spec.func,
            AggFunc::CountStar | AggFunc::Count | AggFunc::Sum | AggFunc::Avg | AggFunc::Min | AggFunc::Max
        )
    }

    /// Adds what `later` saw (the same aggregate over rows that come after this
    /// one's; see [`Accumulator::mergeable`]).
    pub fn merge(&mut self, later: Accumulator) -> Result<()> {
        if let Some(seen) = later.seen {
            if self.seen.is_none() || !matches!(self.state, State::Count(_)) {
                return Err(Error::Static("aggregates that cannot be merged".into()));
            }
            for value in seen.into_iter() {
                self.add(&[value.0])?;
            }
            return Ok(());
        }
        match (&mut self.state, later.state) {
            (State::Count(n), State::Count(m)) => *n += m,
            (
                State::Sum { int, float, saw_float, count, .. },
                State::Sum { int: int2, float: float2, saw_float: saw2, count: count2, .. },
            ) => {
                *int = int.zip(int2).and_then(|(a, b)| a.checked_add(b));
                *float += float2;
                *saw_float |= saw2;
                *count += count2;
            }
            (State::Best { .. }, State::Best { best: Some(v), .. }) => self.add(&[v])?,
            (State::Best { .. }, State::Best { best: None, .. }) => {}
            _ => return Err(Error::Static("aggregates that cannot be merged".into())),
        }
        Ok(())
    }

    /// `n` more rows for `count(*)`.
    pub fn add_rows(&mut self, n: i64) {
        if let State::Count(c) = &mut self.state {
            *c += n;
        }
    }

    /// The aggregate's value.
    pub fn finish(self) -> Result<V> {
        Ok(match self.state {
            State::Count(n) => V::Int(n),
            State::Sum { avg: true, float, count, .. } => {
                if count == 0 {
                    V::Null
                } else {
                    V::Float(float / count as f64)
                }
            }
            State::Sum { int, float, saw_float, .. } => {
                if saw_float {
                    V::Float(float)
                } else {
                    V::Int(int.ok_or_else(|| Error::overflow("integer overflow in sum()"))?)
                }
            }
            State::Best { best, .. } => best.unwrap_or(V::Null),
            State::Collect(values) => V::list(values),
            State::Numbers(n) => n.finish(),
        })
    }
}

impl Numbers {
    fn finish(self) -> V {
        if matches!(self.func, AggFunc::StDev | AggFunc::StDevP) {
            let n = self.numbers.len() as f64;
            let denom = if self.func == AggFunc::StDev { n - 1.0 } else { n };
            if self.numbers.is_empty() || denom <= 0.0 {
                return V::Float(0.0);
            }
            let mean = self.numbers.iter().sum::<f64>() / n;
            let var = self.numbers.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / denom;
            return V::Float(var.sqrt());
        }
        if self.numbers.is_empty() {
            return V::Null;
        }
        let p = self.percentile.unwrap_or(0.5);
        let mut pairs: Vec<(f64, V)> = self.numbers.into_iter().zip(self.values).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let n = pairs.len();
        if self.func == AggFunc::PercentileDisc {
            let idx = if p == 0.0 { 0 } else { ((p * n as f64).ceil() as usize).saturating_sub(1) };
            pairs[idx.min(n - 1)].1.clone()
        } else {
            let pos = p * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = pos.ceil() as usize;
            let frac = pos - lo as f64;
            V::Float(pairs[lo].0 + (pairs[hi].0 - pairs[lo].0) * frac)
        }
    }
}
