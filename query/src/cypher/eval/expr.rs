//! Evaluating compiled expressions (`plan::expr::CExpr`) against a row, with
//! openCypher's null and type rules.

use std::collections::BTreeMap;

use crate::cypher::eval::functions::call_function;
use crate::cypher::exec::context::{Ctx, Row};
use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::LogicalOp;
use crate::cypher::syntax::ast::{BinaryOp, CompareOp, Quantifier};
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};
use sprig_index::graph::Temporal;

fn truth(v: &V) -> Result<Option<bool>> {
    match v {
        V::Bool(b) => Ok(Some(*b)),
        V::Null => Ok(None),
        other => Err(Error::type_error(format!("expected a Boolean, got {}", other.type_name()))),
    }
}

fn from_truth(t: Option<bool>) -> V {
    t.map_or(V::Null, V::Bool)
}

impl CExpr {
    /// Evaluates the expression for `row`. The common leaves are handled here; the
    /// rest in a separate function, which keeps this one's stack frame small.
    #[inline]
    pub fn eval(&self, row: &Row, ctx: &mut Ctx<'_>) -> Result<V> {
        match self {
            CExpr::Const(v) => Ok(v.clone()),
            CExpr::Slot(s) => Ok(row.get(*s).cloned().unwrap_or(V::Null)),
            CExpr::SlotProperty(slot, key) => match row.get(*slot) {
                Some(base) => property(base, key, ctx),
                None => Ok(V::Null),
            },
            _ => self.eval_complex(row, ctx),
        }
    }

