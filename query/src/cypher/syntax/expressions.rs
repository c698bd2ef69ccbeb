//! Cypher patterns and expressions to AST: the grammar below clauses, lowest
//! precedence first (lexical pieces and errors are in `parser.rs`).

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::digit1;
use nom::combinator::{map, opt};
use nom::Parser;

use super::ast::*;
use super::parser::*;

// ---------------------------------------------------------------------------
// Patterns

pub(super) fn pattern(i: &str) -> Res<'_, Vec<PatternPart>> {
    let (i, parts) = comma_list(i, pattern_part)?;
    Ok((i, parts))
}

pub(super) fn pattern_part(i: &str) -> Res<'_, PatternPart> {
    let (i, var) = opt(|i| {
        let (i, v) = variable(i)?;
        let (i, _) = sym("=")(i)?;
        Ok((i, v))
    })
    .parse(i)?;
    let shortest = |i| -> Res<'_, (PathKind, PatternElement)> {
        let (i, kind) = alt((
            map(kw("shortestPath"), |_| PathKind::Shortest),
            map(kw("allShortestPaths"), |_| PathKind::AllShortest),
        ))
        .parse(i)?;
        let (i, _) = sym("(")(i)?;
        let (i, el) = pattern_element(i)?;
        let (i, _) = sym(")")(i)?;
        Ok((i, (kind, el)))
    };
    if let Ok((rest, (kind, element))) = shortest(i) {
        return Ok((rest, PatternPart { variable: var, kind, element }));
    }
    let (i, element) = pattern_element(i)?;
    Ok((i, PatternPart { variable: var, kind: PathKind::Normal, element }))
}

pub(super) fn pattern_element(i: &str) -> Res<'_, PatternElement> {
    let _level = nest(i)?;
    // `((a)-->(b))`: a parenthesized element.
    if let Ok((rest, _)) = sym("(")(i) {
        if let Ok((rest, el)) = pattern_element(rest) {
            if let Ok((rest, _)) = sym(")")(rest) {
                if !el.chain.is_empty() {
                    return Ok((rest, el));
                }
            }
        }
    }
    let (mut i, start) = node_pattern(i)?;
    let mut chain = Vec::new();
    loop {
        let (rest, rel) = match rel_pattern(i) {
            Ok(r) => r,
            Err(nom::Err::Failure(e)) => return Err(nom::Err::Failure(e)),
            Err(_) => break,
        };
        let (rest, node) = node_pattern(rest)?;
        chain.push((rel, node));
        i = rest;
    }
    Ok((i, PatternElement { start, chain }))
}

pub(super) fn node_labels(mut i: &str) -> Res<'_, Vec<String>> {
    let mut labels = Vec::new();
    loop {
        let Ok((rest, _)) = sym(":")(i) else { break };
        let (rest, l) = symbolic_name(rest)?;
        labels.push(l);
        i = rest;
    }
    Ok((i, labels))
}

pub(super) fn properties(i: &str) -> Res<'_, Expr> {
    let (i, _) = ws(i)?;
    alt((map_literal, parameter)).parse(i)
}

pub(super) fn node_pattern(i: &str) -> Res<'_, NodePattern> {
    let (i, _) = sym("(")(i)?;
    let (i, var) = opt(variable).parse(i)?;
    let (i, labels) = node_labels(i)?;
    let (i, props) = opt(properties).parse(i)?;
    let (i, _) = sym(")")(i)?;
    Ok((i, NodePattern { variable: var, labels, properties: props.map(Box::new) }))
}

pub(super) fn rel_pattern(i: &str) -> Res<'_, RelPattern> {
    let (i, left) = opt(sym("<")).parse(i)?;
    let (i, _) = sym("-")(i)?;
    let (i, detail) = opt(rel_detail).parse(i)?;
    let (i, _) = sym("-")(i)?;
    let (i, right) = opt(sym(">")).parse(i)?;
    let direction = match (left.is_some(), right.is_some()) {
        (true, false) => RelDirection::Left,
        (false, true) => RelDirection::Right,
        _ => RelDirection::Both,
    };
    let mut rel =
        detail.unwrap_or(RelPattern { variable: None, types: Vec::new(), direction, length: None, properties: None });
    rel.direction = direction;
    Ok((i, rel))
}

