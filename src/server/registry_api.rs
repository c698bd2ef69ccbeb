//! The model registry over HTTP (it is also graph `registry` and collection
//! `registry`, so Cypher and XPath reach it too): `GET /registry` exports the
//! records (JSON, or XML for `Accept: application/xml`), `POST /registry` imports a
//! file's records (the body, JSON or XML by its content type) in one transaction,
//! `GET /registry/models` lists the compressed models and
//! `GET /registry/models/{name}` shows one with its lineage.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};

use super::neo4j_json::Failure;
use super::xml_api::wants_xml;
use super::{answer, blocking, Permit, ServerState};
use crate::registry::{self, Format};
use crate::Database;

/// `GET /registry`: every record, in an import format.
pub async fn export(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    let xml = wants_xml(&headers);
    let outcome = blocking(&state, Permit::Query, move |db: &Database| {
        let records = db.registry().map_err(|e| Failure::from(&e))?;
        Ok(if xml { registry::to_xml(&records) } else { registry::to_json(&records) })
    })
    .await;
    match outcome {
        Ok(text) => {
            let kind = if xml { "application/xml; charset=utf-8" } else { "application/json" };
            (StatusCode::OK, [(header::CONTENT_TYPE, kind)], text).into_response()
        }
        Err(failure) => answer(StatusCode::OK, Err(failure)),
    }
}

/// `POST /registry`: imports the body's records; XML when the content type says so.
pub async fn import(State(state): State<Arc<ServerState>>, headers: HeaderMap, body: Bytes) -> Response {
    let format = match headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(t) if t.contains("xml") => Format::Xml,
        _ => Format::Json,
    };
    let outcome = blocking(&state, Permit::Load, move |db: &Database| {
        let text =
            std::str::from_utf8(&body).map_err(|e| Failure::bad_request(format!("the body is not UTF-8: {e}")))?;
        let stats = db.registry_import_text(text, format).map_err(|e| Failure::from(&e))?;
        Ok(json!({"models": stats.models, "papers": stats.papers, "methods": stats.methods,
                  "datasets": stats.datasets, "hardware": stats.hardware}))
    })
    .await;
    answer(StatusCode::CREATED, outcome)
}

/// `GET /registry/models`: one row per compressed model.
pub async fn list(State(state): State<Arc<ServerState>>) -> Response {
    let outcome = blocking(&state, Permit::Query, |db: &Database| {
        let entries = db.registry_list().map_err(|e| Failure::from(&e))?;
        serde_json::to_value(entries).map_err(|e| Failure::bad_request(e.to_string()))
    })
    .await;
    answer(StatusCode::OK, outcome)
}

/// `GET /registry/models/{name}`: a model's record, what it refers to, its lineage.
pub async fn show(State(state): State<Arc<ServerState>>, Path(name): Path<String>) -> Response {
    let outcome = blocking(&state, Permit::Query, move |db: &Database| {
        match db.registry_show(&name).map_err(|e| Failure::from(&e))? {
            Some(shown) => Ok::<Json, Failure>(shown),
            None => Err(Failure::not_found(
                "Neo.ClientError.Statement.EntityNotFound",
                format!("no model named '{name}' in the registry"),
            )),
        }
    })
    .await;
    answer(StatusCode::OK, outcome)
}
