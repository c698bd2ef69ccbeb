//! XPath and documents over HTTP: `GET /xml` lists the collections,
//! `GET /xml/{collection}?query=EXPR` (repeatable `var=name=value`, `ns=prefix=uri`)
//! and `POST /xml/{collection}` with `{"query", "vars", "ns"}` evaluate an
//! expression (SPEC section 4's JSON), `PUT /xml/{collection}/{document}` puts the
//! body into the collection as that document (streamed and atomic; the other
//! documents stay, unless `?replace=collection`), and `DELETE /xml/{collection}`
//! drops a collection.

use std::io::Read;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value as Json};

use super::neo4j_json::{object_body, Failure};
use super::{answer, blocking, body_reader, query_permit, streaming, Permit, ServerState};
use crate::{Database, JoinAlgorithm, XPathOptions};

/// `GET /xml`: the collections, as `sprig collections --format json` lists them.
pub async fn collections(State(state): State<Arc<ServerState>>) -> Response {
    let outcome = blocking(&state, Permit::Query, |db: &Database| {
        let all = db.collections().map_err(|e| Failure::from(&e))?;
        Ok(Json::Array(
            all.iter()
                .map(|c| json!({"collection": c.name, "documents": c.documents, "nodes": c.nodes, "bytes": c.bytes}))
                .collect(),
        ))
    })
    .await;
    answer(StatusCode::OK, outcome)
}

/// `name=value` bindings of a repeatable query parameter.
fn binding(what: &str, text: &str) -> Result<(String, String), Failure> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| Failure::bad_request(format!("{what} must be NAME=VALUE, not '{text}'")))
}

/// An object of string bindings from a JSON body.
fn bindings(fields: &Map<String, Json>, key: &str) -> Result<Vec<(String, String)>, Failure> {
    match fields.get(key) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Json::String(s) => Ok((k.clone(), s.clone())),
                other => Ok((k.clone(), other.to_string())),
            })
            .collect(),
        Some(_) => Err(Failure::bad_request(format!("\"{key}\" must be an object of names to strings"))),
    }
}

/// Whether the client asked for XML rather than JSON.
pub fn wants_xml(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/xml") || accept.contains("text/xml"))
}

/// What a plan request asks for: `plan=explain`, or `plan=profile` with `runs`.
#[derive(Debug, Clone, Copy)]
enum PlanAsked {
    Explain,
    Profile(usize),
}

/// An XPath request, from the query string or a JSON body.
struct XPathRequest {
    query: String,
    options: XPathOptions,
    plan: Option<PlanAsked>,
}

impl XPathRequest {
    /// `plan` (`explain` or `profile`) and `runs` as they came; `None` for absent.
    fn plan_of(plan: Option<&str>, runs: Option<&str>) -> Result<Option<PlanAsked>, Failure> {
        let runs = match runs {
            None => 1,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| Failure::bad_request(format!("runs must be a whole number from 1 to 1000, not '{text}'")))?,
        };
        match plan {
            None => Ok(None),
            Some("explain") => Ok(Some(PlanAsked::Explain)),
            Some("profile") => Ok(Some(PlanAsked::Profile(runs))),
            Some(other) => Err(Failure::bad_request(format!("plan must be explain or profile, not '{other}'"))),
        }
    }

    fn join(options: &mut XPathOptions, name: &str) -> Result<(), Failure> {
        options.join = JoinAlgorithm::from_name(name).ok_or_else(|| {
            Failure::bad_request(format!("unknown join algorithm '{name}' (auto, sisj, twigstack, stacktree, navigate)"))
        })?;
        Ok(())
    }
}

async fn evaluate(state: Arc<ServerState>, collection: String, request: XPathRequest, xml: bool) -> Response {
    let XPathRequest { query, options, plan } = request;
    if let Some(plan) = plan {
        let outcome = blocking(&state, Permit::Query, move |db: &Database| {
            let explained = match plan {
                PlanAsked::Explain => db.explain_xpath(&collection, &query, &options),
                PlanAsked::Profile(runs) => db.profile_xpath(&collection, &query, &options, runs),
            }
            .map_err(|e| Failure::from(&e))?;
            Ok(Json::Object(crate::plan_json::plan_answer(&explained)))
        })
        .await;
        return answer(StatusCode::OK, outcome);
    }
    if !xml {
        // JSON streams: a node-set's nodes are described as they are sent.
        let permit = match query_permit(&state).await {
            Ok(permit) => permit,
            Err(failure) => return answer(StatusCode::OK, Err(failure)),
        };
        return streaming::stream(&state, permit, StatusCode::OK, move |db: &Database| {
            let value = db.xpath_with(&collection, &query, &options).map_err(|e| Failure::from(&e))?;
            Ok(Box::new(move |send: &mut dyn FnMut(String, bool) -> bool| streaming::pour_xpath(value, send))
                as streaming::Pour)
        })
        .await;
    }
    let outcome = blocking(&state, Permit::Query, move |db: &Database| {
        let value = db.xpath_with(&collection, &query, &options).map_err(|e| Failure::from(&e))?;
        value.to_xml().map_err(|e| Failure::from(&e))
    })
    .await;
    match outcome {
        Ok(xml) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response(),
        Err(failure) => answer(StatusCode::OK, Err(failure)),
    }
}

