//! A nom parser for the whole XPath 1.0 grammar.
//!
//! The lexical disambiguation rules of section 3.7 fall out of the grammar: after an
//! operand, `*` is multiplication and `and`/`or`/`div`/`mod` are operators; where an
//! operand is expected they are name tests. A name followed by `(` is a function call
//! unless it is a node type, and a name followed by `::` is an axis.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, multispace0};
use nom::combinator::{opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::{Err, IResult, Parser};

use super::ast::{ArithOp, Axis, CompareOp, Expr, NodeTest, PathExpr, PathStart, Step};
use crate::common::{limits, SyntaxError, TextPosition};

/// Parses a whole XPath 1.0 expression.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let err = |e: PError| SyntaxError {
        detail: "UnexpectedSyntax",
        message: e.message.unwrap_or_else(|| describe_unexpected(&text[text.len() - e.remaining..])),
        position: TextPosition::of(text, text.len() - e.remaining),
    };
    limits::start();
    match expr(text) {
        Ok((rest, res)) => {
            let rest = rest.trim_start_matches(is_xml_space);
            if rest.is_empty() {
                Ok(res)
            } else {
                Err(err(PError { remaining: rest.len(), message: Some(describe_unexpected(rest)) }))
            }
        }
        Err(Err::Error(e) | Err::Failure(e)) => Err(err(e)),
        Err(Err::Incomplete(_)) => {
            Err(err(PError { remaining: 0, message: Some("unexpected end of expression".into()) }))
        }
    }
}

fn describe_unexpected(rest: &str) -> String {
    let rest = rest.trim_start_matches(is_xml_space);
    match rest.chars().next() {
        None => "unexpected end of expression".to_string(),
        Some(_) => {
            let token: String = rest.chars().take_while(|c| !c.is_whitespace()).take(12).collect();
            format!("unexpected '{token}'")
        }
    }
}

/// The parser's error: how much input was left where it failed, and what was wrong.
/// `or` keeps the error that got furthest, which is where the user should look.
#[derive(Debug)]
struct PError {
    remaining: usize,
    message: Option<String>,
}

impl ParseError<&str> for PError {
    fn from_error_kind(input: &str, _kind: ErrorKind) -> Self {
        PError { remaining: input.len(), message: None }
    }
    fn append(_input: &str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
    fn or(self, other: Self) -> Self {
        if other.remaining < self.remaining {
            other
        } else {
            self
        }
    }
}

type PResult<'a, T> = IResult<&'a str, T, PError>;

/// A committed failure: the construct has started, so the input is wrong here.
fn failure<T>(input: &str, message: impl Into<String>) -> PResult<'_, T> {
    Err(Err::Failure(PError { remaining: input.len(), message: Some(message.into()) }))
}

/// Enters one level of recursion (see [`limits`]); a committed failure past the limit.
fn nest(input: &str) -> Result<limits::Nesting, Err<PError>> {
    limits::Nesting::enter().map_err(|m| Err::Failure(PError { remaining: input.len(), message: Some(m) }))
}

/// Turns a recoverable error into a committed one with a message.
fn cut_with<'a, T>(input: &'a str, res: PResult<'a, T>, message: &str) -> PResult<'a, T> {
    match res {
        Err(Err::Error(e)) => {
            let furthest = e.remaining.min(input.len());
            let rest_at = &input[input.len() - furthest..];
            let msg = match e.message {
                Some(m) => m,
                None => format!("{message}, found {}", describe_found(rest_at)),
            };
            Err(Err::Failure(PError { remaining: furthest, message: Some(msg) }))
        }
        other => other,
    }
}

fn describe_found(rest: &str) -> String {
    let rest = rest.trim_start_matches(is_xml_space);
    match rest.chars().next() {
        None => "end of expression".into(),
        Some(_) => format!("'{}'", rest.chars().take_while(|c| !c.is_whitespace()).take(12).collect::<String>()),
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn ws(input: &str) -> PResult<'_, &str> {
    take_while(is_xml_space)(input)
}

/// A punctuation token after optional whitespace.
fn sym<'a>(s: &'static str) -> impl Parser<&'a str, Output = &'a str, Error = PError> {
    (ws, tag(s)).map(|(_, t)| t)
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}')
}

