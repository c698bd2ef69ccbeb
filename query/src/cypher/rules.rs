//! Rewrite rules over the logical plan, one job each. The planner already picks the
//! start node of each pattern by selectivity and places each WHERE conjunct right
//! after the operator that binds its last variable (filter push-down); these rules
//! refine the tree it builds.

use sprig_index::graph::Overlay;

use sprig_index::graph::text::StepPattern;
use sprig_index::graph::Direction;

use crate::cypher::text_prune::{conjuncts, prune_for};

use crate::cypher::eval::aggregate::{AggFunc, AggSpec};
use crate::cypher::eval::expr::CExpr;
use crate::cypher::plan::*;
use crate::cypher::syntax::ast::{BinaryOp, CompareOp};
use crate::cypher::value::CypherValue as V;

/// One rewrite.
pub trait Rule {
    fn name(&self) -> &'static str;
    /// Rewrites `op` in place (children are visited by the driver).
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay);
}

/// Runs every rule over every operator, bottom-up.
/// Whether and how LIndexes prune: `--no-lindex` / `CYPHER lindex=off` turn it off,
/// `CYPHER lindex=eager` looks path candidates up before the first target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LIndexUse {
    Off,
    On,
    Eager,
}

/// Which rewrite rules run: all (the default), none (`CYPHER rules=off`), or all but
/// one (`CYPHER skip=RuleName`). Turning rules off must never change a result; the
/// metamorphic tests (`tests/metamorphic/`) check that it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSelection<'a> {
    All,
    None,
    AllBut(&'a str),
}

impl RuleSelection<'_> {
    fn allows(&self, rule: &dyn Rule) -> bool {
        match self {
            RuleSelection::All => true,
            RuleSelection::None => false,
            RuleSelection::AllBut(name) => !rule.name().eq_ignore_ascii_case(name),
        }
    }
}

/// The names of every rewrite rule, as `CYPHER skip=` takes them.
pub fn rule_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = first_pass().iter().map(|r| r.name()).collect();
    names.extend([LIndexPruning { after: 0 }.name(), LIndexPathPruning { after: 0 }.name(), ProjectAfterTopK.name()]);
    names
}

fn first_pass() -> [&'static dyn Rule; 12] {
    [
        &PropertyIndexSeek,
        &FilterIndexSeek,
        &FilterIntoScan,
        &FilterIntoExpand,
        &LabelsIntoExpand,
        &ChecksBeforePredicates,
        &SortLimitToTopK,
        &CountFromStore,
        &AggregateFromColumns,
        &CountExpansions,
        &DegreeAggregation,
        &CountThroughExpand,
    ]
}

