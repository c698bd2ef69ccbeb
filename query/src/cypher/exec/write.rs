//! Operators that write: CREATE, MERGE, SET/REMOVE, DELETE, and the eager barrier
//! that makes a statement read its own writes in order.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

use sprig_index::graph::{Direction, Properties, RelId};

use crate::cypher::exec::memory::{row_bytes, Reservation};
use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::*;
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};

use super::context::{set, BoxOp, Ctx, Operator, Row};
use super::rows::build_path;

pub(super) fn eval_props(e: &Option<CExpr>, row: &Row, ctx: &mut Ctx<'_>) -> Result<Properties> {
    let mut props = Properties::new();
    let Some(e) = e else { return Ok(props) };
    match e.eval(row, ctx)? {
        V::Map(m) => {
            for (k, v) in m.iter() {
                if let Some(p) = v.to_property().map_err(|m| Error::type_error_as("InvalidPropertyType", m))? {
                    props.insert(k.clone(), p);
                }
            }
        }
        V::Null => {}
        other => return Err(Error::type_error(format!("expected a property map, got {}", other.type_name()))),
    }
    Ok(props)
}

pub(super) fn run_create(pattern: &CreatePattern, row: &mut Row, ctx: &mut Ctx<'_>) -> Result<()> {
    for n in &pattern.nodes {
        if n.bound {
            if !matches!(row.get(n.slot), Some(V::Node(_))) {
                return Err(Error::Runtime {
                    class: "SemanticError",
                    detail: "VariableTypeConflict",
                    message: "CREATE needs a node here, but the variable is null or not a node".into(),
                });
            }
            continue;
        }
        let props = eval_props(&n.props, row, ctx)?;
        ctx.stats.properties_set += props.len() as u64;
        let mut labels = n.labels.clone();
        labels.sort();
        labels.dedup();
        ctx.stats.labels_added += labels.len() as u64;
        let id = ctx.graph.create_node(labels, props)?;
        ctx.stats.nodes_created += 1;
        set(row, n.slot, V::Node(id));
    }
    for r in &pattern.rels {
        let (Some(V::Node(s)), Some(V::Node(e))) = (row.get(r.start).cloned(), row.get(r.end).cloned()) else {
            return Err(Error::Runtime {
                class: "SemanticError",
                detail: "VariableTypeConflict",
                message: "a created relationship needs two nodes".into(),
            });
        };
        let props = eval_props(&r.props, row, ctx)?;
        ctx.stats.properties_set += props.len() as u64;
        let id = ctx.graph.create_rel(&r.rel_type, s, e, props)?;
        ctx.stats.relationships_created += 1;
        set(row, r.slot, V::Rel(id));
    }
    for (slot, steps) in &pattern.paths {
        let p = build_path(steps, row, ctx)?;
        set(row, *slot, p);
    }
    Ok(())
}

pub(super) struct Create {
    pub(super) input: BoxOp,
    pub(super) pattern: CreatePattern,
}