    #[inline(never)]
    fn eval_complex(&self, row: &Row, ctx: &mut Ctx<'_>) -> Result<V> {
        Ok(match self {
            CExpr::Const(v) => v.clone(),
            CExpr::Slot(s) => row.get(*s).cloned().unwrap_or(V::Null),
            CExpr::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(i.eval(row, ctx)?);
                }
                V::list(out)
            }
            CExpr::Map(entries) => {
                let mut out = BTreeMap::new();
                for (k, e) in entries {
                    out.insert(k.clone(), e.eval(row, ctx)?);
                }
                V::map(out)
            }
            CExpr::Property(e, key) => {
                let base = e.eval(row, ctx)?;
                property(&base, key, ctx)?
            }
            CExpr::SlotProperty(slot, key) => match row.get(*slot) {
                Some(base) => property(base, key, ctx)?,
                None => V::Null,
            },
            CExpr::SlotPropertyCompare { slot, key, op, value } => {
                let raw_cmp = |raw: Option<sprig_index::graph::RawValue<'_>>| match raw {
                    None => None,
                    Some(r) => compare_raw(&r, *op, value),
                };
                let result = match row.get(*slot) {
                    Some(V::Node(id)) => ctx.graph.with_node_property(*id, key, raw_cmp)?,
                    Some(V::Rel(id)) => ctx.graph.with_rel_property(*id, key, raw_cmp)?,
                    Some(base) => {
                        let v = property(base, key, ctx)?;
                        return Ok(from_truth(compare(*op, &v, value)));
                    }
                    None => Some(None),
                };
                match result {
                    Some(t) => from_truth(t),
                    None => return Err(Error::EntityNotFound(format!("the entity read for '{key}' was deleted"))),
                }
            }
            CExpr::Index(e, i) => {
                let base = e.eval(row, ctx)?;
                let idx = i.eval(row, ctx)?;
                index(&base, &idx, ctx)?
            }
            CExpr::Slice(e, from, to) => {
                let base = e.eval(row, ctx)?;
                let from = match from {
                    Some(f) => Some(f.eval(row, ctx)?),
                    None => None,
                };
                let to = match to {
                    Some(t) => Some(t.eval(row, ctx)?),
                    None => None,
                };
                slice(&base, from, to)?
            }
            CExpr::Not(e) => from_truth(truth(&e.eval(row, ctx)?)?.map(|b| !b)),
            CExpr::Neg(e) => match e.eval(row, ctx)? {
                V::Int(i) => V::Int(i.checked_neg().ok_or_else(|| Error::overflow("integer overflow"))?),
                V::Float(f) => V::Float(-f),
                V::Null => V::Null,
                V::Temporal(t) if matches!(*t, Temporal::Duration(_)) => match &*t {
                    Temporal::Duration(d) => {
                        V::Temporal(std::sync::Arc::new(Temporal::Duration(crate::cypher::temporal::negate(d))))
                    }
                    other => return Err(Error::type_error(format!("cannot negate a {}", other.type_name()))),
                },
                other => return Err(Error::type_error(format!("cannot negate a {}", other.type_name()))),
            },
            CExpr::Binary(BinaryOp::And, a, b) => {
                let x = truth(&a.eval(row, ctx)?)?;
                if x == Some(false) {
                    return Ok(V::Bool(false));
                }
                let y = truth(&b.eval(row, ctx)?)?;
                from_truth(match (x, y) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                })
            }
            CExpr::Binary(BinaryOp::Or, a, b) => {
                let x = truth(&a.eval(row, ctx)?)?;
                if x == Some(true) {
                    return Ok(V::Bool(true));
                }
                let y = truth(&b.eval(row, ctx)?)?;
                from_truth(match (x, y) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                })
            }
            CExpr::Binary(BinaryOp::Xor, a, b) => {
                let x = truth(&a.eval(row, ctx)?)?;
                let y = truth(&b.eval(row, ctx)?)?;
                from_truth(match (x, y) {
                    (Some(p), Some(q)) => Some(p != q),
                    _ => None,
                })
            }
            CExpr::Binary(op, a, b) => {
                let x = a.eval(row, ctx)?;
                let y = b.eval(row, ctx)?;
                binary(*op, &x, &y, ctx)?
            }
            CExpr::Compare(first, rest) => {
                let mut left = first.eval(row, ctx)?;
                let mut result = Some(true);
                for (op, e) in rest {
                    let right = e.eval(row, ctx)?;
                    match compare(*op, &left, &right) {
                        Some(false) => return Ok(V::Bool(false)),
                        None => result = None,
                        Some(true) => {}
                    }
                    left = right;
                }
                from_truth(result)
            }
            CExpr::IsNull(e, negated) => V::Bool(e.eval(row, ctx)?.is_null() != *negated),
            CExpr::HasLabels(e, labels) => match e.eval(row, ctx)? {
                V::Null => V::Null,
                V::Node(id) => {
                    let rec = ctx.node(id)?;
                    V::Bool(labels.iter().all(|l| rec.has_label(l)))
                }
                // `r:T` on a relationship tests its type.
                V::Rel(id) => {
                    let rec = ctx.rel(id)?;
                    V::Bool(labels.iter().all(|l| *l == rec.rel_type))
                }
                other => return Err(Error::type_error(format!("cannot test labels of a {}", other.type_name()))),
            },
            CExpr::Call(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                call_function(*f, vals, ctx)?
            }
            CExpr::Case { subject, whens, otherwise } => {
                let subject = match subject {
                    Some(s) => Some(s.eval(row, ctx)?),
                    None => None,
                };
                for (w, t) in whens {
                    let wv = w.eval(row, ctx)?;
                    let hit = match &subject {
                        Some(s) => s.equals(&wv) == Some(true),
                        None => matches!(wv, V::Bool(true)),
                    };
                    if hit {
                        return t.eval(row, ctx);
                    }
                }
                match otherwise {
                    Some(o) => o.eval(row, ctx)?,
                    None => V::Null,
                }
            }
            CExpr::ListComprehension { slot, list, predicate, map } => {
                let items = match list.eval(row, ctx)? {
                    V::Null => return Ok(V::Null),
                    V::List(items) => items,
                    other => return Err(Error::type_error(format!("expected a List, got {}", other.type_name()))),
                };
                let mut scratch = row.clone();
                scratch.resize(*slot + 1, V::Null);
                let mut out = Vec::new();
                let mut mapped_bytes = 0usize;
                for item in items.iter() {
                    ctx.tick()?;
                    scratch[*slot] = item.clone();
                    if let Some(p) = predicate {
                        if truth(&p.eval(&scratch, ctx)?)? != Some(true) {
                            continue;
                        }
                    }
                    out.push(match map {
                        Some(m) => {
                            let v = m.eval(&scratch, ctx)?;
                            // A mapped list may be far larger than its input.
                            mapped_bytes += crate::cypher::exec::memory::value_bytes(&v);
                            ctx.memory.check(mapped_bytes)?;
                            v
                        }
                        None => item.clone(),
                    });
                }
                V::list(out)
            }
            CExpr::Quantified { quantifier, slot, list, predicate } => {
                let items = match list.eval(row, ctx)? {
                    V::Null => return Ok(V::Null),
                    V::List(items) => items,
                    other => return Err(Error::type_error(format!("expected a List, got {}", other.type_name()))),
                };
                let mut scratch = row.clone();
                scratch.resize(*slot + 1, V::Null);
                let (mut trues, mut nulls) = (0usize, 0usize);
                for item in items.iter() {
                    ctx.tick()?;
                    scratch[*slot] = item.clone();
                    match truth(&predicate.eval(&scratch, ctx)?)? {
                        Some(true) => trues += 1,
                        None => nulls += 1,
                        Some(false) => {}
                    }
                }
                let falses = items.len() - trues - nulls;
                from_truth(match quantifier {
                    Quantifier::All => {
                        if falses > 0 {
                            Some(false)
                        } else if nulls > 0 {
                            None
                        } else {
                            Some(true)
                        }
                    }
                    Quantifier::Any => {
                        if trues > 0 {
                            Some(true)
                        } else if nulls > 0 {
                            None
                        } else {
                            Some(false)
                        }
                    }
                    Quantifier::None => {
                        if trues > 0 {
                            Some(false)
                        } else if nulls > 0 {
                            None
                        } else {
                            Some(true)
                        }
                    }
                    Quantifier::Single => {
                        if trues > 1 {
                            Some(false)
                        } else if nulls > 0 {
                            None
                        } else {
                            Some(trues == 1)
                        }
                    }
                })
            }
            CExpr::Reduce { acc_slot, init, slot, list, expr } => {
                let mut acc = init.eval(row, ctx)?;
                let items = match list.eval(row, ctx)? {
                    V::Null => return Ok(V::Null),
                    V::List(items) => items,
                    other => return Err(Error::type_error(format!("expected a List, got {}", other.type_name()))),
                };
                let mut scratch = row.clone();
                scratch.resize((*acc_slot).max(*slot) + 1, V::Null);
                for item in items.iter() {
                    ctx.tick()?;
                    scratch[*acc_slot] = acc;
                    scratch[*slot] = item.clone();
                    acc = expr.eval(&scratch, ctx)?;
                }
                acc
            }
            CExpr::Exists(plan) => V::Bool(subplan_has_row(plan, row, ctx)?),
            CExpr::Collect(plan, map) => V::list(subplan_collect(plan, row, map, ctx)?),
        })
    }
}