pub fn optimize(plan: &mut LogicalOp, graph: &Overlay, lindex: LIndexUse, selection: RuleSelection<'_>) {
    let chosen = |rules: &[&'static dyn Rule]| -> Vec<&'static dyn Rule> {
        rules.iter().copied().filter(|r| selection.allows(*r)).collect()
    };
    visit(plan, &chosen(&first_pass()), graph);
    if lindex != LIndexUse::Off {
        // After the filters moved into scans and expansions.
        let after = if lindex == LIndexUse::Eager { 0 } else { PATH_PRUNE_AFTER };
        let prune: [&dyn Rule; 2] = [&LIndexPruning { after }, &LIndexPathPruning { after }];
        let prune: Vec<&dyn Rule> = prune.into_iter().filter(|r| selection.allows(*r)).collect();
        visit(plan, &prune, graph);
    }
    // Needs the top-k operators the first pass makes.
    visit(plan, &chosen(&[&ProjectAfterTopK]), graph);
}

fn visit(op: &mut LogicalOp, rules: &[&dyn Rule], graph: &Overlay) {
    for child in op.inputs_mut() {
        visit(child, rules, graph);
    }
    for r in rules {
        r.rewrite(op, graph);
    }
}

/// A label scan or a single-hop expansion whose node has text predicates (`=`,
/// `CONTAINS`, `STARTS WITH`, `ENDS WITH` with a string) on a property an LIndex covers
/// for one of its labels: the scan reads only the LIndex's candidates, the expansion
/// drops targets that are not candidates before their predicates run.
pub struct LIndexPruning {
    /// See [`LIndexPrune::after`] (for the frontier of variable-length walks).
    pub after: u32,
}

impl Rule for LIndexPruning {
    fn name(&self) -> &'static str {
        "LIndexPruning"
    }
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay) {
        match op {
            LogicalOp::NodeScan {
                source: source @ (ScanSource::Label(_) | ScanSource::AllNodes),
                slot,
                labels,
                predicates,
                ..
            } => {
                if let Some((label, prune)) = prune_for(graph, labels, predicates, *slot, false) {
                    *source = ScanSource::LIndex { label: Some(label), prune };
                }
            }
            LogicalOp::Expand { spec, .. } if spec.length.is_none() && !spec.to_bound && spec.to_prune.is_none() => {
                if let Some((_, prune)) = prune_for(graph, &spec.to_labels, &spec.predicates, spec.to, false) {
                    spec.to_prune = Some(prune);
                }
            }
            // A variable-length expansion's target is filtered above it: the walk
            // still runs, but only candidates reach the filter.
            LogicalOp::Filter { input, predicate } => {
                let LogicalOp::Expand { spec, .. } = input.as_mut() else { return };
                if spec.length.is_none() || spec.to_bound || spec.to_prune.is_some() {
                    return;
                }
                let mut parts = Vec::new();
                conjuncts(predicate, &mut parts);
                if let Some((_, prune)) = prune_for(graph, &spec.to_labels, &parts, spec.to, false) {
                    spec.to_prune = Some(prune);
                }
                // With an LIndex of paths, the walk stops at nodes from which no
                // candidate target is within the hops left.
                if let Some((_, mut seed)) = prune_for(graph, &spec.to_labels, &parts, spec.to, true) {
                    let hops = graph.text_index(&seed.index).map_or(0, |d| d.hops());
                    seed.steps = vec![StepPattern { labels: Vec::new(), ..step_towards(spec) }];
                    seed.after = self.after;
                    spec.frontier = Some(FrontierPrune { prune: seed, hops });
                }
            }
            _ => {}
        }
    }
}

/// An expansion reaching a node with LIndex-covered text predicates: every node bound
/// earlier along the chain of expansions that leads to it, within the index's hops,
/// must have that text at the end of the same path, so the expansion (or scan) that
/// binds it keeps only the LIndex's candidates for that path. This prunes before the
/// expansions run, where the text test alone would only run at the end.
pub struct LIndexPathPruning {
    /// See [`LIndexPrune::after`].
    pub after: u32,
}

fn step_towards(spec: &ExpandSpec) -> StepPattern {
    StepPattern {
        direction: match spec.dir {
            ExpandDir::Out => Some(Direction::Outgoing),
            ExpandDir::In => Some(Direction::Incoming),
            ExpandDir::Both => None,
        },
        types: spec.types.clone(),
        labels: spec.to_labels.clone(),
    }
}

impl Rule for LIndexPathPruning {
    fn name(&self) -> &'static str {
        "LIndexPathPruning"
    }
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay) {
        let LogicalOp::Expand { spec, input } = op else { return };
        if spec.length.is_some() || spec.to_bound {
            return;
        }
        let Some((_, mut seed)) = prune_for(graph, &spec.to_labels, &spec.predicates, spec.to, true) else { return };
        seed.after = self.after;
        let hops = graph.text_index(&seed.index).map_or(0, |d| d.hops()) as usize;
        prune_chain(input, spec.from, vec![step_towards(spec)], &seed, hops);
    }
}

