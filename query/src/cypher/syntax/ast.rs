//! The Cypher AST: what the text says, before any checking or planning.

pub use crate::common::compare::CompareOp;

/// A whole statement: one or more single queries joined by `UNION [ALL]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The graph named by a leading `USE`.
    pub graph: Option<String>,
    pub queries: Vec<SingleQuery>,
    /// `union_all[i]` joins `queries[i]` and `queries[i + 1]`.
    pub union_all: Vec<bool>,
    /// Query options of a leading `CYPHER key=value ...` (for example `lindex=off`).
    pub options: Vec<(String, String)>,
}

impl Statement {
    /// The value of query option `key`.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SingleQuery {
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    Match {
        optional: bool,
        pattern: Vec<PatternPart>,
        predicate: Option<Expr>,
    },
    Unwind {
        expr: Expr,
        alias: String,
    },
    With(Projection),
    Return(Projection),
    Create(Vec<PatternPart>),
    Merge {
        part: PatternPart,
        on_create: Vec<SetItem>,
        on_match: Vec<SetItem>,
    },
    Set(Vec<SetItem>),
    Remove(Vec<RemoveItem>),
    Delete {
        detach: bool,
        exprs: Vec<Expr>,
    },
    Call {
        procedure: String,
        args: Option<Vec<Expr>>,
        yields: Option<Vec<(String, Option<String>)>>,
        predicate: Option<Expr>,
    },
    CreateIndex {
        name: Option<String>,
        label: String,
        property: String,
    },
    DropIndex {
        name: String,
    },
    /// `CREATE LINDEX` / `CREATE FULLTEXT INDEX`.
    CreateTextIndex {
        name: String,
        lindex: bool,
        on_relationships: bool,
        label: String,
        properties: Vec<String>,
        if_not_exists: bool,
        options: Vec<(String, Expr)>,
    },
}

/// The body of `WITH` and `RETURN`.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub distinct: bool,
    /// `*`: every variable in scope, before the listed items.
    pub star: bool,
    pub items: Vec<ProjectionItem>,
    pub order_by: Vec<SortItem>,
    pub skip: Option<Expr>,
    pub limit: Option<Expr>,
    /// `WITH ... WHERE`.
    pub predicate: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionItem {
    pub expr: Expr,
    pub alias: Option<String>,
    /// The expression as written: the column name when there is no alias.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortItem {
    pub expr: Expr,
    pub ascending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    Normal,
    Shortest,
    AllShortest,
}

/// `p = (a)-[r]->(b)` or a bare chain.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternPart {
    pub variable: Option<String>,
    pub kind: PathKind,
    pub element: PatternElement,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatternElement {
    pub start: NodePattern,
    pub chain: Vec<(RelPattern, NodePattern)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodePattern {
    pub variable: Option<String>,
    pub labels: Vec<String>,
    pub properties: Option<Box<Expr>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelDirection {
    /// `-[]->`
    Right,
    /// `<-[]-`
    Left,
    /// `-[]-` (or `<-[]->`)
    Both,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelPattern {
    pub variable: Option<String>,
    pub types: Vec<String>,
    pub direction: RelDirection,
    /// `*min..max`; `None` for a single hop.
    pub length: Option<(Option<u64>, Option<u64>)>,
    pub properties: Option<Box<Expr>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SetItem {
    /// `n.p = e`
    Property { target: Expr, key: String, value: Expr },
    /// `n = {map}`
    Replace { variable: String, value: Expr },
    /// `n += {map}`
    Merge { variable: String, value: Expr },
    /// `n:A:B`
    Labels { variable: String, labels: Vec<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum RemoveItem {
    Property { target: Expr, key: String },
    Labels { variable: String, labels: Vec<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    Xor,
    And,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    StartsWith,
    EndsWith,
    Contains,
    In,
    Regex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
    Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    All,
    Any,
    None,
    Single,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Literal),
    Parameter(String),
    Variable(String),
    List(Vec<Expr>),
    Map(Vec<(String, Expr)>),
    Property(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Slice(Box<Expr>, Option<Box<Expr>>, Option<Box<Expr>>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `a < b <= c`: each comparison holds (chained as in openCypher).
    Compare(Box<Expr>, Vec<(CompareOp, Expr)>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    HasLabels(Box<Expr>, Vec<String>),
    /// A function call; `name` is as written (namespaces joined by `.`).
    Function {
        name: String,
        distinct: bool,
        args: Vec<Expr>,
    },
    CountStar,
    Case {
        subject: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    ListComprehension {
        variable: String,
        list: Box<Expr>,
        predicate: Option<Box<Expr>>,
        map: Option<Box<Expr>>,
    },
    PatternComprehension {
        variable: Option<String>,
        pattern: PatternElement,
        predicate: Option<Box<Expr>>,
        map: Box<Expr>,
    },
    Quantified {
        quantifier: Quantifier,
        variable: String,
        list: Box<Expr>,
        predicate: Box<Expr>,
    },
    Reduce {
        accumulator: String,
        init: Box<Expr>,
        variable: String,
        list: Box<Expr>,
        expr: Box<Expr>,
    },
    /// A pattern used as a predicate: true when it has a match.
    Pattern(PatternElement),
    /// `EXISTS { MATCH ... WHERE ... }` or `EXISTS { pattern }`.
    Exists {
        pattern: Vec<PatternPart>,
        predicate: Option<Box<Expr>>,
    },
    /// `EXISTS { MATCH ... WITH ... RETURN ... }`: true when the query, run with the
    /// outer row's variables, returns a row.
    ExistsQuery(Box<SingleQuery>),
}

impl Clause {
    /// True for the clauses that change the graph or its schema.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Clause::Create(_)
                | Clause::Merge { .. }
                | Clause::Set(_)
                | Clause::Remove(_)
                | Clause::Delete { .. }
                | Clause::CreateIndex { .. }
                | Clause::DropIndex { .. }
                | Clause::CreateTextIndex { .. }
        )
    }
}
