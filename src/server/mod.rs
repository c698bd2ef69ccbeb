//! `sprig serve`: one database shared over HTTP by many processes and tools (SPEC
//! section 7). Cypher speaks the Neo4j Query API ([`query_api`]), XPath and
//! document loads have endpoints of their own ([`xml_api`]), and `GET /metrics`
//! reports in the Prometheus format ([`metrics`]).
//!
//! How a request goes: the gatekeeper middleware checks the token, then axum
//! routes it to a handler; the handler parses the body and runs sprig's blocking
//! call on tokio's blocking pool ([`blocking`]), holding a permit when the call is
//! a query or a load, so that at most `max_concurrent` run at once; the answer (or
//! the error as Neo4j writes it) goes back as JSON, and the gatekeeper counts it
//! and logs one line.
//!
//! Shutdown (SIGTERM, Ctrl-C): the listener stops accepting, requests in flight
//! finish, open transactions are rolled back, and the database closes.

mod auth;
mod bolt;
mod body_reader;
mod graph_api;
mod metrics;
mod neo4j_json;
mod query_api;
mod registry_api;
mod streaming;
mod tls;
mod transactions;
mod xml_api;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value as JsonValue};
use tokio::sync::Semaphore;

use crate::{Database, Error, Result};
use neo4j_json::Failure;
pub use query_api::SPRIG_JSON;
use transactions::Transactions;

/// How `sprig serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on (`127.0.0.1:7474`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// The token every request must carry; `None` allows loopback addresses only.
    pub token: Option<String>,
    /// How long an explicit transaction may wait for its next request before it is
    /// rolled back.
    pub transaction_timeout: Duration,
    /// Each query's time limit.
    pub query_timeout: Option<Duration>,
    /// How long a streamed result may wait for its client to read on before it is
    /// dropped (a read holds back commits while its rows are open).
    pub result_timeout: Duration,
    /// Each Cypher statement's memory limit for intermediate results, in bytes.
    pub memory_limit: Option<usize>,
    /// The largest JSON request body, in bytes (a document load streams and has none).
    pub max_body: usize,
    /// Queries and loads running at once; more wait their turn.
    pub max_concurrent: usize,
    /// Serve HTTPS with this PEM certificate chain and PEM private key.
    pub tls: Option<TlsFiles>,
    /// Also speak Bolt (Neo4j's drivers) on this address.
    pub bolt: Option<SocketAddr>,
}

/// The PEM files `--tls-cert` and `--tls-key` name.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: std::path::PathBuf,
    /// The private key of the leaf certificate.
    pub key: std::path::PathBuf,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 7474)),
            token: None,
            transaction_timeout: Duration::from_secs(60),
            query_timeout: None,
            result_timeout: streaming::RESULT_TIMEOUT,
            memory_limit: None,
            max_body: 16 << 20,
            max_concurrent: 64,
            tls: None,
            bolt: None,
        }
    }
}

struct Limits {
    query_timeout: Option<Duration>,
    result_timeout: Duration,
    memory_limit: Option<usize>,
}

/// Bookmarks, HTTP's and Bolt's alike: `sprig:N` after the server's Nth commit. One
/// server serves every read from the latest commit, so a client's bookmark is
/// always satisfied; drivers pass them along and read them back.
#[derive(Debug, Default)]
pub(crate) struct Bookmarks(std::sync::atomic::AtomicU64);

impl Bookmarks {
    /// After a commit, a new bookmark; else the latest.
    pub(crate) fn after(&self, committed: bool) -> String {
        use std::sync::atomic::Ordering::SeqCst;
        let n = if committed { self.0.fetch_add(1, SeqCst) + 1 } else { self.0.load(SeqCst) };
        format!("sprig:{n}")
    }
}

/// What every handler shares.
pub(crate) struct ServerState {
    db: Database,
    token: Option<String>,
    transactions: Transactions,
    metrics: metrics::Metrics,
    limits: Limits,
    permits: Arc<Semaphore>,
    bookmarks: Arc<Bookmarks>,
}

/// What a blocking call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permit {
    /// A query: holds one of `max_concurrent` permits while it runs.
    Query,
    /// A document load or a drop: holds a permit, as a query does.
    Load,
    /// Work inside an explicit transaction: holds none. Only one transaction is
    /// open at a time (sprig has one writer), and it must always be able to finish,
    /// or queries waiting for the writer lock could hold every permit.
    Transaction,
}

/// One of the `max_concurrent` permits, for work that outlives its handler (a
/// streamed result).
pub(crate) async fn query_permit(state: &ServerState) -> Result<tokio::sync::OwnedSemaphorePermit, Failure> {
    Arc::clone(&state.permits).acquire_owned().await.map_err(|_| shutting_down())
}

fn shutting_down() -> Failure {
    Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Neo.TransientError.General.DatabaseUnavailable",
        "the server is shutting down",
    )
}