/// `base.key` for nodes, relationships and maps.
pub fn property(base: &V, key: &str, ctx: &mut Ctx<'_>) -> Result<V> {
    Ok(match base {
        V::Null => V::Null,
        V::Node(id) => ctx
            .graph
            .property_value(false, *id, key)?
            .ok_or_else(|| Error::EntityNotFound(format!("node {id} was deleted")))?
            .map_or(V::Null, |p| V::from_property(&p)),
        V::Rel(id) => ctx
            .graph
            .property_value(true, *id, key)?
            .ok_or_else(|| Error::EntityNotFound(format!("relationship {id} was deleted")))?
            .map_or(V::Null, |p| V::from_property(&p)),
        V::Map(m) => m.get(key).cloned().unwrap_or(V::Null),
        V::Temporal(t) => crate::cypher::temporal::component(t, key)?,
        other => {
            return Err(Error::type_error_as(
                "PropertyAccessOnNonMap",
                format!("cannot read property '{key}' of a {}", other.type_name()),
            ))
        }
    })
}

fn index(base: &V, idx: &V, ctx: &mut Ctx<'_>) -> Result<V> {
    Ok(match (base, idx) {
        (V::Null, _) | (_, V::Null) => V::Null,
        (V::List(items), V::Int(i)) => {
            let len = items.len() as i64;
            let i = if *i < 0 { len + i } else { *i };
            if i < 0 || i >= len {
                V::Null
            } else {
                items[i as usize].clone()
            }
        }
        (V::Map(_) | V::Node(_) | V::Rel(_), V::String(k)) => property(base, k, ctx)?,
        (V::List(_), other) => {
            return Err(Error::type_error_as(
                "ListElementAccessByNonInteger",
                format!("a list index must be an Integer, not {}", other.type_name()),
            ))
        }
        (V::Map(_) | V::Node(_) | V::Rel(_), other) => {
            return Err(Error::type_error_as(
                "MapElementAccessByNonString",
                format!("a map key must be a String, not {}", other.type_name()),
            ))
        }
        (other, _) => return Err(Error::type_error(format!("cannot index a {}", other.type_name()))),
    })
}

