//! Aggregate functions and their accumulators.

use std::collections::HashSet;

use super::expr::CExpr;
use super::value::{CypherValue as V, GroupKey};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Collect,
    StDev,
    StDevP,
    PercentileCont,
    PercentileDisc,
}

impl AggFunc {
    pub fn lookup(name: &str) -> Option<AggFunc> {
        Some(match name.to_ascii_lowercase().as_str() {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "avg" => AggFunc::Avg,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "collect" => AggFunc::Collect,
            "stdev" => AggFunc::StDev,
            "stdevp" => AggFunc::StDevP,
            "percentilecont" => AggFunc::PercentileCont,
            "percentiledisc" => AggFunc::PercentileDisc,
            _ => return None,
        })
    }

    pub fn arity(self) -> usize {
        match self {
            AggFunc::CountStar => 0,
            AggFunc::PercentileCont | AggFunc::PercentileDisc => 2,
            _ => 1,
        }
    }
}

/// One aggregate of an Aggregation operator.
#[derive(Debug, Clone)]
pub struct AggSpec {
    pub func: AggFunc,
    pub distinct: bool,
    pub args: Vec<CExpr>,
}

/// The running state of one aggregate in one group.
#[derive(Debug, Clone)]
pub struct Accumulator {
    func: AggFunc,
    seen: Option<HashSet<GroupKey>>,
    count: i64,
    int_sum: Option<i64>,
    float_sum: f64,
    saw_float: bool,
    best: Option<V>,
    values: Vec<V>,
    numbers: Vec<f64>,
    percentile: Option<f64>,
}

impl Accumulator {
    pub fn new(spec: &AggSpec) -> Self {
        Accumulator {
            func: spec.func,
            seen: spec.distinct.then(HashSet::new),
            count: 0,
            int_sum: Some(0),
            float_sum: 0.0,
            saw_float: false,
            best: None,
            values: Vec::new(),
            numbers: Vec::new(),
            percentile: None,
        }
    }

    /// Adds one row's argument values.
    pub fn add(&mut self, args: &[V]) -> Result<()> {
        if self.func == AggFunc::CountStar {
            self.count += 1;
            return Ok(());
        }
        let Some(v) = args.first() else { return Ok(()) };
        if v.is_null() {
            return Ok(());
        }
        if let Some(p) = args.get(1) {
            let p = match p {
                V::Int(i) => *i as f64,
                V::Float(f) => *f,
                other => return Err(Error::Type(format!("a percentile must be a number, not {}", other.type_name()))),
            };
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::Argument(format!("percentile {p} is outside [0, 1]")));
            }
            self.percentile = Some(p);
        }
        if let Some(seen) = &mut self.seen {
            if !seen.insert(GroupKey(v.clone())) {
                return Ok(());
            }
        }
        let v = v.clone();
        self.count += 1;
        match self.func {
            AggFunc::Sum | AggFunc::Avg => match &v {
                V::Int(i) => {
                    self.int_sum = self.int_sum.and_then(|s| s.checked_add(*i));
                    self.float_sum += *i as f64;
                }
                V::Float(f) => {
                    self.saw_float = true;
                    self.float_sum += f;
                }
                other => return Err(Error::Type(format!("cannot sum a {}", other.type_name()))),
            },
            AggFunc::Min | AggFunc::Max => {
                let replace = match &self.best {
                    None => true,
                    Some(b) => {
                        let o = v.order(b);
                        if self.func == AggFunc::Min {
                            o.is_lt()
                        } else {
                            o.is_gt()
                        }
                    }
                };
                if replace {
                    self.best = Some(v);
                }
            }
            AggFunc::Collect => self.values.push(v),
            AggFunc::StDev | AggFunc::StDevP | AggFunc::PercentileCont | AggFunc::PercentileDisc => match v.as_f64() {
                Some(x) => {
                    self.numbers.push(x);
                    self.values.push(v);
                }
                None => return Err(Error::Type(format!("expected a number, got {}", v.type_name()))),
            },
            AggFunc::Count | AggFunc::CountStar => {}
        }
        Ok(())
    }

    /// The aggregate's value.
    pub fn finish(self) -> Result<V> {
        Ok(match self.func {
            AggFunc::Count | AggFunc::CountStar => V::Int(self.count),
            AggFunc::Sum => {
                if self.saw_float {
                    V::Float(self.float_sum)
                } else {
                    V::Int(self.int_sum.ok_or_else(|| Error::Arithmetic("integer overflow in sum()".into()))?)
                }
            }
            AggFunc::Avg => {
                if self.count == 0 {
                    V::Null
                } else {
                    V::Float(self.float_sum / self.count as f64)
                }
            }
            AggFunc::Min | AggFunc::Max => self.best.unwrap_or(V::Null),
            AggFunc::Collect => V::list(self.values),
            AggFunc::StDev | AggFunc::StDevP => {
                let n = self.numbers.len() as f64;
                let denom = if self.func == AggFunc::StDev { n - 1.0 } else { n };
                if self.numbers.is_empty() || denom <= 0.0 {
                    V::Float(0.0)
                } else {
                    let mean = self.numbers.iter().sum::<f64>() / n;
                    let var = self.numbers.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / denom;
                    V::Float(var.sqrt())
                }
            }
            AggFunc::PercentileCont | AggFunc::PercentileDisc => {
                if self.numbers.is_empty() {
                    return Ok(V::Null);
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
        })
    }
}
