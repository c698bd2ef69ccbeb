//! Cypher: text -> AST (`syntax`) -> logical plan (`planner`) -> rewrite rules
//! (`rules`) -> physical operators (`exec`) -> result rows (`result`).

pub mod eval;
pub mod exec;
pub mod explain;
pub mod plan;
pub mod planner;
pub mod result;
pub mod rules;
pub mod syntax;
pub mod temporal;
mod text_prune;
pub mod value;

use std::collections::HashMap;
use std::time::Instant;

use sprig_index::graph::GraphTxn;

use crate::common::explain::PlanNode;
use crate::Result;
pub use exec::WriteStats;
use plan::CypherPlan;
pub use result::{NodeValue, RelValue, ResultValue};
use syntax::parse_statement;
pub use value::CypherValue;

/// How to run one statement.
#[derive(Debug, Clone)]
pub struct CypherOptions {
    /// `$name` -> value.
    pub params: HashMap<String, CypherValue>,
    /// The graph used when the statement has no `USE`.
    pub default_graph: String,
    pub deadline: Option<Instant>,
    /// Collect rows and time per operator.
    pub profile: bool,
    /// Let LIndexes prune pattern matches (`--no-lindex` and `CYPHER lindex=off` turn it off).
    pub lindex: bool,
    /// Set from outside to stop the statement with [`Error::Interrupted`].
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// The XML collections `xpath(collection, expr)` reads.
    pub xml: Option<std::sync::Arc<sprig_index::XmlStore>>,
    /// Bytes the statement's intermediate results may hold (see [`exec::memory`]).
    pub memory_limit: usize,
    /// The procedures `CALL` can reach (the built-in ones unless the embedding
    /// program declared more).
    pub procedures: std::sync::Arc<plan::procedure::Registry>,
}

impl Default for CypherOptions {
    fn default() -> Self {
        CypherOptions {
            params: HashMap::new(),
            default_graph: String::new(),
            deadline: None,
            profile: false,
            lindex: true,
            xml: None,
            interrupt: None,
            memory_limit: exec::memory::DEFAULT_MEMORY_LIMIT,
            procedures: std::sync::Arc::default(),
        }
    }
}

/// What a statement returned.
#[derive(Debug, Clone, Default)]
pub struct CypherOutput {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<ResultValue>>,
    pub stats: WriteStats,
    /// The operator tree with actual rows and times (PROFILE only).
    pub profile: Option<PlanNode>,
    /// The graph the statement ran on.
    pub graph: String,
}

/// A parsed statement. Whether it writes is read from its clauses, so that a caller
/// can pick the transaction it runs in before planning it (once, in that transaction).
#[derive(Debug, Clone)]
pub struct Statement {
    ast: syntax::ast::Statement,
    writes: bool,
}

impl Statement {
    /// True when the statement has a clause that writes (CREATE, MERGE, SET, REMOVE,
    /// DELETE, or an index change): it must run in a write transaction.
    pub fn writes(&self) -> bool {
        self.writes
    }
}

/// Parses `text`.
pub fn parse(text: &str) -> Result<Statement> {
    let ast = parse_statement(text)?;
    let writes = ast.queries.iter().flat_map(|q| &q.clauses).any(syntax::ast::Clause::writes);
    Ok(Statement { ast, writes })
}

/// Plans `stmt` against the graph it names (or the default graph), in `txn`: the
/// whole plan, rules applied, before anything runs.
pub fn prepare(txn: &mut GraphTxn, stmt: &Statement, options: &CypherOptions) -> Result<CypherPlan> {
    let plan = plan_statement(txn, &stmt.ast, options)?;
    debug_assert_eq!(plan.writes, stmt.writes, "the planner and the clauses disagree on whether it writes");
    Ok(plan)
}

fn plan_statement(txn: &mut GraphTxn, stmt: &syntax::ast::Statement, options: &CypherOptions) -> Result<CypherPlan> {
    let graph_name = stmt.graph.clone().unwrap_or_else(|| options.default_graph.clone());
    let graph = txn.graph(&graph_name)?;
    let lindex = match stmt.option("lindex").map(str::to_ascii_lowercase).as_deref() {
        _ if !options.lindex => rules::LIndexUse::Off,
        Some("off") => rules::LIndexUse::Off,
        Some("eager") => rules::LIndexUse::Eager,
        Some("on") | None => rules::LIndexUse::On,
        Some(other) => {
            return Err(crate::Error::argument(
                "InvalidArgumentValue",
                format!("CYPHER lindex={other}: expected on, off or eager"),
            ));
        }
    };
    let selection = match (stmt.option("rules").map(str::to_ascii_lowercase).as_deref(), stmt.option("skip")) {
        (Some("off"), _) => rules::RuleSelection::None,
        (Some("on") | None, None) => rules::RuleSelection::All,
        (Some("on") | None, Some(name)) if rules::rule_names().iter().any(|r| r.eq_ignore_ascii_case(name)) => {
            rules::RuleSelection::AllBut(name)
        }
        (Some("on") | None, Some(name)) => {
            return Err(crate::Error::argument(
                "InvalidArgumentValue",
                format!("CYPHER skip={name}: no such rule (rules: {})", rules::rule_names().join(", ")),
            ));
        }
        (Some(other), _) => {
            return Err(crate::Error::argument(
                "InvalidArgumentValue",
                format!("CYPHER rules={other}: expected on or off"),
            ));
        }
    };
    let mut plan = planner::Planner::new(&options.params, &options.procedures, graph)
        .with_lindex(lindex != rules::LIndexUse::Off)
        .plan(stmt)?;
    rules::optimize(&mut plan.root, graph, lindex, selection);
    Ok(plan)
}

