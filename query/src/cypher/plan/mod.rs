//! The logical plan of a Cypher statement: a tree of operators over rows of slots.
//! Built by the planner, rewritten by the rules in `rules.rs`, run by `exec.rs`.

pub mod aggregate;
pub mod cost;
pub mod expr;
pub mod functions;
pub mod procedure;

use std::sync::Arc;

use sprig_index::graph::text::{StepPattern, TextIndexDef, TextTest};
use sprig_index::graph::IndexDef;

use crate::cypher::plan::aggregate::AggSpec;
use crate::cypher::plan::expr::CExpr;

/// Which way an expansion follows relationships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpandDir {
    Out,
    In,
    Both,
}

impl ExpandDir {
    pub fn reversed(self) -> ExpandDir {
        match self {
            ExpandDir::Out => ExpandDir::In,
            ExpandDir::In => ExpandDir::Out,
            ExpandDir::Both => ExpandDir::Both,
        }
    }

    pub fn arrow(self) -> &'static str {
        match self {
            ExpandDir::Out => "->",
            ExpandDir::In => "<-",
            ExpandDir::Both => "--",
        }
    }
}

/// Where a node scan takes its candidates from.
#[derive(Debug, Clone)]
pub enum ScanSource {
    AllNodes,
    Label(String),
    /// A property index: equality, range or prefix on the indexed property.
    IndexSeek {
        index: IndexDef,
        seek: Seek,
        /// The nodes come out in the index's order (`Some(true)` ascending,
        /// `Some(false)` descending), in place of an ORDER BY on the property
        /// (`rules::OrderFromIndex`); `None`: in id order.
        ordered: Option<bool>,
    },
    /// The nodes with `label` (any node for `None`) that the LIndex keeps as candidates.
    LIndex {
        label: Option<String>,
        prune: LIndexPrune,
    },
}

/// An LIndex lookup: the nodes whose neighbourhood (along `steps`; none: the node
/// itself) has text in `property` that can pass every test. A superset of the nodes
/// that pass; the predicates it came from are still checked.
#[derive(Debug, Clone)]
pub struct LIndexPrune {
    pub index: String,
    pub steps: Vec<StepPattern>,
    pub property: String,
    pub tests: Vec<TextTest>,
    /// An expansion lets this many targets pass before it looks the candidates up: a
    /// path lookup reads many postings, worth it only for a large expansion.
    pub after: u32,
}

/// Targets an expansion examines before it looks up the candidates of a path.
pub const PATH_PRUNE_AFTER: u32 = 1024;

#[derive(Debug, Clone)]
pub enum Seek {
    Equal(CExpr),
    Range { lower: Option<(CExpr, bool)>, upper: Option<(CExpr, bool)> },
    Prefix(CExpr),
}

/// One hop (or a variable-length run of hops) of a pattern.
#[derive(Debug, Clone)]
pub struct ExpandSpec {
    pub from: usize,
    pub rel: usize,
    pub to: usize,
    pub dir: ExpandDir,
    pub types: Vec<String>,
    pub rel_props: Vec<(String, CExpr)>,
    pub to_labels: Vec<String>,
    pub to_props: Vec<(String, CExpr)>,
    /// The target node is bound already: only relationships reaching it count.
    pub to_bound: bool,
    /// The relationship variable is bound already (a single relationship).
    pub rel_bound: bool,
    /// `*min..max` (max `None` = unbounded); `None` for one hop.
    pub length: Option<(u64, Option<u64>)>,
    /// Relationship slots bound earlier in the same MATCH: the new relationship(s)
    /// must differ from them (relationship isomorphism).
    pub distinct_from: Vec<usize>,
    /// The expansion runs against the pattern's written direction: a relationship
    /// list is reversed so that it is in pattern order.
    pub reversed: bool,
    /// Predicates checked on each candidate before its row is built (moved here from
    /// filters right above a single-hop expansion).
    pub predicates: Vec<CExpr>,
    /// The target must be one of the LIndex's candidates (checked before `predicates`).
    pub to_prune: Option<LIndexPrune>,
    /// A variable-length walk goes on from a node only if a target can still be
    /// reached: `prune.steps` holds one step of the walk, and a node with `r` hops
    /// left must be a candidate for 1..=r such steps (`r` up to `hops`).
    pub frontier: Option<FrontierPrune>,
    /// The share of the relationships' far ends that carry `to_labels`, measured on a
    /// sample when planning; `None`: the labels' share of all nodes.
    pub to_share: Option<f64>,
}

/// See [`ExpandSpec::frontier`].
#[derive(Debug, Clone)]
pub struct FrontierPrune {
    pub prune: LIndexPrune,
    pub hops: u32,
}