pub(super) fn rel_detail(i: &str) -> Res<'_, RelPattern> {
    let (i, _) = sym("[")(i)?;
    let (i, var) = opt(variable).parse(i)?;
    let (mut i, mut types) = (i, Vec::new());
    if let Ok((rest, _)) = sym(":")(i) {
        let (rest, t) = symbolic_name(rest)?;
        types.push(t);
        i = rest;
        loop {
            let Ok((rest, _)) = sym("|")(i) else { break };
            let (rest, _) = opt(sym(":")).parse(rest)?;
            let (rest, t) = symbolic_name(rest)?;
            types.push(t);
            i = rest;
        }
    }
    let (i, length) = opt(|i| {
        let (i, _) = sym("*")(i)?;
        let (i, _) = ws(i)?;
        if i.starts_with('-') && i[1..].trim_start().starts_with(|c: char| c.is_ascii_digit()) {
            return fatal_as(i, "InvalidRelationshipPattern", "a variable-length bound cannot be negative");
        }
        let (i, min) = opt(map(digit1, |d: &str| d.parse::<u64>().ok())).parse(i)?;
        let (i, range) = opt(|i| {
            let (i, _) = sym("..")(i)?;
            let (i, _) = ws(i)?;
            opt(map(digit1, |d: &str| d.parse::<u64>().ok())).parse(i)
        })
        .parse(i)?;
        let min = min.flatten();
        Ok((
            i,
            match range {
                None => match min {
                    Some(m) => (Some(m), Some(m)),
                    None => (None, None),
                },
                Some(max) => (min, max.flatten()),
            },
        ))
    })
    .parse(i)?;
    let (i, props) = opt(properties).parse(i)?;
    let (i, _) = sym("]")(i)?;
    Ok((i, RelPattern { variable: var, types, direction: RelDirection::Both, length, properties: props.map(Box::new) }))
}

// ---------------------------------------------------------------------------
// Expressions, lowest precedence first

pub(crate) fn expr(i: &str) -> Res<'_, Expr> {
    let _level = nest(i)?;
    or_expr(i)
}

/// `next (op next)*`, left-associative. Every operator counts toward
/// [`crate::common::limits::MAX_OPERATORS`]: a chain is as deep as it is long.
pub(super) fn left_assoc<'a>(
    i: &'a str,
    next: fn(&'a str) -> Res<'a, Expr>,
    ops: &[(&'static str, BinaryOp)],
) -> Res<'a, Expr> {
    let (mut i, mut left) = next(i)?;
    'outer: loop {
        for (token, op) in ops {
            if let Ok((rest, _)) = sym(token)(i) {
                count_operator(i)?;
                let (rest, right) = next(rest)?;
                left = Expr::Binary(*op, Box::new(left), Box::new(right));
                i = rest;
                continue 'outer;
            }
        }
        return Ok((i, left));
    }
}

/// `next (op next)*` for an associative logical operator, built as a balanced tree:
/// a `WHERE` of a thousand `OR`ed tests is then ten levels deep, not a thousand, and
/// `AND`, `OR` and `XOR` give the same value whichever way they are grouped.
pub(super) fn balanced_chain<'a>(
    i: &'a str,
    next: fn(&'a str) -> Res<'a, Expr>,
    word: &'static str,
    op: BinaryOp,
) -> Res<'a, Expr> {
    let (mut i, first) = next(i)?;
    let mut operands = vec![first];
    while let Ok((rest, _)) = kw(word)(i) {
        let (rest, right) = next(rest)?;
        operands.push(right);
        i = rest;
    }
    Ok((i, balance(op, operands)))
}

pub(super) fn balance(op: BinaryOp, mut operands: Vec<Expr>) -> Expr {
    if operands.len() == 1 {
        return operands.pop().unwrap_or(Expr::Literal(Literal::Null));
    }
    let right = operands.split_off(operands.len().div_ceil(2));
    Expr::Binary(op, Box::new(balance(op, operands)), Box::new(balance(op, right)))
}

