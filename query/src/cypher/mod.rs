//! Cypher: text -> AST (`syntax`) -> logical plan (`planner`) -> rewrite rules
//! (`rules`) -> physical operators (`exec`) -> result rows (`result`).

pub mod eval;
pub mod exec;
pub mod plan;
pub mod planner;
pub mod result;
pub mod rules;
pub mod syntax;
mod text_prune;
pub mod value;

use std::collections::HashMap;
use std::time::Instant;

use sprig_index::graph::{GraphTxn, Overlay};

use crate::common::explain::PlanNode;
use crate::Result;
pub use exec::WriteStats;
use plan::{CypherPlan, LogicalOp, ScanSource, Seek};
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

/// Parses and plans `text` against the graph it names (or the default graph).
pub fn prepare(txn: &mut GraphTxn, text: &str, options: &CypherOptions) -> Result<CypherPlan> {
    let stmt = parse_statement(text)?;
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
    let mut plan =
        planner::Planner::new(&options.params, graph).with_lindex(lindex != rules::LIndexUse::Off).plan(&stmt)?;
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

/// Plans `text` on the read transaction `txn`; if it only reads, returns its rows as a
/// stream that holds `gate` until dropped, else gives `txn` back (to run the statement
/// in a write transaction).
pub fn stream(
    mut txn: GraphTxn,
    text: &str,
    options: &CypherOptions,
    gate: sprig_index::graph::OwnedReadGate,
) -> Result<std::result::Result<RowStream, GraphTxn>> {
    let plan = prepare(&mut txn, text, options)?;
    if plan.writes {
        return Ok(Err(txn));
    }
    let graph = txn.take_graph(&plan.graph)?;
    let mut ctx = exec::Ctx::on(exec::GraphRef::Owned(Box::new(graph)), options.deadline, false);
    ctx.xml = options.xml.clone();
    ctx.interrupt = options.interrupt.clone();
    ctx.memory = exec::memory::MemoryBudget::new(options.memory_limit);
    let op = exec::build(&plan.root, false);
    Ok(Ok(RowStream { op, ctx, width: plan.columns.len(), columns: plan.columns, done: false, _gate: gate }))
}

/// Runs one statement inside `txn`. On error the caller must discard the transaction's
/// changes (the statement may have written part of its effects).
pub fn run(txn: &mut GraphTxn, text: &str, options: &CypherOptions) -> Result<CypherOutput> {
    let plan = prepare(txn, text, options)?;
    let graph = txn.graph(&plan.graph)?;
    let mut ctx = exec::Ctx::new(graph, options.deadline, options.profile);
    ctx.xml = options.xml.clone();
    ctx.interrupt = options.interrupt.clone();
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
    let profile = ctx.profile.take().map(|p| describe(&plan.root, &mut ctx.graph, Some(&p)));
    drop(ctx);
    txn.check_statement()?;
    Ok(CypherOutput { columns: plan.columns, rows, stats, profile, graph: plan.graph })
}

/// The plan of `text` with estimates (EXPLAIN).
pub fn explain(txn: &mut GraphTxn, text: &str, options: &CypherOptions) -> Result<PlanNode> {
    let plan = prepare(txn, text, options)?;
    let graph = txn.graph(&plan.graph)?;
    Ok(describe(&plan.root, graph, None))
}

/// What an LIndex lookup keeps, out of `of` nodes: `lindex="bios: 64 of 97000 candidates"`.
/// Returns (`of`, candidates kept).
fn describe_prune(
    node: &mut PlanNode,
    prune: &plan::LIndexPrune,
    graph: &mut Overlay,
    universe: &roaring::RoaringTreemap,
) -> (u64, Option<u64>) {
    let of = universe.len();
    let tests: Vec<String> = prune
        .tests
        .iter()
        .map(|t| match t {
            sprig_index::graph::text::TextTest::Contains(s) => format!("CONTAINS {s:?}"),
            sprig_index::graph::text::TextTest::StartsWith(s) => format!("STARTS WITH {s:?}"),
            sprig_index::graph::text::TextTest::EndsWith(s) => format!("ENDS WITH {s:?}"),
            sprig_index::graph::text::TextTest::Equals(s) => format!("= {s:?}"),
        })
        .collect();
    let mut out = std::mem::replace(node, PlanNode::new(""))
        .detail("hops", prune.steps.len())
        .detail("text", format!("{} {}", prune.property, tests.join(" AND ")));
    let kept = match graph.lindex_candidates(&prune.index, &prune.steps, &prune.property, &prune.tests) {
        Ok(Some(c)) => {
            let kept = c.intersection_len(universe);
            out = out
                .detail("lindex", format!("{}: {kept} of {of} candidates", prune.index))
                .detail("candidates", kept)
                .detail("of", of);
            Some(kept)
        }
        _ => {
            out = out.detail("lindex", format!("{}: cannot prune, all {of} candidates", prune.index));
            None
        }
    };
    *node = out;
    (of, kept)
}

/// The operator tree for EXPLAIN / PROFILE; operators are numbered in pre-order, as
/// `exec::build` numbers them.
pub fn describe(op: &LogicalOp, graph: &mut Overlay, stats: Option<&[exec::OpStats]>) -> PlanNode {
    let mut id = 0;
    let mut node = describe_node(op, graph, stats, &mut id);
    if stats.is_some() {
        own_times(&mut node);
    }
    node
}

/// PROFILE measures each operator including its inputs; keep only its own share.
/// Returns the inclusive time of `node`.
fn own_times(node: &mut PlanNode) -> std::time::Duration {
    let inclusive = node.time.unwrap_or_default();
    let children: std::time::Duration = node.children.iter_mut().map(own_times).sum();
    node.time = Some(inclusive.saturating_sub(children));
    inclusive
}

fn describe_node(op: &LogicalOp, graph: &mut Overlay, stats: Option<&[exec::OpStats]>, id: &mut usize) -> PlanNode {
    let my_id = *id;
    *id += 1;
    let mut node = PlanNode::new(op.name());
    let children: Vec<PlanNode> = op.inputs().into_iter().map(|c| describe_node(c, graph, stats, id)).collect();
    let input_rows = children.first().and_then(|c| c.estimated_rows).unwrap_or(1);
    let node_count = graph.meta().node_count.max(1);
    let rel_count = graph.meta().rel_count;
    let estimate = match op {
        LogicalOp::Start | LogicalOp::Argument => 1,
        LogicalOp::NodeScan { source, predicates, .. } => {
            if !predicates.is_empty() {
                node = node.detail("predicates", predicates.len());
            }
            let per_row = match source {
                ScanSource::LIndex { label, prune } => {
                    let universe = graph.label_nodes(label.as_deref()).unwrap_or_default();
                    node = node.detail("index", prune.index.as_str()).detail("label", label.as_deref().unwrap_or("*"));
                    let (n, kept) = describe_prune(&mut node, prune, graph, &universe);
                    kept.unwrap_or(n)
                }
                ScanSource::AllNodes => {
                    node = node.detail("candidates", node_count);
                    node_count
                }
                ScanSource::Label(l) => {
                    let n = graph.label_nodes(Some(l)).map(|b| b.len()).unwrap_or(0);
                    node = node.detail("label", l.as_str()).detail("candidates", n).detail("of", node_count);
                    n
                }
                ScanSource::IndexSeek { index, seek } => {
                    let n = graph.label_nodes(Some(&index.label)).map(|b| b.len()).unwrap_or(0);
                    let kind = match seek {
                        Seek::Equal(_) => "equality",
                        Seek::Range { .. } => "range",
                        Seek::Prefix(_) => "prefix",
                    };
                    node = node
                        .detail("index", index.name.as_str())
                        .detail("on", format!(":{}({})", index.label, index.property))
                        .detail("seek", kind)
                        .detail("of", n);
                    match seek {
                        Seek::Equal(_) => (n / 100).max(1),
                        _ => (n / 10).max(1),
                    }
                }
            };
            input_rows.saturating_mul(per_row)
        }
        LogicalOp::ExpandIntoCount { first, then, .. } => {
            let hop = |s: &plan::ExpandSpec| format!("({})-[{}]{}({})", s.from, s.types.join("|"), s.dir.arrow(), s.to);
            node = node.detail("pattern", format!("{} then {}", hop(first), hop(then)));
            input_rows
        }
        LogicalOp::DegreeAggregate { label, spec, keys, .. } => {
            node = node
                .detail("label", label.as_deref().unwrap_or("*"))
                .detail(
                    "pattern",
                    format!("({})-[{}]{}({})", spec.from, spec.types.join("|"), spec.dir.arrow(), spec.to),
                )
                .detail("keys", keys.join(","));
            if !spec.predicates.is_empty() {
                node = node.detail("predicates", spec.predicates.len());
            }
            1
        }
        LogicalOp::ColumnAggregate { label, props, .. } => {
            let mut read: Vec<&str> = props.iter().flatten().map(String::as_str).collect();
            read.dedup();
            node = node.detail("label", label.as_deref().unwrap_or("*")).detail("columns", read.join(","));
            1
        }
        LogicalOp::CountFromStore { source, .. } => {
            node = node.detail(
                "counts",
                match source {
                    plan::CountSource::Nodes(l) => format!("nodes:{}", l.as_deref().unwrap_or("*")),
                    plan::CountSource::Rels(t) => {
                        format!("relationships:{}", if t.is_empty() { "*".into() } else { t.join("|") })
                    }
                },
            );
            1
        }
        LogicalOp::Expand { spec, .. } | LogicalOp::ExpandCount { spec, .. } => {
            let total = if spec.types.is_empty() {
                rel_count
            } else {
                spec.types
                    .iter()
                    .filter_map(|t| graph.meta().type_token(t).map(|k| graph.meta().type_counts[k as usize]))
                    .sum()
            };
            let degree = (total / node_count).max(1);
            node = node.detail(
                "pattern",
                format!("({})-[{}]{}({})", spec.from, spec.types.join("|"), spec.dir.arrow(), spec.to),
            );
            if !spec.predicates.is_empty() {
                node = node.detail("predicates", spec.predicates.len());
            }
            if let Some(prune) = &spec.to_prune {
                let universe = graph.label_nodes(spec.to_labels.first().map(String::as_str)).unwrap_or_default();
                describe_prune(&mut node, prune, graph, &universe);
            }
            if let Some(f) = &spec.frontier {
                node = node.detail(
                    "frontier",
                    format!("{}: walks go on only within {} hops of the text", f.prune.index, f.hops),
                );
            }
            match spec.length {
                Some((lo, hi)) => {
                    node = node.detail("length", format!("{lo}..{}", hi.map_or(String::new(), |h| h.to_string())));
                    input_rows.saturating_mul(degree.saturating_pow(hi.unwrap_or(3).min(4) as u32))
                }
                None if spec.to_bound => (input_rows / 2).max(1),
                None => input_rows.saturating_mul(degree),
            }
        }
        LogicalOp::Filter { .. } | LogicalOp::NodeCheck { .. } => (input_rows / 2).max(1),
        LogicalOp::Aggregate { keys, .. } => {
            if keys.is_empty() {
                1
            } else {
                (input_rows / 2).max(1)
            }
        }
        LogicalOp::Limit { count: eval::expr::CExpr::Const(CypherValue::Int(n)), .. }
        | LogicalOp::TopK { limit: eval::expr::CExpr::Const(CypherValue::Int(n)), .. } => input_rows.min(*n as u64),
        LogicalOp::Distinct { .. } => (input_rows / 2).max(1),
        LogicalOp::CreateIndex { def } => {
            node = node.detail("index", def.name.as_str());
            0
        }
        _ => input_rows,
    };
    node.estimated_rows = Some(estimate);
    if let Some(s) = stats.and_then(|s| s.get(my_id)) {
        node.rows = Some(s.rows);
        node.time = Some(s.time);
    } else if stats.is_some() {
        node.rows = Some(0);
        node.time = Some(std::time::Duration::ZERO);
    }
    node.children = children;
    node
}
