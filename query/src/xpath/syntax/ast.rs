//! The XPath 1.0 abstract syntax tree, as written (names unresolved).

pub use crate::common::compare::CompareOp;

/// An expression ([XPath 1.0 section 3](https://www.w3.org/TR/xpath/#section-Expressions)).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Compare(CompareOp, Box<Expr>, Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Negate(Box<Expr>),
    Union(Box<Expr>, Box<Expr>),
    /// A primary expression followed by predicates.
    Filter(Box<Expr>, Vec<Expr>),
    /// A location path, or a filter expression followed by `/` steps.
    Path(PathExpr),
    Literal(String),
    Number(f64),
    /// `$name`, with an optional prefix.
    Variable(String),
    /// A function call by (possibly prefixed) name.
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum PathStart {
    /// `/...`: the root of the context node's document.
    Root,
    /// A relative location path: the context node.
    Context,
    /// `expr/...`: each node of a node-set valued expression.
    Expr(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PathExpr {
    pub start: PathStart,
    pub steps: Vec<Step>,
}

/// One location step ([section 2.1](https://www.w3.org/TR/xpath/#section-Location-Steps)).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub axis: Axis,
    pub test: NodeTest,
    pub predicates: Vec<Expr>,
}

/// The thirteen axes ([section 2.2](https://www.w3.org/TR/xpath/#axes)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    Ancestor,
    AncestorOrSelf,
    Attribute,
    Child,
    Descendant,
    DescendantOrSelf,
    Following,
    FollowingSibling,
    Namespace,
    Parent,
    Preceding,
    PrecedingSibling,
    SelfAxis,
}

impl Axis {
    pub fn from_name(name: &str) -> Option<Axis> {
        Some(match name {
            "ancestor" => Axis::Ancestor,
            "ancestor-or-self" => Axis::AncestorOrSelf,
            "attribute" => Axis::Attribute,
            "child" => Axis::Child,
            "descendant" => Axis::Descendant,
            "descendant-or-self" => Axis::DescendantOrSelf,
            "following" => Axis::Following,
            "following-sibling" => Axis::FollowingSibling,
            "namespace" => Axis::Namespace,
            "parent" => Axis::Parent,
            "preceding" => Axis::Preceding,
            "preceding-sibling" => Axis::PrecedingSibling,
            "self" => Axis::SelfAxis,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Axis::Ancestor => "ancestor",
            Axis::AncestorOrSelf => "ancestor-or-self",
            Axis::Attribute => "attribute",
            Axis::Child => "child",
            Axis::Descendant => "descendant",
            Axis::DescendantOrSelf => "descendant-or-self",
            Axis::Following => "following",
            Axis::FollowingSibling => "following-sibling",
            Axis::Namespace => "namespace",
            Axis::Parent => "parent",
            Axis::Preceding => "preceding",
            Axis::PrecedingSibling => "preceding-sibling",
            Axis::SelfAxis => "self",
        }
    }

    /// Reverse axes number proximity positions in reverse document order.
    pub fn is_reverse(self) -> bool {
        matches!(self, Axis::Ancestor | Axis::AncestorOrSelf | Axis::Preceding | Axis::PrecedingSibling)
    }
}

/// A node test ([section 2.3](https://www.w3.org/TR/xpath/#node-tests)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeTest {
    /// `*` (prefix `None`) or `p:*`.
    AnyName { prefix: Option<String> },
    /// `name` or `p:name`.
    Name { prefix: Option<String>, local: String },
    /// `node()`
    Node,
    /// `text()`
    Text,
    /// `comment()`
    Comment,
    /// `processing-instruction()` or `processing-instruction('target')`
    ProcessingInstruction(Option<String>),
}
