//! A nom parser for Cypher. Errors point at the furthest position any alternative
//! reached, which is where the text stops making sense.

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{char, digit1, hex_digit1, oct_digit1};
use nom::combinator::{map, opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

use super::ast::*;
use super::expressions::*;
use crate::common::{limits, SyntaxError, TextPosition};

/// A parse error: how much input was left where it happened, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct PError {
    rest: usize,
    message: String,
    /// Cut errors stop alternatives (a bad number, an unterminated string).
    fatal: bool,
    /// The TCK's detail code (see [`SyntaxError::detail`]).
    detail: &'static str,
}

impl<'a> ParseError<&'a str> for PError {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PError { rest: input.len(), message: String::new(), fatal: false, detail: UNEXPECTED }
    }
    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
    fn or(self, other: Self) -> Self {
        if other.rest <= self.rest {
            other
        } else {
            self
        }
    }
}

pub(super) type Res<'a, T> = IResult<&'a str, T, PError>;

pub(super) fn fail<T>(input: &str, message: impl Into<String>) -> Res<'_, T> {
    Err(nom::Err::Error(PError { rest: input.len(), message: message.into(), fatal: false, detail: UNEXPECTED }))
}

pub(super) fn fatal<T>(input: &str, message: impl Into<String>) -> Res<'_, T> {
    fatal_as(input, UNEXPECTED, message)
}

/// A fatal error with its own detail code (a literal that is well-formed but wrong).
pub(super) fn fatal_as<'a, T>(input: &'a str, detail: &'static str, message: impl Into<String>) -> Res<'a, T> {
    Err(nom::Err::Failure(PError { rest: input.len(), message: message.into(), fatal: true, detail }))
}

const UNEXPECTED: &str = "UnexpectedSyntax";

/// Enters one level of recursion (see [`limits`]); a fatal error past the limit.
pub(super) fn nest(input: &str) -> Result<limits::Nesting, nom::Err<PError>> {
    limits::Nesting::enter()
        .map_err(|message| nom::Err::Failure(PError { rest: input.len(), message, fatal: true, detail: UNEXPECTED }))
}

/// Counts one operator wrapped around the tree so far (see [`limits`]).
pub(super) fn count_operator(input: &str) -> Result<(), nom::Err<PError>> {
    limits::operator()
        .map_err(|message| nom::Err::Failure(PError { rest: input.len(), message, fatal: true, detail: UNEXPECTED }))
}

/// Parses one Cypher statement (a trailing `;` is allowed).
pub fn parse_statement(text: &str) -> Result<Statement, SyntaxError> {
    limits::start();
    let res = (|i| {
        let (i, _) = ws(i)?;
        let (i, stmt) = statement(i)?;
        let (i, _) = ws(i)?;
        let (i, _) = opt(char(';')).parse(i)?;
        let (i, _) = ws(i)?;
        Ok((i, stmt))
    })(text);
    let (rest, message, detail) = match res {
        Ok(("", stmt)) => return Ok(stmt),
        Ok((rest, _)) => (rest.len(), String::new(), UNEXPECTED),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => (e.rest, e.message, e.detail),
        Err(nom::Err::Incomplete(_)) => (0, String::new(), UNEXPECTED),
    };
    let offset = text.len() - rest.min(text.len());
    // A character that looks like Cypher's but is not (an em dash for `-`, curly
    // quotes) is named as such.
    let detail = match text[offset..].chars().next() {
        Some(c) if message.is_empty() && !c.is_ascii() => "InvalidUnicodeCharacter",
        _ => detail,
    };
    let message = if message.is_empty() {
        match text[offset..].chars().next() {
            Some(c) => format!("invalid input '{c}': the query does not continue like that"),
            None => "unexpected end of input".to_string(),
        }
    } else {
        message
    };
    Err(SyntaxError { message, position: TextPosition::of(text, offset), detail })
}

// ---------------------------------------------------------------------------
// Lexical pieces

