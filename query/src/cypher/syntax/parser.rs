//! A nom parser for Cypher. Errors point at the furthest position any alternative
//! reached, which is where the text stops making sense.

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{char, digit1, hex_digit1, oct_digit1};
use nom::combinator::{map, opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

use super::ast::*;
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

type Res<'a, T> = IResult<&'a str, T, PError>;

fn fail<T>(input: &str, message: impl Into<String>) -> Res<'_, T> {
    Err(nom::Err::Error(PError { rest: input.len(), message: message.into(), fatal: false, detail: UNEXPECTED }))
}

fn fatal<T>(input: &str, message: impl Into<String>) -> Res<'_, T> {
    fatal_as(input, UNEXPECTED, message)
}

/// A fatal error with its own detail code (a literal that is well-formed but wrong).
fn fatal_as<'a, T>(input: &'a str, detail: &'static str, message: impl Into<String>) -> Res<'a, T> {
    Err(nom::Err::Failure(PError { rest: input.len(), message: message.into(), fatal: true, detail }))
}

const UNEXPECTED: &str = "UnexpectedSyntax";

/// Enters one level of recursion (see [`limits`]); a fatal error past the limit.
fn nest(input: &str) -> Result<limits::Nesting, nom::Err<PError>> {
    limits::Nesting::enter()
        .map_err(|message| nom::Err::Failure(PError { rest: input.len(), message, fatal: true, detail: UNEXPECTED }))
}

/// Counts one operator wrapped around the tree so far (see [`limits`]).
fn count_operator(input: &str) -> Result<(), nom::Err<PError>> {
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

fn ws(mut i: &str) -> Res<'_, ()> {
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

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A keyword (any case) not followed by an identifier character, with whitespace before.
fn kw<'a>(word: &'static str) -> impl Fn(&'a str) -> Res<'a, ()> {
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
fn sym<'a>(s: &'static str) -> impl Fn(&'a str) -> Res<'a, ()> {
    move |i: &'a str| {
        let (i, _) = ws(i)?;
        let (i, _) = tag(s).parse(i)?;
        Ok((i, ()))
    }
}

/// One or more `item`s separated by commas.
fn comma_list<'a, T>(i: &'a str, item: impl Fn(&'a str) -> Res<'a, T>) -> Res<'a, Vec<T>> {
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
fn symbolic_name(i: &str) -> Res<'_, String> {
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
fn variable(i: &str) -> Res<'_, String> {
    let (start, _) = ws(i)?;
    let (rest, name) = symbolic_name(i)?;
    if !start.starts_with('`') && RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
        return fail(start, "");
    }
    Ok((rest, name))
}

fn string_literal(i: &str) -> Res<'_, String> {
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
enum NumberToken {
    Literal(Literal),
    MinMagnitude,
}

const OVERFLOW: &str = "integer overflow: the literal does not fit in 64 bits";

fn postfix_follows(i: &str) -> bool {
    let t = i.trim_start();
    t.starts_with('.') || t.starts_with('[') || t.starts_with('^')
}

fn parse_int_radix(digits: &str, radix: u32) -> Option<NumberToken> {
    match u64::from_str_radix(digits, radix) {
        Ok(v) if v <= i64::MAX as u64 => Some(NumberToken::Literal(Literal::Int(v as i64))),
        Ok(v) if v == 1u64 << 63 => Some(NumberToken::MinMagnitude),
        _ => None,
    }
}

/// A number literal where an operand is expected; 2^63 alone overflows.
fn number_literal(i: &str) -> Res<'_, Literal> {
    let (start, _) = ws(i)?;
    match number_token(i)? {
        (rest, NumberToken::Literal(l)) => Ok((rest, l)),
        (_, NumberToken::MinMagnitude) => fatal_as(start, "IntegerOverflow", OVERFLOW),
    }
}

fn number_token(i: &str) -> Res<'_, NumberToken> {
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

fn statement(i: &str) -> Res<'_, Statement> {
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

fn single_query(mut i: &str) -> Res<'_, SingleQuery> {
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

fn starts_with_union(i: &str) -> bool {
    kw("UNION")(i).is_ok()
}

fn clause(i: &str) -> Res<'_, Clause> {
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

fn match_clause(i: &str) -> Res<'_, Clause> {
    let (i, optional) = opt(kw("OPTIONAL")).parse(i)?;
    let (i, _) = kw("MATCH")(i)?;
    let (i, pattern) = pattern(i)?;
    let (i, predicate) = opt(where_clause).parse(i)?;
    Ok((i, Clause::Match { optional: optional.is_some(), pattern, predicate }))
}

fn where_clause(i: &str) -> Res<'_, Expr> {
    let (i, _) = kw("WHERE")(i)?;
    expr(i)
}

fn unwind_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("UNWIND")(i)?;
    let (i, e) = expr(i)?;
    let (i, _) = kw("AS")(i)?;
    let (i, alias) = variable(i)?;
    Ok((i, Clause::Unwind { expr: e, alias }))
}