fn ncname(input: &str) -> PResult<'_, &str> {
    let first = input.chars().next();
    if !first.is_some_and(is_name_start) {
        return Err(Err::Error(PError::from_error_kind(input, ErrorKind::Alpha)));
    }
    take_while1(is_name_char)(input)
}

/// An operator name (`and`, `or`, `div`, `mod`) as a whole word.
fn keyword<'a>(word: &'static str) -> impl Parser<&'a str, Output = &'a str, Error = PError> {
    move |input: &'a str| {
        let (rest, _) = ws(input)?;
        let (after, w) = tag(word)(rest)?;
        if after.chars().next().is_some_and(is_name_char) {
            return Err(Err::Error(PError::from_error_kind(input, ErrorKind::Tag)));
        }
        Ok((after, w))
    }
}

/// Parses `operand (op operand)*`: the first operand and each operator with the
/// operand after it. With `counted`, every operator counts toward
/// [`limits::MAX_OPERATORS`] (a left-folded chain is as deep as it is long).
#[allow(clippy::type_complexity)]
fn chain<'a, O>(
    input: &'a str,
    operand: fn(&'a str) -> PResult<'a, Expr>,
    mut op: impl Parser<&'a str, Output = O, Error = PError>,
    what: &str,
    counted: bool,
) -> PResult<'a, (Expr, Vec<(O, Expr)>)> {
    let (mut input, first) = operand(input)?;
    let mut rest_ops = Vec::new();
    loop {
        match op.parse(input) {
            Ok((rest, o)) => {
                if counted {
                    limits::operator()
                        .map_err(|m| Err::Failure(PError { remaining: input.len(), message: Some(m) }))?;
                }
                let (rest, rhs) = cut_with(rest, operand(rest), &format!("expected an expression after {what}"))?;
                rest_ops.push((o, rhs));
                input = rest;
            }
            Err(Err::Error(_)) => return Ok((input, (first, rest_ops))),
            Err(e) => return Err(e),
        }
    }
}

/// Parses `operand (op operand)*`, folding to the left.
fn left_assoc<'a, O: Copy>(
    input: &'a str,
    operand: fn(&'a str) -> PResult<'a, Expr>,
    op: impl Parser<&'a str, Output = O, Error = PError>,
    build: impl Fn(O, Expr, Expr) -> Expr,
    what: &str,
) -> PResult<'a, Expr> {
    let (input, (first, rest)) = chain(input, operand, op, what, true)?;
    Ok((input, rest.into_iter().fold(first, |acc, (o, rhs)| build(o, acc, rhs))))
}

/// Parses `operand (op operand)*` for an associative operator (`or`, `and`, `|`) as
/// a balanced tree: a thousand `or`ed tests are ten levels deep, not a thousand, and
/// the value is the same whichever way they are grouped.
fn balanced_chain<'a>(
    input: &'a str,
    operand: fn(&'a str) -> PResult<'a, Expr>,
    op: impl Parser<&'a str, Output = &'a str, Error = PError>,
    build: fn(Box<Expr>, Box<Expr>) -> Expr,
    what: &str,
) -> PResult<'a, Expr> {
    let (input, (first, rest)) = chain(input, operand, op, what, false)?;
    let operands = std::iter::once(first).chain(rest.into_iter().map(|(_, e)| e)).collect();
    Ok((input, balance(operands, build)))
}

fn balance(mut operands: Vec<Expr>, build: fn(Box<Expr>, Box<Expr>) -> Expr) -> Expr {
    if operands.len() == 1 {
        return operands.pop().unwrap_or(Expr::Number(f64::NAN));
    }
    let right = operands.split_off(operands.len().div_ceil(2));
    build(Box::new(balance(operands, build)), Box::new(balance(right, build)))
}