/// Below an expansion from `node`: finds what bound `node` and, while the path to the
/// text (`steps`, from `node`) is within `hops`, makes it keep only LIndex candidates.
fn prune_chain(op: &mut LogicalOp, node: usize, mut steps: Vec<StepPattern>, seed: &LIndexPrune, hops: usize) {
    if steps.len() > hops {
        return;
    }
    match op {
        LogicalOp::Expand { spec: x, input } if x.to == node => {
            if x.length.is_some() || x.to_bound {
                return;
            }
            if x.to_prune.is_none() {
                x.to_prune = Some(LIndexPrune { steps: steps.clone(), ..seed.clone() });
            }
            steps.insert(0, step_towards(x));
            prune_chain(input, x.from, steps, seed, hops);
        }
        LogicalOp::Expand { input, .. } | LogicalOp::Filter { input, .. } | LogicalOp::NodeCheck { input, .. } => {
            prune_chain(input, node, steps, seed, hops)
        }
        LogicalOp::NodeScan { slot, source, labels, .. } if *slot == node => {
            let label = match source {
                ScanSource::Label(l) => Some(l.clone()),
                ScanSource::AllNodes => labels.first().cloned(),
                _ => return,
            };
            *source = ScanSource::LIndex { label, prune: LIndexPrune { steps, ..seed.clone() } };
        }
        _ => {}
    }
}

/// Replaces `op` by its input, once the input took over what `op` did.
fn replace_by_input(op: &mut LogicalOp) {
    let Some(input) = op.inputs_mut().into_iter().next() else { return };
    let input = std::mem::replace(input, LogicalOp::Start);
    *op = input;
}

/// `(n:L {p: e})` with an index on `L(p)`, where `e` is a constant or depends only on
/// the input row (`UNWIND $rows AS row MATCH (n:L {p: row.k})`): seek the index, once
/// per input row, instead of scanning `L`.
pub struct PropertyIndexSeek;

impl Rule for PropertyIndexSeek {
    fn name(&self) -> &'static str {
        "PropertyIndexSeek"
    }
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay) {
        let LogicalOp::NodeScan { slot, source, labels, props, .. } = op else { return };
        if matches!(source, ScanSource::IndexSeek { .. }) {
            return;
        }
        for l in labels.iter() {
            for (k, e) in props.iter() {
                if !e.is_row_constant(*slot) {
                    continue;
                }
                if let Some(def) = graph.index_for(l, k) {
                    *source = ScanSource::IndexSeek { index: def.clone(), seek: Seek::Equal(e.clone()) };
                    return;
                }
            }
        }
    }
}

/// A filter `n.p = c`, `n.p < c` (and the like) or `n.p STARTS WITH c` right above a
/// label scan of `n` with an index on the label's `p`: the scan becomes an index seek
/// (the filter stays and re-checks).
pub struct FilterIndexSeek;

fn seek_of(pred: &CExpr, slot: usize) -> Option<(String, Seek)> {
    let prop_of = |e: &CExpr| -> Option<String> {
        match e {
            CExpr::Property(base, key) if matches!(**base, CExpr::Slot(s) if s == slot) => Some(key.clone()),
            CExpr::SlotProperty(s, key) if *s == slot => Some(key.clone()),
            _ => None,
        }
    };
    if let CExpr::SlotPropertyCompare { slot: s, key, op, value } = pred {
        if *s != slot {
            return None;
        }
        let value = CExpr::Const(value.clone());
        let seek = match op {
            CompareOp::Eq => Seek::Equal(value),
            CompareOp::Lt | CompareOp::Le => Seek::Range { lower: None, upper: Some((value, *op == CompareOp::Le)) },
            CompareOp::Gt | CompareOp::Ge => Seek::Range { lower: Some((value, *op == CompareOp::Ge)), upper: None },
            CompareOp::Ne => return None,
        };
        return Some((key.clone(), seek));
    }
    match pred {
        CExpr::Compare(a, rest) if rest.len() == 1 => {
            let (op, b) = &rest[0];
            let (key, value, op) = if let (Some(k), true) = (prop_of(a), b.is_constant()) {
                (k, b.clone(), *op)
            } else if let (Some(k), true) = (prop_of(b), a.is_constant()) {
                let flipped = match op {
                    CompareOp::Lt => CompareOp::Gt,
                    CompareOp::Le => CompareOp::Ge,
                    CompareOp::Gt => CompareOp::Lt,
                    CompareOp::Ge => CompareOp::Le,
                    other => *other,
                };
                (k, (**a).clone(), flipped)
            } else {
                return None;
            };
            let seek = match op {
                CompareOp::Eq => Seek::Equal(value),
                CompareOp::Lt | CompareOp::Le => Seek::Range { lower: None, upper: Some((value, op == CompareOp::Le)) },
                CompareOp::Gt | CompareOp::Ge => Seek::Range { lower: Some((value, op == CompareOp::Ge)), upper: None },
                CompareOp::Ne => return None,
            };
            Some((key, seek))
        }
        CExpr::Binary(BinaryOp::StartsWith, a, b) if b.is_constant() => {
            Some((prop_of(a)?, Seek::Prefix((**b).clone())))
        }
        _ => None,
    }
}

