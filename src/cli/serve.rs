//! `sprig serve`: the command line of the HTTP server (SPEC section 7).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sprig::server::{serve, ServeOptions, TlsFiles};
use sprig::{Database, Error, OpenOptions};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sprig --db my.db serve                                   http://127.0.0.1:7474, loopback only
  SPRIG_TOKEN=s3cret sprig --db my.db serve --listen 0.0.0.0:7474 --token-env SPRIG_TOKEN
  curl -X POST 127.0.0.1:7474/db/default/query/v2 -H 'content-type: application/json' \\
       -d '{\"statement\": \"MATCH (n) RETURN count(n) AS n\"}'
  curl '127.0.0.1:7474/xml/auction?query=count(//item)'
  sprig --db my.db serve --tls-cert cert.pem --tls-key key.pem   https://127.0.0.1:7474
  sprig --db my.db serve --bolt 127.0.0.1:7687             and Neo4j's drivers on bolt://127.0.0.1:7687")]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free port; the chosen address is
    /// printed as `listening on http://ADDR`).
    #[arg(long, default_value = "127.0.0.1:7474")]
    listen: SocketAddr,
    /// Roll back an explicit transaction that waits this many seconds for its next request.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    transaction_timeout: f64,
    /// Drop a streamed result whose client has not read on for this many seconds
    /// (its open rows hold back commits).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    result_timeout: f64,
    /// Queries and loads that may run at once; more wait their turn.
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_concurrent: usize,
    /// The largest JSON request body, in MiB (document loads stream and have no limit).
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    max_body_mb: usize,
    /// Serve HTTPS with this PEM certificate (chain); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Also speak Bolt, for Neo4j's drivers (bolt:// and neo4j://), on this address
    /// (alone: 127.0.0.1:7687).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:7687")]
    bolt: Option<SocketAddr>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// Serves the database at `path` until SIGTERM or Ctrl-C. With `token` (the value of
/// the global `--token-env`), every request must carry it; without, only loopback
/// addresses may be listened on.
pub fn run(
    args: &ServeArgs,
    token: Option<String>,
    path: &Path,
    open: &OpenOptions,
    timeout_ms: Option<u64>,
    memory_limit_mib: Option<usize>,
) -> Result<(), Error> {
    for (flag, seconds) in
        [("--transaction-timeout", args.transaction_timeout), ("--result-timeout", args.result_timeout)]
    {
        if !(seconds > 0.0 && seconds.is_finite()) {
            return Err(Error::Usage(format!("{flag} must be a positive number of seconds")));
        }
    }
    let options = ServeOptions {
        listen: args.listen,
        token,
        transaction_timeout: Duration::from_secs_f64(args.transaction_timeout),
        query_timeout: timeout_ms.map(Duration::from_millis),
        result_timeout: Duration::from_secs_f64(args.result_timeout),
        memory_limit: memory_limit_mib.map(|mib| mib.saturating_mul(1 << 20)),
        max_body: args.max_body_mb.saturating_mul(1 << 20),
        max_concurrent: args.max_concurrent,
        bolt: args.bolt,
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone() }),
            _ => None,
        },
    };
    // Refused before the database is opened (or created).
    sprig::server::check_listen(&options)?;
    serve(Database::open_with(path, open)?, options)
}