pub(super) fn ws(mut i: &str) -> Res<'_, ()> {
    loop {
        let trimmed = i.trim_start();
        if let Some(rest) = trimmed.strip_prefix("//") {
            i = rest.find('\n').map_or("", |p| &rest[p..]);
        } else if let Some(rest) = trimmed.strip_prefix("/*") {
            match rest.find("*/") {
                Some(p) => i = &rest[p + 2..],
                None => return fatal(trimmed, "unterminated comment"),
            }
        } else {
            return Ok((trimmed, ()));
        }
    }
}

pub(super) fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

pub(super) fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A keyword (any case) not followed by an identifier character, with whitespace before.
pub(super) fn kw<'a>(word: &'static str) -> impl Fn(&'a str) -> Res<'a, ()> {
    move |i: &'a str| {
        let (i, _) = ws(i)?;
        let (rest, _) = tag_no_case(word).parse(i)?;
        if rest.chars().next().is_some_and(is_ident_char) {
            return fail(i, "");
        }
        Ok((rest, ()))
    }
}

/// A symbol with whitespace before.
pub(super) fn sym<'a>(s: &'static str) -> impl Fn(&'a str) -> Res<'a, ()> {
    move |i: &'a str| {
        let (i, _) = ws(i)?;
        let (i, _) = tag(s).parse(i)?;
        Ok((i, ()))
    }
}

/// One or more `item`s separated by commas.
pub(super) fn comma_list<'a, T>(i: &'a str, item: impl Fn(&'a str) -> Res<'a, T>) -> Res<'a, Vec<T>> {
    let (mut i, first) = item(i)?;
    let mut out = vec![first];
    while let Ok((rest, _)) = sym(",")(i) {
        let (rest, it) = item(rest)?;
        out.push(it);
        i = rest;
    }
    Ok((i, out))
}

const RESERVED: &[&str] = &[
    "ALL",
    "AND",
    "AS",
    "ASC",
    "ASCENDING",
    "BY",
    "CASE",
    "CONTAINS",
    "CREATE",
    "DELETE",
    "DESC",
    "DESCENDING",
    "DETACH",
    "DISTINCT",
    "ELSE",
    "END",
    "ENDS",
    "IN",
    "IS",
    "LIMIT",
    "MATCH",
    "MERGE",
    "NOT",
    "NULL",
    "ON",
    "OPTIONAL",
    "OR",
    "ORDER",
    "REMOVE",
    "RETURN",
    "SET",
    "SKIP",
    "STARTS",
    "THEN",
    "UNION",
    "UNWIND",
    "WHEN",
    "WHERE",
    "WITH",
    "XOR",
    "TRUE",
    "FALSE",
    "CALL",
    "YIELD",
];

/// A symbolic name: letters, digits and `_`, or anything between backticks.
pub(super) fn symbolic_name(i: &str) -> Res<'_, String> {
    let (i, _) = ws(i)?;
    if let Some(rest) = i.strip_prefix('`') {
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((p, c)) = chars.next() {
            if c == '`' {
                if rest[p + 1..].starts_with('`') {
                    out.push('`');
                    chars.next();
                } else {
                    return Ok((&rest[p + 1..], out));
                }
            } else {
                out.push(c);
            }
        }
        return fatal(i, "unterminated `quoted` name");
    }
    let (rest, name) = recognize((take_while1(is_ident_start), take_while(is_ident_char))).parse(i)?;
    Ok((rest, name.to_string()))
}

/// A name that may be a variable: not a reserved word.
pub(super) fn variable(i: &str) -> Res<'_, String> {
    let (start, _) = ws(i)?;
    let (rest, name) = symbolic_name(i)?;
    if !start.starts_with('`') && RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
        return fail(start, "");
    }
    Ok((rest, name))
}

pub(super) fn string_literal(i: &str) -> Res<'_, String> {
    let (i, _) = ws(i)?;
    let quote = match i.chars().next() {
        Some(q @ ('\'' | '"')) => q,
        _ => return fail(i, ""),
    };
    let body = &i[1..];
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((p, c)) = chars.next() {
        if c == quote {
            return Ok((&body[p + 1..], out));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((q, e)) = chars.next() else { break };
        match e {
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' | 'U' => {
                let len = if e == 'u' { 4 } else { 8 };
                let hex = body.get(q + 1..q + 1 + len).unwrap_or("");
                let code = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                match code {
                    Some(ch) if hex.len() == len => out.push(ch),
                    _ => return fatal_as(&body[q..], "InvalidUnicodeLiteral", "invalid unicode escape"),
                }
                for _ in 0..len {
                    chars.next();
                }
            }
            _ => return fatal(&body[p..], format!("invalid escape sequence '\\{e}'")),
        }
    }
    fatal(i, "unterminated string literal")
}

