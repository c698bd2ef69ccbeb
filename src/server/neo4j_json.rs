//! What the Neo4j Query API writes, from sprig's values and errors: nodes,
//! relationships and paths as Neo4j's plain JSON format has them, write counters
//! under Neo4j's names, and errors as `{"code": "Neo.ClientError...", "message"}`
//! with the HTTP status Neo4j answers them with.

use axum::http::StatusCode;
use serde_json::{json, Map, Value as Json};

use crate::{Error, NodeValue, RelValue, ResultValue, WriteStats};

/// A node's `elementId`: what `elementId(n)` returns for it in a query.
fn node_element_id(id: u64) -> String {
    format!("n{id}")
}

fn rel_element_id(id: u64) -> String {
    format!("r{id}")
}

fn properties(props: &std::collections::BTreeMap<String, ResultValue>) -> Json {
    Json::Object(props.iter().map(|(k, v)| (k.clone(), value(v))).collect())
}

fn node(n: &NodeValue) -> Json {
    json!({"elementId": node_element_id(n.id), "labels": n.labels, "properties": properties(&n.properties)})
}

fn relationship(r: &RelValue) -> Json {
    json!({
        "elementId": rel_element_id(r.id),
        "startNodeElementId": node_element_id(r.start),
        "endNodeElementId": node_element_id(r.end),
        "type": r.rel_type,
        "properties": properties(&r.properties),
    })
}

/// A result value in the Query API's plain JSON: scalars as JSON, a path as the list
/// of its nodes and relationships in walk order. Floats JSON cannot hold (NaN and
/// the infinities) are written as strings, as sprig's own JSON writes them.
pub fn value(v: &ResultValue) -> Json {
    match v {
        ResultValue::Node(n) => node(n),
        ResultValue::Relationship(r) => relationship(r),
        ResultValue::Path { nodes, relationships } => {
            let mut walk = Vec::with_capacity(nodes.len() + relationships.len());
            for (i, n) in nodes.iter().enumerate() {
                walk.push(node(n));
                if let Some(r) = relationships.get(i) {
                    walk.push(relationship(r));
                }
            }
            Json::Array(walk)
        }
        ResultValue::List(items) => Json::Array(items.iter().map(value).collect()),
        ResultValue::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), value(v))).collect()),
        scalar => crate::json::value_json(scalar),
    }
}

/// Write counters under the Query API's names.
pub fn counters(s: &WriteStats) -> Json {
    let contains_updates = s.total() > 0;
    json!({
        "containsUpdates": contains_updates,
        "nodesCreated": s.nodes_created,
        "nodesDeleted": s.nodes_deleted,
        "propertiesSet": s.properties_set,
        "relationshipsCreated": s.relationships_created,
        "relationshipsDeleted": s.relationships_deleted,
        "labelsAdded": s.labels_added,
        "labelsRemoved": s.labels_removed,
        "indexesAdded": s.indexes_added,
        "indexesRemoved": s.indexes_removed,
        "constraintsAdded": 0,
        "constraintsRemoved": 0,
        "containsSystemUpdates": false,
        "systemUpdates": 0,
    })
}

/// A Neo4j status code and the HTTP status that goes with it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// 1-based line and column in the query or document, when the error has one.
    pub position: Option<(u64, u64)>,
    /// sprig's kind of the error (`syntax`, `collection`, ...), for sprig's clients.
    pub kind: &'static str,
}

impl Failure {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Failure {
        Failure { status, code: code.to_string(), message: message.into(), position: None, kind: "usage" }
    }

    /// A request Neo4j would refuse as malformed (bad JSON, a missing field).
    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, "Neo.ClientError.Request.Invalid", message)
    }

    pub fn unauthorized() -> Failure {
        let failure = Failure::new(
            StatusCode::UNAUTHORIZED,
            "Neo.ClientError.Security.Unauthorized",
            "a valid token is required (Authorization: Bearer TOKEN, or Basic with the token as password)",
        );
        Failure { kind: "auth", ..failure }
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, code, message)
    }

    /// The body Neo4j answers an error with, and the position as a field of its own.
    pub fn body(&self) -> Json {
        let mut error = json!({"code": self.code, "message": self.message, "kind": self.kind});
        if let Some((line, column)) = self.position {
            error["position"] = json!({"line": line, "column": column});
        }
        json!({"errors": [error]})
    }
}

