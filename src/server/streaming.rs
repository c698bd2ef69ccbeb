//! Cypher results streamed as they are computed: the body is the Query API's JSON,
//! written a few tens of kilobytes at a time from the blocking thread that pulls
//! the rows, through a bounded channel to the connection. A read's rows hold the
//! read gate (commits wait for them), so a client that stops reading must not hold
//! it forever: when the channel stays full for the result timeout, the statement is
//! dropped, which lets writers through, and the answer ends where it was.
//!
//! The status (202) goes out before the rows: an error after the first row ends the
//! body with an `errors` member instead, as Neo4j's Query API does.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

use super::neo4j_json::{self, Failure};
use super::{answer, ServerState};
use crate::{CypherOptions, Rows};

/// About this many bytes of rows go out in one piece.
const CHUNK: usize = 64 << 10;

/// A piece of the answer's body; the last one closes the JSON document.
struct Piece {
    bytes: Bytes,
    last: bool,
}

/// How a value is written (Neo4j's JSON or sprig's).
pub type Writer = fn(&crate::ResultValue) -> Json;

/// What writes an answer's body piece by piece: it calls `send(piece, last)` and
/// stops as soon as `send` returns false.
pub type Pour = Box<dyn FnOnce(&mut dyn FnMut(String, bool) -> bool)>;

/// Runs `statement` on the blocking pool under `permit` and answers with its rows
/// as they come; an error before the first row is an ordinary error answer.
pub async fn run(
    state: &Arc<ServerState>,
    permit: OwnedSemaphorePermit,
    statement: String,
    options: CypherOptions,
    write: Writer,
) -> Response {
    let bookmarks = Arc::clone(&state.bookmarks);
    stream(state, permit, StatusCode::ACCEPTED, move |db| {
        let rows = db.cypher_with(&statement, &options).map_err(|e| Failure::from(&e))?;
        // A write has committed by now; its rows are what it returned.
        let bookmark = bookmarks.after(rows.stats().total() > 0);
        Ok(Box::new(move |send: &mut dyn FnMut(String, bool) -> bool| pour(rows, write, &bookmark, send)) as Pour)
    })
    .await
}

/// Runs `work` on the blocking pool under `permit`; an error it returns is an
/// ordinary error answer, and what it gives to pour streams as the body with
/// `status`. Both run on the same thread, so what the pour holds (a read's rows
/// and their gate) never crosses threads.
pub async fn stream<W>(state: &Arc<ServerState>, permit: OwnedSemaphorePermit, status: StatusCode, work: W) -> Response
where
    W: FnOnce(&crate::Database) -> Result<Pour, Failure> + Send + 'static,
{
    let (started, first) = oneshot::channel::<Result<(), Failure>>();
    let (chunks, body) = mpsc::channel::<Piece>(4);
    let db = state.db.clone();
    let wait = state.limits.result_timeout;
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let pour = match work(&db) {
            Ok(pour) => pour,
            Err(failure) => {
                let _ = started.send(Err(failure));
                return;
            }
        };
        if started.send(Ok(())).is_ok() {
            let mut send = |piece: String, last: bool| {
                let piece = Piece { bytes: Bytes::from(piece), last };
                runtime.block_on(chunks.send_timeout(piece, wait)).is_ok()
            };
            pour(&mut send);
        }
    });
    match first.await {
        Ok(Ok(())) => {
            // A body that ends before its last piece ends in an error, so the
            // connection breaks off rather than closing a cut JSON document cleanly.
            let stream = futures_util::stream::unfold((body, false), |(mut body, done)| async move {
                match body.recv().await {
                    Some(piece) => Some((Ok(piece.bytes), (body, piece.last))),
                    None if done => None,
                    None => Some((Err(std::io::Error::other("the result was dropped unread")), (body, true))),
                }
            });
            (status, [(header::CONTENT_TYPE, "application/json")], Body::from_stream(stream)).into_response()
        }
        Ok(Err(failure)) => answer(status, Err(failure)),
        Err(_) => answer(
            status,
            Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Neo.DatabaseError.General.UnknownError",
                "the statement's worker stopped",
            )),
        ),
    }
}

/// Writes `rows` as the Query API's JSON, piece by piece, through `send`; stops
/// (dropping the rows) as soon as `send` fails: the client left, or stopped reading
/// for longer than the result timeout.
fn pour(rows: Rows, write: Writer, bookmark: &str, send: &mut dyn FnMut(String, bool) -> bool) {
    let counters = neo4j_json::counters(rows.stats());
    let head = format!("{{\"data\":{{\"fields\":{},\"values\":[", json!(rows.columns()));
    let tail = format!(",\"counters\":{counters},\"bookmarks\":{}}}", json!([bookmark]));
    let items = rows.map(|row| row.map(|row| Json::Array(row.values().iter().map(write).collect())));
    pour_array(head, items, "]}", &tail, send);
}