impl Operator for Create {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let Some(mut row) = self.input.next(ctx)? else { return Ok(None) };
        run_create(&self.pattern, &mut row, ctx)?;
        Ok(Some(row))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

pub(super) fn apply_set(op: &SetOp, row: &Row, ctx: &mut Ctx<'_>) -> Result<()> {
    let entity = |v: V| -> Result<Option<V>> {
        match v {
            V::Null => Ok(None),
            V::Node(_) | V::Rel(_) => Ok(Some(v)),
            other => Err(Error::type_error(format!("cannot set properties of a {}", other.type_name()))),
        }
    };
    match op {
        SetOp::Property { target, key, value } => {
            let Some(t) = entity(target.eval(row, ctx)?)? else { return Ok(()) };
            let v = value.eval(row, ctx)?;
            let p = v.to_property().map_err(|m| Error::type_error_as("InvalidPropertyType", m))?;
            ctx.stats.properties_set += 1;
            match t {
                V::Node(id) => ctx.graph.set_node_property(id, key, p)?,
                V::Rel(id) => ctx.graph.set_rel_property(id, key, p)?,
                _ => {}
            }
        }
        SetOp::RemoveProperty { target, key } => {
            let Some(t) = entity(target.eval(row, ctx)?)? else { return Ok(()) };
            match t {
                V::Node(id) if ctx.node(id)?.properties.contains_key(key) => {
                    ctx.stats.properties_set += 1;
                    ctx.graph.set_node_property(id, key, None)?;
                }
                V::Rel(id) if ctx.rel(id)?.properties.contains_key(key) => {
                    ctx.stats.properties_set += 1;
                    ctx.graph.set_rel_property(id, key, None)?;
                }
                _ => {}
            }
        }
        SetOp::Replace { slot, value } | SetOp::MergeMap { slot, value } => {
            let Some(t) = entity(row.get(*slot).cloned().unwrap_or(V::Null))? else { return Ok(()) };
            let new: BTreeMap<String, V> = match value.eval(row, ctx)? {
                V::Map(m) => (*m).clone(),
                V::Node(id) => ctx.node(id)?.properties.iter().map(|(k, v)| (k.clone(), V::from_property(v))).collect(),
                V::Rel(id) => ctx.rel(id)?.properties.iter().map(|(k, v)| (k.clone(), V::from_property(v))).collect(),
                V::Null if matches!(op, SetOp::MergeMap { .. }) => return Ok(()),
                V::Null => BTreeMap::new(),
                other => return Err(Error::type_error(format!("SET needs a map, got {}", other.type_name()))),
            };
            let mut props = match (&t, op) {
                (V::Node(id), SetOp::MergeMap { .. }) => ctx.node(*id)?.properties.clone(),
                (V::Rel(id), SetOp::MergeMap { .. }) => ctx.rel(*id)?.properties.clone(),
                _ => Properties::new(),
            };
            for (k, v) in new {
                ctx.stats.properties_set += 1;
                match v.to_property().map_err(|m| Error::type_error_as("InvalidPropertyType", m))? {
                    Some(p) => props.insert(k, p),
                    None => props.remove(&k),
                };
            }
            match t {
                V::Node(id) => ctx.graph.replace_node_properties(id, props)?,
                V::Rel(id) => ctx.graph.replace_rel_properties(id, props)?,
                _ => {}
            }
        }
        SetOp::AddLabels { slot, labels } | SetOp::RemoveLabels { slot, labels } => {
            let add = matches!(op, SetOp::AddLabels { .. });
            match row.get(*slot) {
                Some(V::Node(id)) => {
                    let rec = ctx.node(*id)?;
                    let changed =
                        labels.iter().filter(|l| rec.has_label(l) != add).collect::<HashSet<_>>().len() as u64;
                    if add {
                        ctx.stats.labels_added += changed;
                    } else {
                        ctx.stats.labels_removed += changed;
                    }
                    ctx.graph.set_node_labels(*id, labels, add)?;
                }
                Some(V::Null) | None => {}
                Some(other) => return Err(Error::type_error(format!("cannot set labels of a {}", other.type_name()))),
            }
        }
    }
    Ok(())
}

pub(super) struct Merge {
    pub(super) input: BoxOp,
    pub(super) matcher: Arc<LogicalOp>,
    pub(super) create: CreatePattern,
    pub(super) on_create: Vec<SetOp>,
    pub(super) on_match: Vec<SetOp>,
    pub(super) added: usize,
    pub(super) pending: VecDeque<Row>,
}

impl Operator for Merge {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            let width = row.len() + self.added;
            let mut matcher = (ctx.build_operators)(&self.matcher);
            matcher.reset(&row);
            let mut found = Vec::new();
            while let Some(mut r) = matcher.next(ctx)? {
                r.resize(width, V::Null);
                found.push(r);
            }
            if found.is_empty() {
                let nodes = self.create.nodes.iter().map(|n| ("node", &n.props));
                let rels = self.create.rels.iter().map(|r| ("relationship", &r.props));
                for (what, props) in nodes.chain(rels) {
                    if let Some(CExpr::Map(entries)) = props {
                        for (k, e) in entries {
                            if e.eval(&row, ctx)?.is_null() {
                                return Err(Error::Runtime {
                                    class: "SemanticError",
                                    detail: "MergeReadOwnWrites",
                                    message: format!("cannot MERGE a {what} with a null property '{k}'"),
                                });
                            }
                        }
                    }
                }
                let mut r = row.clone();
                r.resize(width, V::Null);
                run_create(&self.create, &mut r, ctx)?;
                for op in &self.on_create {
                    apply_set(op, &r, ctx)?;
                }
                self.pending.push_back(r);
            } else {
                for r in found {
                    for op in &self.on_match {
                        apply_set(op, &r, ctx)?;
                    }
                    self.pending.push_back(r);
                }
            }
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.pending.clear();
        self.input.reset(arg);
    }
}