/// Part of a path to assemble: nodes, single relationships, relationship lists.
#[derive(Debug, Clone, Copy)]
pub enum PathStep {
    Node(usize),
    Rel(usize),
    RelList(usize),
}

/// What CREATE or MERGE makes for one row.
#[derive(Debug, Clone, Default)]
pub struct CreatePattern {
    pub nodes: Vec<CreateNode>,
    pub rels: Vec<CreateRel>,
    pub paths: Vec<(usize, Vec<PathStep>)>,
}

#[derive(Debug, Clone)]
pub struct CreateNode {
    pub slot: usize,
    /// Bound nodes are only referred to, unless they carry labels or properties (an error
    /// caught by the planner).
    pub bound: bool,
    pub labels: Vec<String>,
    pub props: Option<CExpr>,
}

#[derive(Debug, Clone)]
pub struct CreateRel {
    pub slot: usize,
    pub start: usize,
    pub end: usize,
    pub rel_type: String,
    pub props: Option<CExpr>,
}

/// One SET or REMOVE item.
#[derive(Debug, Clone)]
pub enum SetOp {
    Property { target: CExpr, key: String, value: CExpr },
    Replace { slot: usize, value: CExpr },
    MergeMap { slot: usize, value: CExpr },
    AddLabels { slot: usize, labels: Vec<String> },
    RemoveProperty { target: CExpr, key: String },
    RemoveLabels { slot: usize, labels: Vec<String> },
}

/// What [`LogicalOp::CountFromStore`] counts.
#[derive(Debug, Clone)]
pub enum CountSource {
    /// Nodes (with a label).
    Nodes(Option<String>),
    /// Relationships (of any of these types; all when empty).
    Rels(Vec<String>),
}

/// A built-in procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Procedure {
    Labels,
    RelationshipTypes,
    PropertyKeys,
    /// `db.index.fulltext.queryNodes(index, query)`.
    FulltextNodes,
    /// `db.index.fulltext.queryRelationships(index, query)`.
    FulltextRelationships,
    /// `db.indexes()`, also `SHOW INDEXES`.
    Indexes,
    /// `dbms.components()`: what tools that connect through Neo4j's drivers ask
    /// first, to learn the server's version and edition.
    Components,
}

/// The Neo4j version whose Bolt and Cypher surface sprig answers as (the Bolt
/// server's agent says the same).
pub const NEO4J_COMPATIBLE_VERSION: &str = "5.4.0";

impl Procedure {
    /// Every built-in procedure (the registry's first entries).
    pub const ALL: [Procedure; 7] = [
        Procedure::Labels,
        Procedure::RelationshipTypes,
        Procedure::PropertyKeys,
        Procedure::FulltextNodes,
        Procedure::FulltextRelationships,
        Procedure::Indexes,
        Procedure::Components,
    ];

    /// The names of the columns it yields.
    pub fn outputs(self) -> &'static [&'static str] {
        match self {
            Procedure::Labels => &["label"],
            Procedure::RelationshipTypes => &["relationshipType"],
            Procedure::PropertyKeys => &["propertyKey"],
            Procedure::FulltextNodes => &["node", "score"],
            Procedure::FulltextRelationships => &["relationship", "score"],
            Procedure::Indexes => &[
                "name",
                "state",
                "type",
                "entityType",
                "labelsOrTypes",
                "properties",
                "options",
                "documents",
                "sizeBytes",
            ],
            Procedure::Components => &["name", "versions", "edition"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Procedure::Labels => "db.labels",
            Procedure::RelationshipTypes => "db.relationshipTypes",
            Procedure::PropertyKeys => "db.propertyKeys",
            Procedure::FulltextNodes => "db.index.fulltext.queryNodes",
            Procedure::FulltextRelationships => "db.index.fulltext.queryRelationships",
            Procedure::Indexes => "db.indexes",
            Procedure::Components => "dbms.components",
        }
    }
}