/// The Neo4j status of a sprig error. A query error's class names the code
/// (`SyntaxError` -> `Neo.ClientError.Statement.SyntaxError`); the message keeps
/// the error's position as sprig prints it (`line 1, column 15`).
impl From<&Error> for Failure {
    fn from(e: &Error) -> Failure {
        let message = match e.position() {
            Some((line, column)) => format!("{} (line {line}, column {column})", e.message()),
            None => e.message(),
        };
        let (status, code) = match e.cypher_status().map(|s| s.class) {
            Some("TransientError") => match e.kind() {
                "timeout" => (StatusCode::BAD_REQUEST, "Neo.ClientError.Transaction.TransactionTimedOut"),
                "memory" => (StatusCode::BAD_REQUEST, "Neo.TransientError.General.MemoryPoolOutOfMemoryError"),
                _ => (StatusCode::BAD_REQUEST, "Neo.TransientError.Transaction.Terminated"),
            },
            Some("DatabaseError") => (StatusCode::INTERNAL_SERVER_ERROR, "Neo.DatabaseError.General.UnknownError"),
            Some("ParameterMissing") => (StatusCode::BAD_REQUEST, "Neo.ClientError.Statement.ParameterMissing"),
            Some("EntityNotFound") => (StatusCode::BAD_REQUEST, "Neo.ClientError.Statement.EntityNotFound"),
            Some("ConstraintVerificationFailed") => {
                (StatusCode::BAD_REQUEST, "Neo.ClientError.Schema.ConstraintValidationFailed")
            }
            Some("ProcedureError") => (StatusCode::BAD_REQUEST, "Neo.ClientError.Procedure.ProcedureNotFound"),
            Some("SchemaError") => (StatusCode::BAD_REQUEST, "Neo.ClientError.Schema.IndexNotFound"),
            Some("SyntaxError") => (StatusCode::BAD_REQUEST, "Neo.ClientError.Statement.SyntaxError"),
            Some("SemanticError") => (StatusCode::BAD_REQUEST, "Neo.ClientError.Statement.SemanticError"),
            Some("TypeError") => (StatusCode::BAD_REQUEST, "Neo.ClientError.Statement.TypeError"),
            Some("ArgumentError") => (StatusCode::BAD_REQUEST, "Neo.ClientError.Statement.ArgumentError"),
            Some("ArithmeticError") => (StatusCode::BAD_REQUEST, "Neo.ClientError.Statement.ArithmeticError"),
            Some(_) => (StatusCode::BAD_REQUEST, "Neo.ClientError.Statement.ExecutionFailed"),
            None => match e.kind() {
                "collection" => (StatusCode::NOT_FOUND, "Neo.ClientError.Database.DatabaseNotFound"),
                "usage" | "xml" | "csv" | "registry" => (StatusCode::BAD_REQUEST, "Neo.ClientError.Request.Invalid"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "Neo.DatabaseError.General.UnknownError"),
            },
        };
        Failure { position: e.position(), kind: e.kind(), ..Failure::new(status, code, message) }
    }
}

/// A request body that must be a JSON object; bad JSON is an error with its position.
pub fn object_body(body: &[u8]) -> Result<Map<String, Json>, Failure> {
    let json: Json = serde_json::from_slice(body).map_err(|e| Failure {
        position: Some((e.line() as u64, e.column() as u64)),
        ..Failure::bad_request(format!("bad JSON: {e}"))
    })?;
    match json {
        Json::Object(fields) => Ok(fields),
        _ => Err(Failure::bad_request("the body must be a JSON object")),
    }
}