pub(super) fn or_expr(i: &str) -> Res<'_, Expr> {
    balanced_chain(i, xor_expr, "OR", BinaryOp::Or)
}

pub(super) fn xor_expr(i: &str) -> Res<'_, Expr> {
    balanced_chain(i, and_expr, "XOR", BinaryOp::Xor)
}

pub(super) fn and_expr(i: &str) -> Res<'_, Expr> {
    balanced_chain(i, not_expr, "AND", BinaryOp::And)
}

pub(super) fn not_expr(i: &str) -> Res<'_, Expr> {
    if let Ok((rest, _)) = kw("NOT")(i) {
        let _level = nest(i)?;
        let (rest, e) = not_expr(rest)?;
        return Ok((rest, Expr::Unary(UnaryOp::Not, Box::new(e))));
    }
    comparison(i)
}

pub(super) fn compare_op(i: &str) -> Res<'_, CompareOp> {
    let (i, _) = ws(i)?;
    alt((
        map(tag("<>"), |_| CompareOp::Ne),
        map(tag("<="), |_| CompareOp::Le),
        map(tag(">="), |_| CompareOp::Ge),
        map(tag("="), |_| CompareOp::Eq),
        map(tag("<"), |_| CompareOp::Lt),
        map(tag(">"), |_| CompareOp::Gt),
    ))
    .parse(i)
}

pub(super) fn comparison(i: &str) -> Res<'_, Expr> {
    let (mut i, first) = predicate_expr(i)?;
    let mut rest_ops = Vec::new();
    loop {
        // `=~` is a string predicate, not `=` followed by `~`.
        if let Ok((_, _)) = sym("=~")(i) {
            break;
        }
        let Ok((rest, op)) = compare_op(i) else { break };
        let (rest, e) = predicate_expr(rest)?;
        rest_ops.push((op, e));
        i = rest;
    }
    if rest_ops.is_empty() {
        Ok((i, first))
    } else {
        Ok((i, Expr::Compare(Box::new(first), rest_ops)))
    }
}

pub(super) fn predicate_expr(i: &str) -> Res<'_, Expr> {
    let (mut i, mut e) = add_sub(i)?;
    loop {
        if let Ok((rest, _)) = (kw("STARTS"), kw("WITH")).parse(i) {
            let (rest, r) = add_sub(rest)?;
            e = Expr::Binary(BinaryOp::StartsWith, Box::new(e), Box::new(r));
            i = rest;
        } else if let Ok((rest, _)) = (kw("ENDS"), kw("WITH")).parse(i) {
            let (rest, r) = add_sub(rest)?;
            e = Expr::Binary(BinaryOp::EndsWith, Box::new(e), Box::new(r));
            i = rest;
        } else if let Ok((rest, _)) = kw("CONTAINS")(i) {
            let (rest, r) = add_sub(rest)?;
            e = Expr::Binary(BinaryOp::Contains, Box::new(e), Box::new(r));
            i = rest;
        } else if let Ok((rest, _)) = kw("IN")(i) {
            let (rest, r) = add_sub(rest)?;
            e = Expr::Binary(BinaryOp::In, Box::new(e), Box::new(r));
            i = rest;
        } else if let Ok((rest, _)) = sym("=~")(i) {
            let (rest, r) = add_sub(rest)?;
            e = Expr::Binary(BinaryOp::Regex, Box::new(e), Box::new(r));
            i = rest;
        } else if let Ok((rest, _)) = (kw("IS"), kw("NULL")).parse(i) {
            e = Expr::IsNull { expr: Box::new(e), negated: false };
            i = rest;
        } else if let Ok((rest, _)) = (kw("IS"), kw("NOT"), kw("NULL")).parse(i) {
            e = Expr::IsNull { expr: Box::new(e), negated: true };
            i = rest;
        } else {
            return Ok((i, e));
        }
        count_operator(i)?;
    }
}

pub(super) fn add_sub(i: &str) -> Res<'_, Expr> {
    left_assoc(i, mul_div, &[("+", BinaryOp::Add), ("-", BinaryOp::Sub)])
}

pub(super) fn mul_div(i: &str) -> Res<'_, Expr> {
    let ops = [("*", BinaryOp::Mul), ("/", BinaryOp::Div), ("%", BinaryOp::Mod)];
    left_assoc(i, power, &ops)
}