fn projection_body<'a>(with: bool) -> impl Fn(&'a str) -> Res<'a, Projection> {
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

fn projection_item(i: &str) -> Res<'_, ProjectionItem> {
    let (i, _) = ws(i)?;
    let start = i;
    let (i, e) = expr(i)?;
    let text = start[..start.len() - i.len()].trim_end().to_string();
    let (i, alias) = opt((kw("AS"), variable)).parse(i)?;
    Ok((i, ProjectionItem { expr: e, alias: alias.map(|a| a.1), text }))
}

fn sort_items(i: &str) -> Res<'_, Vec<SortItem>> {
    let (i, items) = comma_list(i, sort_item)?;
    Ok((i, items))
}

fn sort_item(i: &str) -> Res<'_, SortItem> {
    let (i, e) = expr(i)?;
    let (i, dir) = opt(alt((
        map(alt((kw("DESCENDING"), kw("DESC"))), |_| false),
        map(alt((kw("ASCENDING"), kw("ASC"))), |_| true),
    )))
    .parse(i)?;
    Ok((i, SortItem { expr: e, ascending: dir.unwrap_or(true) }))
}

fn merge_clause(i: &str) -> Res<'_, Clause> {
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

fn set_items(i: &str) -> Res<'_, Vec<SetItem>> {
    let (i, items) = comma_list(i, set_item)?;
    Ok((i, items))
}

fn set_item(i: &str) -> Res<'_, SetItem> {
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
fn property_target(i: &str) -> Res<'_, (Expr, String)> {
    let (rest, e) = postfix_expr(i)?;
    match e {
        Expr::Property(target, key) => Ok((rest, (*target, key))),
        _ => fail(i, ""),
    }
}

fn remove_clause(i: &str) -> Res<'_, Clause> {
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

fn delete_clause(i: &str) -> Res<'_, Clause> {
    let (i, detach) = opt(kw("DETACH")).parse(i)?;
    let (i, _) = kw("DELETE")(i)?;
    let (i, exprs) = expr_list(i)?;
    Ok((i, Clause::Delete { detach: detach.is_some(), exprs }))
}

fn expr_list(i: &str) -> Res<'_, Vec<Expr>> {
    let (i, out) = comma_list(i, expr)?;
    Ok((i, out))
}

fn qualified_name(i: &str) -> Res<'_, String> {
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

fn call_clause(i: &str) -> Res<'_, Clause> {
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
fn yield_items(i: &str) -> Res<'_, (Option<Vec<(String, Option<String>)>>, Option<Expr>)> {
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

fn create_index_clause(i: &str) -> Res<'_, Clause> {
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
fn create_text_index_clause(i: &str) -> Res<'_, Clause> {
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
fn show_indexes_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("SHOW")(i)?;
    let (i, _) = alt((kw("INDEXES"), kw("INDEX"))).parse(i)?;
    let (i, (yields, predicate)) = yield_items(i)?;
    Ok((i, Clause::Call { procedure: "db.indexes".into(), args: Some(Vec::new()), yields, predicate }))
}

fn drop_index_clause(i: &str) -> Res<'_, Clause> {
    let (i, _) = kw("DROP")(i)?;
    let (i, _) = kw("INDEX")(i)?;
    let (i, name) = symbolic_name(i)?;
    let (i, _) = opt((kw("IF"), kw("EXISTS"))).parse(i)?;
    Ok((i, Clause::DropIndex { name }))
}

// ---------------------------------------------------------------------------
// Patterns

fn pattern(i: &str) -> Res<'_, Vec<PatternPart>> {
    let (i, parts) = comma_list(i, pattern_part)?;
    Ok((i, parts))
}

fn pattern_part(i: &str) -> Res<'_, PatternPart> {
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

fn pattern_element(i: &str) -> Res<'_, PatternElement> {
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

fn node_labels(mut i: &str) -> Res<'_, Vec<String>> {
    let mut labels = Vec::new();
    loop {
        let Ok((rest, _)) = sym(":")(i) else { break };
        let (rest, l) = symbolic_name(rest)?;
        labels.push(l);
        i = rest;
    }
    Ok((i, labels))
}

fn properties(i: &str) -> Res<'_, Expr> {
    let (i, _) = ws(i)?;
    alt((map_literal, parameter)).parse(i)
}

fn node_pattern(i: &str) -> Res<'_, NodePattern> {
    let (i, _) = sym("(")(i)?;
    let (i, var) = opt(variable).parse(i)?;
    let (i, labels) = node_labels(i)?;
    let (i, props) = opt(properties).parse(i)?;
    let (i, _) = sym(")")(i)?;
    Ok((i, NodePattern { variable: var, labels, properties: props.map(Box::new) }))
}

fn rel_pattern(i: &str) -> Res<'_, RelPattern> {
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

