//! Bolt, the protocol of Neo4j's drivers, beside HTTP in `sprig serve --bolt ADDR`:
//! the same database, token and query permits. Versions 4.4 and 5.0 to 5.4.
//!
//! Each connection runs on a thread of its own ([`session::Session`]): sprig's
//! queries are blocking calls, and a connection does one thing at a time, so a
//! thread is the simplest owner of what a connection holds (a result's rows and
//! the read they keep, a write transaction). On shutdown the listener stops, each
//! connection's socket is shut for reading, so that a connection finishes what it
//! is doing, answers, and then sees the end; open transactions roll back.
//!
//! Layers: [`framing`] (handshake, chunks) carries [`packstream`] values, which
//! [`message`] reads as requests and writes as replies; [`values`] converts
//! between sprig's values and Bolt's structures.

mod framing;
mod message;
mod packstream;
mod session;
mod temporal;

pub use session::IDLE_TIMEOUT;
mod values;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use packstream::Value;
use tokio::sync::Semaphore;

use crate::Database;

/// What `HELLO` answers as the server: drivers and tools check that it begins with
/// `Neo4j/` and read a version after it.
pub fn server_agent() -> String {
    format!("Neo4j/{} sprig/{}", sprig_query::cypher::plan::NEO4J_COMPATIBLE_VERSION, env!("CARGO_PKG_VERSION"))
}

/// The graph a `db` field names: Neo4j's default database `neo4j` (or none) is
/// sprig's default graph.
fn graph_of(db: Option<&Value>) -> String {
    match db.and_then(Value::as_str) {
        None | Some("") | Some("neo4j") => crate::DEFAULT_GRAPH.to_string(),
        Some(name) => name.to_string(),
    }
}

/// The limits a Bolt connection works under (the server's own).
#[derive(Debug, Clone)]
pub struct BoltLimits {
    pub query_timeout: Option<Duration>,
    pub result_timeout: Duration,
    pub transaction_timeout: Duration,
    pub memory_limit: Option<usize>,
    /// The largest message once authenticated.
    pub max_message: usize,
    /// How long an authenticated connection with nothing open may stay silent.
    pub idle_timeout: Duration,
    /// Connections open at once; more are closed as they come.
    pub max_connections: usize,
}

/// What every connection shares.
pub struct Shared {
    pub(in crate::server) db: Database,
    pub(in crate::server) token: Option<String>,
    pub(in crate::server) limits: BoltLimits,
    /// The server's query permits, shared with HTTP.
    pub(in crate::server) permits: Arc<Semaphore>,
    /// The server's runtime, to wait for a permit from a connection's thread.
    pub(in crate::server) runtime: tokio::runtime::Handle,
    pub(in crate::server) bookmarks: Arc<super::Bookmarks>,
}

impl Shared {
    /// Checks HELLO's (before 5.1) or LOGON's credentials: scheme `bearer` with the
    /// token, or `basic` with any principal and the token as credentials. Without a
    /// token every scheme (`none` included) is welcome.
    fn authenticate(&self, auth: &Value) -> Result<(), String> {
        let Some(token) = &self.token else { return Ok(()) };
        let scheme = auth.get("scheme").and_then(Value::as_str).unwrap_or("none");
        let credentials = auth.get("credentials").and_then(Value::as_str);
        match scheme {
            "basic" | "bearer" if credentials.is_some_and(|c| auth::same(c, token)) => Ok(()),
            "basic" | "bearer" => Err("the credentials are wrong".into()),
            other => Err(format!("authentication scheme '{other}' is not accepted (basic or bearer with the token)")),
        }
    }

    /// One of the server's query permits, waiting for it; `None` once the server stops.
    fn permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.runtime.block_on(Arc::clone(&self.permits).acquire_owned()).ok()
    }
}

use super::auth;

/// A running Bolt listener and its connections.
pub struct BoltServer {
    address: SocketAddr,
    stopping: Arc<AtomicBool>,
    accepting: Option<JoinHandle<()>>,
    connections: Arc<Mutex<HashMap<u64, (TcpStream, JoinHandle<()>)>>>,
}

impl BoltServer {
    /// Accepts connections on `listener`, each on a thread of its own.
    pub fn start(listener: TcpListener, shared: Shared) -> std::io::Result<BoltServer> {
        let address = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<HashMap<u64, (TcpStream, JoinHandle<()>)>>> = Arc::default();
        let shared = Arc::new(shared);
        let accepting = {
            let (stopping, connections) = (Arc::clone(&stopping), Arc::clone(&connections));
            std::thread::Builder::new().name("bolt-accept".into()).spawn(move || {
                let mut next_id = 0u64;
                for stream in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let open = connections.lock().map_or(0, |all| all.len());
                    if open >= shared.limits.max_connections {
                        tracing::warn!(open, "bolt connection refused: too many open");
                        continue; // dropping the stream closes it
                    }
                    next_id += 1;
                    let id = next_id;
                    let (Ok(registered), shared, all) = (stream.try_clone(), Arc::clone(&shared), Arc::clone(&connections))
                    else {
                        continue;
                    };
                    // Registered under the lock the connection takes to leave, so that
                    // it cannot leave before it is registered.
                    let Ok(mut open) = connections.lock() else { continue };
                    let spawned = std::thread::Builder::new().name(format!("bolt-{id}")).spawn(move || {
                        serve_connection(stream, &shared, id);
                        if let Ok(mut all) = all.lock() {
                            all.remove(&id);
                        }
                    });
                    if let Ok(handle) = spawned {
                        open.insert(id, (registered, handle));
                    }
                }
            })?
        };
        Ok(BoltServer { address, stopping, accepting: Some(accepting), connections })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets each connection finish what it is doing, and waits.
    pub fn stop(mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accepting thread with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
        let open: Vec<(TcpStream, JoinHandle<()>)> = match self.connections.lock() {
            Ok(mut all) => all.drain().map(|(_, c)| c).collect(),
            Err(_) => Vec::new(),
        };
        for (stream, _) in &open {
            let _ = stream.shutdown(std::net::Shutdown::Read);
        }
        for (_, handle) in open {
            let _ = handle.join();
        }
    }
}

fn serve_connection(mut stream: TcpStream, shared: &Shared, id: u64) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let version = match framing::handshake(&mut stream) {
        Ok(version) => version,
        Err(e) => {
            tracing::info!(connection = id, error = %e, "bolt handshake refused");
            return;
        }
    };
    tracing::info!(connection = id, version = %version, "bolt connection");
    session::Session::new(shared, stream, version, id).run();
}