fn expr(input: &str) -> PResult<'_, Expr> {
    let _level = nest(input)?;
    balanced_chain(input, and_expr, keyword("or"), Expr::Or, "'or'")
}

fn and_expr(input: &str) -> PResult<'_, Expr> {
    balanced_chain(input, equality_expr, keyword("and"), Expr::And, "'and'")
}

fn equality_expr(input: &str) -> PResult<'_, Expr> {
    let op = alt((sym("!=").map(|_| CompareOp::Ne), sym("=").map(|_| CompareOp::Eq)));
    left_assoc(input, relational_expr, op, |o, a, b| Expr::Compare(o, Box::new(a), Box::new(b)), "a comparison")
}

fn relational_expr(input: &str) -> PResult<'_, Expr> {
    let op = alt((
        sym("<=").map(|_| CompareOp::Le),
        sym("<").map(|_| CompareOp::Lt),
        sym(">=").map(|_| CompareOp::Ge),
        sym(">").map(|_| CompareOp::Gt),
    ));
    left_assoc(input, additive_expr, op, |o, a, b| Expr::Compare(o, Box::new(a), Box::new(b)), "a comparison")
}

fn additive_expr(input: &str) -> PResult<'_, Expr> {
    let op = alt((sym("+").map(|_| ArithOp::Add), sym("-").map(|_| ArithOp::Sub)));
    left_assoc(input, multiplicative_expr, op, |o, a, b| Expr::Arith(o, Box::new(a), Box::new(b)), "an operator")
}

fn multiplicative_expr(input: &str) -> PResult<'_, Expr> {
    let op = alt((
        sym("*").map(|_| ArithOp::Mul),
        keyword("div").map(|_| ArithOp::Div),
        keyword("mod").map(|_| ArithOp::Mod),
    ));
    left_assoc(input, unary_expr, op, |o, a, b| Expr::Arith(o, Box::new(a), Box::new(b)), "an operator")
}

fn unary_expr(input: &str) -> PResult<'_, Expr> {
    if let Ok((rest, _)) = sym("-").parse(input) {
        let _level = nest(input)?;
        let (rest, operand) = cut_with(rest, unary_expr(rest), "expected an expression after '-'")?;
        return Ok((rest, Expr::Negate(Box::new(operand))));
    }
    union_expr(input)
}

fn union_expr(input: &str) -> PResult<'_, Expr> {
    balanced_chain(input, path_expr, sym("|"), Expr::Union, "'|'")
}

/// What follows in the input, for choosing between a filter expression and a path.
fn starts_filter_expr(input: &str) -> bool {
    let Some(c) = input.chars().next() else { return false };
    if matches!(c, '$' | '(' | '"' | '\'') || c.is_ascii_digit() {
        return true;
    }
    if c == '.' {
        return input[1..].starts_with(|d: char| d.is_ascii_digit());
    }
    // A function call: a QName followed by '(' that is not a node type.
    if let Ok((rest, name)) = qname(input) {
        let after = rest.trim_start_matches(is_xml_space);
        return after.starts_with('(') && !matches!(name, "node" | "text" | "comment" | "processing-instruction");
    }
    false
}

fn path_expr(input: &str) -> PResult<'_, Expr> {
    let (input, _) = ws(input)?;
    if starts_filter_expr(input) {
        let (rest, primary) = primary_expr(input)?;
        let (rest, predicates) = predicates(rest)?;
        let filter = if predicates.is_empty() { primary } else { Expr::Filter(Box::new(primary), predicates) };
        let mut steps = Vec::new();
        let rest = path_tail(rest, &mut steps)?;
        if steps.is_empty() {
            return Ok((rest, filter));
        }
        return Ok((rest, Expr::Path(PathExpr { start: PathStart::Expr(Box::new(filter)), steps })));
    }
    location_path(input)
}

