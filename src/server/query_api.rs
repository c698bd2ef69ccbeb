//! Cypher over the Neo4j Query API (v2): one statement in its own transaction
//! (`POST /db/{graph}/query/v2`), and explicit transactions that live across
//! requests (`.../query/v2/tx`, `.../tx/{id}`, `.../tx/{id}/commit`,
//! `DELETE .../tx/{id}`). Request bodies are `{"statement", "parameters"}`;
//! answers `{"data": {"fields", "values"}, "counters", "bookmarks"}` with 202, as
//! Neo4j answers them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value as Json};

use super::neo4j_json::{self, Failure};
use super::transactions::Taken;
use super::{answer, blocking, query_permit, streaming, Permit, ServerState};
use crate::json::json_value;
use crate::{CypherOptions, Database, Params, Rows, WriteTransaction};

/// How result values are written: as Neo4j's Query API writes them (the default),
/// or, for sprig's own clients (`Accept: application/vnd.sprig+json`), as SPEC
/// section 4 writes them, which keeps paths apart from lists and ids as numbers.
#[derive(Clone, Copy)]
enum Values {
    Neo4j,
    Sprig,
}

impl Values {
    fn of(headers: &HeaderMap) -> Values {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if accept.contains(SPRIG_JSON) {
            Values::Sprig
        } else {
            Values::Neo4j
        }
    }

    fn writer(self) -> streaming::Writer {
        match self {
            Values::Neo4j => neo4j_json::value,
            Values::Sprig => crate::json::value_json,
        }
    }
}

/// The media type sprig's own clients ask for.
pub const SPRIG_JSON: &str = "application/vnd.sprig+json";

/// A statement and its parameters, from a request body.
struct Statement {
    text: String,
    params: Params,
    values: Values,
}

/// The statement of a body; `None` for an empty body or one without `statement`
/// when `required` is false (opening or committing a transaction needs none).
fn statement(headers: &HeaderMap, body: &Bytes, required: bool) -> Result<Option<Statement>, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return if required { Err(Failure::bad_request("the request has no body")) } else { Ok(None) };
    }
    let fields = neo4j_json::object_body(body)?;
    let text = match fields.get("statement") {
        Some(Json::String(s)) => s.clone(),
        Some(_) => return Err(Failure::bad_request("\"statement\" must be a string")),
        None if required => return Err(Failure::bad_request("the request has no \"statement\"")),
        None => return Ok(None),
    };
    let params = match fields.get("parameters") {
        None | Some(Json::Null) => Params::default(),
        Some(Json::Object(map)) => Params(map.iter().map(|(k, v)| (k.clone(), json_value(v))).collect()),
        Some(_) => return Err(Failure::bad_request("\"parameters\" must be an object")),
    };
    Ok(Some(Statement { text, params, values: Values::of(headers) }))
}

impl ServerState {
    fn options(&self, graph: &str, params: Params) -> CypherOptions {
        CypherOptions {
            graph: Some(graph.to_string()),
            params,
            timeout: self.limits.query_timeout,
            memory_limit: self.limits.memory_limit,
            ..Default::default()
        }
    }
}

/// The Query API's answer body for a result read to the end.
fn result_json(rows: Rows, values: Values) -> Result<Json, Failure> {
    let fields = rows.columns().to_vec();
    let counters = neo4j_json::counters(rows.stats());
    let mut out = Vec::new();
    for row in rows {
        let row = row.map_err(|e| Failure::from(&e))?;
        out.push(Json::Array(row.values().iter().map(values.writer()).collect()));
    }
    Ok(json!({"data": {"fields": fields, "values": out}, "counters": counters, "bookmarks": []}))
}