/// A number as the lexer reads it. The integer 2^63 is its own token: it only fits as
/// the operand of unary minus (`-9223372036854775808`), and must not be confused with
/// the float `9223372036854775808.0`.
pub(super) enum NumberToken {
    Literal(Literal),
    MinMagnitude,
}

pub(super) const OVERFLOW: &str = "integer overflow: the literal does not fit in 64 bits";

pub(super) fn postfix_follows(i: &str) -> bool {
    let t = i.trim_start();
    t.starts_with('.') || t.starts_with('[') || t.starts_with('^')
}

pub(super) fn parse_int_radix(digits: &str, radix: u32) -> Option<NumberToken> {
    match u64::from_str_radix(digits, radix) {
        Ok(v) if v <= i64::MAX as u64 => Some(NumberToken::Literal(Literal::Int(v as i64))),
        Ok(v) if v == 1u64 << 63 => Some(NumberToken::MinMagnitude),
        _ => None,
    }
}

/// A number literal where an operand is expected; 2^63 alone overflows.
pub(super) fn number_literal(i: &str) -> Res<'_, Literal> {
    let (start, _) = ws(i)?;
    match number_token(i)? {
        (rest, NumberToken::Literal(l)) => Ok((rest, l)),
        (_, NumberToken::MinMagnitude) => fatal_as(start, "IntegerOverflow", OVERFLOW),
    }
}

pub(super) fn number_token(i: &str) -> Res<'_, NumberToken> {
    let (i, _) = ws(i)?;
    let start = i;
    let res: Res<'_, NumberToken> = if let Some(rest) = i.strip_prefix("0x").or_else(|| i.strip_prefix("0X")) {
        let (rest, digits) = hex_digit1(rest)
            .or_else(|_: nom::Err<PError>| fatal_as(start, "InvalidNumberLiteral", "invalid hexadecimal literal"))?;
        match parse_int_radix(digits, 16) {
            Some(l) => Ok((rest, l)),
            None => fatal_as(start, "IntegerOverflow", OVERFLOW),
        }
    } else if let Some(rest) = i.strip_prefix("0o") {
        let (rest, digits) = oct_digit1(rest)
            .or_else(|_: nom::Err<PError>| fatal_as(start, "InvalidNumberLiteral", "invalid octal literal"))?;
        match parse_int_radix(digits, 8) {
            Some(l) => Ok((rest, l)),
            None => fatal_as(start, "IntegerOverflow", OVERFLOW),
        }
    } else {
        let (rest, text) = recognize((
            alt((recognize((digit1, opt((char('.'), digit1)))), recognize((char('.'), digit1)))),
            opt((alt((char('e'), char('E'))), opt(alt((char('+'), char('-')))), digit1)),
        ))
        .parse(i)?;
        if text.contains(['.', 'e', 'E']) {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok((rest, NumberToken::Literal(Literal::Float(v)))),
                _ => fatal_as(start, "FloatingPointOverflow", "floating point overflow: the literal is too large"),
            }
        } else {
            match text.parse::<i64>() {
                Ok(v) => Ok((rest, NumberToken::Literal(Literal::Int(v)))),
                Err(_) if text == "9223372036854775808" => Ok((rest, NumberToken::MinMagnitude)),
                Err(_) => fatal_as(start, "IntegerOverflow", OVERFLOW),
            }
        }
    };
    let (rest, lit) = res?;
    if rest.chars().next().is_some_and(is_ident_char) {
        return fatal_as(start, "InvalidNumberLiteral", "invalid number literal");
    }
    Ok((rest, lit))
}

// ---------------------------------------------------------------------------
// Statements and clauses