impl Rule for FilterIndexSeek {
    fn name(&self) -> &'static str {
        "FilterIndexSeek"
    }
    fn rewrite(&self, op: &mut LogicalOp, graph: &Overlay) {
        let LogicalOp::Filter { input, predicate } = op else { return };
        let LogicalOp::NodeScan { slot, source, labels, .. } = &mut **input else { return };
        if matches!(source, ScanSource::IndexSeek { .. }) {
            return;
        }
        let Some((key, seek)) = seek_of(predicate, *slot) else { return };
        for l in labels.iter() {
            if let Some(def) = graph.index_for(l, &key) {
                *source = ScanSource::IndexSeek { index: def.clone(), seek };
                return;
            }
        }
    }
}

/// `ORDER BY ... LIMIT n` (with or without SKIP): a sort that keeps only the rows it
/// can return.
pub struct SortLimitToTopK;

impl Rule for SortLimitToTopK {
    fn name(&self) -> &'static str {
        "SortLimitToTopK"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Limit { input, count } = op else { return };
        let limit = count.clone();
        let (sort, keep) = match &mut **input {
            LogicalOp::Skip { input: inner, count: skip } => {
                let skip = skip.clone();
                (&mut **inner, Some(skip))
            }
            other => (other, None),
        };
        let LogicalOp::Sort { input, keys } = sort else { return };
        let total = match keep {
            Some(skip) => CExpr::Binary(BinaryOp::Add, Box::new(skip), Box::new(limit)),
            None => limit,
        };
        let input = std::mem::replace(input, Box::new(LogicalOp::Start));
        *sort = LogicalOp::TopK { input, keys: std::mem::take(keys), limit: total };
    }
}

/// `ORDER BY ... LIMIT k` over a projection: keep the top k of the input rows, then
/// project only those (a projected string is read k times, not once per row). Only
/// for projections of plain, deterministic expressions and sort keys that are
/// projected columns or plain expressions over the input.
pub struct ProjectAfterTopK;

impl Rule for ProjectAfterTopK {
    fn name(&self) -> &'static str {
        "ProjectAfterTopK"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::TopK { input, keys, .. } = op else { return };
        let LogicalOp::Project { input: below, exprs, keep_input } = &mut **input else { return };
        if !exprs.iter().all(is_plain) {
            return;
        }
        let width = exprs.len();
        let mut new_keys = Vec::with_capacity(keys.len());
        for (k, asc) in keys.iter() {
            let key = match k {
                CExpr::Slot(s) if *s < width => exprs[*s].clone(),
                other if *keep_input => match shift_slots(other, width) {
                    Some(e) => e,
                    None => return,
                },
                _ => return,
            };
            new_keys.push((key, *asc));
        }
        let below = std::mem::replace(below, Box::new(LogicalOp::Start));
        let LogicalOp::TopK { input, keys, limit } = std::mem::replace(op, LogicalOp::Start) else { return };
        let LogicalOp::Project { exprs, keep_input, .. } = *input else { return };
        let _ = keys;
        *op = LogicalOp::Project {
            input: Box::new(LogicalOp::TopK { input: below, keys: new_keys, limit }),
            exprs,
            keep_input,
        };
    }
}

