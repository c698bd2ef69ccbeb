//! Following relationships: single hops, variable-length walks, into-checks and
//! expansion counts.

use std::collections::VecDeque;
use std::sync::Arc;

use sprig_index::graph::{Direction, NodeId, RelId};

use crate::cypher::eval::aggregate::Accumulator;
use crate::cypher::eval::expr::passes;
use crate::cypher::exec::chunked::RelColumnTests;
use crate::cypher::exec::group_table::GroupTable;
use crate::cypher::exec::memory::row_bytes;
use crate::cypher::plan::*;
use crate::cypher::value::CypherValue as V;
use crate::Result;

use super::context::{lindex_candidates, set, widened, BoxOp, Ctx, Operator, Row};
use super::rows::Once;
use super::scan::{eval_prop_map, node_matches, rel_props_match, LabelTest};

pub(crate) fn type_tokens(types: &[String], ctx: &Ctx<'_>) -> Option<Vec<u32>> {
    if types.is_empty() {
        return None;
    }
    Some(types.iter().filter_map(|t| ctx.graph.meta().type_token(t)).collect())
}

/// The relationships of `node` in `dir` (of the given type tokens), as (rel, other).
pub(super) fn neighbours(
    node: NodeId,
    dir: ExpandDir,
    tokens: &Option<Vec<u32>>,
    ctx: &mut Ctx<'_>,
) -> Result<Vec<(RelId, NodeId)>> {
    let mut out = Vec::new();
    let mut push = |list: &[sprig_index::graph::AdjEntry], skip_loops: bool| {
        for e in list {
            if skip_loops && e.other == node {
                continue;
            }
            if tokens.as_ref().is_none_or(|t| t.contains(&e.type_token)) {
                out.push((e.rel, e.other));
            }
        }
    };
    if matches!(dir, ExpandDir::Out | ExpandDir::Both) {
        let l = ctx.graph.adjacency(node, Direction::Outgoing)?;
        push(&l, false);
    }
    if matches!(dir, ExpandDir::In | ExpandDir::Both) {
        let l = ctx.graph.adjacency(node, Direction::Incoming)?;
        push(&l, dir == ExpandDir::Both);
    }
    Ok(out)
}

/// The adjacency list of `node` in `dir`; for a single type, only that type's
/// entries, from the chunk's block of the type (dense, so it stays in cache).
pub(crate) fn list_of(
    node: NodeId,
    dir: Direction,
    tokens: &Option<Vec<u32>>,
    ctx: &mut Ctx<'_>,
) -> Result<sprig_index::graph::AdjList> {
    Ok(match tokens.as_deref() {
        Some([t]) => ctx.graph.typed_adjacency(node, dir, *t)?,
        _ => ctx.graph.adjacency(node, dir)?,
    })
}

/// The entries of a list (sorted by type token) with one of `tokens`' types: the
/// range of the type for a single type, the whole list otherwise.
pub(crate) fn of_types<'a>(
    list: &'a [sprig_index::graph::AdjEntry],
    tokens: &Option<Vec<u32>>,
) -> &'a [sprig_index::graph::AdjEntry] {
    match tokens.as_deref() {
        Some([]) => &[],
        Some([t]) => {
            let t = *t;
            // Lists are sorted by type: the first and the last entry tell whether
            // the type sits at either end (the common case with few types), which
            // reads the two ends of the list instead of all of it.
            let (Some(first), Some(last)) = (list.first(), list.last()) else { return &[] };
            if first.type_token == t {
                let hi = list.iter().take_while(|e| e.type_token == t).count();
                &list[..hi]
            } else if last.type_token == t {
                let lo = list.len() - list.iter().rev().take_while(|e| e.type_token == t).count();
                &list[lo..]
            } else if first.type_token > t || last.type_token < t {
                &[]
            } else {
                let lo = list.partition_point(|e| e.type_token < t);
                let hi = lo + list[lo..].partition_point(|e| e.type_token == t);
                &list[lo..hi]
            }
        }
        _ => list,
    }
}