pub(super) fn statement(i: &str) -> Res<'_, Statement> {
    let (i, options) = opt(|i| {
        let (i, _) = kw("CYPHER")(i)?;
        let option = |i| {
            let (i, k) = symbolic_name(i)?;
            let (i, _) = sym("=")(i)?;
            let (i, v) = symbolic_name(i)?;
            Ok((i, (k, v)))
        };
        nom::multi::many1(option).parse(i)
    })
    .parse(i)?;
    let (i, graph) = opt((kw("USE"), symbolic_name)).parse(i)?;
    let (mut i, first) = single_query(i)?;
    let mut queries = vec![first];
    let mut union_all = Vec::new();
    loop {
        let Ok((rest, _)) = kw("UNION")(i) else { break };
        let (rest, all) = opt(kw("ALL")).parse(rest)?;
        let (rest, q) = single_query(rest)?;
        union_all.push(all.is_some());
        queries.push(q);
        i = rest;
    }
    Ok((i, Statement { graph: graph.map(|g| g.1), queries, union_all, options: options.unwrap_or_default() }))
}

pub(super) fn single_query(mut i: &str) -> Res<'_, SingleQuery> {
    // Subqueries (`CALL { ... }`, `EXISTS { ... }`) recurse through here.
    let _level = nest(i)?;
    let mut clauses = Vec::new();
    loop {
        match clause(i) {
            Ok((rest, c)) => {
                clauses.push(c);
                i = rest;
            }
            Err(nom::Err::Error(e)) => {
                if clauses.is_empty() {
                    return Err(nom::Err::Error(e));
                }
                // Remember how far the failed clause got, for the error position.
                let (rest, _) = ws(i)?;
                if !rest.is_empty() && e.rest < rest.len() && !starts_with_union(rest) && !rest.starts_with(';') {
                    return Err(nom::Err::Error(e));
                }
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok((i, SingleQuery { clauses }))
}

pub(super) fn starts_with_union(i: &str) -> bool {
    kw("UNION")(i).is_ok()
}

pub(super) fn clause(i: &str) -> Res<'_, Clause> {
    alt((
        match_clause,
        unwind_clause,
        map((kw("WITH"), projection_body(true)), |(_, p)| Clause::With(p)),
        map((kw("RETURN"), projection_body(false)), |(_, p)| Clause::Return(p)),
        create_index_clause,
        create_text_index_clause,
        drop_index_clause,
        show_indexes_clause,
        map((kw("CREATE"), pattern), |(_, p)| Clause::Create(p)),
        merge_clause,
        map((kw("SET"), set_items), |(_, s)| Clause::Set(s)),
        remove_clause,
        delete_clause,
        call_clause,
    ))
    .parse(i)
}

pub(super) fn match_clause(i: &str) -> Res<'_, Clause> {
    let (i, optional) = opt(kw("OPTIONAL")).parse(i)?;
    let (i, _) = kw("MATCH")(i)?;
    let (i, pattern) = pattern(i)?;
    let (i, predicate) = opt(where_clause).parse(i)?;
    Ok((i, Clause::Match { optional: optional.is_some(), pattern, predicate }))
}

pub(super) fn where_clause(i: &str) -> Res<'_, Expr> {
    let (i, _) = kw("WHERE")(i)?;
    expr(i)
}

pub(super) fn unwind_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("UNWIND")(i)?;
    let (i, e) = expr(i)?;
    let (i, _) = kw("AS")(i)?;
    let (i, alias) = variable(i)?;
    Ok((i, Clause::Unwind { expr: e, alias }))
}

pub(super) fn projection_body<'a>(with: bool) -> impl Fn(&'a str) -> Res<'a, Projection> {
    move |i: &'a str| {
        let (i, distinct) = opt(kw("DISTINCT")).parse(i)?;
        let (i, star) = opt(sym("*")).parse(i)?;
        let (i, items) = if star.is_some() {
            // `*, a, b`
            match sym(",")(i) {
                Ok((rest, _)) => comma_list(rest, projection_item)?,
                Err(_) => (i, Vec::new()),
            }
        } else {
            comma_list(i, projection_item)?
        };
        let (i, order) = opt((kw("ORDER"), kw("BY"), sort_items)).parse(i)?;
        let (i, skip) = opt((kw("SKIP"), expr)).parse(i)?;
        let (i, limit) = opt((kw("LIMIT"), expr)).parse(i)?;
        let (i, predicate) = if with { opt(where_clause).parse(i)? } else { (i, None) };
        Ok((
            i,
            Projection {
                distinct: distinct.is_some(),
                star: star.is_some(),
                items,
                order_by: order.map(|o| o.2).unwrap_or_default(),
                skip: skip.map(|s| s.1),
                limit: limit.map(|l| l.1),
                predicate,
            },
        ))
    }
}