/// Writes `head`, then `items` as the elements of a JSON array, then `close` and
/// `tail`, a piece of about [`CHUNK`] bytes at a time. An item that fails ends the
/// document after `close` with an `errors` member instead of `tail`; a piece that
/// `send` refuses ends it there.
fn pour_array(
    head: String,
    items: impl Iterator<Item = crate::Result<Json>>,
    close: &str,
    tail: &str,
    send: &mut dyn FnMut(String, bool) -> bool,
) {
    let mut piece = head;
    for (i, item) in items.enumerate() {
        match item {
            Ok(item) => {
                if i > 0 {
                    piece.push(',');
                }
                piece.push_str(&item.to_string());
                if piece.len() >= CHUNK && !send(std::mem::take(&mut piece), false) {
                    return;
                }
            }
            Err(e) => {
                let errors = Failure::from(&e).body()["errors"].take();
                piece.push_str(&format!("{close},\"errors\":{errors}}}"));
                send(piece, true);
                return;
            }
        }
    }
    piece.push_str(close);
    piece.push_str(tail);
    send(piece, true);
}

/// An XPath value as SPEC section 4's JSON, a node-set's nodes described and sent a
/// piece at a time.
pub fn pour_xpath(value: crate::XPathValue, send: &mut dyn FnMut(String, bool) -> bool) {
    let crate::XPathValue::NodeSet(nodes) = &value else {
        let json = crate::json::xpath_json(&value).unwrap_or(Json::Null);
        send(json.to_string(), true);
        return;
    };
    let head = format!("{{\"kind\":\"nodeset\",\"count\":{},\"nodes\":[", nodes.len());
    let items = nodes.iter().map(|node| node.map(|node| crate::json::xpath_node_json(&node)));
    pour_array(head, items, "]", "}", send);
}

/// How long a result may wait for its reader, by default.
pub const RESULT_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;

    fn poured(db: &Database, q: &str, limit: usize) -> (String, usize) {
        let rows = db.cypher(q, ()).expect("runs");
        let (mut out, mut pieces) = (String::new(), 0);
        pour(rows, crate::json::value_json, "sprig:7", &mut |piece, _| {
            out.push_str(&piece);
            pieces += 1;
            pieces < limit
        });
        (out, pieces)
    }

    #[test]
    fn a_result_pours_out_in_pieces_as_one_json_document() {
        let db = Database::in_memory().expect("db");
        let (text, pieces) = poured(&db, "UNWIND range(1, 30000) AS i RETURN i, 'x' AS s", usize::MAX);
        assert!(pieces > 3, "{pieces} pieces");
        let body: Json = serde_json::from_str(&text).expect("one JSON document");
        assert_eq!(body["data"]["fields"], json!(["i", "s"]));
        assert_eq!(body["data"]["values"].as_array().map(Vec::len), Some(30000));
        assert_eq!(body["data"]["values"][29999], json!([30000, "x"]));
        assert_eq!(body["counters"]["containsUpdates"], false);
        assert_eq!(body["bookmarks"], json!(["sprig:7"]));
    }

    #[test]
    fn a_node_set_pours_out_as_the_json_it_would_be_whole() {
        let db = Database::in_memory().expect("db");
        let xml = format!("<r>{}</r>", "<n a='1'>text</n>".repeat(5000));
        db.load_xml("c", xml.as_bytes()).expect("load");
        for q in ["//n", "//n/@a", "count(//n)", "string(//n[1])", "//missing"] {
            let value = db.xpath("c", q).expect("evaluates");
            let (mut out, mut pieces) = (String::new(), 0);
            pour_xpath(db.xpath("c", q).expect("evaluates"), &mut |piece, _| {
                out.push_str(&piece);
                pieces += 1;
                true
            });
            let whole = crate::json::xpath_json(&value).expect("described");
            assert_eq!(serde_json::from_str::<Json>(&out).expect("one JSON document"), whole, "{q}");
            assert!(pieces > 1 || !q.starts_with("//n"), "{q}: {pieces} pieces");
        }
    }

    #[test]
    fn a_refused_piece_stops_the_result_and_an_error_ends_it() {
        let db = Database::in_memory().expect("db");
        let (text, pieces) = poured(&db, "UNWIND range(1, 300000) AS i RETURN i", 2);
        assert_eq!(pieces, 2);
        assert!(serde_json::from_str::<Json>(&text).is_err(), "cut short");
        // A division by zero at the last row: the rows before it, then the error.
        let (text, _) = poured(&db, "UNWIND range(-20000, 0) AS i RETURN 1 / (i + 0 * i) AS x", usize::MAX);
        let body: Json = serde_json::from_str(&text).expect("one JSON document");
        assert_eq!(body["data"]["values"].as_array().map(Vec::len), Some(20000));
        assert_eq!(body["errors"][0]["code"], "Neo.ClientError.Statement.ArithmeticError");
    }
}