pub(super) fn power(i: &str) -> Res<'_, Expr> {
    left_assoc(i, unary, &[("^", BinaryOp::Pow)])
}

pub(super) fn unary(i: &str) -> Res<'_, Expr> {
    if let Ok((rest, _)) = sym("-")(i) {
        // `-9223372036854775808` (in any radix) is the one literal whose magnitude
        // does not fit: negate it before the overflow check.
        if let Ok((after, NumberToken::MinMagnitude)) = number_token(rest) {
            if !postfix_follows(after) {
                return Ok((after, Expr::Literal(Literal::Int(i64::MIN))));
            }
        }
        let _level = nest(i)?;
        let (rest, e) = unary(rest)?;
        // Fold `-literal` so that the smallest integer can be written; `--` of it
        // does not fit again.
        if let Expr::Literal(Literal::Int(i64::MIN)) = e {
            return fatal_as(i, "IntegerOverflow", OVERFLOW);
        }
        return Ok((
            rest,
            match e {
                Expr::Literal(Literal::Int(v)) => Expr::Literal(Literal::Int(-v)),
                Expr::Literal(Literal::Float(f)) => Expr::Literal(Literal::Float(-f)),
                other => Expr::Unary(UnaryOp::Neg, Box::new(other)),
            },
        ));
    }
    if let Ok((rest, _)) = sym("+")(i) {
        let _level = nest(i)?;
        let (rest, e) = unary(rest)?;
        return Ok((rest, Expr::Unary(UnaryOp::Pos, Box::new(e))));
    }
    postfix_expr(i)
}

pub(super) fn postfix_expr(i: &str) -> Res<'_, Expr> {
    let (mut i, mut e) = atom(i)?;
    // `n.name` is one level; each further access wraps the one before.
    let mut first = true;
    loop {
        if let Ok((rest, _)) = sym(".")(i) {
            if !rest.starts_with('.') {
                let (rest, key) = symbolic_name(rest)?;
                e = Expr::Property(Box::new(e), key);
                i = rest;
                if !std::mem::take(&mut first) {
                    count_operator(i)?;
                }
                continue;
            }
        }
        if let Ok((rest, _)) = sym("[")(i) {
            if let Ok((rest2, _)) = sym("..")(rest) {
                let (rest2, to) = opt(expr).parse(rest2)?;
                let (rest2, _) = sym("]")(rest2)?;
                e = Expr::Slice(Box::new(e), None, to.map(Box::new));
                i = rest2;
                if !std::mem::take(&mut first) {
                    count_operator(i)?;
                }
                continue;
            }
            let (rest, from) = expr(rest)?;
            if let Ok((rest2, _)) = sym("..")(rest) {
                let (rest2, to) = opt(expr).parse(rest2)?;
                let (rest2, _) = sym("]")(rest2)?;
                e = Expr::Slice(Box::new(e), Some(Box::new(from)), to.map(Box::new));
                i = rest2;
                if !std::mem::take(&mut first) {
                    count_operator(i)?;
                }
                continue;
            }
            let (rest, _) = sym("]")(rest)?;
            e = Expr::Index(Box::new(e), Box::new(from));
            i = rest;
            if !std::mem::take(&mut first) {
                count_operator(i)?;
            }
            continue;
        }
        if let Ok((rest, labels)) = node_labels(i) {
            if !labels.is_empty() {
                e = Expr::HasLabels(Box::new(e), labels);
                i = rest;
                if !std::mem::take(&mut first) {
                    count_operator(i)?;
                }
                continue;
            }
        }
        return Ok((i, e));
    }
}

pub(super) fn atom(i: &str) -> Res<'_, Expr> {
    let (i, _) = ws(i)?;
    alt((
        map(number_literal, Expr::Literal),
        map(string_literal, |s| Expr::Literal(Literal::String(s))),
        parameter,
        map(kw("TRUE"), |_| Expr::Literal(Literal::Bool(true))),
        map(kw("FALSE"), |_| Expr::Literal(Literal::Bool(false))),
        map(kw("NULL"), |_| Expr::Literal(Literal::Null)),
        case_expr,
        count_star,
        exists_subquery,
        quantified,
        reduce_expr,
        list_comprehension,
        pattern_comprehension,
        list_literal,
        map_literal,
        map(relationships_pattern, Expr::Pattern),
        parenthesized,
        function_call,
        map(variable, Expr::Variable),
    ))
    .parse(i)
}