/// Relationships into a bound target, found from the target's side when the same
/// target comes back row after row (`(a)-[:WORKS_AT]->(c)<-[:WORKS_AT]-(b)` checks
/// many `b` against one `c`): the target's list, sorted by the other end, is built
/// once and probed by binary search instead of walking each `from`'s list. Built
/// lists are kept for targets that come back later too, up to a budget of pairs.
#[derive(Debug, Default)]
pub(super) struct IntoMemo {
    pub(super) last_target: Option<NodeId>,
    /// Each target's (other end, relationship) pairs, sorted.
    pub(super) built: rustc_hash::FxHashMap<NodeId, TargetList>,
    pub(super) pairs: usize,
    /// The statement's write count when `built` was filled (a write empties it).
    pub(super) writes: u64,
}

/// A target's (other end, relationship) pairs, sorted, shared with the caller.
pub(super) type TargetList = std::rc::Rc<[(NodeId, RelId)]>;

/// Pairs an into-check memo keeps before it starts over (16 MiB).
pub(super) const INTO_MEMO_PAIRS: usize = 1 << 20;

impl IntoMemo {
    /// The relationships from `from` to `to` (with the expansion's direction and
    /// types) when the memo serves `to`; `None`: walk `from`'s list instead.
    fn lookup(
        &mut self,
        from: NodeId,
        to: NodeId,
        dir: ExpandDir,
        tokens: &Option<Vec<u32>>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Option<Vec<(RelId, NodeId)>>> {
        let repeated = self.last_target == Some(to);
        self.last_target = Some(to);
        self.forget_after_writes(ctx);
        if !repeated && !self.built.contains_key(&to) {
            return Ok(None);
        }
        let Some(pairs) = self.list_for(to, dir, tokens, ctx)? else { return Ok(None) };
        Ok(Some(matching(&pairs, from).map(|r| (r, to)).collect()))
    }

    /// Empties the memo when the statement has written since it was filled.
    fn forget_after_writes(&mut self, ctx: &Ctx<'_>) {
        let writes = ctx.stats.total();
        if writes != self.writes {
            self.built.clear();
            self.pairs = 0;
            self.writes = writes;
        }
    }

    /// `to`'s list from its side, built now if the memo does not hold it; `None`
    /// for an undirected expansion (both lists would be needed).
    fn list_for(
        &mut self,
        to: NodeId,
        dir: ExpandDir,
        tokens: &Option<Vec<u32>>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Option<TargetList>> {
        let reverse = match dir {
            ExpandDir::Out => Direction::Incoming,
            ExpandDir::In => Direction::Outgoing,
            ExpandDir::Both => return Ok(None),
        };
        if let Some(pairs) = self.built.get(&to) {
            return Ok(Some(pairs.clone()));
        }
        let list = list_of(to, reverse, tokens, ctx)?;
        let mut pairs: Vec<(NodeId, RelId)> = of_types(&list, tokens)
            .iter()
            .filter(|e| tokens.as_ref().is_none_or(|t| t.contains(&e.type_token)))
            .map(|e| (e.other, e.rel))
            .collect();
        pairs.sort_unstable();
        if self.pairs + pairs.len() > INTO_MEMO_PAIRS {
            self.built.clear();
            self.pairs = 0;
        }
        self.pairs += pairs.len();
        let pairs: TargetList = pairs.into();
        self.built.insert(to, pairs.clone());
        Ok(Some(pairs))
    }
}

/// The relationships of a target's sorted list whose other end is `from`.
fn matching(pairs: &[(NodeId, RelId)], from: NodeId) -> impl Iterator<Item = RelId> + '_ {
    let lo = pairs.partition_point(|(o, _)| *o < from);
    pairs[lo..].iter().take_while(move |(o, _)| *o == from).map(|(_, r)| *r)
}

pub(super) fn used_rel(row: &Row, slots: &[usize], rel: RelId) -> bool {
    slots.iter().any(|s| match row.get(*s) {
        Some(V::Rel(r)) => *r == rel,
        Some(V::List(l)) => l.iter().any(|v| matches!(v, V::Rel(r) if *r == rel)),
        _ => false,
    })
}

/// The rows of an aggregation: each group's key, then its `per_group` aggregates,
/// in the order groups were first seen; one row when `ungrouped`.
pub(crate) fn group_rows(
    groups: GroupTable,
    states: Vec<Accumulator>,
    per_group: usize,
    ungrouped: bool,
) -> Result<VecDeque<Row>> {
    let n = if ungrouped { 1 } else { groups.len() };
    let mut keys = groups.into_keys(per_group);
    let mut accs = states.into_iter();
    let mut out = VecDeque::with_capacity(n);
    for _ in 0..n {
        let mut row: Row = keys.next().unwrap_or_else(|| Vec::with_capacity(per_group));
        for a in accs.by_ref().take(per_group) {
            row.push(a.finish()?);
        }
        out.push_back(row);
    }
    Ok(out)
}

pub(super) struct ExpandIntoCount {
    pub(super) input: BoxOp,
    /// The hop to the intermediate node.
    pub(super) first: Expand,
    /// The closing check from the intermediate node (counted).
    pub(super) then: Expand,
}

impl ExpandIntoCount {
    /// The closing check's target list, when the check is a plain hop into a bound
    /// node (no property maps, lengths or pruning): each intermediate node is then
    /// found in it by binary search, with one memo lookup per row instead of one per
    /// intermediate node.
    fn target_list(&mut self, row: &Row, ctx: &mut Ctx<'_>) -> Result<Option<TargetList>> {
        let spec = &self.then.spec;
        let plain = spec.to_bound
            && spec.length.is_none()
            && !spec.rel_bound
            && spec.rel_props.is_empty()
            && spec.to_props.is_empty()
            && spec.to_prune.is_none();
        let Some(V::Node(to)) = row.get(spec.to).filter(|_| plain) else { return Ok(None) };
        let (to, dir) = (*to, spec.dir);
        let tokens = self.then.tokens(ctx);
        self.then.into_memo.forget_after_writes(ctx);
        self.then.into_memo.list_for(to, dir, &tokens, ctx)
    }
}

impl Operator for ExpandIntoCount {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let (first_rel, first_to) = (self.first.spec.rel, self.first.spec.to);
        let (then_rel, then_to) = (self.then.spec.rel, self.then.spec.to);
        let widest = first_rel.max(first_to).max(then_rel).max(then_to);
        while let Some(row) = self.input.next(ctx)? {
            let Some((from, shared)) = self.first.start_row(&row, ctx)? else { continue };
            let tokens: &Option<Vec<u32>> = &shared;
            // The row as the check sees it: the first hop's slots change per candidate.
            let mut scratch = widened(&row, widest);
            let mut total = 0i64;
            let target_list = self.target_list(&row, ctx)?;
            let then = &mut self.then;
            self.first.single_hop(&row, from, tokens, ctx, |rel, mid, ctx| {
                if let Some(pairs) = &target_list {
                    let mut rels = matching(pairs, mid).peekable();
                    if rels.peek().is_none() {
                        return Ok(());
                    }
                    set(&mut scratch, first_rel, V::Rel(rel));
                    set(&mut scratch, first_to, V::Node(mid));
                    let Some((_, _)) = then.start_row(&scratch, ctx)? else { return Ok(()) };
                    let to = then.spec.to;
                    let Some(V::Node(to)) = scratch.get(to).cloned() else { return Ok(()) };
                    for check_rel in rels {
                        ctx.tick()?;
                        if then.check_candidate(check_rel, to, &scratch, ctx)? {
                            total += 1;
                        }
                    }
                    return Ok(());
                }
                set(&mut scratch, first_rel, V::Rel(rel));
                set(&mut scratch, first_to, V::Node(mid));
                let Some((check_from, check_tokens)) = then.start_row(&scratch, ctx)? else { return Ok(()) };
                then.single_hop(&scratch, check_from, &check_tokens, ctx, |_, _, _| {
                    total += 1;
                    Ok(())
                })
            })?;
            if total > 0 {
                let mut out = widened(&row, widest);
                set(&mut out, then_rel, V::Null);
                set(&mut out, then_to, V::Int(total));
                return Ok(Some(out));
            }
        }
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

/// The type tokens of an expansion (`None`: any type), shared without a copy.
pub(super) type Tokens = std::rc::Rc<Option<Vec<u32>>>;

pub(super) struct Expand {
    /// Emit one row per input row with the number of matches (ExpandCount).
    pub(super) count_only: bool,
    pub(super) input: BoxOp,
    pub(super) spec: ExpandSpec,
    pub(super) pending: VecDeque<Row>,
    /// Property-map values for the current input row.
    pub(super) rel_wanted: Vec<(String, V)>,
    pub(super) to_wanted: Vec<(String, V)>,
    /// Type tokens, looked up once (shared with each row's expansion without a copy).
    pub(super) tokens: Option<Tokens>,
    /// Candidates of the current row, collected before their rows are built.
    pub(super) found: Vec<(RelId, NodeId)>,
    /// The current row's adjacency entries of the expansion's one type.
    pub(super) entries: Vec<sprig_index::graph::AdjEntry>,
    pub(super) to_labels: LabelTest,
    /// Reused row for checking `spec.predicates` before building a row.
    pub(super) scratch: Row,
    /// True when `scratch` holds the current input row.
    pub(super) scratch_fresh: bool,
    pub(super) into_memo: IntoMemo,
    /// Predicates comparing a property of the new relationship with a number,
    /// tested on the relationship chunk's columns (the rest are in `spec.predicates`).
    pub(super) rel_tests: RelColumnTests,
    /// The LIndex candidates for the target (`spec.to_prune`), with the write count they
    /// were looked up at: the statement's own writes change them.
    pub(super) to_candidates: Option<(u64, Option<Arc<roaring::RoaringTreemap>>)>,
    /// Targets passed before the lookup was made (see [`LIndexPrune::after`]).
    pub(super) unpruned: u32,
    /// By hops left: the nodes a variable-length walk may go on from, with the write
    /// count they were looked up at (see [`ExpandSpec::frontier`]).
    pub(super) frontier_sets: Vec<Option<(u64, Option<Arc<roaring::RoaringTreemap>>)>>,
}

impl Expand {
    pub(super) fn new(count_only: bool, input: BoxOp, spec: &ExpandSpec) -> Self {
        let mut spec = spec.clone();
        let rel_tests = RelColumnTests::take_from(&mut spec);
        Expand {
            count_only,
            input,
            pending: VecDeque::new(),
            rel_wanted: Vec::new(),
            to_wanted: Vec::new(),
            tokens: None,
            found: Vec::new(),
            entries: Vec::new(),
            to_labels: LabelTest::new(&spec.to_labels),
            scratch: Vec::new(),
            scratch_fresh: false,
            into_memo: IntoMemo::default(),
            rel_tests,
            to_candidates: None,
            unpruned: 0,
            frontier_sets: Vec::new(),
            spec,
        }
    }

