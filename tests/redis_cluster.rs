//! sprig on a Redis Cluster answers as sprig in memory: the same XML loads and
//! document puts, graph writes, bulk loads, text indexes and registry, each queried
//! both ways, and `sprig check` passes on the cluster. The cluster (nine nodes on
//! loopback) is started here with `scripts/redis-cluster.sh`, which needs
//! `redis-server` (`.ci/run` installs it).

use sprig::json::xpath_json;
use sprig::{Database, OpenOptions};

struct Cluster {
    dir: tempfile::TempDir,
    seeds: String,
}

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/redis-cluster.sh");
const PORT: &str = "7400";

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("a temp dir");
        let out = std::process::Command::new("bash")
            .args([SCRIPT, "start"])
            .arg(dir.path().join("cluster"))
            .env("REDIS_CLUSTER_PORT", PORT)
            .output()
            .expect("the cluster script runs");
        assert!(out.status.success(), "the cluster did not start: {}", String::from_utf8_lossy(&out.stderr));
        Cluster { seeds: String::from_utf8_lossy(&out.stdout).trim().to_string(), dir }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .args([SCRIPT, "stop"])
            .arg(self.dir.path().join("cluster"))
            .env("REDIS_CLUSTER_PORT", PORT)
            .status();
    }
}

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
    let cluster = Cluster::start();
    let on_cluster =
        Database::open(format!("redis://{}/differential", cluster.seeds)).expect("opened on the cluster");
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

    // Another process's view: a second open sees the same data.
    let again = Database::open_with(format!("redis://{}/differential", cluster.seeds), &OpenOptions::default())
        .expect("reopened");
    assert_eq!(cypher_answers(&again, &cypher), cypher_answers(&in_memory, &cypher));
    assert_eq!(xpath_answers(&again, "big", &big), xpath_answers(&in_memory, "big", &big));
    assert!(Database::open("redis:///x").is_err(), "no seeds");
}