/// A logical operator. Every operator but `Start`, `Argument` and `Union` reads one
/// input; rows are vectors of slots, and an operator that binds a variable appends it.
#[derive(Debug, Clone)]
// A plan has tens of operators: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum LogicalOp {
    /// One empty row.
    Start,
    /// The row an enclosing operator passes in (OPTIONAL MATCH, MERGE, subqueries).
    Argument,
    NodeScan {
        input: Box<LogicalOp>,
        slot: usize,
        source: ScanSource,
        labels: Vec<String>,
        props: Vec<(String, CExpr)>,
        /// Predicates on the scanned node, checked before its row is passed on
        /// (moved from filters right above the scan).
        predicates: Vec<CExpr>,
    },
    /// A node bound earlier must have these labels and properties.
    NodeCheck {
        input: Box<LogicalOp>,
        slot: usize,
        labels: Vec<String>,
        props: Vec<(String, CExpr)>,
    },
    Expand {
        input: Box<LogicalOp>,
        spec: Box<ExpandSpec>,
    },
    /// Per input row, the number of relationships an expansion would produce, in slot
    /// `spec.to` (rows with none are dropped); the relationship slot stays null.
    ExpandCount {
        input: Box<LogicalOp>,
        spec: Box<ExpandSpec>,
    },
    /// Per input row, the number of ways to take the single hop `first` and then
    /// the check `then` (a hop from `first`'s new node into a bound one), in slot
    /// `then.to` (rows with none are dropped): `ExpandCount` over `Expand` without a
    /// row per intermediate node.
    ExpandIntoCount {
        input: Box<LogicalOp>,
        first: Box<ExpandSpec>,
        then: Box<ExpandSpec>,
    },
    /// A count answered from the label bitmaps and relationship-type counters.
    CountFromStore {
        source: CountSource,
        columns: usize,
    },
    /// Per node with a label (all nodes for `None`), the number of relationships the
    /// single-hop `spec` from it reaches, summed by `aggs` in groups of the node's
    /// properties `keys`; nodes with none are skipped. One pass over the label's
    /// chunks, with no row per node or relationship.
    DegreeAggregate {
        label: Option<String>,
        spec: Box<ExpandSpec>,
        keys: Vec<String>,
        aggs: Vec<crate::cypher::plan::aggregate::AggSpec>,
    },
    /// Aggregates without grouping over the properties of every node with a label
    /// (all nodes for `None`), read chunk by chunk from the property columns. `props`
    /// holds each aggregate's property (`None`: the aggregate counts nodes).
    ColumnAggregate {
        label: Option<String>,
        aggs: Vec<crate::cypher::plan::aggregate::AggSpec>,
        props: Vec<Option<String>>,
    },
    ShortestPath {
        input: Box<LogicalOp>,
        from: usize,
        to: usize,
        rel: usize,
        path: Option<usize>,
        dir: ExpandDir,
        types: Vec<String>,
        min: u64,
        max: Option<u64>,
        all: bool,
    },
    Filter {
        input: Box<LogicalOp>,
        predicate: CExpr,
    },
    /// Rows of `inner` (run per input row), or the input row padded with `added` nulls.
    Optional {
        input: Box<LogicalOp>,
        inner: Box<LogicalOp>,
        added: usize,
    },
    Unwind {
        input: Box<LogicalOp>,
        expr: CExpr,
        slot: usize,
    },
    BuildPath {
        input: Box<LogicalOp>,
        slot: usize,
        steps: Vec<PathStep>,
    },
    /// Output rows are `exprs` evaluated on the input row; with `keep_input` the input
    /// row follows (ORDER BY may read variables that were not projected).
    Project {
        input: Box<LogicalOp>,
        exprs: Vec<CExpr>,
        keep_input: bool,
    },
    /// Output rows: the grouping keys, then the aggregates.
    Aggregate {
        input: Box<LogicalOp>,
        keys: Vec<CExpr>,
        aggs: Vec<AggSpec>,
    },
    /// Distinct over the first `width` columns.
    Distinct {
        input: Box<LogicalOp>,
        width: usize,
    },
    Sort {
        input: Box<LogicalOp>,
        keys: Vec<(CExpr, bool)>,
    },
    /// Sort that keeps only the first `limit` rows (ORDER BY ... LIMIT).
    TopK {
        input: Box<LogicalOp>,
        keys: Vec<(CExpr, bool)>,
        limit: CExpr,
    },
    Skip {
        input: Box<LogicalOp>,
        count: CExpr,
    },
    Limit {
        input: Box<LogicalOp>,
        count: CExpr,
    },
    /// Keeps the first `width` columns.
    Truncate {
        input: Box<LogicalOp>,
        width: usize,
    },
    Union {
        inputs: Vec<LogicalOp>,
        distinct: bool,
    },
    Create {
        input: Box<LogicalOp>,
        pattern: Box<CreatePattern>,
    },
    Merge {
        input: Box<LogicalOp>,
        matcher: Arc<LogicalOp>,
        create: Box<CreatePattern>,
        on_create: Vec<SetOp>,
        on_match: Vec<SetOp>,
        added: usize,
    },
    Update {
        input: Box<LogicalOp>,
        ops: Vec<SetOp>,
    },
    Delete {
        input: Box<LogicalOp>,
        exprs: Vec<CExpr>,
        detach: bool,
    },
    /// Reads all input before passing any row on, so that later clauses see the
    /// writes of earlier ones and never their own.
    Eager {
        input: Box<LogicalOp>,
    },
    ProcedureCall {
        input: Box<LogicalOp>,
        procedure: crate::cypher::plan::procedure::ProcedureDef,
        args: Vec<CExpr>,
        /// (index into the signature's outputs, slot) of each yielded column.
        outputs: Vec<(usize, usize)>,
    },
    CreateTextIndex {
        def: TextIndexDef,
        if_not_exists: bool,
    },
    CreateIndex {
        def: IndexDef,
    },
    DropIndex {
        name: String,
    },
    /// Runs the input for its side effects and yields nothing.
    Discard {
        input: Box<LogicalOp>,
    },
}