/// `('/' | '//') Step` repeated.
fn path_tail<'a>(mut input: &'a str, steps: &mut Vec<Step>) -> Result<&'a str, Err<PError>> {
    loop {
        if let Ok((rest, _)) = sym("//").parse(input) {
            steps.push(descendant_or_self());
            let (rest, s) = cut_with(rest, step(rest), "expected a location step after '//'")?;
            steps.push(s);
            input = rest;
        } else if let Ok((rest, _)) = sym("/").parse(input) {
            let (rest, s) = cut_with(rest, step(rest), "expected a location step after '/'")?;
            steps.push(s);
            input = rest;
        } else {
            return Ok(input);
        }
    }
}

fn descendant_or_self() -> Step {
    Step { axis: Axis::DescendantOrSelf, test: NodeTest::Node, predicates: Vec::new() }
}

fn location_path(input: &str) -> PResult<'_, Expr> {
    let mut steps = Vec::new();
    if let Ok((rest, _)) = tag::<_, _, PError>("//")(input) {
        steps.push(descendant_or_self());
        let (rest, s) = cut_with(rest, step(rest), "expected a location step after '//'")?;
        steps.push(s);
        let rest = path_tail(rest, &mut steps)?;
        return Ok((rest, Expr::Path(PathExpr { start: PathStart::Root, steps })));
    }
    if let Ok((rest, _)) = tag::<_, _, PError>("/")(input) {
        // '/' alone is the root; a step may follow.
        return match step(rest) {
            Ok((rest, s)) => {
                steps.push(s);
                let rest = path_tail(rest, &mut steps)?;
                Ok((rest, Expr::Path(PathExpr { start: PathStart::Root, steps })))
            }
            Err(Err::Error(_)) => Ok((rest, Expr::Path(PathExpr { start: PathStart::Root, steps }))),
            Err(e) => Err(e),
        };
    }
    let (rest, s) = step(input)?;
    steps.push(s);
    let rest = path_tail(rest, &mut steps)?;
    Ok((rest, Expr::Path(PathExpr { start: PathStart::Context, steps })))
}

fn step(input: &str) -> PResult<'_, Step> {
    let (input, _) = ws(input)?;
    if let Ok((rest, _)) = tag::<_, _, PError>("..")(input) {
        return Ok((rest, Step { axis: Axis::Parent, test: NodeTest::Node, predicates: Vec::new() }));
    }
    if let Ok((rest, _)) = tag::<_, _, PError>(".")(input) {
        return Ok((rest, Step { axis: Axis::SelfAxis, test: NodeTest::Node, predicates: Vec::new() }));
    }
    let (input, axis) = axis_specifier(input)?;
    let (input, test) = match axis {
        Some(_) => {
            let res = node_test(input);
            cut_with(input, res, "expected a node test")?
        }
        None => node_test(input)?,
    };
    let (input, predicates) = predicates(input)?;
    Ok((input, Step { axis: axis.unwrap_or(Axis::Child), test, predicates }))
}

/// `name::`, `@`, or nothing (`None`, meaning child or attribute by default).
fn axis_specifier(input: &str) -> PResult<'_, Option<Axis>> {
    if let Ok((rest, _)) = tag::<_, _, PError>("@")(input) {
        return Ok((rest, Some(Axis::Attribute)));
    }
    if let Ok((rest, name)) = ncname(input) {
        if let Ok((after, _)) = sym("::").parse(rest) {
            return match Axis::from_name(name) {
                Some(axis) => Ok((after, Some(axis))),
                None => failure(input, format!("unknown axis '{name}'")),
            };
        }
    }
    Ok((input, None))
}

fn qname(input: &str) -> PResult<'_, &str> {
    recognize((ncname, opt((char(':'), ncname)))).parse(input)
}

