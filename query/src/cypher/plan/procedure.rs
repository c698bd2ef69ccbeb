//! The registry of procedures that `CALL` reaches: the built-in ones (`db.labels()`,
//! the full-text queries, `db.indexes()`, ...) and those an embedding program
//! declares, each with a signature in Neo4j's form
//! (`test.my.proc(name :: STRING?, in :: INTEGER?) :: (out :: INTEGER?)`). The
//! planner checks a call's arguments and YIELD against the signature; the
//! `ProcedureCall` operator runs the body.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::Procedure;
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result};

/// The type of a procedure's argument or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    Any,
    String,
    Integer,
    Float,
    Number,
    Boolean,
    Map,
    List,
    Node,
    Relationship,
    Path,
    Date,
    LocalTime,
    Time,
    LocalDateTime,
    DateTime,
    Duration,
}

impl ArgType {
    fn parse(text: &str) -> Option<ArgType> {
        let t = text.trim().trim_end_matches('?').trim().to_ascii_uppercase();
        Some(match t.as_str() {
            "ANY" => ArgType::Any,
            "STRING" => ArgType::String,
            "INTEGER" | "INT" => ArgType::Integer,
            "FLOAT" => ArgType::Float,
            "NUMBER" => ArgType::Number,
            "BOOLEAN" => ArgType::Boolean,
            "MAP" => ArgType::Map,
            "NODE" => ArgType::Node,
            "RELATIONSHIP" => ArgType::Relationship,
            "PATH" => ArgType::Path,
            "DATE" => ArgType::Date,
            "LOCALTIME" => ArgType::LocalTime,
            "TIME" => ArgType::Time,
            "LOCALDATETIME" => ArgType::LocalDateTime,
            "DATETIME" => ArgType::DateTime,
            "DURATION" => ArgType::Duration,
            list if list.starts_with("LIST") => ArgType::List,
            _ => return None,
        })
    }

    /// Whether `v` may be passed where this type is declared (null always may).
    pub fn accepts(self, v: &V) -> bool {
        use sprig_index::graph::Temporal as T;
        match (self, v) {
            (_, V::Null) | (ArgType::Any, _) => true,
            (ArgType::String, V::String(_)) | (ArgType::Integer, V::Int(_)) | (ArgType::Boolean, V::Bool(_)) => true,
            (ArgType::Float | ArgType::Number, V::Int(_) | V::Float(_)) => true,
            (ArgType::Map, V::Map(_) | V::Node(_) | V::Rel(_)) | (ArgType::List, V::List(_)) => true,
            (ArgType::Node, V::Node(_)) | (ArgType::Relationship, V::Rel(_)) | (ArgType::Path, V::Path(_)) => true,
            (ArgType::Date, V::Temporal(t)) => matches!(**t, T::Date { .. }),
            (ArgType::LocalTime, V::Temporal(t)) => matches!(**t, T::LocalTime { .. }),
            (ArgType::Time, V::Temporal(t)) => matches!(**t, T::Time { .. }),
            (ArgType::LocalDateTime, V::Temporal(t)) => matches!(**t, T::LocalDateTime { .. }),
            (ArgType::DateTime, V::Temporal(t)) => matches!(**t, T::DateTime { .. }),
            (ArgType::Duration, V::Temporal(t)) => matches!(**t, T::Duration(_)),
            _ => false,
        }
    }

    /// `v` as the body sees it: an integer passed as a FLOAT becomes a float.
    pub fn coerce(self, v: V) -> V {
        match (self, v) {
            (ArgType::Float, V::Int(i)) => V::Float(i as f64),
            (_, v) => v,
        }
    }
}

/// A procedure's name, arguments and outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub inputs: Vec<(String, ArgType)>,
    pub outputs: Vec<(String, ArgType)>,
}

fn bad_signature(text: &str, why: &str) -> Error {
    Error::argument("InvalidArgumentValue", format!("invalid procedure signature '{text}': {why}"))
}

impl Signature {
    /// Reads `name(arg :: TYPE?, ...) :: (out :: TYPE?, ...)`; `:: ()` declares a
    /// procedure that yields nothing.
    pub fn parse(text: &str) -> Result<Signature> {
        let open = text.find('(').ok_or_else(|| bad_signature(text, "no '(' after the name"))?;
        let name = text[..open].trim();
        if name.is_empty()
            || !name.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            return Err(bad_signature(text, "the name must be dotted words"));
        }
        let close = matching_paren(text, open).ok_or_else(|| bad_signature(text, "unbalanced parentheses"))?;
        let inputs = fields(&text[open + 1..close], text)?;
        let rest = text[close + 1..].trim().trim_end_matches(':').trim();
        let rest = rest.strip_prefix("::").ok_or_else(|| bad_signature(text, "no ':: (outputs)'"))?.trim();
        let out_open = rest.find('(').ok_or_else(|| bad_signature(text, "no '(' before the outputs"))?;
        let out_close = matching_paren(rest, out_open).ok_or_else(|| bad_signature(text, "unbalanced parentheses"))?;
        if !rest[out_close + 1..].trim().is_empty() {
            return Err(bad_signature(text, "text after the outputs"));
        }
        let outputs = fields(&rest[out_open + 1..out_close], text)?;
        Ok(Signature { name: name.to_string(), inputs, outputs })
    }
}

