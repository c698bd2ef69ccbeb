//! `CALL`: the built-in procedures' bodies, and the operator that runs any procedure
//! of the registry (`crate::cypher::plan::procedure`): one output row per result, for each
//! input row; a procedure that yields nothing passes each input row on once.

use std::collections::{BTreeMap, VecDeque};

use sprig_index::graph::text::TextIndexKind;

use crate::cypher::exec::{set, BoxOp, Ctx, Operator, Row};
use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::procedure::{Body, ProcedureDef};
use crate::cypher::plan::Procedure;
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};

pub(super) struct ProcedureCall {
    input: BoxOp,
    procedure: ProcedureDef,
    args: Vec<CExpr>,
    outputs: Vec<(usize, usize)>,
    pending: VecDeque<Row>,
}

impl ProcedureCall {
    pub(super) fn new(input: BoxOp, procedure: ProcedureDef, args: Vec<CExpr>, outputs: Vec<(usize, usize)>) -> Self {
        ProcedureCall { input, procedure, args, outputs, pending: VecDeque::new() }
    }
}

fn string_arg(procedure: Procedure, position: usize, v: &V) -> Result<String> {
    match v {
        V::String(s) => Ok(s.to_string()),
        other => Err(Error::type_error(format!(
            "argument {} of {} must be a string, not {}",
            position + 1,
            procedure.name(),
            other.type_name()
        ))),
    }
}

fn strings(items: &[String]) -> V {
    V::list(items.iter().map(|s| V::string(s.as_str())).collect())
}

/// One row per index of the graph, in the columns of [`Procedure::Indexes`].
fn index_rows(ctx: &mut Ctx<'_>) -> Result<Vec<Vec<V>>> {
    let mut rows = Vec::new();
    for def in ctx.graph.meta().indexes.clone() {
        rows.push(vec![
            V::string(def.name.as_str()),
            V::string("ONLINE"),
            V::string("RANGE"),
            V::string("NODE"),
            strings(&[def.label]),
            strings(&[def.property]),
            V::map(BTreeMap::new()),
            V::Null,
            V::Null,
        ]);
    }
    for def in ctx.graph.text_indexes().to_vec() {
        let (kind, options) = match def.kind {
            TextIndexKind::LIndex { hops, walks } => (
                "LINDEX",
                [("hops".to_string(), V::Int(i64::from(hops))), ("walks".to_string(), V::Int(i64::from(walks)))].into(),
            ),
            TextIndexKind::FullText => ("FULLTEXT", BTreeMap::new()),
        };
        let size = ctx.graph.text_index_size(&def.name)?;
        rows.push(vec![
            V::string(def.name.as_str()),
            V::string(if size.is_some() { "ONLINE" } else { "POPULATING" }),
            V::string(kind),
            V::string(if def.on_relationships { "RELATIONSHIP" } else { "NODE" }),
            strings(&[def.label]),
            strings(&def.properties),
            V::map(options),
            size.map_or(V::Null, |(docs, _)| V::Int(docs as i64)),
            size.map_or(V::Null, |(_, bytes)| V::Int(bytes as i64)),
        ]);
    }
    let name = |r: &Vec<V>| match &r[0] {
        V::String(s) => s.to_string(),
        _ => String::new(),
    };
    rows.sort_by_key(name);
    Ok(rows)
}

impl ProcedureCall {
    fn results(&mut self, row: &Row, ctx: &mut Ctx<'_>) -> Result<Vec<Vec<V>>> {
        let mut args = Vec::with_capacity(self.args.len());
        for a in &self.args {
            args.push(a.eval(row, ctx)?);
        }
        let builtin = match &self.procedure.body {
            Body::BuiltIn(p) => *p,
            Body::Declared(f) => return self.declared(f.as_ref(), args),
        };
        built_in(builtin, args, ctx)
    }

    /// Runs a declared procedure's body on arguments checked against its signature.
    fn declared(&self, body: &crate::cypher::plan::procedure::ProcedureFn, args: Vec<V>) -> Result<Vec<Vec<V>>> {
        let sig = &self.procedure.signature;
        let mut checked = Vec::with_capacity(args.len());
        for (v, (name, ty)) in args.into_iter().zip(&sig.inputs) {
            if !ty.accepts(&v) {
                return Err(Error::type_error(format!("{}: '{name}' takes {ty:?}, not a {}", sig.name, v.type_name())));
            }
            checked.push(ty.coerce(v));
        }
        let failed = |message: String| Error::Runtime {
            class: "ProcedureError",
            detail: "ProcedureCallFailed",
            message: format!("{} failed: {message}", sig.name),
        };
        let rows = body(&checked).map_err(failed)?;
        if let Some(row) = rows.iter().find(|row| row.len() != sig.outputs.len()) {
            return Err(failed(format!("a row of {} values for {} outputs", row.len(), sig.outputs.len())));
        }
        Ok(rows)
    }
}

fn built_in(procedure: Procedure, args: Vec<V>, ctx: &mut Ctx<'_>) -> Result<Vec<Vec<V>>> {
    let single = |values: Vec<String>| values.into_iter().map(|v| vec![V::string(v)]).collect();
    Ok(match procedure {
        Procedure::Labels => {
            let labels: Vec<String> = ctx.graph.meta().labels.iter().cloned().collect();
            let mut live = Vec::new();
            for l in labels {
                if !ctx.graph.label_nodes(Some(&l))?.is_empty() {
                    live.push(l);
                }
            }
            single(live)
        }
        Procedure::RelationshipTypes => {
            let m = ctx.graph.meta();
            let mut t: Vec<String> =
                m.types.iter().zip(&m.type_counts).filter(|(_, c)| **c > 0).map(|(t, _)| t.clone()).collect();
            t.sort();
            single(t)
        }
        Procedure::PropertyKeys => single(ctx.graph.meta().property_keys.iter().cloned().collect()),
        Procedure::FulltextNodes | Procedure::FulltextRelationships => {
            let name = string_arg(procedure, 0, &args[0])?;
            let query = string_arg(procedure, 1, &args[1])?;
            let rels = procedure == Procedure::FulltextRelationships;
            let hits = ctx.graph.fulltext_query(&name, &query, rels).map_err(|e| match e {
                sprig_index::Error::TextQuery(m) => Error::argument("InvalidArgumentValue", m),
                other => Error::Index(other),
            })?;
            hits.into_iter()
                .map(|(id, score)| vec![if rels { V::Rel(id) } else { V::Node(id) }, V::Float(f64::from(score))])
                .collect()
        }
        Procedure::Indexes => index_rows(ctx)?,
        Procedure::Components => vec![vec![
            V::string("Neo4j Kernel"),
            V::List(std::sync::Arc::new(vec![V::string(crate::cypher::plan::NEO4J_COMPATIBLE_VERSION)])),
            V::string("community"),
        ]],
    })
}

impl Operator for ProcedureCall {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            let results = self.results(&row, ctx)?;
            if self.procedure.signature.outputs.is_empty() {
                self.pending.push_back(row);
                continue;
            }
            for values in results {
                let mut out = row.clone();
                for (pos, slot) in &self.outputs {
                    set(&mut out, *slot, values[*pos].clone());
                }
                self.pending.push_back(out);
            }
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.pending.clear();
        self.input.reset(arg);
    }
}
