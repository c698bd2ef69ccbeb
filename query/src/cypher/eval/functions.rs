//! Evaluating scalar functions (`plan::functions::Function`).

use crate::cypher::exec::context::Ctx;
use crate::cypher::plan::functions::Function;
use crate::cypher::value::{CypherValue as V, PathValue};
use crate::{Error, Result};

fn arg_type(f: Function, v: &V) -> Error {
    // The conversions take any value, and refuse some values of them (openCypher's
    // InvalidArgumentValue); other functions refuse the type itself.
    let detail = match f {
        Function::ToInteger | Function::ToFloat | Function::ToString | Function::ToBoolean => "InvalidArgumentValue",
        _ => "InvalidArgumentType",
    };
    Error::type_error_as(detail, format!("{}() cannot take a {}", f.name(), v.type_name()))
}

/// Formats a number or other scalar as `toString` does.
pub fn to_string(v: &V) -> String {
    match v {
        V::Int(i) => i.to_string(),
        V::Float(f) => format_float(*f),
        V::String(s) => s.to_string(),
        V::Bool(b) => b.to_string(),
        V::Temporal(t) => crate::cypher::temporal::to_string(t),
        _ => String::new(),
    }
}

/// A float as Cypher prints it: always with a fraction or exponent.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else if f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        let s = format!("{f}");
        if s.contains(['.', 'e', 'E']) {
            s
        } else {
            format!("{s}.0")
        }
    }
}

fn int_arg(f: Function, v: &V) -> Result<Option<i64>> {
    match v {
        V::Null => Ok(None),
        V::Int(i) => Ok(Some(*i)),
        other => Err(arg_type(f, other)),
    }
}

fn path_of(f: Function, v: &V) -> Result<Option<std::sync::Arc<PathValue>>> {
    match v {
        V::Null => Ok(None),
        V::Path(p) => Ok(Some(p.clone())),
        other => Err(arg_type(f, other)),
    }
}