    /// An expansion used only through `start_row` and `single_hop` (its input is
    /// never pulled).
    pub(super) fn without_input(spec: &ExpandSpec) -> Self {
        Expand::new(false, Box::new(Once { row: None, arg: Vec::new(), use_arg: false }), spec)
    }

    fn rel_ok(&self, rel: RelId, row: &Row, ctx: &mut Ctx<'_>) -> Result<bool> {
        if !self.spec.distinct_from.is_empty() && used_rel(row, &self.spec.distinct_from, rel) {
            return Ok(false);
        }
        if self.rel_wanted.is_empty() {
            return Ok(true);
        }
        rel_props_match(rel, &self.rel_wanted, ctx)
    }

    /// Whether `node` is one of the LIndex candidates of `spec.to_prune` (looked up
    /// again after the statement's own writes).
    fn prune_ok(&mut self, node: NodeId, ctx: &mut Ctx<'_>) -> Result<bool> {
        let Some(prune) = &self.spec.to_prune else { return Ok(true) };
        if self.unpruned < prune.after {
            // A path lookup reads many postings: worth it only for a large expansion.
            self.unpruned += 1;
            return Ok(true);
        }
        let writes = ctx.stats.total();
        if self.to_candidates.as_ref().is_none_or(|(at, _)| *at != writes) {
            self.to_candidates = Some((writes, lindex_candidates(prune, ctx)?));
        }
        Ok(match &self.to_candidates {
            Some((_, Some(c))) => c.contains(node),
            _ => true,
        })
    }