fn matching_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

fn fields(list: &str, text: &str) -> Result<Vec<(String, ArgType)>> {
    let mut out: Vec<(String, ArgType)> = Vec::new();
    for field in list.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let (name, ty) = field.split_once("::").ok_or_else(|| bad_signature(text, "a field needs 'name :: TYPE'"))?;
        let name = name.trim();
        let ty = ArgType::parse(ty).ok_or_else(|| bad_signature(text, &format!("unknown type '{}'", ty.trim())))?;
        if out.iter().any(|(n, _)| n == name) {
            return Err(bad_signature(text, &format!("'{name}' is declared twice")));
        }
        out.push((name.to_string(), ty));
    }
    Ok(out)
}

/// A declared procedure's body: the argument values (checked against the signature)
/// in, rows of output values (in the signature's order) out.
pub type ProcedureFn = dyn Fn(&[V]) -> std::result::Result<Vec<Vec<V>>, String> + Send + Sync;

/// What runs when a procedure is called.
#[derive(Clone)]
pub enum Body {
    BuiltIn(Procedure),
    Declared(Arc<ProcedureFn>),
}

/// A procedure: its signature and body.
#[derive(Clone)]
pub struct ProcedureDef {
    pub signature: Arc<Signature>,
    pub body: Body,
}

impl fmt::Debug for ProcedureDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcedureDef").field("name", &self.signature.name).finish()
    }
}

/// Every procedure `CALL` can reach, by lower-case name.
#[derive(Debug, Clone)]
pub struct Registry {
    procedures: HashMap<String, ProcedureDef>,
}

impl Default for Registry {
    /// The built-in procedures.
    fn default() -> Self {
        let mut procedures = HashMap::new();
        for p in Procedure::ALL {
            let any = |names: &[&str]| names.iter().map(|n| (n.to_string(), ArgType::Any)).collect();
            let inputs = match p {
                Procedure::FulltextNodes | Procedure::FulltextRelationships => {
                    vec![("indexName".to_string(), ArgType::String), ("queryString".to_string(), ArgType::String)]
                }
                _ => Vec::new(),
            };
            let signature = Signature { name: p.name().to_string(), inputs, outputs: any(p.outputs()) };
            procedures.insert(
                p.name().to_ascii_lowercase(),
                ProcedureDef { signature: Arc::new(signature), body: Body::BuiltIn(p) },
            );
        }
        Registry { procedures }
    }
}

impl Registry {
    /// The procedure called `name` (any case).
    pub fn lookup(&self, name: &str) -> Option<&ProcedureDef> {
        self.procedures.get(&name.to_ascii_lowercase())
    }

    /// Declares (or replaces) a procedure; a built-in one cannot be replaced.
    pub fn declare(&mut self, signature: Signature, body: Arc<ProcedureFn>) -> Result<()> {
        let key = signature.name.to_ascii_lowercase();
        if matches!(self.procedures.get(&key), Some(ProcedureDef { body: Body::BuiltIn(_), .. })) {
            return Err(Error::argument(
                "InvalidArgumentValue",
                format!("{} is a built-in procedure and cannot be replaced", signature.name),
            ));
        }
        self.procedures.insert(key, ProcedureDef { signature: Arc::new(signature), body: Body::Declared(body) });
        Ok(())
    }

    /// Every procedure's signature, by name.
    pub fn signatures(&self) -> Vec<Arc<Signature>> {
        let mut all: Vec<_> = self.procedures.values().map(|p| p.signature.clone()).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_parse_as_neo4j_writes_them() {
        let s = Signature::parse("test.my.proc(name :: STRING?, in :: INTEGER?) :: (out :: INTEGER?)").unwrap();
        assert_eq!(s.name, "test.my.proc");
        assert_eq!(s.inputs, vec![("name".into(), ArgType::String), ("in".into(), ArgType::Integer)]);
        assert_eq!(s.outputs, vec![("out".into(), ArgType::Integer)]);
        let void = Signature::parse("test.doNothing() :: ()").unwrap();
        assert!(void.inputs.is_empty() && void.outputs.is_empty());
        assert!(Signature::parse("test.x(a :: WIDGET) :: ()").is_err());
        assert!(Signature::parse("test.x(a :: INTEGER").is_err());
        assert!(ArgType::Number.accepts(&V::Float(1.5)) && !ArgType::Integer.accepts(&V::Bool(true)));
    }
}
