//! Bulk graph loads over HTTP: `POST /db/{graph}/load/csv` with a
//! `multipart/form-data` body whose parts are `nodes` and then `edges` (the CSV
//! files of `sprig load graph`). Both stream into the bulk loader as they arrive,
//! and the load commits only when both parsed; `?nodes=NAME&edges=NAME` name the
//! files in error messages.

use std::sync::Arc;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::body_reader::{self, ChunkSender};
use super::neo4j_json::Failure;
use super::{answer, blocking, Permit, ServerState};
use crate::Database;

/// What the files are called in error messages.
#[derive(Debug, serde::Deserialize)]
pub struct CsvNames {
    nodes: Option<String>,
    edges: Option<String>,
}

/// `POST /db/{graph}/load/csv`: a bulk load, as `sprig load graph` does one.
pub async fn load_csv(
    State(state): State<Arc<ServerState>>,
    Path(graph): Path<String>,
    Query(names): Query<CsvNames>,
    mut multipart: Multipart,
) -> Response {
    let (send_nodes, nodes) = body_reader::channel();
    let (send_edges, edges) = body_reader::channel();
    let nodes_name = names.nodes.unwrap_or_else(|| "nodes".into());
    let edges_name = names.edges.unwrap_or_else(|| "edges".into());
    let loading = blocking(&state, Permit::Load, move |db: &Database| {
        let stats = db
            .load_graph_csv(&graph, (&nodes_name, Box::new(nodes)), (&edges_name, Box::new(edges)), &mut |_| {})
            .map_err(|e| Failure::from(&e))?;
        Ok(json!({"graph": graph, "nodes": stats.nodes, "relationships": stats.relationships,
                  "labels": stats.labels, "relationship_types": stats.relationship_types}))
    });
    // The loader reads all the nodes before the first edge, the order the parts come in.
    let feeding = async move {
        let parts: [(&str, ChunkSender); 2] = [("nodes", send_nodes), ("edges", send_edges)];
        for (expected, send) in parts {
            let refusal = match multipart.next_field().await {
                Ok(Some(field)) if field.name() == Some(expected) => {
                    body_reader::feed(field, send).await;
                    continue;
                }
                Ok(Some(field)) => {
                    format!("expected the part '{expected}', not '{}'", field.name().unwrap_or_default())
                }
                Ok(None) => format!("the request has no part '{expected}' (parts: nodes, then edges)"),
                Err(e) => e.to_string(),
            };
            let _ = send.send(Err(refusal)).await;
            return;
        }
    };
    let (outcome, ()) = tokio::join!(loading, feeding);
    answer(StatusCode::CREATED, outcome)
}