    /// Whether a variable-length walk at `node`, with `left` hops to go, can still reach
    /// a candidate target (see [`ExpandSpec::frontier`]).
    fn frontier_ok(&mut self, node: NodeId, left: u64, ctx: &mut Ctx<'_>) -> Result<bool> {
        let Some(frontier) = &self.spec.frontier else { return Ok(true) };
        if left > u64::from(frontier.hops) {
            return Ok(true);
        }
        if self.unpruned < frontier.prune.after {
            self.unpruned += 1;
            return Ok(true);
        }
        let writes = ctx.stats.total();
        let slot = left as usize;
        if self.frontier_sets.len() <= slot {
            self.frontier_sets.resize(slot + 1, None);
        }
        if self.frontier_sets[slot].as_ref().is_none_or(|(at, _)| *at != writes) {
            // Candidates for 1..=left steps of the walk.
            let mut reach: Option<roaring::RoaringTreemap> = Some(roaring::RoaringTreemap::new());
            for j in 1..=left as usize {
                let step = frontier.prune.steps[0].clone();
                let prune = LIndexPrune { steps: vec![step; j], ..frontier.prune.clone() };
                match (lindex_candidates(&prune, ctx)?, reach.as_mut()) {
                    (Some(c), Some(r)) => *r |= c.as_ref(),
                    _ => reach = None,
                }
            }
            self.frontier_sets[slot] = Some((writes, reach.map(Arc::new)));
        }
        Ok(match &self.frontier_sets[slot] {
            Some((_, Some(r))) => r.contains(node),
            _ => true,
        })
    }