fn rel_detail(i: &str) -> Res<'_, RelPattern> {
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
/// [`limits::MAX_OPERATORS`]: a chain is as deep as it is long.
fn left_assoc<'a>(i: &'a str, next: fn(&'a str) -> Res<'a, Expr>, ops: &[(&'static str, BinaryOp)]) -> Res<'a, Expr> {
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
fn balanced_chain<'a>(
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

fn balance(op: BinaryOp, mut operands: Vec<Expr>) -> Expr {
    if operands.len() == 1 {
        return operands.pop().unwrap_or(Expr::Literal(Literal::Null));
    }
    let right = operands.split_off(operands.len().div_ceil(2));
    Expr::Binary(op, Box::new(balance(op, operands)), Box::new(balance(op, right)))
}

fn or_expr(i: &str) -> Res<'_, Expr> {
    balanced_chain(i, xor_expr, "OR", BinaryOp::Or)
}

fn xor_expr(i: &str) -> Res<'_, Expr> {
    balanced_chain(i, and_expr, "XOR", BinaryOp::Xor)
}

fn and_expr(i: &str) -> Res<'_, Expr> {
    balanced_chain(i, not_expr, "AND", BinaryOp::And)
}

fn not_expr(i: &str) -> Res<'_, Expr> {
    if let Ok((rest, _)) = kw("NOT")(i) {
        let _level = nest(i)?;
        let (rest, e) = not_expr(rest)?;
        return Ok((rest, Expr::Unary(UnaryOp::Not, Box::new(e))));
    }
    comparison(i)
}

fn compare_op(i: &str) -> Res<'_, CompareOp> {
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

fn comparison(i: &str) -> Res<'_, Expr> {
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

fn predicate_expr(i: &str) -> Res<'_, Expr> {
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

fn add_sub(i: &str) -> Res<'_, Expr> {
    left_assoc(i, mul_div, &[("+", BinaryOp::Add), ("-", BinaryOp::Sub)])
}

fn mul_div(i: &str) -> Res<'_, Expr> {
    let ops = [("*", BinaryOp::Mul), ("/", BinaryOp::Div), ("%", BinaryOp::Mod)];
    left_assoc(i, power, &ops)
}

fn power(i: &str) -> Res<'_, Expr> {
    left_assoc(i, unary, &[("^", BinaryOp::Pow)])
}

fn unary(i: &str) -> Res<'_, Expr> {
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

fn postfix_expr(i: &str) -> Res<'_, Expr> {
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

fn atom(i: &str) -> Res<'_, Expr> {
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

fn parameter(i: &str) -> Res<'_, Expr> {
    let (i, _) = sym("$")(i)?;
    let (i, name) = alt((symbolic_name, map(digit1, |d: &str| d.to_string()))).parse(i)?;
    Ok((i, Expr::Parameter(name)))
}

fn parenthesized(i: &str) -> Res<'_, Expr> {
    let (i, _) = sym("(")(i)?;
    let (i, e) = expr(i)?;
    let (i, _) = sym(")")(i)?;
    Ok((i, e))
}

fn count_star(i: &str) -> Res<'_, Expr> {
    let (i, _) = kw("COUNT")(i)?;
    let (i, _) = sym("(")(i)?;
    let (i, _) = sym("*")(i)?;
    let (i, _) = sym(")")(i)?;
    Ok((i, Expr::CountStar))
}

fn case_expr(i: &str) -> Res<'_, Expr> {
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

fn list_literal(i: &str) -> Res<'_, Expr> {
    let (i, _) = sym("[")(i)?;
    if let Ok((rest, _)) = sym("]")(i) {
        return Ok((rest, Expr::List(Vec::new())));
    }
    let (i, items) = expr_list(i)?;
    let (i, _) = sym("]")(i)?;
    Ok((i, Expr::List(items)))
}

fn map_literal(i: &str) -> Res<'_, Expr> {
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

fn list_comprehension(i: &str) -> Res<'_, Expr> {
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

fn pattern_comprehension(i: &str) -> Res<'_, Expr> {
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
fn relationships_pattern(i: &str) -> Res<'_, PatternElement> {
    let (i, el) = pattern_element(i)?;
    if el.chain.is_empty() {
        return fail(i, "");
    }
    Ok((i, el))
}

fn quantified(i: &str) -> Res<'_, Expr> {
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

fn reduce_expr(i: &str) -> Res<'_, Expr> {
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

fn exists_subquery(i: &str) -> Res<'_, Expr> {
    let (i, _) = kw("EXISTS")(i)?;
    let (i, _) = sym("{")(i)?;
    let (i, _) = opt(kw("MATCH")).parse(i)?;
    let (i, pattern) = pattern(i)?;
    let (i, predicate) = opt(where_clause).parse(i)?;
    let (i, _) = sym("}")(i)?;
    Ok((i, Expr::Exists { pattern, predicate: predicate.map(Box::new) }))
}

fn function_call(i: &str) -> Res<'_, Expr> {
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