/// True for expressions over slots and constants only, without sub-plans, local
/// variables or nondeterministic calls: evaluating them later, or not at all for a
/// row that is dropped, changes nothing.
fn is_plain(e: &CExpr) -> bool {
    match e {
        CExpr::Const(_) | CExpr::Slot(_) | CExpr::SlotProperty(..) | CExpr::SlotPropertyCompare { .. } => true,
        CExpr::List(items) => items.iter().all(is_plain),
        CExpr::Call(f, items) => !f.is_nondeterministic() && items.iter().all(is_plain),
        CExpr::Map(entries) => entries.iter().all(|(_, e)| is_plain(e)),
        CExpr::Property(a, _) | CExpr::Not(a) | CExpr::Neg(a) | CExpr::IsNull(a, _) | CExpr::HasLabels(a, _) => {
            is_plain(a)
        }
        CExpr::Index(a, b) | CExpr::Binary(_, a, b) => is_plain(a) && is_plain(b),
        CExpr::Compare(a, rest) => is_plain(a) && rest.iter().all(|(_, e)| is_plain(e)),
        _ => false,
    }
}

/// A plain expression reading slots `by..` with each slot moved down by `by`;
/// `None` when it reads a slot below `by` or is not plain.
fn shift_slots(e: &CExpr, by: usize) -> Option<CExpr> {
    let shift = |e: &CExpr| shift_slots(e, by);
    let boxed = |e: &CExpr| shift_slots(e, by).map(Box::new);
    Some(match e {
        CExpr::Const(v) => CExpr::Const(v.clone()),
        CExpr::Slot(s) => CExpr::Slot(s.checked_sub(by)?),
        CExpr::SlotProperty(s, k) => CExpr::SlotProperty(s.checked_sub(by)?, k.clone()),
        CExpr::SlotPropertyCompare { slot, key, op, value } => {
            CExpr::SlotPropertyCompare { slot: slot.checked_sub(by)?, key: key.clone(), op: *op, value: value.clone() }
        }
        CExpr::List(items) => CExpr::List(items.iter().map(shift).collect::<Option<_>>()?),
        CExpr::Call(f, items) if !f.is_nondeterministic() => {
            CExpr::Call(*f, items.iter().map(shift).collect::<Option<_>>()?)
        }
        CExpr::Map(entries) => {
            CExpr::Map(entries.iter().map(|(k, e)| Some((k.clone(), shift(e)?))).collect::<Option<_>>()?)
        }
        CExpr::Property(a, k) => CExpr::Property(boxed(a)?, k.clone()),
        CExpr::Not(a) => CExpr::Not(boxed(a)?),
        CExpr::Neg(a) => CExpr::Neg(boxed(a)?),
        CExpr::IsNull(a, n) => CExpr::IsNull(boxed(a)?, *n),
        CExpr::HasLabels(a, l) => CExpr::HasLabels(boxed(a)?, l.clone()),
        CExpr::Index(a, b) => CExpr::Index(boxed(a)?, boxed(b)?),
        CExpr::Binary(op, a, b) => CExpr::Binary(*op, boxed(a)?, boxed(b)?),
        CExpr::Compare(a, rest) => {
            CExpr::Compare(boxed(a)?, rest.iter().map(|(op, e)| Some((*op, shift(e)?))).collect::<Option<_>>()?)
        }
        _ => return None,
    })
}

fn is_count_of(spec: &AggSpec, slots: &[usize]) -> bool {
    !spec.distinct
        && match spec.func {
            AggFunc::CountStar => true,
            AggFunc::Count => matches!(spec.args.as_slice(), [CExpr::Slot(s)] if slots.contains(s)),
            _ => false,
        }
}

/// `MATCH (n:L) RETURN count(*)` and `MATCH ()-[r:T]->() RETURN count(r)`: the label
/// bitmap's cardinality or the relationship-type counter, without a scan.
pub struct CountFromStore;