/// Runs `work` on the blocking pool with the database.
pub(crate) async fn blocking<T, F>(state: &Arc<ServerState>, permit: Permit, work: F) -> Result<T, Failure>
where
    T: Send + 'static,
    F: FnOnce(&Database) -> Result<T, Failure> + Send + 'static,
{
    let _held = match permit {
        Permit::Transaction => None,
        Permit::Query | Permit::Load => Some(state.permits.acquire().await.map_err(|_| shutting_down())?),
    };
    let db = state.db.clone();
    tokio::task::spawn_blocking(move || work(&db)).await.map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Neo.DatabaseError.General.UnknownError",
            format!("the request's worker stopped: {e}"),
        )
    })?
}

/// A handler's outcome as a response: the body with `status`, or the error.
pub(crate) fn answer(status: StatusCode, outcome: Result<JsonValue, Failure>) -> Response {
    match outcome {
        Ok(body) => (status, Json(body)).into_response(),
        Err(failure) => (failure.status, Json(failure.body())).into_response(),
    }
}

/// The route pattern a path belongs to: the `endpoint` label of metrics and logs.
fn endpoint_of(path: &str) -> &'static str {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        [""] => "/",
        ["metrics"] => "/metrics",
        ["xml"] => "/xml",
        ["db"] => "/db",
        ["registry"] => "/registry",
        ["registry", "models"] => "/registry/models",
        ["registry", "models", _] => "/registry/models/{name}",
        ["xml", _] => "/xml/{collection}",
        ["xml", _, _] => "/xml/{collection}/{document}",
        ["db", _, "query", "v2"] => "/db/{graph}/query/v2",
        ["db", _, "load", "csv"] => "/db/{graph}/load/csv",
        ["db", _, "query", "v2", "tx"] => "/db/{graph}/query/v2/tx",
        ["db", _, "query", "v2", "tx", _] => "/db/{graph}/query/v2/tx/{id}",
        ["db", _, "query", "v2", "tx", _, "commit"] => "/db/{graph}/query/v2/tx/{id}/commit",
        _ => "other",
    }
}

/// Checks the token, then counts and logs the answered request.
async fn gatekeeper(State(state): State<Arc<ServerState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let endpoint = endpoint_of(&path);
    let mut response = match &state.token {
        Some(token) if !auth::authorized(request.headers(), token) => {
            let failure = Failure::unauthorized();
            let mut response = (failure.status, Json(failure.body())).into_response();
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"sprig\", Bearer"),
            );
            response
        }
        _ => next.run(request).await,
    };
    if answered_unread(response.status(), endpoint) {
        // hyper closes a connection whose request body it has not read, without saying so;
        // a client that pooled it would fail its next request. Saying so lets it reconnect.
        response
            .headers_mut()
            .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    }
    let status = response.status().as_u16();
    let took = started.elapsed();
    state.metrics.record(&method, endpoint, status, took);
    tracing::info!(method = %method, path = %path, endpoint, status, ms = took.as_secs_f64() * 1e3, "request");
    response
}

/// Responses given before the request body was read: refused credentials, an unknown
/// address or method, a body over the limit.
fn answered_unread(status: StatusCode, endpoint: &str) -> bool {
    endpoint == "other"
        || matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::METHOD_NOT_ALLOWED | StatusCode::PAYLOAD_TOO_LARGE
        )
}

async fn discovery() -> Json<JsonValue> {
    Json(json!({
        "sprig": env!("CARGO_PKG_VERSION"),
        "graphs": "/db",
        "query": "/db/{graph}/query/v2",
        "transaction": "/db/{graph}/query/v2/tx",
        "xml": "/xml/{collection}",
        "registry": "/registry",
        "metrics": "/metrics",
    }))
}

async fn metrics_text(State(state): State<Arc<ServerState>>) -> Response {
    let text = state.metrics.render(state.transactions.open(), &state.db.cache_stats());
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn no_route() -> Response {
    let failure = Failure::not_found("Neo.ClientError.Request.Invalid", "no such endpoint (GET / lists them)");
    (failure.status, Json(failure.body())).into_response()
}

fn router(state: Arc<ServerState>, max_body: usize) -> Router {
    Router::new()
        .route("/", get(discovery))
        .route("/metrics", get(metrics_text))
        .route("/db", get(query_api::graphs))
        .route("/db/{graph}/query/v2", post(query_api::run))
        // A bulk load streams, however large: no body limit.
        .route("/db/{graph}/load/csv", post(graph_api::load_csv).layer(DefaultBodyLimit::disable()))
        .route("/db/{graph}/query/v2/tx", post(query_api::open))
        .route("/db/{graph}/query/v2/tx/{id}", post(query_api::statement_in).delete(query_api::rollback))
        .route("/db/{graph}/query/v2/tx/{id}/commit", post(query_api::commit))
        .route("/registry", get(registry_api::export).post(registry_api::import))
        .route("/registry/models", get(registry_api::list))
        .route("/registry/models/{name}", get(registry_api::show))
        .route("/xml", get(xml_api::collections))
        .route("/xml/{collection}", get(xml_api::query_get).post(xml_api::query_post).delete(xml_api::drop_collection))
        .route("/xml/{collection}/{document}", axum::routing::put(xml_api::load))
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), gatekeeper))
        .with_state(state)
}