fn slice(base: &V, from: Option<V>, to: Option<V>) -> Result<V> {
    let items = match base {
        V::Null => return Ok(V::Null),
        V::List(items) => items,
        other => return Err(Error::type_error(format!("cannot slice a {}", other.type_name()))),
    };
    let len = items.len() as i64;
    let bound = |v: Option<V>, default: i64| -> Result<Option<i64>> {
        match v {
            None => Ok(Some(default)),
            Some(V::Null) => Ok(None),
            Some(V::Int(i)) => Ok(Some(if i < 0 { (len + i).max(0) } else { i.min(len) })),
            Some(other) => {
                Err(Error::type_error(format!("a slice bound must be an Integer, not {}", other.type_name())))
            }
        }
    };
    let (Some(a), Some(b)) = (bound(from, 0)?, bound(to, len)?) else { return Ok(V::Null) };
    if a >= b {
        return Ok(V::list(Vec::new()));
    }
    Ok(V::list(items[a as usize..b as usize].to_vec()))
}

/// A comparison of a stored property with a value, without building a value for
/// scalars.
pub(crate) fn compare_raw(raw: &sprig_index::graph::RawValue<'_>, op: CompareOp, value: &V) -> Option<bool> {
    use sprig_index::graph::RawValue as R;
    let ordering = match (raw, value) {
        (_, V::Null) => return None,
        (R::Int(a), V::Int(b)) => a.cmp(b),
        (R::Int(a), V::Float(b)) => return compare(op, &V::Int(*a), &V::Float(*b)),
        (R::Float(a), V::Int(_) | V::Float(_)) => return compare(op, &V::Float(*a), value),
        (R::Str(a), V::String(b)) => (*a).cmp(&**b),
        (R::Bool(a), V::Bool(b)) => a.cmp(b),
        (r, v) => return compare(op, &crate::cypher::value::from_raw(r.clone()), v),
    };
    use std::cmp::Ordering::*;
    Some(match op {
        CompareOp::Eq => ordering == Equal,
        CompareOp::Ne => ordering != Equal,
        CompareOp::Lt => ordering == Less,
        CompareOp::Le => ordering != Greater,
        CompareOp::Gt => ordering == Greater,
        CompareOp::Ge => ordering != Less,
    })
}

/// Evaluates a comparison; `None` is null.
pub fn compare(op: CompareOp, a: &V, b: &V) -> Option<bool> {
    use std::cmp::Ordering::*;
    match op {
        CompareOp::Eq => a.equals(b),
        CompareOp::Ne => a.equals(b).map(|x| !x),
        _ => {
            if (matches!(a, V::Float(f) if f.is_nan()) || matches!(b, V::Float(f) if f.is_nan()))
                && a.as_f64().is_some()
                && b.as_f64().is_some()
            {
                return Some(false);
            }
            let o = a.compare(b)?;
            Some(match op {
                CompareOp::Lt => o == Less,
                CompareOp::Le => o != Greater,
                CompareOp::Gt => o == Greater,
                CompareOp::Ge => o != Less,
                _ => false,
            })
        }
    }
}

fn arith_err(what: &str) -> Error {
    Error::overflow(format!("integer overflow in {what}"))
}