pub(super) fn projection_item(i: &str) -> Res<'_, ProjectionItem> {
    let (i, _) = ws(i)?;
    let start = i;
    let (i, e) = expr(i)?;
    let text = start[..start.len() - i.len()].trim_end().to_string();
    let (i, alias) = opt((kw("AS"), variable)).parse(i)?;
    Ok((i, ProjectionItem { expr: e, alias: alias.map(|a| a.1), text }))
}

pub(super) fn sort_items(i: &str) -> Res<'_, Vec<SortItem>> {
    let (i, items) = comma_list(i, sort_item)?;
    Ok((i, items))
}

pub(super) fn sort_item(i: &str) -> Res<'_, SortItem> {
    let (i, e) = expr(i)?;
    let (i, dir) = opt(alt((
        map(alt((kw("DESCENDING"), kw("DESC"))), |_| false),
        map(alt((kw("ASCENDING"), kw("ASC"))), |_| true),
    )))
    .parse(i)?;
    Ok((i, SortItem { expr: e, ascending: dir.unwrap_or(true) }))
}

pub(super) fn merge_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("MERGE")(i)?;
    let (mut i, part) = pattern_part(i)?;
    let (mut on_create, mut on_match) = (Vec::new(), Vec::new());
    loop {
        let Ok((rest, _)) = kw("ON")(i) else { break };
        let (rest, create) = alt((map(kw("CREATE"), |_| true), map(kw("MATCH"), |_| false))).parse(rest)?;
        let (rest, _) = kw("SET")(rest)?;
        let (rest, items) = set_items(rest)?;
        if create {
            on_create.extend(items);
        } else {
            on_match.extend(items);
        }
        i = rest;
    }
    Ok((i, Clause::Merge { part, on_create, on_match }))
}

pub(super) fn set_items(i: &str) -> Res<'_, Vec<SetItem>> {
    let (i, items) = comma_list(i, set_item)?;
    Ok((i, items))
}

pub(super) fn set_item(i: &str) -> Res<'_, SetItem> {
    if let Ok((rest, (target, key))) = property_target(i) {
        let (rest, _) = sym("=")(rest)?;
        let (rest, value) = expr(rest)?;
        return Ok((rest, SetItem::Property { target, key, value }));
    }
    let (i, var) = variable(i)?;
    if let Ok((rest, _)) = sym("+=")(i) {
        let (rest, value) = expr(rest)?;
        return Ok((rest, SetItem::Merge { variable: var, value }));
    }
    if let Ok((rest, _)) = sym("=")(i) {
        let (rest, value) = expr(rest)?;
        return Ok((rest, SetItem::Replace { variable: var, value }));
    }
    let (i, labels) = node_labels(i)?;
    if labels.is_empty() {
        return fail(i, "expected '=', '+=' or a label");
    }
    Ok((i, SetItem::Labels { variable: var, labels }))
}

/// `expr.key` where the expression ends in a property lookup.
pub(super) fn property_target(i: &str) -> Res<'_, (Expr, String)> {
    let (rest, e) = postfix_expr(i)?;
    match e {
        Expr::Property(target, key) => Ok((rest, (*target, key))),
        _ => fail(i, ""),
    }
}

pub(super) fn remove_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("REMOVE")(i)?;
    let item = |i| -> Res<'_, RemoveItem> {
        if let Ok((rest, (target, key))) = property_target(i) {
            return Ok((rest, RemoveItem::Property { target, key }));
        }
        let (i, var) = variable(i)?;
        let (i, labels) = node_labels(i)?;
        if labels.is_empty() {
            return fail(i, "expected a property or a label");
        }
        Ok((i, RemoveItem::Labels { variable: var, labels }))
    };
    let (i, items) = comma_list(i, item)?;
    Ok((i, Clause::Remove(items)))
}

