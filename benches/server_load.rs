//! `sprig serve` under load: throughput and p50/p99 latency at 1, 8 and 32 clients,
//! for a read mix and a write mix, beside the same statements through the embedded
//! API on as many threads, in the same run.
//!
//!     cargo bench --bench server_load [-- SECONDS_PER_CELL]
//!
//! The data: 20,000 `Person` nodes with an index on `id`, each with 5 `KNOWS`
//! relationships. The read mix is a point lookup and one hop
//! (`MATCH (p:Person {id: $id})-[:KNOWS]->(f) RETURN f.name`); the write mix
//! increments a property of a random person in its own transaction. Clients are
//! threads with a keep-alive HTTP connection each (ureq), or sharing one Bolt
//! driver's connection pool (the `neo4j` crate).
//!
//! Then the Bolt path beside HTTP and embedded: one client's latency for a one-row
//! query (`RETURN 1`), and the time to read a 100,000-row result whole.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use neo4j::address::Address;
use neo4j::driver::auth::AuthToken;
use neo4j::driver::{ConnectionConfig, Driver, DriverConfig};
use neo4j::ValueSend;
use serde_json::json;
use sprig::{params, Database};

const PEOPLE: i64 = 20_000;
const READ: &str = "MATCH (p:Person {id: $id})-[:KNOWS]->(f) RETURN f.name";
const WRITE: &str = "MATCH (p:Person {id: $id}) SET p.visits = coalesce(p.visits, 0) + 1";

/// A small deterministic generator, so both sides draw the same ids.
fn next_id(state: &mut u64) -> i64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % PEOPLE as u64) as i64
}

