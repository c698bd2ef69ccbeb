//! One Bolt connection: the protocol's state machine, on a thread of its own.
//!
//! States as the Bolt specification names them: CONNECTED (before HELLO),
//! AUTHENTICATION (5.1+, between HELLO and LOGON), READY, STREAMING (an auto-commit
//! result is open), TX_READY and TX_STREAMING (an explicit transaction, with or
//! without results open), FAILED (everything but RESET is IGNORED) and DEFUNCT
//! (the connection closes). A connection that has not authenticated may only say
//! HELLO, LOGON, RESET and GOODBYE; anything else, or a refused credential, closes
//! it, so no later message (a RESET included) can reach a database unauthenticated.
//!
//! An auto-commit result is pulled from the engine as PULL asks for rows, holding
//! its read (which commits wait for); if the client sends nothing for the result
//! timeout, the result is dropped, which lets writers through, and the next PULL
//! fails. A transaction's results are computed whole when RUN runs them, as over
//! HTTP. An explicit transaction idle past the transaction timeout is rolled back
//! and its connection closed.

use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::framing::{self, ReadError, Version};
use super::message::{self, Reply, Request};
use super::packstream::Value;
use super::values::{self, ElementIds};
use super::Shared;
use crate::server::neo4j_json::Failure;
use crate::{CypherOptions, Params, ResultValue, Rows, WriteStats, WriteTransaction};

/// The largest message before authentication, and how long a client may take to
/// authenticate.
const UNAUTHENTICATED_MAX_MESSAGE: usize = 64 << 10;
const AUTHENTICATION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the rest of a message may take once its first byte came.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an authenticated connection with nothing open may stay silent before
/// it is closed (drivers test a pooled connection, or retry, before reusing it).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connected,
    Authentication,
    Ready,
    Streaming,
    TxReady,
    TxStreaming,
    Failed,
    Defunct,
}

/// An auto-commit statement's rows, pulled as the client asks.
struct AutoResult {
    rows: Option<Rows>,
    started: Instant,
    /// Held while the result is open, as an HTTP query holds one.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// A statement's rows inside an explicit transaction, computed whole.
struct TxResult {
    qid: i64,
    rows: VecDeque<Vec<ResultValue>>,
    stats: WriteStats,
    started: Instant,
}

struct Transaction {
    tx: WriteTransaction,
    graph: String,
    results: Vec<TxResult>,
    next_qid: i64,
}

pub struct Session<'a> {
    shared: &'a Shared,
    stream: TcpStream,
    version: Version,
    state: State,
    id: u64,
    result: Option<AutoResult>,
    tx: Option<Transaction>,
    out: Vec<u8>,
}

/// How a message ended up.
enum Next {
    Continue,
    Close,
}