pub(super) fn parameter(i: &str) -> Res<'_, Expr> {
    let (i, _) = sym("$")(i)?;
    let (i, name) = alt((symbolic_name, map(digit1, |d: &str| d.to_string()))).parse(i)?;
    Ok((i, Expr::Parameter(name)))
}

pub(super) fn parenthesized(i: &str) -> Res<'_, Expr> {
    let (i, _) = sym("(")(i)?;
    let (i, e) = expr(i)?;
    let (i, _) = sym(")")(i)?;
    Ok((i, e))
}

pub(super) fn count_star(i: &str) -> Res<'_, Expr> {
    let (i, _) = kw("COUNT")(i)?;
    let (i, _) = sym("(")(i)?;
    let (i, _) = sym("*")(i)?;
    let (i, _) = sym(")")(i)?;
    Ok((i, Expr::CountStar))
}

pub(super) fn case_expr(i: &str) -> Res<'_, Expr> {
    let (i, _) = kw("CASE")(i)?;
    let (i, subject) = opt(|i| {
        if kw("WHEN")(i).is_ok() {
            return fail(i, "");
        }
        expr(i)
    })
    .parse(i)?;
    let mut whens = Vec::new();
    let mut i = i;
    loop {
        let Ok((rest, _)) = kw("WHEN")(i) else { break };
        let (rest, w) = expr(rest)?;
        let (rest, _) = kw("THEN")(rest)?;
        let (rest, t) = expr(rest)?;
        whens.push((w, t));
        i = rest;
    }
    if whens.is_empty() {
        return fail(i, "expected WHEN");
    }
    let (i, otherwise) = opt((kw("ELSE"), expr)).parse(i)?;
    let (i, _) = kw("END")(i)?;
    Ok((i, Expr::Case { subject: subject.map(Box::new), whens, otherwise: otherwise.map(|o| Box::new(o.1)) }))
}

pub(super) fn list_literal(i: &str) -> Res<'_, Expr> {
    let (i, _) = sym("[")(i)?;
    if let Ok((rest, _)) = sym("]")(i) {
        return Ok((rest, Expr::List(Vec::new())));
    }
    let (i, items) = expr_list(i)?;
    let (i, _) = sym("]")(i)?;
    Ok((i, Expr::List(items)))
}

pub(super) fn map_literal(i: &str) -> Res<'_, Expr> {
    let (i, _) = sym("{")(i)?;
    if let Ok((rest, _)) = sym("}")(i) {
        return Ok((rest, Expr::Map(Vec::new())));
    }
    let entry = |i| {
        let (i, k) = symbolic_name(i)?;
        let (i, _) = sym(":")(i)?;
        let (i, v) = expr(i)?;
        Ok((i, (k, v)))
    };
    let (i, entries) = comma_list(i, entry)?;
    let (i, _) = sym("}")(i)?;
    Ok((i, Expr::Map(entries)))
}

pub(super) fn list_comprehension(i: &str) -> Res<'_, Expr> {
    let (i, _) = sym("[")(i)?;
    let (i, var) = variable(i)?;
    let (i, _) = kw("IN")(i)?;
    let (i, list) = expr(i)?;
    let (i, predicate) = opt(where_clause).parse(i)?;
    let (i, mapping) = opt((sym("|"), expr)).parse(i)?;
    let (i, _) = sym("]")(i)?;
    Ok((
        i,
        Expr::ListComprehension {
            variable: var,
            list: Box::new(list),
            predicate: predicate.map(Box::new),
            map: mapping.map(|m| Box::new(m.1)),
        },
    ))
}