/// `POST /db/{graph}/query/v2`: one statement, committed when it succeeds; its rows
/// stream as they are computed.
pub async fn run(
    State(state): State<Arc<ServerState>>,
    Path(graph): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let stmt = match statement(&headers, &body, true) {
        Ok(Some(stmt)) => stmt,
        Ok(None) => return answer(StatusCode::ACCEPTED, Err(Failure::bad_request("no statement"))),
        Err(failure) => return answer(StatusCode::ACCEPTED, Err(failure)),
    };
    if let Some((profile, text)) = plan_request(&stmt.text) {
        let runs = match runs(&body) {
            Ok(runs) => runs,
            Err(failure) => return answer(StatusCode::ACCEPTED, Err(failure)),
        };
        let options = state.options(&graph, stmt.params);
        let outcome = blocking(&state, Permit::Query, move |db: &Database| {
            let explained = match profile {
                true => db.profile_cypher(&text, &options, runs),
                false => db.explain_cypher(&text, &options),
            }
            .map_err(|e| Failure::from(&e))?;
            let mut body = json!({"data": {"fields": [], "values": []},
                                  "counters": neo4j_json::counters(&Default::default()), "bookmarks": []});
            if let Json::Object(fields) = &mut body {
                fields.extend(crate::plan_json::plan_answer(&explained));
            }
            Ok(body)
        })
        .await;
        return answer(StatusCode::ACCEPTED, outcome);
    }
    let permit = match query_permit(&state).await {
        Ok(permit) => permit,
        Err(failure) => return answer(StatusCode::ACCEPTED, Err(failure)),
    };
    let options = state.options(&graph, stmt.params);
    streaming::run(&state, permit, stmt.text, options, stmt.values.writer()).await
}

/// A statement that begins with `EXPLAIN` or `PROFILE`, as Neo4j takes them: whether
/// it is a profile, and the statement with the keyword blanked out (so that an
/// error's column still counts from the start of what the client sent).
fn plan_request(text: &str) -> Option<(bool, String)> {
    let start = text.len() - text.trim_start().len();
    let rest = &text[start..];
    for (keyword, profile) in [("EXPLAIN", false), ("PROFILE", true)] {
        let Some(head) = rest.get(..keyword.len()) else { continue };
        let after = rest[keyword.len()..].chars().next();
        if head.eq_ignore_ascii_case(keyword) && after.is_some_and(char::is_whitespace) {
            let blanked = format!("{}{}{}", &text[..start], " ".repeat(keyword.len()), &rest[keyword.len()..]);
            return Some((profile, blanked));
        }
    }
    None
}

/// How many times a PROFILE runs (sprig's `"runs"`, as `sprig profile --runs`).
fn runs(body: &Bytes) -> Result<usize, Failure> {
    match neo4j_json::object_body(body)?.get("runs") {
        None | Some(Json::Null) => Ok(1),
        Some(n) => n
            .as_u64()
            .filter(|n| (1..=1000).contains(n))
            .map(|n| n as usize)
            .ok_or_else(|| Failure::bad_request("\"runs\" must be a whole number from 1 to 1000")),
    }
}

/// Runs the body's statement, if any, in a taken transaction; the transaction comes
/// back whatever happens, with the statement's answer.
fn run_in(state: &ServerState, taken: &mut Taken, stmt: Option<Statement>) -> Result<Json, Failure> {
    match stmt {
        None => Ok(json!({"data": {"fields": [], "values": []}, "counters": neo4j_json::counters(&Default::default()),
                          "bookmarks": []})),
        Some(stmt) => {
            let options = state.options(&taken.graph, stmt.params);
            let rows = taken.tx.cypher_with(&stmt.text, &options).map_err(|e| Failure::from(&e))?;
            result_json(rows, stmt.values)
        }
    }
}

/// Adds the `transaction` member a still-open transaction's answers carry.
fn with_transaction(mut body: Json, id: &str, expires: std::time::SystemTime) -> Json {
    body["transaction"] = json!({"id": id, "expires": httpdate::fmt_http_date(expires)});
    body
}

/// After a statement ran in a taken transaction: back into the table with a new
/// expiry when it succeeded; rolled back and forgotten when it failed, as Neo4j
/// rolls back a transaction whose statement fails.
fn settle(state: &ServerState, taken: Taken, result: Result<Json, Failure>) -> Result<Json, Failure> {
    match result {
        Ok(body) => {
            let id = taken.id.clone();
            let expires = state.transactions.put_back(taken);
            Ok(with_transaction(body, &id, expires))
        }
        Err(failure) => {
            state.transactions.forget(&taken.id);
            drop(taken);
            Err(failure)
        }
    }
}

