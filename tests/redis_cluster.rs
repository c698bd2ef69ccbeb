//! sprig on a Redis Cluster answers as sprig in memory: the same XML loads and
//! document puts, graph writes, bulk loads, text indexes and registry, each queried
//! both ways, and `sprig check` passes on the cluster. The cluster (nine nodes on
//! loopback) is started here with `scripts/redis-cluster.sh`, which needs
//! `redis-server` (`.ci/run` installs it).

use sprig::json::xpath_json;
use sprig::{Database, OpenOptions};

#[path = "common/redis.rs"]
mod redis;
use redis::{cluster_tests_run, Cluster};

fn xpath_answers(db: &Database, collection: &str, queries: &[&str]) -> Vec<String> {
    queries
        .iter()
        .map(|q| match db.xpath(collection, q) {
            Ok(v) => xpath_json(&v).map_or_else(|e| format!("error {e}"), |j| j.to_string()),
            Err(e) => format!("error {}", e.kind()),
        })
        .collect()
}

fn cypher_answers(db: &Database, queries: &[&str]) -> Vec<String> {
    queries
        .iter()
        .map(|q| match db.cypher(q, ()) {
            Ok(rows) => rows
                .map(|r| r.map_or_else(|e| format!("error {}", e.kind()), |r| format!("{:?}", r.values())))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(e) => format!("error {}", e.kind()),
        })
        .collect()
}

/// Runs the same work on both databases.
fn work(db: &Database) {
    let books = "<lib><book id='b1' year='1965'><title>Dune</title></book>\
                 <book id='b2' year='1815'><title>Emma</title><note>x</note></book></lib>";
    db.load_xml("books", books.as_bytes()).expect("loaded");
    db.put_xml_document("books", "more", "<lib><book year='2001'><title>New</title></book></lib>".as_bytes())
        .expect("put");
    let big: String = (0..3000).map(|i| format!("<item n='{i}'><v>{}</v></item>", i % 17)).collect();
    db.load_xml("big", format!("<r>{big}</r>").as_bytes()).expect("loaded");
    for q in [
        "CREATE INDEX person_name FOR (p:Person) ON (p.name)",
        "CREATE FULLTEXT INDEX bios FOR (p:Person) ON EACH [p.bio]",
        "UNWIND range(1, 300) AS i CREATE (:Person {name: 'p' + toString(i), age: i % 50, bio: 'likes item ' + toString(i % 7)})",
        "MATCH (a:Person), (b:Person) WHERE b.age = (a.age + 1) % 50 AND a.name < 'p2' CREATE (a)-[:KNOWS {w: a.age}]->(b)",
        "MATCH (p:Person {name: 'p7'}) SET p.age = 99",
        "MATCH (p:Person {name: 'p8'}) DETACH DELETE p",
    ] {
        db.cypher(q, ()).expect(q).collect_rows().expect(q);
    }
}

#[test]
fn sprig_on_a_redis_cluster_answers_as_sprig_in_memory() {
    if !cluster_tests_run() {
        return;
    }
    let cluster = Cluster::start("7400");
    let on_cluster = Database::open(format!("redis://{}/differential", cluster.seeds)).expect("opened on the cluster");
    let in_memory = Database::in_memory().expect("a database");
    work(&on_cluster);
    work(&in_memory);

    let xpath = ["count(//book)", "//book[@year > 1900]/title", "id('b2')", "string(/)", "//title/text()", "name(/*)"];
    let expected = xpath_answers(&in_memory, "books", &xpath);
    assert!(expected.iter().all(|a| !a.starts_with("error")), "{expected:?}");
    assert_eq!(xpath_answers(&on_cluster, "books", &xpath), expected);
    let big = ["count(//item)", "sum(//item/@n)", "//item[v = 16][last()]/@n", "count(//item[v > 10])"];
    assert_eq!(xpath_answers(&on_cluster, "big", &big), xpath_answers(&in_memory, "big", &big));
    let cypher = [
        "MATCH (p:Person) RETURN count(p), sum(p.age)",
        "MATCH (p:Person {name: 'p7'}) RETURN p.age",
        "MATCH (a:Person)-[k:KNOWS]->(b) RETURN count(k), sum(k.w)",
        "MATCH (a:Person {name: 'p12'})-[:KNOWS*1..2]->(c) RETURN count(DISTINCT c)",
        "CALL db.index.fulltext.queryNodes('bios', 'item 3') YIELD node RETURN count(node)",
        "MATCH (p:Person) WHERE p.name STARTS WITH 'p29' RETURN p.name ORDER BY p.name",
    ];
    let expected = cypher_answers(&in_memory, &cypher);
    assert!(expected.iter().all(|a| !a.is_empty() && !a.starts_with("error")), "{expected:?}");
    assert_eq!(cypher_answers(&on_cluster, &cypher), expected);
    let report = on_cluster.check().expect("checked");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    drop(on_cluster);

    // Another process's view: a new open sees the same data.
    let again = Database::open_with(format!("redis://{}/differential", cluster.seeds), &OpenOptions::default())
        .expect("reopened");
    assert_eq!(cypher_answers(&again, &cypher), cypher_answers(&in_memory, &cypher));
    assert_eq!(xpath_answers(&again, "big", &big), xpath_answers(&in_memory, "big", &big));
    assert!(Database::open("redis:///x").is_err(), "no seeds");
}

