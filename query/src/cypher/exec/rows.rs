//! Row-at-a-time operators: filters, OPTIONAL MATCH, UNWIND, paths and projections.

use std::sync::Arc;

use sprig_index::graph::NodeId;

use crate::cypher::eval::expr::passes;
use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::*;
use crate::cypher::value::{CypherValue as V, PathValue};
use crate::Result;

use super::context::{set, BoxOp, Ctx, Operator, Row};

pub(super) struct Filter {
    pub(super) input: BoxOp,
    pub(super) predicate: CExpr,
}

impl Operator for Filter {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ctx)? {
            ctx.tick()?;
            if passes(&self.predicate.eval(&row, ctx)?)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

pub(super) struct Optional {
    pub(super) input: BoxOp,
    pub(super) inner: BoxOp,
    pub(super) added: usize,
    pub(super) current: Option<Row>,
    pub(super) produced: bool,
}

impl Operator for Optional {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(row) = &self.current {
                let width = row.len() + self.added;
                if let Some(mut r) = self.inner.next(ctx)? {
                    self.produced = true;
                    r.resize(width, V::Null);
                    return Ok(Some(r));
                }
                let mut row = self.current.take().unwrap_or_default();
                if !self.produced {
                    row.resize(width, V::Null);
                    return Ok(Some(row));
                }
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            self.inner.reset(&row);
            self.produced = false;
            self.current = Some(row);
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.current = None;
        self.input.reset(arg);
    }
}

pub(super) struct Unwind {
    pub(super) input: BoxOp,
    pub(super) expr: CExpr,
    pub(super) slot: usize,
    /// The input row being unwound, its list and the next index: rows are made one
    /// at a time, so `UNWIND range(1, 10000000)` holds the list, not ten million rows.
    pub(super) current: Option<(Row, Arc<Vec<V>>, usize)>,
}

impl Operator for Unwind {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some((row, items, at)) = &mut self.current {
                if let Some(item) = items.get(*at) {
                    *at += 1;
                    ctx.tick()?;
                    let mut out = row.clone();
                    set(&mut out, self.slot, item.clone());
                    return Ok(Some(out));
                }
                self.current = None;
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            match self.expr.eval(&row, ctx)? {
                V::Null => {}
                V::List(items) => self.current = Some((row, items, 0)),
                other => {
                    let mut out = row;
                    set(&mut out, self.slot, other);
                    return Ok(Some(out));
                }
            }
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.current = None;
        self.input.reset(arg);
    }
}

/// Assembles a path value from node and relationship slots.
pub(super) fn build_path(steps: &[PathStep], row: &Row, ctx: &mut Ctx<'_>) -> Result<V> {
    let mut nodes = Vec::new();
    let mut rels = Vec::new();
    for step in steps {
        match *step {
            PathStep::Node(s) => match row.get(s) {
                Some(V::Node(n)) => {
                    if nodes.last() != Some(n) {
                        nodes.push(*n);
                    }
                }
                _ => return Ok(V::Null),
            },
            PathStep::Rel(s) => match row.get(s) {
                Some(V::Rel(r)) => rels.push(*r),
                _ => return Ok(V::Null),
            },
            PathStep::RelList(s) => match row.get(s) {
                Some(V::List(list)) => {
                    for v in list.iter() {
                        let V::Rel(r) = v else { return Ok(V::Null) };
                        let rec = ctx.rel(*r)?;
                        let cur = nodes.last().copied().unwrap_or(rec.start);
                        let other = if rec.start == cur { rec.end } else { rec.start };
                        rels.push(*r);
                        nodes.push(other);
                    }
                }
                _ => return Ok(V::Null),
            },
        }
    }
    Ok(V::Path(Arc::new(PathValue { nodes, rels })))
}

pub(super) struct BuildPath {
    pub(super) input: BoxOp,
    pub(super) slot: usize,
    pub(super) steps: Vec<PathStep>,
}

impl Operator for BuildPath {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let Some(mut row) = self.input.next(ctx)? else { return Ok(None) };
        let p = build_path(&self.steps, &row, ctx)?;
        set(&mut row, self.slot, p);
        Ok(Some(row))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

pub(super) struct Project {
    pub(super) input: BoxOp,
    pub(super) exprs: Vec<CExpr>,
    pub(super) keep_input: bool,
    /// Per expression, for a node's property (`c.name`): the values read last, by
    /// node id modulo [`PROPERTY_MEMO_SLOTS`]. Rows that come back to the same few
    /// nodes (a city per person) then read each property once; the statement's
    /// write count the values were read at empties it when it changes.
    pub(super) memo: Vec<Option<Vec<Option<(NodeId, V)>>>>,
    pub(super) memo_writes: u64,
}

/// Slots of a [`Project`] property memo.
const PROPERTY_MEMO_SLOTS: usize = 1024;

impl Project {
    pub(super) fn new(input: BoxOp, exprs: Vec<CExpr>, keep_input: bool) -> Self {
        let memo = exprs.iter().map(|e| matches!(e, CExpr::SlotProperty(..)).then(Vec::new)).collect();
        Project { input, exprs, keep_input, memo, memo_writes: 0 }
    }
}

impl Operator for Project {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let Some(row) = self.input.next(ctx)? else { return Ok(None) };
        let mut out = Vec::with_capacity(self.exprs.len() + if self.keep_input { row.len() } else { 0 });
        if ctx.stats.total() != self.memo_writes {
            self.memo_writes = ctx.stats.total();
            self.memo.iter_mut().flatten().for_each(Vec::clear);
        }
        for (e, memo) in self.exprs.iter().zip(&mut self.memo) {
            let (Some(memo), &CExpr::SlotProperty(slot, _)) = (memo, e) else {
                out.push(e.eval(&row, ctx)?);
                continue;
            };
            let Some(V::Node(id)) = row.get(slot) else {
                out.push(e.eval(&row, ctx)?);
                continue;
            };
            if memo.is_empty() {
                memo.resize(PROPERTY_MEMO_SLOTS, None);
            }
            let at = (*id % PROPERTY_MEMO_SLOTS as u64) as usize;
            match &memo[at] {
                Some((n, v)) if n == id => out.push(v.clone()),
                _ => {
                    let v = e.eval(&row, ctx)?;
                    memo[at] = Some((*id, v.clone()));
                    out.push(v);
                }
            }
        }
        if self.keep_input {
            out.extend(row);
        }
        Ok(Some(out))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

/// One row: empty (`Start`), or the argument row a subquery was reset with (`Argument`).
pub(super) struct Once {
    pub(super) row: Option<Row>,
    pub(super) arg: Row,
    pub(super) use_arg: bool,
}

impl Operator for Once {
    fn next(&mut self, _ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        Ok(self.row.take())
    }
    fn reset(&mut self, arg: &Row) {
        if self.use_arg {
            self.arg = arg.clone();
            self.row = Some(self.arg.clone());
        } else {
            self.row = Some(Vec::new());
        }
    }
}
