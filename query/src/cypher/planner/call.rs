//! Planning `CALL proc(args) [YIELD ...]`: the procedure comes from the registry, and
//! its arguments and yielded columns are checked against its signature before
//! anything runs.

use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::procedure::{ArgType, Body};

use super::*;

impl Planner<'_> {
    /// The plan of a CALL on top of `input`, and the names of the columns it yields.
    /// `standalone`: the CALL is the whole query (arguments may then come from
    /// parameters of the same names, and no YIELD means every output).
    pub(super) fn plan_call(
        &mut self,
        input: LogicalOp,
        scope: &mut Scope,
        name: &str,
        args: Option<&[Expr]>,
        yields: Option<&[(String, Option<String>)]>,
        standalone: bool,
    ) -> Result<(LogicalOp, Vec<String>)> {
        let def = self
            .procedures
            .lookup(name)
            .cloned()
            .ok_or_else(|| semantic("ProcedureNotFound", format!("there is no procedure '{name}'")))?;
        let sig = def.signature.clone();
        let mut compiled = Vec::new();
        match args {
            Some(args) => {
                if args.len() != sig.inputs.len() {
                    return Err(semantic(
                        "InvalidNumberOfArguments",
                        format!("{} takes {} argument(s), not {}", sig.name, sig.inputs.len(), args.len()),
                    ));
                }
                for (arg, (input_name, ty)) in args.iter().zip(&sig.inputs) {
                    let e = self.expr(arg, scope)?;
                    if let CExpr::Const(v) = &e {
                        if !ty.accepts(v) {
                            return Err(semantic(
                                "InvalidArgumentType",
                                format!("{}: '{input_name}' takes {ty:?}, not a {}", sig.name, v.type_name()),
                            ));
                        }
                    }
                    compiled.push(e);
                }
            }
            // `CALL proc` alone takes its arguments from parameters of their names.
            None if standalone => {
                for (input_name, _) in &sig.inputs {
                    compiled.push(CExpr::Const(self.param(input_name)?));
                }
            }
            None if !sig.inputs.is_empty() => {
                return Err(semantic(
                    "InvalidArgumentPassingMode",
                    format!("{} takes arguments: call it with parentheses inside a query", sig.name),
                ));
            }
            None => {}
        }
        let names: Vec<&str> = sig.outputs.iter().map(|(n, _)| n.as_str()).collect();
        let all = || names.iter().enumerate().map(|(i, o)| (i, o.to_string())).collect::<Vec<_>>();
        let chosen: Vec<(usize, String)> = match yields {
            None if standalone => all(),
            // Inside a query, a call without YIELD binds nothing.
            None => Vec::new(),
            Some([]) if !standalone => {
                return Err(semantic("UnexpectedSyntax", "YIELD * is only allowed when the CALL is the whole query"));
            }
            Some([]) => all(),
            Some(items) => {
                let mut out: Vec<(usize, String)> = Vec::new();
                for (output, alias) in items {
                    let Some(pos) = names.iter().position(|o| o == output) else {
                        return Err(semantic(
                            "UndefinedVariable",
                            format!("{} yields {}, not '{output}'", sig.name, names.join(", ")),
                        ));
                    };
                    let alias = alias.clone().unwrap_or_else(|| output.clone());
                    if scope.lookup(&alias).is_some() || out.iter().any(|(_, a)| *a == alias) {
                        return Err(semantic("VariableAlreadyBound", format!("variable '{alias}' is already defined")));
                    }
                    out.push((pos, alias));
                }
                out
            }
        };
        let mut outputs = Vec::new();
        for (pos, alias) in &chosen {
            let kind = match (&def.body, sig.outputs[*pos].1) {
                (Body::BuiltIn(Procedure::FulltextNodes), _) if names[*pos] == "node" => Kind::Node,
                (Body::BuiltIn(Procedure::FulltextRelationships), _) if names[*pos] == "relationship" => Kind::Rel,
                (Body::BuiltIn(_), _) => Kind::Value,
                (_, ArgType::Node) => Kind::Node,
                (_, ArgType::Relationship) => Kind::Rel,
                (_, ArgType::Path) => Kind::Path,
                (_, ArgType::Any) => Kind::Any,
                _ => Kind::Value,
            };
            outputs.push((*pos, scope.add(alias, kind)));
        }
        let plan = LogicalOp::ProcedureCall { input: Box::new(input), procedure: def, args: compiled, outputs };
        Ok((plan, chosen.into_iter().map(|(_, a)| a).collect()))
    }
}
