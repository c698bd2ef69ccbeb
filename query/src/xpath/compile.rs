//! XPath AST -> logical plan: functions resolved and arity-checked, namespace prefixes
//! bound to URIs, variables substituted, and the `//name` shortcut applied.
//!
//! This is the plan boundary: executors (today the navigational one in
//! `exec::navigate`) run an [`XPathPlan`] and never see the AST.

use std::collections::HashMap;

use crate::xpath::syntax::ast::{self, ArithOp, Axis, CompareOp, NodeTest, PathStart};
use crate::{Error, Result};

/// Bindings a query is compiled with.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Namespace prefix -> URI.
    pub namespaces: HashMap<String, String>,
    /// Variable name -> string value.
    pub variables: HashMap<String, String>,
}

/// A compiled expression, its node tests numbered so that an executor can resolve each
/// once against a collection's name table.
#[derive(Debug, Clone)]
pub struct XPathPlan {
    pub root: Expr,
    /// Every node test of the plan; `Step::test` indexes this.
    pub tests: Vec<Test>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Compare(CompareOp, Box<Expr>, Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Negate(Box<Expr>),
    Union(Box<Expr>, Box<Expr>),
    Filter(Box<Expr>, Vec<Expr>),
    /// `id` is unique in the process (see [`next_path_id`]): executors key what they
    /// cache per path by it, across every plan they evaluate. An address could be
    /// reused by another expression once the first is freed; an id cannot.
    Path {
        id: usize,
        start: PathFrom,
        steps: Vec<Step>,
    },
    Literal(String),
    Number(f64),
    Call(Function, Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PathFrom {
    Root,
    Context,
    Expr(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub axis: Axis,
    /// Index into [`XPathPlan::tests`].
    pub test: usize,
    pub predicates: Vec<Expr>,
    /// True when no predicate depends on the context position or size, so that the
    /// step may be evaluated set-at-a-time.
    pub position_free: bool,
}

/// A node test with its prefix resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Test {
    AnyNode,
    Text,
    Comment,
    ProcessingInstruction(Option<String>),
    /// Any node of the axis's principal type (`*`).
    AnyName,
    /// `p:*`
    Namespace(String),
    /// A name, with the namespace URI its prefix is bound to (empty for no prefix).
    Name {
        uri: String,
        local: String,
    },
}

/// The core function library ([section 4](https://www.w3.org/TR/xpath/#corelib)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Last,
    Position,
    Count,
    Id,
    LocalName,
    NamespaceUri,
    Name,
    String,
    Concat,
    StartsWith,
    Contains,
    SubstringBefore,
    SubstringAfter,
    Substring,
    StringLength,
    NormalizeSpace,
    Translate,
    Boolean,
    Not,
    True,
    False,
    Lang,
    Number,
    Sum,
    Floor,
    Ceiling,
    Round,
}

impl Function {
    /// The function's name and its minimum and maximum number of arguments.
    fn lookup(name: &str) -> Option<(Function, usize, usize)> {
        use Function::*;
        Some(match name {
            "last" => (Last, 0, 0),
            "position" => (Position, 0, 0),
            "count" => (Count, 1, 1),
            "id" => (Id, 1, 1),
            "local-name" => (LocalName, 0, 1),
            "namespace-uri" => (NamespaceUri, 0, 1),
            "name" => (Name, 0, 1),
            "string" => (String, 0, 1),
            "concat" => (Concat, 2, usize::MAX),
            "starts-with" => (StartsWith, 2, 2),
            "contains" => (Contains, 2, 2),
            "substring-before" => (SubstringBefore, 2, 2),
            "substring-after" => (SubstringAfter, 2, 2),
            "substring" => (Substring, 2, 3),
            "string-length" => (StringLength, 0, 1),
            "normalize-space" => (NormalizeSpace, 0, 1),
            "translate" => (Translate, 3, 3),
            "boolean" => (Boolean, 1, 1),
            "not" => (Not, 1, 1),
            "true" => (True, 0, 0),
            "false" => (False, 0, 0),
            "lang" => (Lang, 1, 1),
            "number" => (Number, 0, 1),
            "sum" => (Sum, 1, 1),
            "floor" => (Floor, 1, 1),
            "ceiling" => (Ceiling, 1, 1),
            "round" => (Round, 1, 1),
            _ => return None,
        })
    }

    /// True for functions whose result is always a boolean.
    fn returns_boolean(self) -> bool {
        use Function::*;
        matches!(self, StartsWith | Contains | Boolean | Not | True | False | Lang)
    }
}

/// Compiles a parsed expression.
pub fn compile(expr: &ast::Expr, options: &CompileOptions) -> Result<XPathPlan> {
    let mut compiler = Compiler { options, tests: Vec::new(), test_index: HashMap::new() };
    let root = compiler.expr(expr)?;
    Ok(XPathPlan { root, tests: compiler.tests })
}

struct Compiler<'a> {
    options: &'a CompileOptions,
    tests: Vec<Test>,
    test_index: HashMap<Test, usize>,
}

/// A fresh path id; 2^64 compiled paths would be needed to reuse one.
fn next_path_id() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Compiler<'_> {
    fn expr(&mut self, e: &ast::Expr) -> Result<Expr> {
        let b = |c: &mut Self, e: &ast::Expr| c.expr(e).map(Box::new);
        Ok(match e {
            ast::Expr::Or(x, y) => Expr::Or(b(self, x)?, b(self, y)?),
            ast::Expr::And(x, y) => Expr::And(b(self, x)?, b(self, y)?),
            ast::Expr::Compare(op, x, y) => Expr::Compare(*op, b(self, x)?, b(self, y)?),
            ast::Expr::Arith(op, x, y) => Expr::Arith(*op, b(self, x)?, b(self, y)?),
            ast::Expr::Negate(x) => Expr::Negate(b(self, x)?),
            ast::Expr::Union(x, y) => Expr::Union(b(self, x)?, b(self, y)?),
            ast::Expr::Filter(x, preds) => {
                Expr::Filter(b(self, x)?, preds.iter().map(|p| self.expr(p)).collect::<Result<_>>()?)
            }
            ast::Expr::Path(path) => self.path(path)?,
            ast::Expr::Literal(s) => Expr::Literal(s.clone()),
            ast::Expr::Number(n) => Expr::Number(*n),
            ast::Expr::Variable(name) => match self.options.variables.get(name) {
                Some(v) => Expr::Literal(v.clone()),
                None => return Err(Error::Static(format!("undefined variable ${name}"))),
            },
            ast::Expr::Call(name, args) => {
                let (function, min, max) =
                    Function::lookup(name).ok_or_else(|| Error::Static(format!("unknown function {name}()")))?;
                if args.len() < min || args.len() > max {
                    let expected = match (min, max) {
                        (a, b) if a == b => format!("{a}"),
                        (a, usize::MAX) => format!("at least {a}"),
                        (a, b) => format!("{a} to {b}"),
                    };
                    return Err(Error::Static(format!(
                        "{name}() takes {expected} argument{}, not {}",
                        if expected == "1" { "" } else { "s" },
                        args.len()
                    )));
                }
                Expr::Call(function, args.iter().map(|a| self.expr(a)).collect::<Result<_>>()?)
            }
        })
    }

