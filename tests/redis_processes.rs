//! Several sprig processes on one Redis Cluster database (docs/SCALE-OUT.md): each
//! sees the others' commits on its next statement and never part of one, writers
//! take turns (no lost update), and two `sprig serve` processes serve one database.
//! Two `Database` handles in one test process stand for two processes: each has its
//! own connection, caches, pin and lease token.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};
use sprig::{Database, ResultValue, XPathValue};

#[path = "common/redis.rs"]
mod redis;
use redis::{cluster_tests_run, Cluster};

fn ints(db: &Database, query: &str) -> Vec<i64> {
    let row = db.cypher(query, ()).expect(query).single().expect(query);
    row.values()
        .iter()
        .map(|v| match v {
            ResultValue::Int(i) => *i,
            other => panic!("{query}: {other:?} is not an integer"),
        })
        .collect()
}

fn xpath_number(db: &Database, collection: &str, expr: &str) -> f64 {
    match db.xpath(collection, expr).expect(expr) {
        XPathValue::Number(n) => n,
        other => panic!("{expr}: {other:?}"),
    }
}

#[test]
fn two_handles_see_each_others_commits_whole_and_take_turns_to_write() {
    if !cluster_tests_run() {
        return;
    }
    let cluster = Cluster::start("8100");
    // Processes that open a new database at once: one writes its format version,
    // the others read it.
    let opening: Vec<_> = (0..4)
        .map(|_| {
            let url = format!("redis://{}/fresh", cluster.seeds);
            std::thread::spawn(move || Database::open(&url).map(drop))
        })
        .collect();
    for open in opening {
        open.join().expect("an opening thread").expect("every process opens the new database");
    }
    let url = format!("redis://{}/shared", cluster.seeds);
    let a = Database::open(&url).expect("opened");
    let b = Database::open(&url).expect("a second process opens it too");

    // Each sees the other's commits on its next statement, caches warm or not.
    a.cypher("CREATE (:P {n: 1})", ()).expect("created");
    assert_eq!(ints(&b, "MATCH (p:P) RETURN count(p), sum(p.n)"), vec![1, 1]);
    a.cypher("UNWIND range(2, 500) AS i CREATE (:P {n: i})", ()).expect("created");
    assert_eq!(ints(&b, "MATCH (p:P) RETURN count(p), sum(p.n)"), vec![500, 125_250]);
    b.cypher("MATCH (p:P) WHERE p.n > 250 SET p.n = 0", ()).expect("set");
    assert_eq!(ints(&a, "MATCH (p:P) RETURN count(p), sum(p.n)"), vec![500, 31_375]);
    b.load_xml("c", "<r><i/><i/></r>".as_bytes()).expect("loaded");
    assert_eq!(xpath_number(&a, "c", "count(//i)"), 2.0);
    a.load_xml("c", "<r><i/><i/><i/></r>".as_bytes()).expect("replaced");
    assert_eq!(xpath_number(&b, "c", "count(//i)"), 3.0);
    a.drop_collection("c").expect("dropped");
    assert!(b.xpath("c", "1").is_err(), "dropped in the other process");

    // A transaction open in one process: the other reads the version before it, and
    // its write waits for the transaction to end, then builds on it.
    let mut tx = a.begin_write().expect("a transaction");
    tx.cypher("CREATE (:Q {from: 'a'})", ()).expect("created");
    assert_eq!(ints(&b, "MATCH (q:Q) RETURN count(q)"), vec![0]);
    let done = Arc::new(AtomicBool::new(false));
    let waiting = {
        let (b, done) = (b.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let counted =
                ints(&b, "MATCH (q:Q) WITH count(q) AS before CREATE (:Q {from: 'b', saw: before}) RETURN before");
            done.store(true, Ordering::SeqCst);
            counted
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    assert!(!done.load(Ordering::SeqCst), "a write went ahead of another process's open transaction");
    tx.commit().expect("committed");
    assert_eq!(waiting.join().expect("the second writer"), vec![1], "the second writer built on the first");
    assert_eq!(ints(&a, "MATCH (q:Q) RETURN count(q)"), vec![2]);

    // Lost updates: both processes increment one counter at once.
    a.cypher("CREATE (:Counter {n: 0})", ()).expect("created");
    let writers: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .map(|db| {
            std::thread::spawn(move || {
                for _ in 0..40 {
                    db.cypher("MATCH (c:Counter) SET c.n = c.n + 1", ()).expect("incremented");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("a writer");
    }
    assert_eq!(ints(&a, "MATCH (c:Counter) RETURN c.n"), vec![80]);
    assert_eq!(ints(&b, "MATCH (c:Counter) RETURN c.n"), vec![80]);

    // Torn reads: each commit adds nodes (chunks in one slot, the label's bitmap and
    // the property index in others) and moves a total between two nodes; a reader in
    // the other process always sees whole commits.
    a.cypher("CREATE INDEX FOR (t:T) ON (t.k)", ()).expect("indexed");
    a.cypher("CREATE (:Acct {id: 1, v: 100}), (:Acct {id: 2, v: 100})", ()).expect("created");
    let writer = {
        let a = a.clone();
        std::thread::spawn(move || {
            for round in 0..40 {
                a.cypher(
                    "MATCH (x:Acct {id: 1}), (y:Acct {id: 2}) SET x.v = x.v - 1, y.v = y.v + 1 \
                     WITH 1 AS one UNWIND range(1, 10) AS i CREATE (:T {k: $round, one: 1})",
                    sprig::params! {"round" => round},
                )
                .expect("committed");
            }
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let finished = writer.is_finished();
        let [total, nodes, ones, indexed] = ints(
            &b,
            "MATCH (x:Acct) WITH sum(x.v) AS total \
             OPTIONAL MATCH (t:T) WITH total, count(t) AS nodes, sum(t.one) AS ones \
             OPTIONAL MATCH (u:T) WHERE u.k >= 0 RETURN total, nodes, ones, count(u)",
        )[..] else {
            panic!("four columns")
        };
        assert_eq!(total, 200, "a commit seen in part");
        assert_eq!((nodes % 10, ones, indexed), (0, nodes, nodes), "a commit seen in part");
        seen.insert(nodes);
        if finished {
            break;
        }
    }
    writer.join().expect("the writer");
    assert!(seen.len() > 2, "the reader saw the writer's progress: {seen:?}");
    assert_eq!(ints(&b, "MATCH (t:T) RETURN count(t)"), vec![400]);
    for db in [&a, &b] {
        let report = db.check().expect("checked");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
}

/// `sprig serve` on a cluster database, as a child process.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(url: &str) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sprig"))
            .args(["--db", url, "serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sprig serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (ready, address) = std::sync::mpsc::channel();
        // Read every line, always: a full pipe would block the server's logging.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = ready.send(url.to_string());
                }
            }
        });
        let base = address.recv_timeout(Duration::from_secs(60)).expect("the server prints its address");
        Served { child, base }
    }

    fn cypher(&self, statement: &str) -> Vec<Json> {
        let body = json!({"statement": statement}).to_string();
        let mut response = ureq::post(&format!("{}/db/default/query/v2", self.base))
            .header("Content-Type", "application/json")
            .send(body)
            .expect(statement);
        let body: Json = serde_json::from_str(&response.body_mut().read_to_string().expect("a body")).expect("JSON");
        body["data"]["values"].as_array().cloned().unwrap_or_default()
    }

    fn put_xml(&self, path: &str, doc: &str) {
        ureq::put(&format!("{}/xml/{path}", self.base)).send(doc).expect("put");
    }

    fn xpath(&self, collection: &str, query: &str) -> Json {
        let mut response =
            ureq::get(&format!("{}/xml/{collection}", self.base)).query("query", query).call().expect(query);
        serde_json::from_str(&response.body_mut().read_to_string().expect("a body")).expect("JSON")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_servers_on_one_cluster_database_see_each_others_commits() {
    if !cluster_tests_run() {
        return;
    }
    let cluster = Cluster::start("8200");
    let url = format!("redis://{}/served", cluster.seeds);
    let (one, two) = (Served::start(&url), Served::start(&url));
    one.cypher("CREATE (:Item {n: 1}), (:Item {n: 2})");
    assert_eq!(two.cypher("MATCH (i:Item) RETURN count(i), sum(i.n)"), vec![json!([2, 3])]);
    two.cypher("MATCH (i:Item {n: 1}) SET i.n = 10");
    assert_eq!(one.cypher("MATCH (i:Item) RETURN sum(i.n)"), vec![json!([12])]);
    two.put_xml("books/a.xml", "<shelf><book/></shelf>");
    assert_eq!(one.xpath("books", "count(//book)"), json!({"kind": "number", "value": 1}));
    one.put_xml("books/b.xml", "<shelf><book/><book/></shelf>");
    assert_eq!(two.xpath("books", "count(//book)"), json!({"kind": "number", "value": 3}));
}