fn node_test(input: &str) -> PResult<'_, NodeTest> {
    let (input, _) = ws(input)?;
    if let Ok((rest, _)) = tag::<_, _, PError>("*")(input) {
        return Ok((rest, NodeTest::AnyName { prefix: None }));
    }
    let (rest, prefix) = ncname(input)?;
    if let Ok((after, _)) = tag::<_, _, PError>(":*")(rest) {
        return Ok((after, NodeTest::AnyName { prefix: Some(prefix.to_string()) }));
    }
    if let Ok((after, local)) = (char(':'), ncname).map(|(_, l)| l).parse(rest) {
        return Ok((after, NodeTest::Name { prefix: Some(prefix.to_string()), local: local.to_string() }));
    }
    // A node type when followed by '('.
    if let Ok((after, _)) = sym("(").parse(rest) {
        let res = match prefix {
            "node" => NodeTest::Node,
            "text" => NodeTest::Text,
            "comment" => NodeTest::Comment,
            "processing-instruction" => {
                let (after, target) = opt((ws, literal).map(|(_, l)| l)).parse(after)?;
                let (after, _) = cut_with(after, sym(")").parse(after), "expected ')'")?;
                return Ok((after, NodeTest::ProcessingInstruction(target)));
            }
            _ => return failure(input, format!("'{prefix}' is not a node type")),
        };
        let (after, _) = cut_with(after, sym(")").parse(after), "expected ')'")?;
        return Ok((after, res));
    }
    Ok((rest, NodeTest::Name { prefix: None, local: prefix.to_string() }))
}

fn predicates(mut input: &str) -> PResult<'_, Vec<Expr>> {
    let mut res = Vec::new();
    while let Ok((rest, _)) = sym("[").parse(input) {
        let (rest, e) = cut_with(rest, expr(rest), "expected an expression in the predicate")?;
        let (rest, _) = cut_with(rest, sym("]").parse(rest), "expected ']'")?;
        res.push(e);
        input = rest;
    }
    Ok((input, res))
}

fn literal(input: &str) -> PResult<'_, String> {
    let quote = match input.chars().next() {
        Some(q @ ('"' | '\'')) => q,
        _ => return Err(Err::Error(PError::from_error_kind(input, ErrorKind::Char))),
    };
    let body = &input[1..];
    match body.find(quote) {
        Some(end) => Ok((&body[end + 1..], body[..end].to_string())),
        None => failure(input, "unterminated string literal"),
    }
}

/// `Number ::= Digits ('.' Digits?)? | '.' Digits`. Scanned by hand: nom 8's `digit0`
/// inside `opt(...)` stops short at the end of input, which read a final `1.5` as `1`.
fn number(input: &str) -> PResult<'_, f64> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let int_len = digits(input);
    let len = match input[int_len..].strip_prefix('.') {
        Some(frac) if int_len > 0 || digits(frac) > 0 => int_len + 1 + digits(frac),
        _ => int_len,
    };
    if len == 0 {
        return Err(Err::Error(PError::from_error_kind(input, ErrorKind::Digit)));
    }
    let (text, rest) = input.split_at(len);
    match text.parse::<f64>() {
        Ok(n) => Ok((rest, n)),
        Err(_) => failure(input, "invalid number"),
    }
}