impl Rule for CountFromStore {
    fn name(&self) -> &'static str {
        "CountFromStore"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Aggregate { input, keys, aggs } = op else { return };
        if !keys.is_empty() || aggs.is_empty() {
            return;
        }
        let source = match &**input {
            LogicalOp::NodeScan { input: start, slot, source, labels, props, predicates }
                if matches!(**start, LogicalOp::Start)
                    && props.is_empty()
                    && predicates.is_empty()
                    && aggs.iter().all(|a| is_count_of(a, &[*slot])) =>
            {
                match source {
                    ScanSource::AllNodes if labels.is_empty() => CountSource::Nodes(None),
                    ScanSource::Label(l) if labels.iter().all(|x| x == l) => CountSource::Nodes(Some(l.clone())),
                    _ => return,
                }
            }
            LogicalOp::Expand { input: scan, spec } => {
                let plain_scan = matches!(&**scan, LogicalOp::NodeScan { input: start, source: ScanSource::AllNodes, labels, props, predicates, .. }
                    if matches!(**start, LogicalOp::Start) && labels.is_empty() && props.is_empty() && predicates.is_empty());
                let plain_spec = spec.length.is_none()
                    && spec.dir != ExpandDir::Both
                    && spec.rel_props.is_empty()
                    && spec.to_labels.is_empty()
                    && spec.to_props.is_empty()
                    && !spec.to_bound
                    && !spec.rel_bound
                    && spec.distinct_from.is_empty()
                    // A WHERE moved into the expansion (FilterIntoExpand) or a pruned
                    // target: not every relationship counts.
                    && spec.predicates.is_empty()
                    && spec.to_prune.is_none()
                    && spec.frontier.is_none();
                if !plain_scan || !plain_spec || !aggs.iter().all(|a| is_count_of(a, &[spec.rel, spec.to])) {
                    return;
                }
                CountSource::Rels(spec.types.clone())
            }
            _ => return,
        };
        *op = LogicalOp::CountFromStore { source, columns: aggs.len() };
    }
}

/// An aggregation that only counts the rows of a single-hop expansion (and groups by
/// what was bound before it) counts each input row's matching relationships instead
/// of producing one row per relationship: `count(*)` becomes a sum of those counts.
pub struct CountExpansions;

impl Rule for CountExpansions {
    fn name(&self) -> &'static str {
        "CountExpansions"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Aggregate { input, keys, aggs } = op else { return };
        let LogicalOp::Expand { spec, .. } = &**input else { return };
        // With a bound target the count slot overwrites it; nothing above reads it
        // (checked below: keys and aggregates do not read the new slots).
        if spec.length.is_some() || spec.rel_bound || aggs.is_empty() {
            return;
        }
        let new_slots = [spec.rel, spec.to];
        let mut used = std::collections::BTreeSet::new();
        let reads_new = |e: &CExpr, used: &mut std::collections::BTreeSet<usize>| {
            used.clear();
            !crate::cypher::planner::slots_read(e, used) || used.iter().any(|s| new_slots.contains(s))
        };
        if keys.iter().any(|k| reads_new(k, &mut used)) || !aggs.iter().all(|a| is_count_of(a, &new_slots)) {
            return;
        }
        let to = spec.to;
        let LogicalOp::Expand { input: inner, spec } = std::mem::replace(&mut **input, LogicalOp::Start) else {
            return;
        };
        **input = LogicalOp::ExpandCount { input: inner, spec };
        for a in aggs.iter_mut() {
            *a = AggSpec { func: AggFunc::Sum, distinct: false, args: vec![CExpr::Slot(to)] };
        }
    }
}

/// A filter right above a single-hop expansion is checked inside it, on each
/// candidate, before the candidate's row is built.
pub struct FilterIntoExpand;

impl Rule for FilterIntoExpand {
    fn name(&self) -> &'static str {
        "FilterIntoExpand"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Filter { input, predicate } = op else { return };
        let LogicalOp::Expand { spec, .. } = &mut **input else { return };
        if spec.length.is_some() {
            return;
        }
        spec.predicates.push(predicate.clone());
        replace_by_input(op);
    }
}

/// A filter right above a node scan is checked inside it, before the node's row is
/// built; string predicates on the node also let the scan skip whole chunks whose
/// stored bytes cannot match.
pub struct FilterIntoScan;

impl Rule for FilterIntoScan {
    fn name(&self) -> &'static str {
        "FilterIntoScan"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Filter { input, predicate } = op else { return };
        let LogicalOp::NodeScan { predicates, .. } = &mut **input else { return };
        predicates.push(predicate.clone());
        replace_by_input(op);
    }
}

/// A label check of the node an expansion just reached is done inside the
/// expansion, on each candidate, from the label bitmaps.
pub struct LabelsIntoExpand;

