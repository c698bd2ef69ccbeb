//! A small web service that embeds sprig, as a user would write one: XPath and Cypher
//! over HTTP on 127.0.0.1, answers in the JSON of SPEC section 4.
//!
//!     cargo run --example web [-- DB_DIR]     # default: a new in-memory database with the fixtures
//!     curl '127.0.0.1:7878/xpath?collection=books&expr=count(//book)'
//!     curl -X POST 127.0.0.1:7878/cypher -H 'content-type: application/json' \
//!          -d '{"query": "MATCH (p:Person) WHERE p.age > $age RETURN p.name", "params": {"age": 40}}'
//!
//! `SPRIG_PORT` changes the port. sprig's calls block, so they run on tokio's blocking
//! pool; `Database` is a cheap clone shared by every request.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sprig::{CypherOptions, Database, Params, XPathValue};

#[derive(Deserialize)]
struct XPathRequest {
    collection: String,
    expr: String,
}

#[derive(Deserialize)]
struct CypherRequest {
    query: String,
    #[serde(default)]
    params: serde_json::Map<String, Value>,
    graph: Option<String>,
}

type Answer = (StatusCode, Json<Value>);

fn failure(e: sprig::Error) -> Answer {
    let status = if e.is_usage() || e.kind() == "collection" { StatusCode::NOT_FOUND } else { StatusCode::BAD_REQUEST };
    let mut error = json!({"kind": e.kind(), "message": e.message()});
    if let Some((line, column)) = e.position() {
        error["line"] = json!(line);
        error["column"] = json!(column);
    }
    (status, Json(json!({ "error": error })))
}

fn xpath(db: &Database, req: &XPathRequest) -> Result<Value, sprig::Error> {
    Ok(match db.xpath(&req.collection, &req.expr)? {
        XPathValue::NodeSet(nodes) => {
            let mut out = Vec::new();
            for n in nodes.iter() {
                let n = n?;
                out.push(json!({"doc": n.doc, "type": n.node_type.as_str(), "path": n.path, "name": n.name, "string": n.string}));
            }
            json!({"kind": "nodeset", "count": out.len(), "nodes": out})
        }
        XPathValue::Number(n) if n.is_finite() => json!({"kind": "number", "value": n}),
        XPathValue::Number(n) => json!({"kind": "number", "value": n.to_string()}),
        XPathValue::String(s) => json!({"kind": "string", "value": s}),
        XPathValue::Boolean(b) => json!({"kind": "boolean", "value": b}),
    })
}

fn cypher(db: &Database, req: &CypherRequest) -> Result<Value, sprig::Error> {
    let params = req.params.iter().map(|(k, v)| (k.clone(), sprig::json::json_value(v))).collect();
    let options = CypherOptions { graph: req.graph.clone(), params: Params(params), ..Default::default() };
    let rows = db.cypher_with(&req.query, &options)?;
    let columns = rows.columns().to_vec();
    let elapsed = rows.elapsed().as_secs_f64() * 1e3;
    let mut out = Vec::new();
    for row in rows {
        out.push(Value::Array(row?.values().iter().map(sprig::json::value_json).collect()));
    }
    Ok(json!({"columns": columns, "rows": out, "stats": {"elapsed_ms": elapsed}}))
}

async fn run_blocking<T: Send + 'static>(
    db: Database,
    req: T,
    f: fn(&Database, &T) -> Result<Value, sprig::Error>,
) -> Answer {
    match tokio::task::spawn_blocking(move || f(&db, &req)).await {
        Ok(Ok(value)) => (StatusCode::OK, Json(value)),
        Ok(Err(e)) => failure(e),
        Err(e) => {
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": {"kind": "internal", "message": e.to_string()}})))
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = match std::env::args().nth(1) {
        Some(dir) => Database::open(dir)?,
        None => {
            let db = Database::in_memory()?;
            sprig::fixtures::seed(&db)?;
            db
        }
    };
    let app = Router::new()
        .route(
            "/xpath",
            get(|State(db): State<Database>, Query(req): Query<XPathRequest>| run_blocking(db, req, xpath)),
        )
        .route(
            "/cypher",
            post(|State(db): State<Database>, Json(req): Json<CypherRequest>| run_blocking(db, req, cypher)),
        )
        .with_state(db);
    let port = std::env::var("SPRIG_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(7878u16);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("sprig answers on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