/// Calls `f` on evaluated arguments.
pub fn call_function(f: Function, args: Vec<V>, ctx: &mut Ctx<'_>) -> Result<V> {
    use Function as F;
    let a0 = args.first().cloned().unwrap_or(V::Null);
    let num = |v: &V| -> Result<Option<f64>> {
        match v {
            V::Null => Ok(None),
            V::Int(i) => Ok(Some(*i as f64)),
            V::Float(x) => Ok(Some(*x)),
            other => Err(arg_type(f, other)),
        }
    };
    let float_fn = |g: fn(f64) -> f64| -> Result<V> { Ok(num(&a0)?.map_or(V::Null, |x| V::Float(g(x)))) };
    let string_arg = |v: &V| -> Result<Option<std::sync::Arc<str>>> {
        match v {
            V::Null => Ok(None),
            V::String(s) => Ok(Some(s.clone())),
            other => Err(arg_type(f, other)),
        }
    };
    Ok(match f {
        F::Temporal(t) => return crate::cypher::temporal::call(t, &args, ctx.statement_time),
        F::Id => match a0 {
            V::Node(id) | V::Rel(id) => V::Int(id as i64),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::ElementId => match a0 {
            V::Node(id) => V::string(format!("n{id}")),
            V::Rel(id) => V::string(format!("r{id}")),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Labels => match a0 {
            V::Node(id) => V::list(ctx.node(id)?.labels.iter().map(|l| V::string(l.as_str())).collect()),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Type => match a0 {
            // The type of a relationship deleted by this statement is still known.
            V::Rel(id) => match ctx.graph.deleted_rel(id) {
                Some(rec) => V::string(rec.rel_type.as_str()),
                None => V::string(ctx.rel(id)?.rel_type.as_str()),
            },
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Keys => match a0 {
            V::Node(id) => V::list(ctx.node(id)?.properties.keys().map(|k| V::string(k.as_str())).collect()),
            V::Rel(id) => V::list(ctx.rel(id)?.properties.keys().map(|k| V::string(k.as_str())).collect()),
            V::Map(m) => V::list(m.keys().map(|k| V::string(k.as_str())).collect()),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Properties => match a0 {
            V::Node(id) => {
                V::map(ctx.node(id)?.properties.iter().map(|(k, v)| (k.clone(), V::from_property(v))).collect())
            }
            V::Rel(id) => {
                V::map(ctx.rel(id)?.properties.iter().map(|(k, v)| (k.clone(), V::from_property(v))).collect())
            }
            V::Map(m) => V::Map(m),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Size => match a0 {
            V::List(l) => V::Int(l.len() as i64),
            V::String(s) => V::Int(s.chars().count() as i64),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Length => match a0 {
            V::Path(p) => V::Int(p.rels.len() as i64),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Nodes => path_of(f, &a0)?.map_or(V::Null, |p| V::list(p.nodes.iter().map(|n| V::Node(*n)).collect())),
        F::Relationships => path_of(f, &a0)?.map_or(V::Null, |p| V::list(p.rels.iter().map(|r| V::Rel(*r)).collect())),
        F::StartNode | F::EndNode => match a0 {
            V::Rel(id) => {
                let r = ctx.rel(id)?;
                V::Node(if f == F::StartNode { r.start } else { r.end })
            }
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Coalesce => args.into_iter().find(|v| !v.is_null()).unwrap_or(V::Null),
        F::XPath => match (string_arg(&a0)?, string_arg(args.get(1).unwrap_or(&V::Null))?) {
            (Some(collection), Some(expr)) => crate::cypher::eval::xpath_call::xpath(ctx, collection, expr)?,
            _ => V::Null,
        },
        F::Head | F::Last => match a0 {
            V::List(l) => (if f == F::Head { l.first() } else { l.last() }).cloned().unwrap_or(V::Null),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Tail => match a0 {
            V::List(l) => V::list(l.iter().skip(1).cloned().collect()),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Reverse => match a0 {
            V::List(l) => V::list(l.iter().rev().cloned().collect()),
            V::String(s) => V::string(s.chars().rev().collect::<String>()),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Range => {
            let int_arg = |f: Function, v: &V| -> Result<Option<i64>> {
                match v {
                    V::Null => Ok(None),
                    V::Int(i) => Ok(Some(*i)),
                    other => Err(Error::argument(
                        "InvalidArgumentType",
                        format!("{}() takes integers, not {}", f.name(), other.type_name()),
                    )),
                }
            };
            let start = int_arg(f, &args[0])?;
            let end = int_arg(f, &args[1])?;
            let step = match args.get(2) {
                Some(s) => int_arg(f, s)?,
                None => Some(1),
            };
            let (Some(start), Some(end), Some(step)) = (start, end, step) else { return Ok(V::Null) };
            if step == 0 {
                return Err(Error::argument("NumberOutOfRange", "range() step must not be zero"));
            }
            let count = if (step > 0 && start <= end) || (step < 0 && start >= end) {
                ((i128::from(end) - i128::from(start)) / i128::from(step) + 1) as u128
            } else {
                0
            };
            let bytes = count.saturating_mul(std::mem::size_of::<V>() as u128);
            ctx.memory.check(usize::try_from(bytes).unwrap_or(usize::MAX))?;
            let mut out = Vec::with_capacity(count as usize);
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                ctx.tick()?;
                out.push(V::Int(i));
                match i.checked_add(step) {
                    Some(n) => i = n,
                    None => break,
                }
            }
            V::list(out)
        }
        F::ToInteger => match a0 {
            V::Int(i) => V::Int(i),
            V::Float(x) => {
                if x.is_nan() || x.is_infinite() {
                    V::Null
                } else {
                    V::Int(x.trunc() as i64)
                }
            }
            V::String(s) => match s.trim().parse::<i64>() {
                Ok(i) => V::Int(i),
                Err(_) => match s.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() => V::Int(x.trunc() as i64),
                    _ => V::Null,
                },
            },
            V::Bool(b) => V::Int(i64::from(b)),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::ToFloat => match a0 {
            V::Int(i) => V::Float(i as f64),
            V::Float(x) => V::Float(x),
            V::String(s) => s.trim().parse::<f64>().map_or(V::Null, V::Float),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::ToString => match a0 {
            V::Null => V::Null,
            V::Int(_) | V::Float(_) | V::String(_) | V::Bool(_) | V::Temporal(_) => V::string(to_string(&a0)),
            other => return Err(arg_type(f, &other)),
        },
        F::ToBoolean => match a0 {
            V::Bool(b) => V::Bool(b),
            V::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => V::Bool(true),
                "false" => V::Bool(false),
                _ => V::Null,
            },
            V::Int(i) => V::Bool(i != 0),
            V::Null => V::Null,
            other => return Err(arg_type(f, &other)),
        },
        F::Abs => match a0 {
            V::Int(i) => V::Int(i.checked_abs().ok_or_else(|| Error::overflow("integer overflow in abs()"))?),
            other => num(&other)?.map_or(V::Null, |x| V::Float(x.abs())),
        },
        F::Ceil => float_fn(f64::ceil)?,
        F::Floor => float_fn(f64::floor)?,
        F::Round => match a0 {
            V::Int(i) => V::Float(i as f64),
            // Cypher rounds half up (towards positive infinity).
            other => num(&other)?.map_or(V::Null, |x| V::Float((x + 0.5).floor())),
        },
        F::Sqrt => float_fn(f64::sqrt)?,
        F::Sign => match a0 {
            V::Int(i) => V::Int(i.signum()),
            other => num(&other)?.map_or(V::Null, |x| {
                V::Int(if x > 0.0 {
                    1
                } else if x < 0.0 {
                    -1
                } else {
                    0
                })
            }),
        },
        F::Exp => float_fn(f64::exp)?,
        F::Log => float_fn(f64::ln)?,
        F::Log10 => float_fn(f64::log10)?,
        F::Sin => float_fn(f64::sin)?,
        F::Cos => float_fn(f64::cos)?,
        F::Tan => float_fn(f64::tan)?,
        F::Asin => float_fn(f64::asin)?,
        F::Acos => float_fn(f64::acos)?,
        F::Atan => float_fn(f64::atan)?,
        F::Atan2 => match (num(&args[0])?, num(&args[1])?) {
            (Some(y), Some(x)) => V::Float(y.atan2(x)),
            _ => V::Null,
        },
        F::Pi => V::Float(std::f64::consts::PI),
        F::E => V::Float(std::f64::consts::E),
        F::Rand => V::Float(ctx.random()),
        F::ToUpper => string_arg(&a0)?.map_or(V::Null, |s| V::string(s.to_uppercase())),
        F::ToLower => string_arg(&a0)?.map_or(V::Null, |s| V::string(s.to_lowercase())),
        F::Trim => string_arg(&a0)?.map_or(V::Null, |s| V::string(s.trim())),
        F::LTrim => string_arg(&a0)?.map_or(V::Null, |s| V::string(s.trim_start())),
        F::RTrim => string_arg(&a0)?.map_or(V::Null, |s| V::string(s.trim_end())),
        F::Replace => match (string_arg(&args[0])?, string_arg(&args[1])?, string_arg(&args[2])?) {
            (Some(s), Some(from), Some(to)) => V::string(s.replace(&*from, &to)),
            _ => V::Null,
        },
        F::Substring => {
            let s = string_arg(&args[0])?;
            let start = int_arg(f, &args[1])?;
            let len = match args.get(2) {
                Some(l) => int_arg(f, l)?,
                None => Some(i64::MAX),
            };
            let (Some(s), Some(start), Some(len)) = (s, start, len) else { return Ok(V::Null) };
            if start < 0 || len < 0 {
                return Err(Error::argument(
                    "InvalidArgumentValue",
                    "substring() needs a non-negative start and length",
                ));
            }
            V::string(s.chars().skip(start as usize).take(len as usize).collect::<String>())
        }
        F::Left | F::Right => {
            let s = string_arg(&args[0])?;
            let n = int_arg(f, &args[1])?;
            match (s, n) {
                (_, None) => {
                    return Err(Error::argument("InvalidArgumentValue", format!("{}() needs a length", f.name())))
                }
                (None, _) => V::Null,
                (Some(_), Some(n)) if n < 0 => {
                    return Err(Error::argument(
                        "InvalidArgumentValue",
                        format!("{}() needs a non-negative length", f.name()),
                    ))
                }
                (Some(s), Some(n)) => {
                    let count = s.chars().count();
                    let n = (n as usize).min(count);
                    if f == F::Left {
                        V::string(s.chars().take(n).collect::<String>())
                    } else {
                        V::string(s.chars().skip(count - n).collect::<String>())
                    }
                }
            }
        }
        F::Split => match (string_arg(&args[0])?, string_arg(&args[1])?) {
            (Some(s), Some(sep)) => {
                if sep.is_empty() {
                    V::list(s.chars().map(|c| V::string(c.to_string())).collect())
                } else {
                    V::list(s.split(&*sep).map(V::string).collect())
                }
            }
            _ => V::Null,
        },
        F::Exists => V::Bool(!a0.is_null()),
    })
}