/// `GET /xml/{collection}?query=EXPR&var=name=value&ns=prefix=uri`, and optionally
/// `join=ALGORITHM`, `plan=explain|profile` and `runs=N`.
pub async fn query_get(
    State(state): State<Arc<ServerState>>,
    Path(collection): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let parsed = (|| {
        let mut query = None;
        let (mut plan, mut runs) = (None, None);
        let mut options = XPathOptions { timeout: state.limits.query_timeout, ..Default::default() };
        for (key, value) in &params {
            match key.as_str() {
                "query" => query = Some(value.clone()),
                "var" => options.variables.push(binding("var", value)?),
                "ns" => options.namespaces.push(binding("ns", value)?),
                "join" => XPathRequest::join(&mut options, value)?,
                "plan" => plan = Some(value.as_str()),
                "runs" => runs = Some(value.as_str()),
                other => {
                    return Err(Failure::bad_request(format!(
                        "unknown parameter '{other}' (query, var, ns, join, plan, runs)"
                    )))
                }
            }
        }
        let query = query.ok_or_else(|| Failure::bad_request("the request has no query (?query=EXPR)"))?;
        Ok(XPathRequest { query, options, plan: XPathRequest::plan_of(plan, runs)? })
    })();
    match parsed {
        Ok(request) => evaluate(state, collection, request, wants_xml(&headers)).await,
        Err(failure) => answer(StatusCode::OK, Err(failure)),
    }
}

/// `POST /xml/{collection}` with `{"query", "vars", "ns"}`, and optionally `"join"`,
/// `"plan"` and `"runs"`.
pub async fn query_post(
    State(state): State<Arc<ServerState>>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = (|| {
        let fields = object_body(&body)?;
        let query = match fields.get("query") {
            Some(Json::String(q)) => q.clone(),
            _ => return Err(Failure::bad_request("the request has no \"query\" string")),
        };
        let mut options = XPathOptions {
            variables: bindings(&fields, "vars")?,
            namespaces: bindings(&fields, "ns")?,
            timeout: state.limits.query_timeout,
            ..Default::default()
        };
        let text = |key: &str| match fields.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(Json::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(Failure::bad_request(format!("\"{key}\" must be a string"))),
        };
        if let Some(join) = text("join")? {
            XPathRequest::join(&mut options, &join)?;
        }
        let plan = XPathRequest::plan_of(text("plan")?.as_deref(), text("runs")?.as_deref())?;
        Ok(XPathRequest { query, options, plan })
    })();
    match parsed {
        Ok(request) => evaluate(state, collection, request, wants_xml(&headers)).await,
        Err(failure) => answer(StatusCode::OK, Err(failure)),
    }
}

/// How `PUT /xml/{collection}/{document}` treats the collection's other documents.
#[derive(Debug, serde::Deserialize)]
pub struct PutParams {
    /// `collection`: the document replaces the whole collection, as a local
    /// `sprig load xml` of one file does.
    replace: Option<String>,
}

/// `PUT /xml/{collection}/{document}`: the body becomes document `document` of the
/// collection: it replaces the document of that name in its place (200), or is
/// added after the others, making the collection if need be (201). With
/// `?replace=collection` it becomes the collection's one document (201). The body
/// streams into the load (it is never held whole), and the load commits only when
/// the whole document parsed: a broken document or a client that disconnects
/// mid-body leaves the database as it was.
pub async fn load(
    State(state): State<Arc<ServerState>>,
    Path((collection, document)): Path<(String, String)>,
    Query(params): Query<PutParams>,
    body: Body,
) -> Response {
    let whole = match params.replace.as_deref() {
        None => false,
        Some("collection") => true,
        Some(other) => {
            let failure = Failure::bad_request(format!("replace={other}: only replace=collection is known"));
            return (failure.status, axum::Json(failure.body())).into_response();
        }
    };
    let (send, reader) = body_reader::channel();
    let loading = blocking(&state, Permit::Load, move |db: &Database| {
        if document.is_empty() {
            return Err(Failure::bad_request("a document needs a name"));
        }
        let (stats, replaced) = if whole {
            let docs = vec![(document.clone(), Box::new(reader) as Box<dyn Read>)];
            (db.load_xml_documents(&collection, docs).map_err(|e| Failure::from(&e))?, false)
        } else {
            db.put_xml_document(&collection, &document, reader).map_err(|e| Failure::from(&e))?
        };
        let status = if replaced { StatusCode::OK } else { StatusCode::CREATED };
        Ok((status, json!({"collection": collection, "document": document, "replaced": replaced,
                  "nodes": stats.nodes, "elements": stats.elements,
                  "attributes": stats.attributes, "texts": stats.texts, "bytes": stats.bytes})))
    });
    let feeding = body_reader::feed(body.into_data_stream(), send);
    let (outcome, ()) = tokio::join!(loading, feeding);
    match outcome {
        Ok((status, body)) => (status, axum::Json(body)).into_response(),
        Err(failure) => (failure.status, axum::Json(failure.body())).into_response(),
    }
}

/// `DELETE /xml/{collection}`.
pub async fn drop_collection(State(state): State<Arc<ServerState>>, Path(collection): Path<String>) -> Response {
    let outcome = blocking(&state, Permit::Load, move |db: &Database| {
        match db.drop_collection(&collection).map_err(|e| Failure::from(&e))? {
            true => Ok(json!({"dropped": collection})),
            false => Err(Failure::not_found(
                "Neo.ClientError.Database.DatabaseNotFound",
                format!("there is no collection '{collection}'"),
            )),
        }
    })
    .await;
    answer(StatusCode::OK, outcome)
}