/// The inputs of an operator, by shared or mutable reference (one body for both).
macro_rules! inputs_of {
    ($op:expr) => {{
        use LogicalOp::*;
        match $op {
            Start
            | Argument
            | CreateIndex { .. }
            | CreateTextIndex { .. }
            | DropIndex { .. }
            | CountFromStore { .. }
            | ColumnAggregate { .. }
            | DegreeAggregate { .. } => Vec::new(),
            Union { inputs, .. } => inputs.into_iter().collect(),
            Optional { input, inner, .. } => vec![input, inner],
            NodeScan { input, .. }
            | NodeCheck { input, .. }
            | Expand { input, .. }
            | ExpandCount { input, .. }
            | ExpandIntoCount { input, .. }
            | ShortestPath { input, .. }
            | Filter { input, .. }
            | Unwind { input, .. }
            | BuildPath { input, .. }
            | Project { input, .. }
            | Aggregate { input, .. }
            | Distinct { input, .. }
            | Sort { input, .. }
            | TopK { input, .. }
            | Skip { input, .. }
            | Limit { input, .. }
            | Truncate { input, .. }
            | Create { input, .. }
            | Merge { input, .. }
            | Update { input, .. }
            | Delete { input, .. }
            | Eager { input }
            | ProcedureCall { input, .. }
            | Discard { input } => vec![input],
        }
    }};
}

impl LogicalOp {
    /// The operators this one reads.
    pub fn inputs(&self) -> Vec<&LogicalOp> {
        inputs_of!(self)
    }

    /// Mutable access to the operators this one reads.
    pub fn inputs_mut(&mut self) -> Vec<&mut LogicalOp> {
        inputs_of!(self)
    }

    /// True when this operator or one it reads writes to the graph.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            LogicalOp::Create { .. } | LogicalOp::Merge { .. } | LogicalOp::Update { .. } | LogicalOp::Delete { .. }
        ) || self.inputs().into_iter().any(LogicalOp::writes)
    }

    /// The operator's name as EXPLAIN shows it.
    pub fn name(&self) -> &'static str {
        use LogicalOp::*;
        match self {
            Start => "Start",
            Argument => "Argument",
            NodeScan { source: ScanSource::AllNodes, .. } => "AllNodesScan",
            NodeScan { source: ScanSource::Label(_), .. } => "NodeByLabelScan",
            NodeScan { source: ScanSource::IndexSeek { .. }, .. } => "NodeIndexSeek",
            NodeScan { source: ScanSource::LIndex { .. }, .. } => "LIndexScan",
            NodeCheck { .. } => "NodeCheck",
            Expand { spec, .. } if spec.length.is_some() => "VarLengthExpand",
            Expand { spec, .. } if spec.to_bound => "ExpandInto",
            Expand { .. } => "Expand",
            ExpandCount { .. } => "ExpandCount",
            ExpandIntoCount { .. } => "ExpandIntoCount",
            CountFromStore { .. } => "CountFromStore",
            ColumnAggregate { .. } => "ColumnAggregation",
            DegreeAggregate { .. } => "DegreeAggregation",
            ShortestPath { .. } => "ShortestPath",
            Filter { .. } => "Filter",
            Optional { .. } => "Optional",
            Unwind { .. } => "Unwind",
            BuildPath { .. } => "ProjectPath",
            Project { .. } => "Projection",
            Aggregate { .. } => "Aggregation",
            Distinct { .. } => "Distinct",
            Sort { .. } => "Sort",
            TopK { .. } => "Top",
            Skip { .. } => "Skip",
            Limit { .. } => "Limit",
            Truncate { .. } => "Truncate",
            Union { .. } => "Union",
            Create { .. } => "Create",
            Merge { .. } => "Merge",
            Update { .. } => "SetProperties",
            Delete { .. } => "Delete",
            Eager { .. } => "Eager",
            ProcedureCall { .. } => "ProcedureCall",
            CreateIndex { .. } => "CreateIndex",
            CreateTextIndex { .. } => "CreateTextIndex",
            DropIndex { .. } => "DropIndex",
            Discard { .. } => "EmptyResult",
        }
    }
}

/// A planned statement: the operator tree and the result's column names.
#[derive(Debug, Clone)]
pub struct CypherPlan {
    pub root: LogicalOp,
    pub columns: Vec<String>,
    /// The graph the statement runs on.
    pub graph: String,
    /// True when the statement may write.
    pub writes: bool,
}