    fn target_ok(&mut self, node: NodeId, row: &Row, ctx: &mut Ctx<'_>) -> Result<bool> {
        if self.spec.to_bound && !matches!(row.get(self.spec.to), Some(V::Node(n)) if *n == node) {
            return Ok(false);
        }
        if self.spec.to_prune.is_some() && !self.prune_ok(node, ctx)? {
            return Ok(false);
        }
        if self.spec.to_labels.is_empty() && self.to_wanted.is_empty() {
            return Ok(true);
        }
        node_matches(node, &mut self.to_labels, &self.to_wanted, ctx)
    }

    /// What is the same for every candidate of `row`: the start node and the type
    /// tokens (`None`: the row has no node to start from).
    /// The expansion's type tokens, looked up on first use.
    fn tokens(&mut self, ctx: &Ctx<'_>) -> Tokens {
        match &self.tokens {
            Some(t) => t.clone(),
            None => {
                let t = std::rc::Rc::new(type_tokens(&self.spec.types, ctx));
                self.tokens = Some(t.clone());
                t
            }
        }
    }

    fn start_row(&mut self, row: &Row, ctx: &mut Ctx<'_>) -> Result<Option<(NodeId, Tokens)>> {
        let Some(V::Node(from)) = row.get(self.spec.from).cloned() else { return Ok(None) };
        let tokens = self.tokens(ctx);
        if !self.spec.rel_props.is_empty() || !self.rel_wanted.is_empty() {
            self.rel_wanted = eval_prop_map(&self.spec.rel_props, row, ctx)?;
        }
        if !self.spec.to_props.is_empty() || !self.to_wanted.is_empty() {
            self.to_wanted = eval_prop_map(&self.spec.to_props, row, ctx)?;
        }
        // Copied into the scratch row only when a candidate gets to the predicates.
        self.scratch_fresh = false;
        Ok(Some((from, tokens)))
    }