/// An XPath number as `xpath_answers` gives it.
fn number(n: u64) -> String {
    format!("{{\"kind\":\"number\",\"value\":{n}}}")
}

fn count_rows(db: &Database, query: &str) -> Vec<Vec<i64>> {
    db.cypher(query, ())
        .expect(query)
        .map(|r| {
            let r = r.expect(query);
            r.values()
                .iter()
                .map(|v| match v {
                    sprig::ResultValue::Int(i) => *i,
                    other => panic!("{query}: {other:?} is not an integer"),
                })
                .collect()
        })
        .collect()
}

/// A master killed (SIGKILL) while graph transactions commit, and another while an
/// XML collection loads: after the failovers every commit that returned Ok is
/// there, each transaction is all or nothing, the load is whole or absent, and
/// `sprig check` passes, seen from a second handle that shares no cache.
#[test]
fn acknowledged_commits_survive_masters_killed_mid_write() {
    if !cluster_tests_run() {
        return;
    }
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let cluster = Cluster::start("7500");
    let url = format!("redis://{}/faults", cluster.seeds);
    let db = Arc::new(Database::open(&url).expect("opened on the cluster"));
    db.cypher("CREATE INDEX t_i FOR (t:T) ON (t.i)", ()).expect("index").collect_rows().expect("index");

    // Transaction i makes two :T nodes with i and a relationship between them.
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes: Arc<Mutex<Vec<(i64, bool, Instant)>>> = Arc::default();
    let writer = {
        let (db, stop, outcomes) = (db.clone(), stop.clone(), outcomes.clone());
        std::thread::spawn(move || {
            let mut i = 0i64;
            while !stop.load(Ordering::SeqCst) {
                let query = format!("CREATE (:T {{i: {i}}})-[:R]->(:T {{i: {i}}})");
                let ok = db.cypher(&query, ()).and_then(|rows| rows.collect_rows()).is_ok();
                outcomes.lock().expect("outcomes").push((i, ok, Instant::now()));
                i += 1;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    // The master of the slot every commit writes its redo record to.
    let killed = cluster.kill_master_of("sprig:{faults:log}:seq");
    let killed_at = Instant::now();
    // Writes go on once a replica has taken over.
    let deadline = killed_at + Duration::from_secs(60);
    loop {
        let after = outcomes.lock().expect("outcomes").iter().filter(|(_, ok, t)| *ok && *t > killed_at).count();
        if after >= 30 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("the writer thread");
    let outcomes = outcomes.lock().expect("outcomes").clone();
    let acked: std::collections::BTreeSet<i64> = outcomes.iter().filter(|o| o.1).map(|o| o.0).collect();
    let after_kill = outcomes.iter().filter(|(_, ok, t)| *ok && *t > killed_at).count();
    assert!(after_kill >= 30, "commits did not resume after master {killed} was killed: {after_kill}");
    // A commit was under way through the failover: the kill landed mid-write.
    let stalled = outcomes.windows(2).map(|w| w[1].2.duration_since(w[0].2)).max().unwrap_or_default();
    assert!(stalled >= Duration::from_millis(500), "no commit waited for the failover (longest {stalled:?})");
    let failed = outcomes.iter().filter(|o| !o.1).count();
    eprintln!("killed master {killed}: {} commits acknowledged ({after_kill} after the kill), {failed} failed, longest wait {stalled:?}", acked.len());

    // An XML load while the master of the catalog's slot is killed.
    let items: String = (0..20_000).map(|i| format!("<item n='{i}'><v>{}</v></item>", i % 13)).collect();
    let loader = {
        let db = db.clone();
        std::thread::spawn(move || db.load_xml("big", format!("<r>{items}</r>").as_bytes()).map(|_| ()))
    };
    std::thread::sleep(Duration::from_millis(200));
    let killed_too = cluster.kill_master_of("sprig:{faults:C}:groups");
    let loaded = loader.join().expect("the loader thread");
    drop(db);

    // Another handle: nothing cached, everything read from the cluster.
    let db = Database::open(&url).expect("reopened after the failovers");
    let present: Vec<Vec<i64>> = count_rows(&db, "MATCH (t:T) RETURN t.i, count(*) ORDER BY t.i");
    for row in &present {
        assert_eq!(row[1], 2, "transaction {} is half there", row[0]);
        assert!(outcomes.iter().any(|o| o.0 == row[0]), "transaction {} was never run", row[0]);
    }
    let present: std::collections::BTreeSet<i64> = present.iter().map(|r| r[0]).collect();
    let lost: Vec<&i64> = acked.difference(&present).collect();
    assert!(lost.is_empty(), "acknowledged commits lost after killing {killed}: {lost:?}");
    let rels = count_rows(&db, "MATCH (a:T)-[:R]->(b:T) WHERE a.i = b.i RETURN count(*)");
    assert_eq!(rels, vec![vec![present.len() as i64]]);
    let indexed = count_rows(&db, "MATCH (t:T) WHERE t.i = 7 RETURN count(*)");
    assert_eq!(indexed, vec![vec![if present.contains(&7) { 2 } else { 0 }]]);
    let answer = xpath_answers(&db, "big", &["count(//item)", "sum(//item/@n)"]);
    match loaded {
        Ok(()) => assert_eq!(answer, vec![number(20000), number(199990000)], "after killing {killed_too}"),
        Err(e) => assert!(answer.iter().all(|a| a.starts_with("error")), "a failed load left {answer:?}: {e}"),
    }
    let report = db.check().expect("checked");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// A `sprig load` killed mid-load never leaves the catalog pointing at a partial
/// collection: the collection answers as before the load, or as after it.
#[test]
fn a_load_killed_mid_way_leaves_the_previous_collection() {
    if !cluster_tests_run() {
        return;
    }
    let cluster = Cluster::start("7600");
    let url = format!("redis://{}/killed", cluster.seeds);
    let db = Database::open(&url).expect("opened on the cluster");
    db.load_xml("c", "<r><item n='1'/></r>".as_bytes()).expect("the first version");
    drop(db);
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("c.xml");
    let items: String = (0..400_000).map(|i| format!("<item n='{i}'><v>{}</v></item>", i % 13)).collect();
    std::fs::write(&file, format!("<r>{items}</r>")).expect("written");
    // A killed process keeps its writer lease until it expires: the next write waits.
    let mut interrupted = 0;
    for wait_ms in [400u64, 1500] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sprig"))
            .args(["--db", &url, "load", "xml"])
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sprig runs");
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        let _ = child.kill();
        let finished = child.wait().expect("waited").success();
        interrupted += usize::from(!finished);
        let db = Database::open(&url).expect("reopened");
        let count = xpath_answers(&db, "c", &["count(//item)"]);
        if finished {
            assert_eq!(count, vec![number(400000)]);
        } else {
            assert!(count == vec![number(1)] || count == vec![number(400000)], "killed after {wait_ms} ms: {count:?}");
        }
        let report = db.check().expect("checked");
        assert!(report.problems.is_empty(), "killed after {wait_ms} ms: {:?}", report.problems);
    }
    assert!(interrupted > 0, "every load finished before it was killed");
}