fn primary_expr(input: &str) -> PResult<'_, Expr> {
    let (input, _) = ws(input)?;
    if let Ok((rest, _)) = tag::<_, _, PError>("$")(input) {
        let (rest, name) = cut_with(rest, qname(rest), "expected a variable name after '$'")?;
        return Ok((rest, Expr::Variable(name.to_string())));
    }
    if let Ok((rest, _)) = tag::<_, _, PError>("(")(input) {
        let (rest, e) = cut_with(rest, expr(rest), "expected an expression after '('")?;
        let (rest, _) = cut_with(rest, sym(")").parse(rest), "expected ')'")?;
        return Ok((rest, e));
    }
    if input.starts_with(['"', '\'']) {
        let (rest, s) = literal(input)?;
        return Ok((rest, Expr::Literal(s)));
    }
    if let Ok((rest, n)) = number(input) {
        return Ok((rest, Expr::Number(n)));
    }
    let (rest, name) = qname(input)?;
    let (rest, _) = sym("(").parse(rest)?;
    let (mut rest, _) = multispace0(rest)?;
    let mut args = Vec::new();
    if let Ok((after, _)) = sym(")").parse(rest) {
        return Ok((after, Expr::Call(name.to_string(), args)));
    }
    loop {
        let (after, arg) = cut_with(rest, expr(rest), "expected a function argument")?;
        args.push(arg);
        if let Ok((after, _)) = sym(",").parse(after) {
            rest = after;
            continue;
        }
        let (after, _) = cut_with(after, sym(")").parse(after), "expected ',' or ')'")?;
        return Ok((after, Expr::Call(name.to_string(), args)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        let res = match parse(input) {
            Ok(e) => format!("{e:?}"),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(res, expected, "input: {input}");
    }

    #[test]
    fn precedence() {
        check("1 + 2 * 3", "Arith(Add, Number(1.0), Arith(Mul, Number(2.0), Number(3.0)))");
        check("- - 3", "Negate(Negate(Number(3.0)))");
        check("1 < 2 = true()", "Compare(Eq, Compare(Lt, Number(1.0), Number(2.0)), Call(\"true\", []))");
        check("a or b and c", "Or(Path(PathExpr { start: Context, steps: [Step { axis: Child, test: Name { prefix: None, local: \"a\" }, predicates: [] }] }), And(Path(PathExpr { start: Context, steps: [Step { axis: Child, test: Name { prefix: None, local: \"b\" }, predicates: [] }] }), Path(PathExpr { start: Context, steps: [Step { axis: Child, test: Name { prefix: None, local: \"c\" }, predicates: [] }] })))");
    }

    #[test]
    fn operator_names_as_name_tests() {
        check("and", "Path(PathExpr { start: Context, steps: [Step { axis: Child, test: Name { prefix: None, local: \"and\" }, predicates: [] }] })");
        check("* * *", "Arith(Mul, Path(PathExpr { start: Context, steps: [Step { axis: Child, test: AnyName { prefix: None }, predicates: [] }] }), Path(PathExpr { start: Context, steps: [Step { axis: Child, test: AnyName { prefix: None }, predicates: [] }] }))");
        check("div div div", "Arith(Div, Path(PathExpr { start: Context, steps: [Step { axis: Child, test: Name { prefix: None, local: \"div\" }, predicates: [] }] }), Path(PathExpr { start: Context, steps: [Step { axis: Child, test: Name { prefix: None, local: \"div\" }, predicates: [] }] }))");
    }

    #[test]
    fn abbreviations() {
        check("//a/../@b", "Path(PathExpr { start: Root, steps: [Step { axis: DescendantOrSelf, test: Node, predicates: [] }, Step { axis: Child, test: Name { prefix: None, local: \"a\" }, predicates: [] }, Step { axis: Parent, test: Node, predicates: [] }, Step { axis: Attribute, test: Name { prefix: None, local: \"b\" }, predicates: [] }] })");
        check("/", "Path(PathExpr { start: Root, steps: [] })");
        check("(//a)[1]/b", "Path(PathExpr { start: Expr(Filter(Path(PathExpr { start: Root, steps: [Step { axis: DescendantOrSelf, test: Node, predicates: [] }, Step { axis: Child, test: Name { prefix: None, local: \"a\" }, predicates: [] }] }), [Number(1.0)])), steps: [Step { axis: Child, test: Name { prefix: None, local: \"b\" }, predicates: [] }] })");
    }

    #[test]
    fn errors_have_positions() {
        check("//a[", "error: expected an expression in the predicate, found end of expression at line 1, column 5");
        check("1 +", "error: expected an expression after an operator, found end of expression at line 1, column 4");
        check("1e5", "error: unexpected 'e5' at line 1, column 2");
        check("ancestor::a::b", "error: unexpected '::b' at line 1, column 12");
        check("'abc", "error: unterminated string literal at line 1, column 1");
        check("foo::x", "error: unknown axis 'foo' at line 1, column 1");
        check("", "error: unexpected end of expression at line 1, column 1");
        check("//a[@]", "error: expected a node test, found ']' at line 1, column 6");
    }
}