pub(super) fn delete_clause(i: &str) -> Res<'_, Clause> {
    let (i, detach) = opt(kw("DETACH")).parse(i)?;
    let (i, _) = kw("DELETE")(i)?;
    let (i, exprs) = expr_list(i)?;
    Ok((i, Clause::Delete { detach: detach.is_some(), exprs }))
}

pub(super) fn expr_list(i: &str) -> Res<'_, Vec<Expr>> {
    let (i, out) = comma_list(i, expr)?;
    Ok((i, out))
}

pub(super) fn qualified_name(i: &str) -> Res<'_, String> {
    let (mut i, first) = symbolic_name(i)?;
    let mut name = first;
    loop {
        let Ok((rest, _)) = sym(".")(i) else { break };
        let (rest, part) = symbolic_name(rest)?;
        name.push('.');
        name.push_str(&part);
        i = rest;
    }
    Ok((i, name))
}

pub(super) fn call_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("CALL")(i)?;
    let (i, procedure) = qualified_name(i)?;
    let (i, args) = opt(|i| {
        let (i, _) = sym("(")(i)?;
        if let Ok((rest, _)) = sym(")")(i) {
            return Ok((rest, Vec::new()));
        }
        let (i, args) = expr_list(i)?;
        let (i, _) = sym(")")(i)?;
        Ok((i, args))
    })
    .parse(i)?;
    let (i, (yields, predicate)) = yield_items(i)?;
    Ok((i, Clause::Call { procedure, args, yields, predicate }))
}

/// `[YIELD * | name [AS alias], ... [WHERE predicate]]` after a procedure call.
#[allow(clippy::type_complexity)]
pub(super) fn yield_items(i: &str) -> Res<'_, (Option<Vec<(String, Option<String>)>>, Option<Expr>)> {
    let (i, yields) = opt(|i| {
        let (i, _) = kw("YIELD")(i)?;
        if let Ok((rest, _)) = sym("*")(i) {
            return Ok((rest, Vec::new()));
        }
        let item = |i| {
            let (i, name) = symbolic_name(i)?;
            let (i, alias) = opt((kw("AS"), variable)).parse(i)?;
            Ok((i, (name, alias.map(|a| a.1))))
        };
        let (i, items) = comma_list(i, item)?;
        Ok((i, items))
    })
    .parse(i)?;
    let (i, predicate) = if yields.is_some() { opt(where_clause).parse(i)? } else { (i, None) };
    Ok((i, (yields, predicate)))
}

pub(super) fn create_index_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("CREATE")(i)?;
    let (i, _) = kw("INDEX")(i)?;
    let (i, name) = opt(|i| {
        if kw("FOR")(i).is_ok() {
            return fail(i, "");
        }
        symbolic_name(i)
    })
    .parse(i)?;
    let (i, _) = opt((kw("IF"), kw("NOT"), kw("EXISTS"))).parse(i)?;
    let (i, _) = kw("FOR")(i)?;
    let (i, _) = sym("(")(i)?;
    let (i, var) = variable(i)?;
    let (i, _) = sym(":")(i)?;
    let (i, label) = symbolic_name(i)?;
    let (i, _) = sym(")")(i)?;
    let (i, _) = kw("ON")(i)?;
    let (i, _) = sym("(")(i)?;
    let (i, var2) = variable(i)?;
    if var2 != var {
        return fatal(i, format!("the index must be on a property of '{var}'"));
    }
    let (i, _) = sym(".")(i)?;
    let (i, property) = symbolic_name(i)?;
    let (i, _) = sym(")")(i)?;
    Ok((i, Clause::CreateIndex { name, label, property }))
}