/// Runs the body's statement, if any, in the transaction `acquire` gives (on the
/// blocking pool: opening one may wait for the writer lock), then settles it.
async fn in_transaction(
    state: &Arc<ServerState>,
    id: String,
    stmt: Option<Statement>,
    acquire: impl FnOnce(&Database) -> Result<Taken, Failure> + Send + 'static,
) -> Result<Json, Failure> {
    let worker = Arc::clone(state);
    let ran = blocking(state, Permit::Transaction, move |db: &Database| {
        let mut taken = acquire(db)?;
        let result = run_in(&worker, &mut taken, stmt);
        Ok((taken, result))
    })
    .await;
    match ran {
        Ok((taken, result)) => settle(state, taken, result),
        Err(failure) => {
            // Never opened, or the worker stopped with the transaction: gone either way.
            state.transactions.forget(&id);
            Err(failure)
        }
    }
}

/// `POST /db/{graph}/query/v2/tx`: opens a transaction (waiting while another
/// writer is open) and runs the body's statement in it, if there is one.
pub async fn open(
    State(state): State<Arc<ServerState>>,
    Path(graph): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let stmt = statement(&headers, &body, false)?;
        let id = state.transactions.reserve();
        let opened_as = id.clone();
        in_transaction(&state, id, stmt, move |db: &Database| {
            let tx: WriteTransaction = db.begin_write().map_err(|e| Failure::from(&e))?;
            Ok(Taken { id: opened_as, tx, graph })
        })
        .await
    };
    answer(StatusCode::ACCEPTED, outcome.await)
}

/// `POST /db/{graph}/query/v2/tx/{id}`: one more statement in an open transaction.
pub async fn statement_in(
    State(state): State<Arc<ServerState>>,
    Path((graph, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let stmt = statement(&headers, &body, false)?;
        let taken = state.transactions.take(&id, &graph)?;
        in_transaction(&state, id, stmt, move |_: &Database| Ok(taken)).await
    };
    answer(StatusCode::ACCEPTED, outcome.await)
}

/// `POST /db/{graph}/query/v2/tx/{id}/commit`: runs the body's statement, if any,
/// then commits; on any error the transaction is rolled back.
pub async fn commit(
    State(state): State<Arc<ServerState>>,
    Path((graph, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let stmt = statement(&headers, &body, false)?;
        let mut taken = state.transactions.take(&id, &graph)?;
        let worker = Arc::clone(&state);
        let done = blocking(&state, Permit::Transaction, move |_: &Database| {
            let mut answer = run_in(&worker, &mut taken, stmt)?;
            taken.tx.commit().map_err(|e| Failure::from(&e))?;
            answer["bookmarks"] = json!([worker.bookmarks.after(true)]);
            Ok(answer)
        })
        .await;
        state.transactions.forget(&id);
        done
    };
    answer(StatusCode::ACCEPTED, outcome.await)
}

/// `DELETE /db/{graph}/query/v2/tx/{id}`: rolls the transaction back.
pub async fn rollback(State(state): State<Arc<ServerState>>, Path((graph, id)): Path<(String, String)>) -> Response {
    let outcome = async {
        let taken = state.transactions.take(&id, &graph)?;
        state.transactions.forget(&id);
        // Dropping a transaction rolls it back and frees the writer lock.
        blocking(&state, Permit::Transaction, move |_: &Database| {
            taken.tx.rollback();
            Ok(json!({"data": {"fields": [], "values": []}, "bookmarks": []}))
        })
        .await
    };
    answer(StatusCode::OK, outcome.await)
}

/// `GET /db`: the graphs that hold data (sprig's own; Neo4j lists databases elsewhere).
pub async fn graphs(State(state): State<Arc<ServerState>>) -> Response {
    let outcome = blocking(&state, Permit::Query, |db: &Database| {
        Ok(json!({"graphs": db.graphs().map_err(|e| Failure::from(&e))?}))
    })
    .await;
    answer(StatusCode::OK, outcome)
}