pub(super) fn pattern_comprehension(i: &str) -> Res<'_, Expr> {
    let (i, _) = sym("[")(i)?;
    let (i, var) = opt(|i| {
        let (i, v) = variable(i)?;
        let (i, _) = sym("=")(i)?;
        Ok((i, v))
    })
    .parse(i)?;
    let (i, pattern) = relationships_pattern(i)?;
    let (i, predicate) = opt(where_clause).parse(i)?;
    let (i, _) = sym("|")(i)?;
    let (i, mapping) = expr(i)?;
    let (i, _) = sym("]")(i)?;
    Ok((
        i,
        Expr::PatternComprehension {
            variable: var,
            pattern,
            predicate: predicate.map(Box::new),
            map: Box::new(mapping),
        },
    ))
}

/// A pattern with at least one relationship (usable as an expression).
pub(super) fn relationships_pattern(i: &str) -> Res<'_, PatternElement> {
    let (i, el) = pattern_element(i)?;
    if el.chain.is_empty() {
        return fail(i, "");
    }
    Ok((i, el))
}

pub(super) fn quantified(i: &str) -> Res<'_, Expr> {
    let (i, q) = alt((
        map(kw("ALL"), |_| Quantifier::All),
        map(kw("ANY"), |_| Quantifier::Any),
        map(kw("NONE"), |_| Quantifier::None),
        map(kw("SINGLE"), |_| Quantifier::Single),
    ))
    .parse(i)?;
    let (i, _) = sym("(")(i)?;
    let (i, var) = variable(i)?;
    let (i, _) = kw("IN")(i)?;
    let (i, list) = expr(i)?;
    let (i, _) = kw("WHERE")(i)?;
    let (i, pred) = expr(i)?;
    let (i, _) = sym(")")(i)?;
    Ok((i, Expr::Quantified { quantifier: q, variable: var, list: Box::new(list), predicate: Box::new(pred) }))
}

pub(super) fn reduce_expr(i: &str) -> Res<'_, Expr> {
    let (i, _) = kw("REDUCE")(i)?;
    let (i, _) = sym("(")(i)?;
    let (i, acc) = variable(i)?;
    let (i, _) = sym("=")(i)?;
    let (i, init) = expr(i)?;
    let (i, _) = sym(",")(i)?;
    let (i, var) = variable(i)?;
    let (i, _) = kw("IN")(i)?;
    let (i, list) = expr(i)?;
    let (i, _) = sym("|")(i)?;
    let (i, e) = expr(i)?;
    let (i, _) = sym(")")(i)?;
    Ok((
        i,
        Expr::Reduce { accumulator: acc, init: Box::new(init), variable: var, list: Box::new(list), expr: Box::new(e) },
    ))
}

pub(super) fn exists_subquery(i: &str) -> Res<'_, Expr> {
    let (i, _) = kw("EXISTS")(i)?;
    let (i, _) = sym("{")(i)?;
    // One pass, so that nested subqueries are read once each: the pattern and WHERE
    // of the simple form are also the first MATCH of the full form.
    let (i, matched) = opt(kw("MATCH")).parse(i)?;
    let (i, pattern) = pattern(i)?;
    let (i, predicate) = opt(where_clause).parse(i)?;
    if let Ok((rest, _)) = sym("}")(i) {
        return Ok((rest, Expr::Exists { pattern, predicate: predicate.map(Box::new) }));
    }
    if matched.is_none() {
        // Only `EXISTS { MATCH ... }` goes on with more clauses.
        let (_, _) = sym("}")(i)?;
    }
    let (i, mut query) = super::parser::single_query(i)?;
    query.clauses.insert(0, crate::cypher::syntax::ast::Clause::Match { optional: false, pattern, predicate });
    let (i, _) = sym("}")(i)?;
    Ok((i, Expr::ExistsQuery(Box::new(query))))
}

pub(super) fn function_call(i: &str) -> Res<'_, Expr> {
    let (i, name) = qualified_name(i)?;
    let (i, _) = sym("(")(i)?;
    let (i, distinct) = opt(kw("DISTINCT")).parse(i)?;
    let (i, args) = if let Ok((rest, _)) = sym(")")(i) {
        (rest, Vec::new())
    } else {
        let (i, args) = expr_list(i)?;
        let (i, _) = sym(")")(i)?;
        (i, args)
    };
    Ok((i, Expr::Function { name, distinct: distinct.is_some(), args }))
}