/// A read-only statement's rows, computed as they are pulled. It owns its graph view
/// and the share of the read gate that keeps that view valid, so commits wait while
/// it lives (see `GraphStore::owned_read_gate`).
pub struct RowStream {
    // Field order is drop order: the operators and the view go before the gate.
    op: exec::BoxOp,
    ctx: exec::Ctx<'static>,
    width: usize,
    columns: Vec<String>,
    done: bool,
    _gate: sprig_index::graph::OwnedReadGate,
}

impl RowStream {
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The next row, resolved for the client; `None` after the last one or an error.
    pub fn next_row(&mut self) -> Option<Result<Vec<ResultValue>>> {
        if self.done {
            return None;
        }
        let row = match self.op.next(&mut self.ctx) {
            Ok(Some(row)) => row,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let mut out = Vec::with_capacity(self.width);
        for v in row.iter().take(self.width) {
            match result::resolve(v, &mut self.ctx) {
                Ok(v) => out.push(v),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        Some(Ok(out))
    }
}

/// The rows of the read-only `plan` (prepared in `txn`), as a stream that holds `gate`
/// until dropped.
pub fn stream(
    mut txn: GraphTxn,
    plan: CypherPlan,
    options: &CypherOptions,
    gate: sprig_index::graph::OwnedReadGate,
) -> Result<RowStream> {
    debug_assert!(!plan.writes, "a statement that writes runs in a write transaction (`run`)");
    let graph = txn.take_graph(&plan.graph)?;
    let mut ctx = exec::Ctx::on(exec::GraphRef::Owned(Box::new(graph)), exec::build_unprofiled, false);
    ctx.stop.deadline = options.deadline;
    ctx.xml = options.xml.clone();
    ctx.stop.interrupt = options.interrupt.clone();
    ctx.memory = exec::memory::MemoryBudget::new(options.memory_limit);
    let op = exec::build(&plan.root, false);
    Ok(RowStream { op, ctx, width: plan.columns.len(), columns: plan.columns, done: false, _gate: gate })
}

/// Parses, plans and runs `text` inside `txn` (see [`run`]).
pub fn run_text(txn: &mut GraphTxn, text: &str, options: &CypherOptions) -> Result<CypherOutput> {
    let plan = prepare(txn, &parse(text)?, options)?;
    run(txn, plan, options)
}

/// Runs `plan` (prepared in `txn`) inside `txn`. On error the caller must discard the
/// transaction's changes (the statement may have written part of its effects).
pub fn run(txn: &mut GraphTxn, plan: CypherPlan, options: &CypherOptions) -> Result<CypherOutput> {
    let graph = txn.graph(&plan.graph)?;
    let mut ctx = exec::Ctx::new(graph, exec::build_unprofiled, options.profile);
    ctx.stop.deadline = options.deadline;
    ctx.xml = options.xml.clone();
    ctx.stop.interrupt = options.interrupt.clone();
    ctx.memory = exec::memory::MemoryBudget::new(options.memory_limit);
    let mut op = exec::build(&plan.root, options.profile);
    let mut rows = Vec::new();
    while let Some(row) = op.next(&mut ctx)? {
        let mut out = Vec::with_capacity(plan.columns.len());
        for v in row.iter().take(plan.columns.len()) {
            out.push(result::resolve(v, &mut ctx)?);
        }
        rows.push(out);
    }
    let stats = std::mem::take(&mut ctx.stats);
    let profile = ctx.profile.take().map(|p| explain::describe(&plan.root, &mut ctx.graph, Some(&p)));
    drop(ctx);
    txn.check_statement()?;
    Ok(CypherOutput { columns: plan.columns, rows, stats, profile, graph: plan.graph })
}

/// The plan of `text` with estimates (EXPLAIN).
pub fn explain(txn: &mut GraphTxn, text: &str, options: &CypherOptions) -> Result<PlanNode> {
    let plan = prepare(txn, &parse(text)?, options)?;
    let graph = txn.graph(&plan.graph)?;
    Ok(explain::describe(&plan.root, graph, None))
}