impl Rule for LabelsIntoExpand {
    fn name(&self) -> &'static str {
        "LabelsIntoExpand"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::NodeCheck { input, slot, labels, props } = op else { return };
        let LogicalOp::Expand { spec, .. } = &mut **input else { return };
        if !props.is_empty() || spec.to != *slot || spec.to_bound || spec.length.is_some() {
            return;
        }
        for l in labels.iter() {
            if !spec.to_labels.contains(l) {
                spec.to_labels.push(l.clone());
            }
        }
        replace_by_input(op);
    }
}

/// `(a)-[:T]->(b)` with predicates, then a check that `b` and `a` are also joined
/// by a relationship: the check runs first, the predicates after it. The check
/// reads `a`'s adjacency list, which every row of one `a` shares, while predicates
/// usually read properties of each `b`; most rows fail the check.
pub struct ChecksBeforePredicates;

impl Rule for ChecksBeforePredicates {
    fn name(&self) -> &'static str {
        "ChecksBeforePredicates"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let (LogicalOp::Expand { input, spec: outer } | LogicalOp::ExpandCount { input, spec: outer }) = op else {
            return;
        };
        let LogicalOp::Expand { spec: inner, .. } = &mut **input else { return };
        let is_check = outer.to_bound && !outer.rel_bound && outer.length.is_none();
        let shares_list = outer.from == inner.from || outer.to == inner.from;
        let joins_inner = [outer.from, outer.to].contains(&inner.to);
        if !is_check || !shares_list || !joins_inner || inner.predicates.is_empty() || inner.length.is_some() {
            return;
        }
        let moved = std::mem::take(&mut inner.predicates);
        outer.predicates.splice(0..0, moved);
    }
}

/// `MATCH (n:L) RETURN count(*), min(n.p), avg(n.q)`: aggregates without grouping
/// over one label's nodes read the property columns chunk by chunk, with no row per
/// node.
pub struct AggregateFromColumns;

impl Rule for AggregateFromColumns {
    fn name(&self) -> &'static str {
        "AggregateFromColumns"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Aggregate { input, keys, aggs } = op else { return };
        if !keys.is_empty() || aggs.is_empty() {
            return;
        }
        let LogicalOp::NodeScan { input: start, slot, source, labels, props, predicates } = &**input else { return };
        if !matches!(**start, LogicalOp::Start) || !props.is_empty() || !predicates.is_empty() {
            return;
        }
        let label = match source {
            ScanSource::AllNodes if labels.is_empty() => None,
            ScanSource::Label(l) if labels.iter().all(|x| x == l) => Some(l.clone()),
            _ => return,
        };
        let mut read = Vec::with_capacity(aggs.len());
        for a in aggs.iter() {
            let plain = matches!(a.func, AggFunc::Count | AggFunc::Sum | AggFunc::Avg | AggFunc::Min | AggFunc::Max);
            match (a.func, a.args.as_slice()) {
                (AggFunc::CountStar, []) => read.push(None),
                (AggFunc::Count, [CExpr::Slot(s)]) if *s == *slot && !a.distinct => read.push(None),
                (_, [CExpr::SlotProperty(s, key)]) if plain && *s == *slot && !a.distinct => {
                    read.push(Some(key.clone()))
                }
                (_, [CExpr::Property(base, key)])
                    if plain && matches!(**base, CExpr::Slot(s) if s == *slot) && !a.distinct =>
                {
                    read.push(Some(key.clone()))
                }
                _ => return,
            }
        }
        // count(n) of a scanned node counts nodes: no argument to read.
        let aggs = aggs
            .iter()
            .zip(&read)
            .map(|(a, r)| match r {
                None => AggSpec { func: AggFunc::CountStar, distinct: false, args: Vec::new() },
                Some(_) => a.clone(),
            })
            .collect();
        *op = LogicalOp::ColumnAggregate { label, aggs, props: read };
    }
}

/// The property key of `e` when it reads a property of the node in `slot`.
fn property_of_slot(e: &CExpr, slot: usize) -> Option<String> {
    match e {
        CExpr::SlotProperty(s, key) if *s == slot => Some(key.clone()),
        CExpr::Property(base, key) if matches!(**base, CExpr::Slot(s) if s == slot) => Some(key.clone()),
        _ => None,
    }
}