pub(super) struct Update {
    pub(super) input: BoxOp,
    pub(super) ops: Vec<SetOp>,
}

impl Operator for Update {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let Some(row) = self.input.next(ctx)? else { return Ok(None) };
        for op in &self.ops {
            apply_set(op, &row, ctx)?;
        }
        Ok(Some(row))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

pub(super) struct Delete {
    pub(super) input: BoxOp,
    pub(super) exprs: Vec<CExpr>,
    pub(super) detach: bool,
}

pub(super) fn delete_value(v: V, detach: bool, ctx: &mut Ctx<'_>) -> Result<()> {
    match v {
        V::Null => {}
        V::Node(id) => {
            if ctx.graph.node(id)?.is_none() {
                return Ok(());
            }
            if detach {
                for dir in [Direction::Outgoing, Direction::Incoming] {
                    let rels: Vec<RelId> = ctx.graph.adjacency(id, dir)?.iter().map(|e| e.rel).collect();
                    for r in rels {
                        if ctx.graph.rel(r)?.is_some() {
                            ctx.graph.delete_rel(r)?;
                            ctx.stats.relationships_deleted += 1;
                        }
                    }
                }
            }
            ctx.graph.delete_node(id)?;
            ctx.stats.nodes_deleted += 1;
        }
        V::Rel(id) => {
            if ctx.graph.rel(id)?.is_some() {
                ctx.graph.delete_rel(id)?;
                ctx.stats.relationships_deleted += 1;
            }
        }
        V::Path(p) => {
            for r in &p.rels {
                delete_value(V::Rel(*r), detach, ctx)?;
            }
            for n in &p.nodes {
                delete_value(V::Node(*n), detach, ctx)?;
            }
        }
        V::List(items) => {
            for i in items.iter() {
                delete_value(i.clone(), detach, ctx)?;
            }
        }
        other => return Err(Error::type_error(format!("cannot delete a {}", other.type_name()))),
    }
    Ok(())
}

impl Operator for Delete {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        let Some(row) = self.input.next(ctx)? else { return Ok(None) };
        for e in &self.exprs {
            let v = e.eval(&row, ctx)?;
            delete_value(v, self.detach, ctx)?;
        }
        Ok(Some(row))
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

pub(super) struct Eager {
    pub(super) input: BoxOp,
    pub(super) rows: Option<VecDeque<Row>>,
    pub(super) held: Option<Reservation>,
}

impl Operator for Eager {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.rows.is_none() {
            let mut rows = VecDeque::new();
            let held = self.held.insert(ctx.reservation());
            while let Some(r) = self.input.next(ctx)? {
                held.grow(row_bytes(&r))?;
                rows.push_back(r);
            }
            self.rows = Some(rows);
        }
        Ok(self.rows.as_mut().and_then(|r| r.pop_front()))
    }
    fn reset(&mut self, arg: &Row) {
        self.rows = None;
        self.held = None;
        self.input.reset(arg);
    }
}