/// Resolves on SIGTERM or Ctrl-C.
async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// A usage error when `options` would listen on a public address without a token.
pub fn check_listen(options: &ServeOptions) -> Result<()> {
    for address in std::iter::once(&options.listen).chain(&options.bolt) {
        auth::check_listen(address, options.token.as_deref()).map_err(Error::Usage)?;
    }
    Ok(())
}

/// Serves `db` until SIGTERM or Ctrl-C; prints `listening on http://ADDR` (or
/// `https://` with TLS) on stderr once requests are accepted.
pub fn serve(db: Database, options: ServeOptions) -> Result<()> {
    check_listen(&options)?;
    let acceptor = match &options.tls {
        Some(files) => Some(tls::acceptor(&files.cert, &files.key)?),
        None => None,
    };
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let state = Arc::new(ServerState {
        db,
        token: options.token.clone(),
        transactions: Transactions::new(options.transaction_timeout),
        metrics: metrics::Metrics::default(),
        limits: Limits {
            query_timeout: options.query_timeout,
            result_timeout: options.result_timeout,
            memory_limit: options.memory_limit,
        },
        permits: Arc::new(Semaphore::new(options.max_concurrent.max(1))),
        bookmarks: Arc::default(),
    });
    let marker = state.db.path().map(|dir| dir.join(crate::SERVED_AT_FILE));
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        let bound = listener.local_addr()?;
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        // Named in the directory, so that a process that finds the database locked
        // can say where it is served (a stale file only matters while it is locked).
        if let Some(marker) = &marker {
            std::fs::write(marker, format!("{scheme}://{bound}\n"))?;
        }
        let bolt = match options.bolt {
            Some(address) => {
                let shared = bolt::Shared {
                    db: state.db.clone(),
                    token: options.token.clone(),
                    limits: bolt::BoltLimits {
                        query_timeout: options.query_timeout,
                        result_timeout: options.result_timeout,
                        transaction_timeout: options.transaction_timeout,
                        memory_limit: options.memory_limit,
                        max_message: options.max_body,
                        idle_timeout: bolt::IDLE_TIMEOUT,
                        max_connections: options.max_concurrent.saturating_mul(4).max(64),
                    },
                    permits: Arc::clone(&state.permits),
                    runtime: tokio::runtime::Handle::current(),
                    bookmarks: Arc::clone(&state.bookmarks),
                };
                let server = bolt::BoltServer::start(std::net::TcpListener::bind(address)?, shared)?;
                eprintln!("listening on bolt://{}", server.address());
                Some(server)
            }
            None => None,
        };
        let reaper = tokio::spawn(reap_idle_transactions(Arc::clone(&state)));
        let app = router(Arc::clone(&state), options.max_body);
        match acceptor {
            Some(acceptor) => {
                let listener = tls::TlsListener::new(listener, acceptor)?;
                eprintln!("listening on {scheme}://{bound}");
                axum::serve(listener, app).with_graceful_shutdown(stop_signal()).await?;
            }
            None => {
                eprintln!("listening on {scheme}://{bound}");
                // A streamed answer goes out as a head and then pieces: without
                // TCP_NODELAY, Nagle's algorithm holds a piece back until the client's
                // delayed ACK, 40 ms later.
                let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(listener, app).with_graceful_shutdown(stop_signal()).await?;
            }
        }
        reaper.abort();
        if let Some(bolt) = bolt {
            // Its connections finish on threads of their own; wait off the runtime's.
            let _ = tokio::task::spawn_blocking(move || bolt.stop()).await;
        }
        Ok::<_, std::io::Error>(())
    });
    if let Some(marker) = &marker {
        let _ = std::fs::remove_file(marker);
    }
    served?;
    // Requests have finished: what is still open was abandoned.
    let abandoned = state.transactions.drain();
    drop(abandoned);
    state.permits.close();
    eprintln!("stopped");
    Ok(())
}

/// Rolls back transactions idle past their timeout, once a second (or sooner with
/// a short timeout).
async fn reap_idle_transactions(state: Arc<ServerState>) {
    let period = (state.transactions.idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        let expired = state.transactions.expired(Instant::now());
        if !expired.is_empty() {
            tracing::info!(count = expired.len(), "rolled back idle transactions");
            // Dropping rolls back and frees the writer lock: off the async threads.
            let _ = tokio::task::spawn_blocking(move || drop(expired)).await;
        }
    }
}