impl<'a> Session<'a> {
    pub fn new(shared: &'a Shared, stream: TcpStream, version: Version, id: u64) -> Session<'a> {
        Session { shared, stream, version, state: State::Connected, id, result: None, tx: None, out: Vec::new() }
    }

    /// Serves messages until the client says GOODBYE, breaks off, or is closed.
    pub fn run(mut self) {
        loop {
            let max = match self.state {
                State::Connected | State::Authentication => UNAUTHENTICATED_MAX_MESSAGE,
                _ => self.shared.limits.max_message,
            };
            match self.wait_for_message() {
                Ok(true) => {}
                Ok(false) => return,
                Err(_) => return,
            }
            let _ = self.stream.set_read_timeout(Some(MESSAGE_TIMEOUT));
            let bytes = match framing::read_message(&mut self.stream, max) {
                Ok(bytes) => bytes,
                Err(ReadError::TooLarge(max)) => {
                    self.reply(&Reply::failure(
                        "Neo.ClientError.Request.Invalid",
                        &format!("a message is longer than {max} bytes"),
                    ));
                    let _ = self.flush();
                    return;
                }
                Err(ReadError::Io(_)) => return,
            };
            let next = match message::parse(&bytes) {
                Ok(request) => self.handle(request),
                Err(problem) => {
                    // A message that cannot be read leaves nothing to resume from.
                    self.reply(&Reply::failure("Neo.ClientError.Request.Invalid", &problem));
                    Next::Close
                }
            };
            if self.flush().is_err() {
                return;
            }
            if matches!(next, Next::Close) || self.state == State::Defunct {
                return;
            }
        }
    }

    /// Waits for the next message's first byte, as long as the state allows: false
    /// when the connection ended or its time ran out.
    fn wait_for_message(&mut self) -> std::io::Result<bool> {
        loop {
            let limit = match self.state {
                State::Connected | State::Authentication => Some(AUTHENTICATION_TIMEOUT),
                State::TxReady | State::TxStreaming => Some(self.shared.limits.transaction_timeout),
                State::Streaming if self.result.as_ref().is_some_and(|r| r.rows.is_some()) => {
                    Some(self.shared.limits.result_timeout)
                }
                _ => Some(self.shared.limits.idle_timeout),
            };
            self.stream.set_read_timeout(limit)?;
            let mut first = [0u8; 1];
            match self.stream.peek(&mut first) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    match self.state {
                        State::Streaming => {
                            // Nobody pulls: give the read up, so commits go on.
                            if let Some(result) = &mut self.result {
                                result.rows = None;
                            }
                            tracing::info!(connection = self.id, "bolt result dropped: not pulled in time");
                        }
                        State::TxReady | State::TxStreaming => {
                            tracing::info!(connection = self.id, "bolt transaction rolled back: idle");
                            return Ok(false);
                        }
                        _ => {
                            tracing::info!(connection = self.id, "bolt connection closed: idle");
                            return Ok(false);
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn reply(&mut self, reply: &Reply) {
        reply.write(&mut self.out);
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    fn ids(&self) -> ElementIds {
        ElementIds(self.version.at_least(5, 0))
    }

    /// A FAILURE, and the FAILED state (what was open is dropped: a transaction
    /// rolls back).
    fn fail(&mut self, failure: &Failure) -> Next {
        self.reply(&Reply::failure(&failure.code, &failure.message));
        self.result = None;
        self.tx = None;
        self.state = State::Failed;
        Next::Continue
    }

    /// A FAILURE that ends the connection.
    fn refuse(&mut self, code: &str, message: &str) -> Next {
        self.reply(&Reply::failure(code, message));
        self.state = State::Defunct;
        Next::Close
    }

    fn out_of_state(&mut self, request: &Request) -> Next {
        let message = format!("{} is not allowed now (state {:?})", request.name(), self.state);
        match self.state {
            State::Connected | State::Authentication => {
                self.refuse("Neo.ClientError.Security.Unauthorized", &format!("{message}: authenticate first"))
            }
            _ => self.fail(&Failure::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Neo.ClientError.Request.Invalid",
                message,
            )),
        }
    }

    fn handle(&mut self, request: Request) -> Next {
        if request == Request::Goodbye {
            return Next::Close;
        }
        if self.state == State::Failed && request != Request::Reset {
            self.reply(&Reply::Ignored);
            return Next::Continue;
        }
        match (self.state, request) {
            (_, Request::Reset) => {
                self.result = None;
                self.tx = None;
                if matches!(self.state, State::Connected | State::Authentication) {
                    // Never a way past authentication.
                    self.reply(&Reply::success([]));
                } else {
                    self.state = State::Ready;
                    self.reply(&Reply::success([]));
                }
                Next::Continue
            }
            (State::Connected, Request::Hello { extra }) => self.hello(&extra),
            (State::Authentication, Request::Logon { auth }) => {
                if let Err(message) = self.shared.authenticate(&auth) {
                    return self.refuse("Neo.ClientError.Security.Unauthorized", &message);
                }
                self.state = State::Ready;
                self.reply(&Reply::success([]));
                Next::Continue
            }
            (State::Ready, Request::Logoff) if self.version.at_least(5, 1) => {
                self.state = State::Authentication;
                self.reply(&Reply::success([]));
                Next::Continue
            }
            (State::Ready, Request::Telemetry) => {
                self.reply(&Reply::success([]));
                Next::Continue
            }
            (State::Ready, Request::Route { db }) => {
                let address = self.stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
                let servers = ["WRITE", "READ", "ROUTE"].map(|role| {
                    Value::map([("addresses", Value::List(vec![Value::string(address.clone())])), ("role", Value::string(role))])
                });
                let rt = Value::map([
                    ("ttl", Value::Int(300)),
                    ("db", Value::string(db.unwrap_or_else(|| "neo4j".into()))),
                    ("servers", Value::List(servers.to_vec())),
                ]);
                self.reply(&Reply::success([("rt", rt)]));
                Next::Continue
            }
            (State::Ready, Request::Run { query, parameters, extra }) => self.run_auto(&query, &parameters, &extra),
            (State::Ready, Request::Begin { extra }) => self.begin(&extra),
            (State::Streaming, Request::Pull { n, .. }) => self.pull_auto(n, false),
            (State::Streaming, Request::Discard { n, .. }) => self.pull_auto(n, true),
            (State::TxReady | State::TxStreaming, Request::Run { query, parameters, .. }) => {
                self.run_in_tx(&query, &parameters)
            }
            (State::TxStreaming, Request::Pull { n, qid }) => self.pull_tx(n, qid, false),
            (State::TxStreaming, Request::Discard { n, qid }) => self.pull_tx(n, qid, true),
            (State::TxReady | State::TxStreaming, Request::Commit) => self.commit(),
            (State::TxReady | State::TxStreaming, Request::Rollback) => {
                self.tx = None;
                self.state = State::Ready;
                self.reply(&Reply::success([]));
                Next::Continue
            }
            (_, other) => self.out_of_state(&other),
        }
    }

    fn hello(&mut self, extra: &Value) -> Next {
        // Up to 5.0 HELLO carries the credentials; from 5.1 LOGON does.
        let authenticates = !self.version.at_least(5, 1);
        if authenticates {
            if let Err(message) = self.shared.authenticate(extra) {
                return self.refuse("Neo.ClientError.Security.Unauthorized", &message);
            }
        }
        self.state = if authenticates { State::Ready } else { State::Authentication };
        self.reply(&Reply::success([
            ("server", Value::string(super::server_agent())),
            ("connection_id", Value::string(format!("bolt-{}", self.id))),
            ("hints", Value::map::<String>([])),
        ]));
        Next::Continue
    }

    fn options(&self, graph: &str, parameters: &Value) -> Result<CypherOptions, Failure> {
        let mut params = Params::default();
        if let Value::Map(entries) = parameters {
            for (name, v) in entries {
                let value = values::parameter(v, self.version.at_least(5, 0)).map_err(|what| {
                    Failure::new(
                        axum::http::StatusCode::BAD_REQUEST,
                        "Neo.ClientError.Statement.TypeError",
                        format!("parameter ${name} is {what}, which sprig has no type for"),
                    )
                })?;
                params.0.push((name.clone(), value));
            }
        }
        Ok(CypherOptions {
            graph: Some(graph.to_string()),
            params,
            timeout: self.shared.limits.query_timeout,
            memory_limit: self.shared.limits.memory_limit,
            ..Default::default()
        })
    }

    fn run_auto(&mut self, query: &str, parameters: &Value, extra: &Value) -> Next {
        let started = Instant::now();
        let graph = super::graph_of(extra.get("db"));
        let options = match self.options(&graph, parameters) {
            Ok(options) => options,
            Err(failure) => return self.fail(&failure),
        };
        let Some(permit) = self.shared.permit() else {
            return self.fail(&Failure::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "Neo.TransientError.General.DatabaseUnavailable",
                "the server is shutting down",
            ));
        };
        match self.shared.db.cypher_with(query, &options) {
            Ok(rows) => {
                let fields = Value::List(rows.columns().iter().cloned().map(Value::String).collect());
                let t_first = started.elapsed().as_millis() as i64;
                self.result = Some(AutoResult { rows: Some(rows), started, _permit: permit });
                self.state = State::Streaming;
                self.reply(&Reply::success([("fields", fields), ("t_first", Value::Int(t_first))]));
                tracing::info!(connection = self.id, ms = started.elapsed().as_secs_f64() * 1e3, "bolt RUN");
                Next::Continue
            }
            Err(e) => self.fail(&Failure::from(&e)),
        }
    }

    /// PULL (or DISCARD) `n` rows of the open auto-commit result; -1 is all.
    fn pull_auto(&mut self, n: i64, discard: bool) -> Next {
        let ids = self.ids();
        let Some(result) = &mut self.result else { return self.out_of_state(&Request::Pull { n, qid: -1 }) };
        let Some(rows) = &mut result.rows else {
            let seconds = self.shared.limits.result_timeout.as_secs_f64();
            return self.fail(&Failure::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Neo.TransientError.Transaction.Terminated",
                format!("the result was dropped: it was not pulled for {seconds} s"),
            ));
        };
        let mut sent = 0i64;
        let mut failed = None;
        while n < 0 || sent < n {
            match rows.next() {
                Some(Ok(row)) => {
                    if !discard {
                        let fields = row.values().iter().map(|v| values::value(v, ids)).collect();
                        Reply::Record(fields).write(&mut self.out);
                    }
                    sent += 1;
                }
                Some(Err(e)) => {
                    failed = Some(e);
                    break;
                }
                None => {
                    let stats = rows.stats().clone();
                    let started = result.started;
                    self.result = None;
                    self.state = State::Ready;
                    let bookmark = self.shared.bookmarks.after(stats.total() > 0);
                    let mut meta = summary(&stats, started);
                    meta.push(("bookmark", Value::string(bookmark)));
                    self.reply(&Reply::success(meta));
                    return Next::Continue;
                }
            }
        }
        if let Some(e) = failed {
            return self.fail(&Failure::from(&e));
        }
        self.reply(&Reply::success([("has_more", Value::Bool(true))]));
        Next::Continue
    }

    fn begin(&mut self, extra: &Value) -> Next {
        let graph = super::graph_of(extra.get("db"));
        match self.shared.db.begin_write() {
            Ok(tx) => {
                self.tx = Some(Transaction { tx, graph, results: Vec::new(), next_qid: 0 });
                self.state = State::TxReady;
                self.reply(&Reply::success([]));
                Next::Continue
            }
            Err(e) => self.fail(&Failure::from(&e)),
        }
    }

    fn run_in_tx(&mut self, query: &str, parameters: &Value) -> Next {
        let started = Instant::now();
        let Some(graph) = self.tx.as_ref().map(|t| t.graph.clone()) else { return self.out_of_state(&Request::Commit) };
        let options = match self.options(&graph, parameters) {
            Ok(options) => options,
            Err(failure) => return self.fail(&failure),
        };
        let Some(tx) = &mut self.tx else { return Next::Continue };
        let outcome = tx.tx.cypher_with(query, &options).and_then(|rows| {
            let fields: Vec<String> = rows.columns().to_vec();
            let stats = rows.stats().clone();
            let rows = rows.map(|r| r.map(|r| r.values().to_vec())).collect::<crate::Result<VecDeque<_>>>()?;
            Ok((fields, stats, rows))
        });
        match outcome {
            Ok((fields, stats, rows)) => {
                let qid = tx.next_qid;
                tx.next_qid += 1;
                tx.results.push(TxResult { qid, rows, stats, started });
                self.state = State::TxStreaming;
                self.reply(&Reply::success([
                    ("fields", Value::List(fields.into_iter().map(Value::String).collect())),
                    ("t_first", Value::Int(started.elapsed().as_millis() as i64)),
                    ("qid", Value::Int(qid)),
                ]));
                Next::Continue
            }
            Err(e) => self.fail(&Failure::from(&e)),
        }
    }

    fn pull_tx(&mut self, n: i64, qid: i64, discard: bool) -> Next {
        let ids = self.ids();
        let Some(tx) = &mut self.tx else { return self.out_of_state(&Request::Pull { n, qid }) };
        let at = match qid {
            -1 => tx.results.len().checked_sub(1),
            qid => tx.results.iter().position(|r| r.qid == qid),
        };
        let Some(at) = at else {
            return self.fail(&Failure::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Neo.ClientError.Request.Invalid",
                format!("no open result with qid {qid}"),
            ));
        };
        let result = &mut tx.results[at];
        let take = if n < 0 { result.rows.len() } else { (n as usize).min(result.rows.len()) };
        for row in result.rows.drain(..take) {
            if !discard {
                Reply::Record(row.iter().map(|v| values::value(v, ids)).collect()).write(&mut self.out);
            }
        }
        if !result.rows.is_empty() {
            self.reply(&Reply::success([("has_more", Value::Bool(true))]));
            return Next::Continue;
        }
        let done = tx.results.remove(at);
        if tx.results.is_empty() {
            self.state = State::TxReady;
        }
        self.reply(&Reply::success(summary(&done.stats, done.started)));
        Next::Continue
    }

    fn commit(&mut self) -> Next {
        let Some(tx) = self.tx.take() else { return self.out_of_state(&Request::Commit) };
        match tx.tx.commit() {
            Ok(()) => {
                self.state = State::Ready;
                let bookmark = self.shared.bookmarks.after(true);
                self.reply(&Reply::success([("bookmark", Value::string(bookmark))]));
                Next::Continue
            }
            Err(e) => self.fail(&Failure::from(&e)),
        }
    }
}

/// A result's closing metadata: its kind, time and write counters (Bolt's names,
/// only those that are not zero).
fn summary(stats: &WriteStats, started: Instant) -> Vec<(&'static str, Value)> {
    let counters: Vec<(&str, u64)> = vec![
        ("nodes-created", stats.nodes_created),
        ("nodes-deleted", stats.nodes_deleted),
        ("relationships-created", stats.relationships_created),
        ("relationships-deleted", stats.relationships_deleted),
        ("properties-set", stats.properties_set),
        ("labels-added", stats.labels_added),
        ("labels-removed", stats.labels_removed),
        ("indexes-added", stats.indexes_added),
        ("indexes-removed", stats.indexes_removed),
    ];
    let written: Vec<(String, Value)> = counters
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), Value::Int(i64::try_from(n).unwrap_or(i64::MAX))))
        .collect();
    let kind = if written.is_empty() { "r" } else { "rw" };
    let mut meta = vec![
        ("type", Value::string(kind)),
        ("t_last", Value::Int(started.elapsed().as_millis() as i64)),
        ("db", Value::string("neo4j")),
    ];
    if !written.is_empty() {
        meta.push(("stats", Value::Map(written)));
    }
    meta
}