/// `CREATE LINDEX name FOR (n:L) ON EACH [n.p, ...] [OPTIONS {hops: k}]` and
/// `CREATE FULLTEXT INDEX name FOR (n:L) | ()-[r:T]-() ON EACH [n.p, ...] [OPTIONS {...}]`.
pub(super) fn create_text_index_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("CREATE")(i)?;
    let (i, lindex) = alt((map(kw("LINDEX"), |_| true), map((kw("FULLTEXT"), kw("INDEX")), |_| false))).parse(i)?;
    let (i, name) = symbolic_name(i)?;
    let (i, exists) = opt((kw("IF"), kw("NOT"), kw("EXISTS"))).parse(i)?;
    let (i, _) = kw("FOR")(i)?;
    let node = |i| {
        let (i, _) = sym("(")(i)?;
        let (i, var) = variable(i)?;
        let (i, _) = sym(":")(i)?;
        let (i, label) = symbolic_name(i)?;
        let (i, _) = sym(")")(i)?;
        Ok((i, (false, var, label)))
    };
    let rel = |i| {
        let (i, _) = (sym("("), sym(")"), opt(sym("<")), sym("-"), sym("[")).parse(i)?;
        let (i, var) = variable(i)?;
        let (i, _) = sym(":")(i)?;
        let (i, label) = symbolic_name(i)?;
        let (i, _) = (sym("]"), sym("-"), opt(sym(">")), sym("("), sym(")")).parse(i)?;
        Ok((i, (true, var, label)))
    };
    let (i, (on_relationships, var, label)) = alt((node, rel)).parse(i)?;
    if lindex && on_relationships {
        return fatal(i, "an LIndex is over nodes: use FOR (n:Label)");
    }
    let (i, _) = kw("ON")(i)?;
    let (i, _) = kw("EACH")(i)?;
    let (i, _) = sym("[")(i)?;
    let prop = |i| {
        let (i, v) = variable(i)?;
        if v != var {
            return fatal(i, format!("the index must be on properties of '{var}'"));
        }
        let (i, _) = sym(".")(i)?;
        symbolic_name(i)
    };
    let (i, properties) = comma_list(i, prop)?;
    let (i, _) = sym("]")(i)?;
    let (i, options) = opt(|i| {
        let (i, _) = kw("OPTIONS")(i)?;
        match map_literal(i)? {
            (i, Expr::Map(entries)) => Ok((i, entries)),
            _ => fatal(i, "OPTIONS takes a map"),
        }
    })
    .parse(i)?;
    Ok((
        i,
        Clause::CreateTextIndex {
            name,
            lindex,
            on_relationships,
            label,
            properties,
            if_not_exists: exists.is_some(),
            options: options.unwrap_or_default(),
        },
    ))
}

/// `SHOW INDEX[ES] [YIELD ...]`: the `db.indexes` procedure.
pub(super) fn show_indexes_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("SHOW")(i)?;
    let (i, _) = alt((kw("INDEXES"), kw("INDEX"))).parse(i)?;
    let (i, (yields, predicate)) = yield_items(i)?;
    Ok((i, Clause::Call { procedure: "db.indexes".into(), args: Some(Vec::new()), yields, predicate }))
}

pub(super) fn drop_index_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("DROP")(i)?;
    let (i, _) = kw("INDEX")(i)?;
    let (i, name) = symbolic_name(i)?;
    let (i, _) = opt((kw("IF"), kw("EXISTS"))).parse(i)?;
    Ok((i, Clause::DropIndex { name }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_match_return() {
        let s = parse_statement("MATCH (a:Person {name: 'x'})-[r:KNOWS*1..2]->(b) WHERE a.age > 3 RETURN b.name AS n ORDER BY n DESC LIMIT 2").unwrap();
        assert_eq!(s.queries[0].clauses.len(), 2);
    }

    #[test]
    fn errors_carry_positions() {
        let e = parse_statement("MATCH (a RETURN a").unwrap_err();
        assert_eq!(e.position.line, 0);
        assert!(e.position.column >= 9, "{e:?}");
    }

    #[test]
    fn precedence_and_chains() {
        let s = parse_statement("RETURN 1 < 2 < 3, -2 ^ 2, NOT a = b AND c").unwrap();
        let Clause::Return(p) = &s.queries[0].clauses[0] else { panic!() };
        assert!(matches!(p.items[0].expr, Expr::Compare(_, ref ops) if ops.len() == 2));
        assert_eq!(p.items[1].text, "-2 ^ 2");
        assert!(matches!(p.items[2].expr, Expr::Binary(BinaryOp::And, _, _)));
    }
}