struct Cell {
    requests: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs `clients` threads, each calling `one(client, id)` until `seconds` pass.
fn measure(clients: usize, seconds: f64, one: Arc<dyn Fn(usize, i64) + Send + Sync>) -> Cell {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let one = Arc::clone(&one);
            std::thread::spawn(move || {
                let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1);
                let mut latencies = Vec::new();
                while Instant::now() < until {
                    let t = Instant::now();
                    one(c, next_id(&mut state));
                    latencies.push(t.elapsed().as_secs_f64() * 1e3);
                }
                latencies
            })
        })
        .collect();
    let mut all: Vec<f64> = threads.into_iter().flat_map(|t| t.join().expect("a client")).collect();
    let seconds = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all.get(((all.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN);
    Cell { requests: all.len(), seconds, p50_ms: at(0.5), p99_ms: at(0.99) }
}

fn main() {
    let seconds: f64 = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(3.0);
    let dir = std::env::temp_dir().join(format!("sprig-server-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = Database::open(&dir).expect("a database");
    db.cypher("CREATE INDEX person_id FOR (p:Person) ON (p.id)", ()).expect("an index");
    db.cypher(
        "UNWIND range(0, $n - 1) AS i CREATE (:Person {id: i, name: 'p' + toString(i)})",
        params! {"n" => PEOPLE},
    )
    .expect("people");
    db.cypher(
        "MATCH (a:Person) UNWIND range(1, 5) AS k MATCH (b:Person {id: (a.id * 7 + k * 131) % $n}) \
         CREATE (a)-[:KNOWS]->(b)",
        params! {"n" => PEOPLE},
    )
    .expect("relationships");

    let mixes = [("read", READ), ("write", WRITE)];
    let clients = [1usize, 8, 32];
    let mut rows = Vec::new();
    for (mix, statement) in mixes {
        for &n in &clients {
            let db = db.clone();
            let cell = measure(
                n,
                seconds,
                Arc::new(move |_, id| {
                    let rows = db.cypher(statement, params! {"id" => id}).expect("an embedded statement");
                    rows.collect_rows().expect("rows");
                }),
            );
            rows.push((mix, n, "embedded", cell));
        }
    }
    let mut path_rows: Vec<(&str, &str, f64, f64)> = Vec::new();
    let embedded = |statement: &str| db.cypher(statement, ()).expect("embedded").collect_rows().expect("rows").len();
    for (what, p50, rate) in time_paths(seconds, &embedded) {
        path_rows.push((what, "embedded", p50, rate));
    }
    drop(db);

    let mut server = Command::new(env!("CARGO_BIN_EXE_sprig"))
        .arg("--db")
        .arg(&dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--bolt", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("sprig serve");
    let stderr = server.stderr.take().expect("stderr");
    let (ready, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = ready.send(url.to_string());
            }
        }
    });
    let mut base = String::new();
    let mut bolt = String::new();
    for _ in 0..2 {
        let url: String = address.recv_timeout(Duration::from_secs(60)).expect("the server's addresses");
        match url.strip_prefix("bolt://") {
            Some(b) => bolt = b.to_string(),
            None => base = url,
        }
    }
    let driver = {
        let (host, port) = bolt.rsplit_once(':').expect("host:port");
        let address = Address::from((host, port.parse::<u16>().expect("a port")));
        let config = DriverConfig::new().with_auth(Arc::new(AuthToken::new_none_auth())).with_max_connection_pool_size(64);
        Arc::new(Driver::new(ConnectionConfig::new(address), config))
    };
    let url = format!("{base}/db/default/query/v2");
    for (mix, statement) in mixes {
        for &n in &clients {
            let agents: Vec<ureq::Agent> = (0..n).map(|_| ureq::Agent::new_with_defaults()).collect();
            let (agents, url) = (Arc::new(agents), url.clone());
            let cell = measure(
                n,
                seconds,
                Arc::new(move |c, id| {
                    let body = json!({"statement": statement, "parameters": {"id": id}}).to_string();
                    let mut response =
                        agents[c].post(&url).header("Content-Type", "application/json").send(body).expect("an answer");
                    response.body_mut().read_to_string().expect("a body");
                }),
            );
            rows.push((mix, n, "HTTP", cell));
            let driver = Arc::clone(&driver);
            let cell = measure(
                n,
                seconds,
                Arc::new(move |_, id| {
                    let parameters: std::collections::HashMap<String, ValueSend> =
                        [("id".to_string(), ValueSend::Integer(id))].into();
                    driver.execute_query(statement).with_parameters(parameters).run().expect("a Bolt answer");
                }),
            );
            rows.push((mix, n, "Bolt", cell));
        }
    }
    let agent = ureq::Agent::new_with_defaults();
    let http = |statement: &str| -> usize {
        let body = json!({"statement": statement}).to_string();
        let mut response = agent.post(&url).header("Content-Type", "application/json").send(body).expect("an answer");
        let text = response.body_mut().with_config().limit(u64::MAX).read_to_string().expect("a body");
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        value["data"]["values"].as_array().map_or(0, Vec::len)
    };
    let bolt = |statement: &str| -> usize { driver.execute_query(statement).run().expect("a Bolt answer").records.len() };
    for (via, run) in [("HTTP", &http as &dyn Fn(&str) -> usize), ("Bolt", &bolt)] {
        for (what, p50, rate) in time_paths(seconds, run) {
            path_rows.push((what, via, p50, rate));
        }
    }
    drop(driver);
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);

    println!("machine: {} cores; {seconds} s per cell\n", std::thread::available_parallelism().map_or(1, |n| n.get()));
    println!("| mix | clients | via | requests/s | p50 ms | p99 ms | against embedded (req/s) |");
    println!("|---|---|---|---|---|---|---|");
    for (mix, n, via, cell) in &rows {
        let rate = cell.requests as f64 / cell.seconds;
        let against = rows
            .iter()
            .find(|(m, k, v, _)| m == mix && k == n && *v == "embedded")
            .map(|(_, _, _, e)| e.requests as f64 / e.seconds)
            .filter(|_| *via != "embedded")
            .map_or(String::from("-"), |embedded| format!("{:.2}", rate / embedded));
        println!("| {mix} | {n} | {via} | {rate:.0} | {:.3} | {:.3} | {against} |", cell.p50_ms, cell.p99_ms);
    }
    println!("\n| one client | via | p50 ms | rows/s | time against embedded |");
    println!("|---|---|---|---|---|");
    for (what, via, p50, rate) in &path_rows {
        let embedded = path_rows.iter().find(|(w, v, _, _)| w == what && *v == "embedded").map_or(f64::NAN, |r| r.2);
        println!("| {what} | {via} | {p50:.3} | {rate:.0} | {:.2} |", p50 / embedded);
    }
}

/// The two statements of the path comparison, and how many rows each returns.
const PATHS: [(&str, &str, usize); 2] =
    [("one row", "RETURN 1 AS one", 1), ("100,000 rows", "UNWIND range(1, 100000) AS i RETURN i", 100_000)];

/// One client's median time for each of [`PATHS`] through `run`, for `seconds`
/// each (at least five runs): (what, p50 ms, rows per second).
fn time_paths(seconds: f64, run: &dyn Fn(&str) -> usize) -> Vec<(&'static str, f64, f64)> {
    PATHS
        .iter()
        .map(|&(what, statement, rows)| {
            let mut times = Vec::new();
            let until = Instant::now() + Duration::from_secs_f64(seconds);
            while Instant::now() < until || times.len() < 5 {
                let t = Instant::now();
                assert_eq!(run(statement), rows, "{what}");
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            let p50 = times[times.len() / 2];
            (what, p50, rows as f64 / (p50 / 1e3))
        })
        .collect()
}