    fn expand(&mut self, row: Row, ctx: &mut Ctx<'_>) -> Result<()> {
        let Some((from, shared)) = self.start_row(&row, ctx)? else { return Ok(()) };
        let tokens: &Option<Vec<u32>> = &shared;
        if let Some((min, max)) = self.spec.length {
            return self.expand_var(row, from, tokens, min, max, ctx);
        }
        if self.spec.rel_bound {
            let Some(V::Rel(r)) = row.get(self.spec.rel).cloned() else { return Ok(()) };
            let Some(rec) = ctx.graph.rel(r)? else { return Ok(()) };
            if tokens.is_some() && !self.spec.types.contains(&rec.rel_type) {
                return Ok(());
            }
            let mut others = Vec::new();
            if matches!(self.spec.dir, ExpandDir::Out | ExpandDir::Both) && rec.start == from {
                others.push(rec.end);
            }
            if matches!(self.spec.dir, ExpandDir::In | ExpandDir::Both)
                && rec.end == from
                && !others.contains(&rec.start)
            {
                others.push(rec.start);
            }
            for other in others {
                if self.target_ok(other, &row, ctx)? && self.rel_ok(r, &row, ctx)? {
                    let mut out = row.clone();
                    set(&mut out, self.spec.to, V::Node(other));
                    self.pending.push_back(out);
                }
            }
            return Ok(());
        }
        let count_only = self.count_only;
        let mut count = 0i64;
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        self.single_hop(&row, from, tokens, ctx, |rel, other, _| {
            if count_only {
                count += 1;
            } else {
                found.push((rel, other));
            }
            Ok(())
        })?;
        for &(rel, other) in &found {
            self.emit(&row, rel, other);
        }
        self.found = found;
        self.finish_count(row, count);
        Ok(())
    }