/// `MATCH (p:L)-[:T]->(:M) RETURN p.name, count(*)` after `CountExpansions`: the
/// label scan, the counting expansion and the grouping run as one pass over the
/// label's chunks (`DegreeAggregate`), grouping by the node's property columns.
pub struct DegreeAggregation;

impl Rule for DegreeAggregation {
    fn name(&self) -> &'static str {
        "DegreeAggregation"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Aggregate { input, keys, aggs } = op else { return };
        let LogicalOp::ExpandCount { input: scan, spec } = &**input else { return };
        let LogicalOp::NodeScan { input: start, slot, source, labels, props, predicates } = &**scan else { return };
        if !matches!(**start, LogicalOp::Start) || !props.is_empty() || !predicates.is_empty() {
            return;
        }
        let label = match source {
            ScanSource::AllNodes if labels.is_empty() => None,
            ScanSource::Label(l) if labels.iter().all(|x| x == l) => Some(l.clone()),
            _ => return,
        };
        let rel = spec.rel;
        // Only relationship-column tests may filter (they run on columns, not rows).
        let column_tests = spec.predicates.iter().all(|p| {
            matches!(p, CExpr::SlotPropertyCompare { slot, value: V::Int(_) | V::Float(_) | V::Bool(_), .. } if *slot == rel)
        });
        let plain = spec.from == *slot
            && spec.length.is_none()
            && spec.dir != ExpandDir::Both
            && !spec.to_bound
            && !spec.rel_bound
            && spec.rel_props.is_empty()
            && spec.to_props.is_empty()
            && spec.distinct_from.is_empty()
            && column_tests;
        let sums_count = aggs.iter().all(|a| {
            a.func == AggFunc::Sum && !a.distinct && matches!(a.args.as_slice(), [CExpr::Slot(s)] if *s == spec.to)
        });
        let Some(key_props) = keys.iter().map(|k| property_of_slot(k, *slot)).collect::<Option<Vec<_>>>() else {
            return;
        };
        if !plain || !sums_count || aggs.is_empty() {
            return;
        }
        *op = LogicalOp::DegreeAggregate { label, spec: spec.clone(), keys: key_props, aggs: std::mem::take(aggs) };
    }
}

/// After `CountExpansions`: a count of closing checks (`(b)-[:T]->(c)` with `c`
/// bound) over an expansion that reached `b` counts, per row before `b`, the
/// checks of every `b` without building a row for each: triangles, colleagues who
/// know each other.
pub struct CountThroughExpand;

impl Rule for CountThroughExpand {
    fn name(&self) -> &'static str {
        "CountThroughExpand"
    }
    fn rewrite(&self, op: &mut LogicalOp, _graph: &Overlay) {
        let LogicalOp::Aggregate { input, keys, aggs } = op else { return };
        let LogicalOp::ExpandCount { input: below, spec: then } = &**input else { return };
        let LogicalOp::Expand { spec: first, .. } = &**below else { return };
        let sums_count = aggs.iter().all(|a| {
            a.func == AggFunc::Sum && !a.distinct && matches!(a.args.as_slice(), [CExpr::Slot(s)] if *s == then.to)
        });
        let chained = then.to_bound
            && !then.rel_bound
            && then.length.is_none()
            && then.from == first.to
            && first.length.is_none()
            && !first.rel_bound
            && !first.to_bound;
        // The first hop's slots are not in the output: no key may read them.
        let hidden = [first.rel, first.to];
        let mut used = std::collections::BTreeSet::new();
        let keys_ok = keys.iter().all(|k| {
            used.clear();
            crate::cypher::planner::slots_read(k, &mut used) && !used.iter().any(|s| hidden.contains(s))
        });
        if !sums_count || !chained || !keys_ok || aggs.is_empty() {
            return;
        }
        let LogicalOp::ExpandCount { input: below, spec: then } = std::mem::replace(&mut **input, LogicalOp::Start)
        else {
            return;
        };
        let LogicalOp::Expand { input: source, spec: first } = *below else { return };
        **input = LogicalOp::ExpandIntoCount { input: source, first, then };
    }
}