    fn path(&mut self, path: &ast::PathExpr) -> Result<Expr> {
        let start = match &path.start {
            PathStart::Root => PathFrom::Root,
            PathStart::Context => PathFrom::Context,
            PathStart::Expr(e) => PathFrom::Expr(Box::new(self.expr(e)?)),
        };
        let mut steps: Vec<Step> = Vec::with_capacity(path.steps.len());
        for s in &path.steps {
            let test = self.test(&s.test)?;
            let predicates: Vec<Expr> = s.predicates.iter().map(|p| self.expr(p)).collect::<Result<_>>()?;
            let position_free = predicates.iter().all(is_position_free);
            let step = Step { axis: s.axis, test, predicates, position_free };
            // `descendant-or-self::node()/child::T[p]` is `descendant::T[p]` when `p`
            // does not use positions: same nodes, one step, and the descendant axis can
            // be answered from posting lists.
            let shortcut = step.axis == Axis::Child
                && step.position_free
                && steps.last().is_some_and(|prev| {
                    prev.axis == Axis::DescendantOrSelf
                        && self.tests[prev.test] == Test::AnyNode
                        && prev.predicates.is_empty()
                });
            if shortcut {
                steps.pop();
                steps.push(Step { axis: Axis::Descendant, ..step });
            } else {
                steps.push(step);
            }
        }
        Ok(Expr::Path { id: next_path_id(), start, steps })
    }

    fn resolve_prefix(&self, prefix: &str) -> Result<String> {
        if prefix == "xml" {
            return Ok(sprig_index::XML_NAMESPACE.to_string());
        }
        self.options
            .namespaces
            .get(prefix)
            .cloned()
            .ok_or_else(|| Error::Static(format!("undefined namespace prefix '{prefix}'")))
    }

    fn test(&mut self, test: &NodeTest) -> Result<usize> {
        let resolved = match test {
            NodeTest::Node => Test::AnyNode,
            NodeTest::Text => Test::Text,
            NodeTest::Comment => Test::Comment,
            NodeTest::ProcessingInstruction(t) => Test::ProcessingInstruction(t.clone()),
            NodeTest::AnyName { prefix: None } => Test::AnyName,
            NodeTest::AnyName { prefix: Some(p) } => Test::Namespace(self.resolve_prefix(p)?),
            NodeTest::Name { prefix, local } => {
                let uri = match prefix {
                    Some(p) => self.resolve_prefix(p)?,
                    None => String::new(),
                };
                Test::Name { uri, local: local.clone() }
            }
        };
        if let Some(&idx) = self.test_index.get(&resolved) {
            return Ok(idx);
        }
        self.tests.push(resolved.clone());
        self.test_index.insert(resolved, self.tests.len() - 1);
        Ok(self.tests.len() - 1)
    }
}

/// True when a predicate's truth does not depend on the context position or size: it
/// is not numeric, and it calls `position()`/`last()` only inside nested steps.
fn is_position_free(e: &Expr) -> bool {
    match e {
        Expr::Compare(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => uses_no_position(a) && uses_no_position(b),
        Expr::Path { .. } | Expr::Union(..) | Expr::Literal(_) => uses_no_position(e),
        Expr::Call(f, args) => f.returns_boolean() && args.iter().all(uses_no_position),
        _ => false,
    }
}

fn uses_no_position(e: &Expr) -> bool {
    match e {
        Expr::Call(Function::Position | Function::Last, _) => false,
        Expr::Call(_, args) => args.iter().all(uses_no_position),
        Expr::Or(a, b) | Expr::And(a, b) | Expr::Compare(_, a, b) | Expr::Arith(_, a, b) | Expr::Union(a, b) => {
            uses_no_position(a) && uses_no_position(b)
        }
        Expr::Negate(a) => uses_no_position(a),
        // Predicates of a filter or a step get their own context.
        Expr::Filter(a, _) => uses_no_position(a),
        Expr::Path { start: PathFrom::Expr(a), .. } => uses_no_position(a),
        Expr::Path { .. } | Expr::Literal(_) | Expr::Number(_) => true,
    }
}