    /// Calls `f` with each relationship and node a single hop from `from` reaches
    /// that passes every check of the expansion, for input row `row`.
    #[inline]
    fn single_hop(
        &mut self,
        row: &Row,
        from: NodeId,
        tokens: &Option<Vec<u32>>,
        ctx: &mut Ctx<'_>,
        mut f: impl FnMut(RelId, NodeId, &mut Ctx<'_>) -> Result<()>,
    ) -> Result<()> {
        let bound = match (self.spec.to_bound, row.get(self.spec.to)) {
            (false, _) => None,
            (true, Some(V::Node(n))) => Some(*n),
            (true, _) => return Ok(()),
        };
        let plain_rel = self.spec.distinct_from.is_empty() && self.rel_wanted.is_empty();
        let labels_only = self.to_wanted.is_empty();
        if labels_only {
            self.to_labels.prepare(ctx)?;
        }
        if let Some(to) = bound {
            if let Some(matches) = self.into_memo.lookup(from, to, self.spec.dir, tokens, ctx)? {
                for (rel, _) in matches {
                    ctx.tick()?;
                    if self.candidate_ok(rel, to, row, plain_rel, labels_only, ctx)? {
                        f(rel, to, ctx)?;
                    }
                }
                return Ok(());
            }
        }
        // One type in one direction: the entries copied out of the type's block.
        if let (Some([token]), ExpandDir::Out | ExpandDir::In) = (tokens.as_deref(), self.spec.dir) {
            let dir = if self.spec.dir == ExpandDir::Out { Direction::Outgoing } else { Direction::Incoming };
            let mut entries = std::mem::take(&mut self.entries);
            entries.clear();
            ctx.graph.typed_entries_into(from, dir, *token, &mut entries)?;
            for e in &entries {
                if bound.is_some_and(|to| to != e.other) {
                    continue;
                }
                ctx.tick()?;
                if self.candidate_ok(e.rel, e.other, row, plain_rel, labels_only, ctx)? {
                    f(e.rel, e.other, ctx)?;
                }
            }
            self.entries = entries;
            return Ok(());
        }
        // Walk the adjacency lists in place (no per-row list of neighbours).
        let out_list = match self.spec.dir {
            ExpandDir::Out | ExpandDir::Both => Some(list_of(from, Direction::Outgoing, tokens, ctx)?),
            ExpandDir::In => None,
        };
        let in_list = match self.spec.dir {
            ExpandDir::In | ExpandDir::Both => Some(list_of(from, Direction::Incoming, tokens, ctx)?),
            ExpandDir::Out => None,
        };
        let skip_loops = self.spec.dir == ExpandDir::Both;
        let entries = out_list
            .iter()
            .flat_map(|l| of_types(l, tokens).iter().map(|e| (e, false)))
            .chain(in_list.iter().flat_map(|l| of_types(l, tokens).iter().map(|e| (e, true))));
        let several_types = tokens.as_ref().is_some_and(|t| t.len() > 1);
        for (e, incoming) in entries {
            if incoming && skip_loops && e.other == from {
                continue;
            }
            if several_types && tokens.as_ref().is_some_and(|t| !t.contains(&e.type_token)) {
                continue;
            }
            if bound.is_some_and(|to| to != e.other) {
                continue;
            }
            let (rel, other) = (e.rel, e.other);
            ctx.tick()?;
            if self.candidate_ok(rel, other, row, plain_rel, labels_only, ctx)? {
                f(rel, other, ctx)?;
            }
        }
        Ok(())
    }

    /// Every check of one candidate found without walking the lists (after
    /// [`Self::start_row`] for `row`).
    fn check_candidate(&mut self, rel: RelId, other: NodeId, row: &Row, ctx: &mut Ctx<'_>) -> Result<bool> {
        let plain_rel = self.spec.distinct_from.is_empty() && self.rel_wanted.is_empty();
        let labels_only = self.to_wanted.is_empty();
        if labels_only {
            self.to_labels.prepare(ctx)?;
        }
        self.candidate_ok(rel, other, row, plain_rel, labels_only, ctx)
    }

    /// Labels, property maps, isomorphism and pushed-down predicates of one candidate.
    fn candidate_ok(
        &mut self,
        rel: RelId,
        other: NodeId,
        row: &Row,
        plain_rel: bool,
        labels_only: bool,
        ctx: &mut Ctx<'_>,
    ) -> Result<bool> {
        if !self.rel_tests.tests.is_empty() && !self.rel_tests.pass(rel, ctx)? {
            return Ok(false);
        }
        // The LIndex candidates are usually the most selective test: first.
        if self.spec.to_prune.is_some() && !self.prune_ok(other, ctx)? {
            return Ok(false);
        }
        let target = if labels_only {
            self.to_labels.contains(other)
        } else {
            node_matches(other, &mut self.to_labels, &self.to_wanted, ctx)?
        };
        if !target || (!plain_rel && !self.rel_ok(rel, row, ctx)?) {
            return Ok(false);
        }
        if self.spec.predicates.is_empty() {
            return Ok(true);
        }
        // The scratch row holds this input row; only the new slots change.
        if !self.scratch_fresh {
            self.scratch.clone_from(row);
            self.scratch_fresh = true;
        }
        set(&mut self.scratch, self.spec.rel, V::Rel(rel));
        set(&mut self.scratch, self.spec.to, V::Node(other));
        for p in &self.spec.predicates {
            if !passes(&p.eval(&self.scratch, ctx)?)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn emit(&mut self, row: &Row, rel: RelId, other: NodeId) {
        let mut out = widened(row, self.spec.rel.max(self.spec.to));
        set(&mut out, self.spec.rel, V::Rel(rel));
        set(&mut out, self.spec.to, V::Node(other));
        self.pending.push_back(out);
    }

    fn finish_count(&mut self, row: Row, count: i64) {
        if self.count_only && count > 0 {
            let mut out = row;
            out.reserve((self.spec.rel.max(self.spec.to) + 1).saturating_sub(out.len()));
            set(&mut out, self.spec.rel, V::Null);
            set(&mut out, self.spec.to, V::Int(count));
            self.pending.push_back(out);
        }
    }

    fn expand_var(
        &mut self,
        row: Row,
        from: NodeId,
        tokens: &Option<Vec<u32>>,
        min: u64,
        max: Option<u64>,
        ctx: &mut Ctx<'_>,
    ) -> Result<()> {
        // Depth-first over relationship-unique walks.
        if self.spec.rel_bound {
            return self.follow_bound_list(row, from, ctx);
        }
        let mut stack: Vec<(NodeId, Vec<RelId>)> = vec![(from, Vec::new())];
        // The rows of one start node are buffered: they count against the budget.
        let mut buffered = 0usize;
        while let Some((node, rels)) = stack.pop() {
            ctx.work(rels.len().min(1 << 20) as u32 + 1)?;
            let depth = rels.len() as u64;
            if depth >= min && self.target_ok(node, &row, ctx)? {
                let mut out = row.clone();
                let mut list: Vec<V> = rels.iter().map(|r| V::Rel(*r)).collect();
                if self.spec.reversed {
                    list.reverse();
                }
                set(&mut out, self.spec.rel, V::list(list));
                set(&mut out, self.spec.to, V::Node(node));
                buffered += row_bytes(&out);
                ctx.memory.check(buffered)?;
                self.pending.push_back(out);
            }
            if max.is_some_and(|m| depth >= m) {
                continue;
            }
            if let (Some(m), true) = (max, self.spec.frontier.is_some()) {
                if !self.frontier_ok(node, m - depth, ctx)? {
                    continue;
                }
            }
            let next = neighbours(node, self.spec.dir, tokens, ctx)?;
            ctx.work((next.len() * (rels.len() + 1)).min(1 << 20) as u32)?;
            for (rel, other) in next.into_iter().rev() {
                if rels.contains(&rel) || !self.rel_ok(rel, &row, ctx)? {
                    continue;
                }
                let mut r = rels.clone();
                r.push(rel);
                stack.push((other, r));
            }
        }
        Ok(())
    }
}

impl Expand {
    /// A variable-length pattern whose relationship list is bound: the walk must
    /// follow exactly those relationships, in order.
    fn follow_bound_list(&mut self, row: Row, from: NodeId, ctx: &mut Ctx<'_>) -> Result<()> {
        let Some(V::List(list)) = row.get(self.spec.rel).cloned() else { return Ok(()) };
        let mut rels: Vec<RelId> = Vec::new();
        for v in list.iter() {
            let V::Rel(r) = v else { return Ok(()) };
            rels.push(*r);
        }
        if self.spec.reversed {
            rels.reverse();
        }
        let mut node = from;
        for r in &rels {
            let rec = ctx.rel(*r)?;
            if !self.spec.types.is_empty() && !self.spec.types.contains(&rec.rel_type) {
                return Ok(());
            }
            node = match self.spec.dir {
                ExpandDir::Out if rec.start == node => rec.end,
                ExpandDir::In if rec.end == node => rec.start,
                ExpandDir::Both if rec.start == node => rec.end,
                ExpandDir::Both if rec.end == node => rec.start,
                _ => return Ok(()),
            };
        }
        let (min, max) = self.spec.length.unwrap_or((1, Some(1)));
        let n = rels.len() as u64;
        if n >= min && max.is_none_or(|m| n <= m) && self.target_ok(node, &row, ctx)? {
            let mut out = row;
            set(&mut out, self.spec.to, V::Node(node));
            self.pending.push_back(out);
        }
        Ok(())
    }
}

impl Operator for Expand {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            self.expand(row, ctx)?;
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.pending.clear();
        self.input.reset(arg);
    }
}