/// Evaluates a non-boolean binary operator.
pub fn binary(op: BinaryOp, a: &V, b: &V, ctx: &mut Ctx<'_>) -> Result<V> {
    use BinaryOp as B;
    if op == B::In {
        return Ok(match b {
            V::Null => V::Null,
            V::List(items) => {
                let mut unknown = false;
                for i in items.iter() {
                    match a.equals(i) {
                        Some(true) => return Ok(V::Bool(true)),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown {
                    V::Null
                } else {
                    V::Bool(false)
                }
            }
            other => return Err(Error::type_error(format!("IN expects a List, got {}", other.type_name()))),
        });
    }
    if matches!(a, V::Null) || matches!(b, V::Null) {
        return Ok(V::Null);
    }
    Ok(match op {
        B::StartsWith | B::EndsWith | B::Contains => match (a, b) {
            (V::String(x), V::String(y)) => V::Bool(match op {
                B::StartsWith => x.starts_with(&**y),
                B::EndsWith => x.ends_with(&**y),
                _ => x.contains(&**y),
            }),
            _ => V::Null,
        },
        B::Regex => match (a, b) {
            (V::String(x), V::String(pattern)) => V::Bool(ctx.regex(pattern)?.is_match(x)),
            _ => V::Null,
        },
        B::Add => match (a, b) {
            (V::Int(x), V::Int(y)) => V::Int(x.checked_add(*y).ok_or_else(|| arith_err("+"))?),
            (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => {
                V::Float(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0))
            }
            (V::String(x), V::String(y)) => V::string(format!("{x}{y}")),
            (V::String(x), V::Int(_) | V::Float(_)) => {
                V::string(format!("{x}{}", crate::cypher::eval::functions::to_string(b)))
            }
            (V::Int(_) | V::Float(_), V::String(y)) => {
                V::string(format!("{}{y}", crate::cypher::eval::functions::to_string(a)))
            }
            (V::Temporal(x), V::Temporal(y)) => temporal_sum(x, y, false)?,
            (V::List(x), V::List(y)) => V::list(x.iter().chain(y.iter()).cloned().collect()),
            (V::List(x), other) => V::list(x.iter().cloned().chain(std::iter::once(other.clone())).collect()),
            (other, V::List(y)) => V::list(std::iter::once(other.clone()).chain(y.iter().cloned()).collect()),
            _ => return Err(type_error("+", a, b)),
        },
        B::Sub | B::Mul | B::Div | B::Mod | B::Pow => match (a, b) {
            (V::Int(x), V::Int(y)) if op != B::Pow => V::Int(match op {
                B::Sub => x.checked_sub(*y).ok_or_else(|| arith_err("-"))?,
                B::Mul => x.checked_mul(*y).ok_or_else(|| arith_err("*"))?,
                B::Div => {
                    if *y == 0 {
                        return Err(Error::division_by_zero());
                    }
                    x.wrapping_div(*y)
                }
                _ => {
                    if *y == 0 {
                        return Err(Error::division_by_zero());
                    }
                    x.wrapping_rem(*y)
                }
            }),
            (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => {
                let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                V::Float(match op {
                    B::Sub => x - y,
                    B::Mul => x * y,
                    B::Div => x / y,
                    B::Mod => x % y,
                    _ => x.powf(y),
                })
            }
            (V::Temporal(x), V::Temporal(y)) if op == B::Sub => temporal_sum(x, y, true)?,
            (V::Temporal(x), n @ (V::Int(_) | V::Float(_))) if matches!(op, B::Mul | B::Div) => {
                let Temporal::Duration(d) = &**x else { return Err(type_error(op_symbol(op), a, b)) };
                let d = if op == B::Mul {
                    crate::cypher::temporal::multiply_duration(d, n)?
                } else {
                    crate::cypher::temporal::divide_duration(d, n)?
                };
                V::Temporal(std::sync::Arc::new(Temporal::Duration(d)))
            }
            (n @ (V::Int(_) | V::Float(_)), V::Temporal(x)) if op == B::Mul => match &**x {
                Temporal::Duration(d) => V::Temporal(std::sync::Arc::new(Temporal::Duration(
                    crate::cypher::temporal::multiply_duration(d, n)?,
                ))),
                _ => return Err(type_error(op_symbol(op), a, b)),
            },
            _ => return Err(type_error(op_symbol(op), a, b)),
        },
        _ => V::Null,
    })
}

/// `x + y` or `x - y` where both are temporal: a value plus or minus a duration
/// (either side of `+`), or the sum or difference of two durations.
fn temporal_sum(x: &Temporal, y: &Temporal, subtract: bool) -> Result<V> {
    use crate::cypher::temporal::add_duration;
    let symbol = if subtract { "-" } else { "+" };
    let t = match (x, y) {
        (_, Temporal::Duration(d)) => add_duration(x, d, subtract)?,
        (Temporal::Duration(d), _) if !subtract => add_duration(y, d, false)?,
        _ => return Err(Error::type_error(format!("cannot compute {} {symbol} {}", x.type_name(), y.type_name()))),
    };
    Ok(V::Temporal(std::sync::Arc::new(t)))
}

fn op_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Mod => "%",
        BinaryOp::Pow => "^",
        _ => "?",
    }
}

fn type_error(op: &str, a: &V, b: &V) -> Error {
    Error::type_error(format!("cannot apply {op} to {} and {}", a.type_name(), b.type_name()))
}

/// True when a predicate value counts as passing (only `true` does).
pub fn passes(v: &V) -> Result<bool> {
    Ok(truth(v)? == Some(true))
}

/// True when `plan` (rooted at `Argument`) yields a row for `row`.
fn subplan_has_row(plan: &LogicalOp, row: &Row, ctx: &mut Ctx<'_>) -> Result<bool> {
    let mut op = (ctx.build_operators)(plan);
    op.reset(row);
    Ok(op.next(ctx)?.is_some())
}

/// `map` evaluated on every row `plan` yields for `row`.
fn subplan_collect(plan: &LogicalOp, row: &Row, map: &CExpr, ctx: &mut Ctx<'_>) -> Result<Vec<V>> {
    let mut op = (ctx.build_operators)(plan);
    op.reset(row);
    let mut out = Vec::new();
    while let Some(r) = op.next(ctx)? {
        out.push(map.eval(&r, ctx)?);
    }
    Ok(out)
}
