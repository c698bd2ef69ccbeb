//! The graph side of the command line: CSV loads, Cypher in every format, EXPLAIN and
//! PROFILE, and errors that leave the graph as it was.

use assert_cmd::Command;
use predicates::prelude::*;

const NODES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/graph/nodes.csv");
const EDGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/graph/edges.csv");

fn sprig(db: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("sprig").expect("the sprig binary");
    cmd.arg("--db").arg(db).env_remove("SPRIG_DB");
    cmd
}

fn loaded() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    sprig(&db)
        .args(["load", "graph", "--nodes", NODES, "--edges", EDGES, "--format", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"nodes\":10").and(predicate::str::contains("\"relationships\":15")));
    (dir, db)
}

fn counts(db: &std::path::Path) -> String {
    let out = sprig(db)
        .args(["cypher", "MATCH (n) OPTIONAL MATCH (n)-[r]->() RETURN count(DISTINCT n) AS n, count(r) AS r"])
        .args(["--format", "csv"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cypher_results_in_every_format() {
    let (_dir, db) = loaded();
    sprig(&db)
        .args(["cypher", "MATCH (p:Person)-[k:KNOWS]->(f) WHERE p.name = 'Ada' RETURN f.name AS friend, k.since ORDER BY friend"])
        .args(["--format", "json"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "{\"columns\":[\"friend\",\"k.since\"],\"rows\":[[\"Alan\",2015],[\"Grace\",2018]],\"stats\":{\"elapsed_ms\":",
        ));
    sprig(&db)
        .args(["cypher", "MATCH (p:Engineer) RETURN p, 1.0 AS f", "--format", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "[{\"age\":29,\"id\":\"barbara\",\"name\":\"Barbara\",\"~id\":4,\"~labels\":[\"Engineer\",\"Person\"],\"~type\":\"node\"},1.0]",
        ));
    sprig(&db)
        .args(["cypher", "MATCH (:Person {name: 'Grace'})-[w:WORKS_AT]->(c) RETURN w, c.name", "--format", "jsonl"])
        .assert()
        .success()
        .stdout("{\"c.name\":\"Initech\",\"w\":{\"since\":2010,\"~end\":7,\"~id\":9,\"~rel\":\"WORKS_AT\",\"~start\":2,\"~type\":\"relationship\"}}\n");
    sprig(&db)
        .args([
            "cypher",
            "MATCH (c:City)<-[:LIVES_IN]-(p) RETURN c.name AS city, collect(p.name) AS people ORDER BY city",
        ])
        .args(["--format", "csv"])
        .assert()
        .success()
        .stdout("city,people\nLondon,\"[\"\"Ada\"\", \"\"Alan\"\"]\"\nParis,\"[\"\"Grace\"\", \"\"Edsger\"\"]\"\n");
    sprig(&db)
        .args(["cypher", "MATCH p = (:Person {name: 'Edsger'})-[:KNOWS]->() RETURN p"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "(:Person {age: 72, id: \"edsger\", name: \"Edsger\"})-[:KNOWS {since: 1990, weight: 0.6}]->",
        ))
        .stdout(predicate::str::contains("1 row, "));
    sprig(&db).args(["graphs", "--format", "csv"]).assert().success().stdout("graph\ndefault\n");
}

#[test]
fn parameters_and_shortest_paths() {
    let (_dir, db) = loaded();
    sprig(&db)
        .args(["cypher", "MATCH (a {name: $from}), (b {name: $to}) MATCH p = shortestPath((a)-[:KNOWS*]->(b)) RETURN length(p) AS hops"])
        .args(["--param", "from=\"Barbara\"", "--param", "to=\"Donald\"", "--format", "csv"])
        .assert()
        .success()
        .stdout("hops\n4\n");
}

#[test]
fn explain_and_profile_show_operators() {
    let (_dir, db) = loaded();
    sprig(&db)
        .args(["cypher", "CREATE INDEX person_name FOR (p:Person) ON (p.name)"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 indexes added"));
    sprig(&db)
        .args(["explain", "cypher", "MATCH (p:Person {name: 'Ada'})-[:KNOWS]->(f) RETURN f.name", "--format", "json"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("\"operator\":\"NodeIndexSeek\"")
                .and(predicate::str::contains("\"index\":\"person_name\"")),
        );
    sprig(&db)
        .args([
            "profile",
            "cypher",
            "MATCH (p:Person)-[:KNOWS]->(f) WHERE p.name <> 'x' RETURN count(*)",
            "--runs",
            "3",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"operator\":\"ExpandCount\"").and(predicate::str::contains("\"rows\":6")))
        .stdout(predicate::str::contains("\"elapsed_ms\":").and(predicate::str::contains("\"first_ms\":")));
    // Without a filter on the scan, scan, expansion and count run as one operator.
    sprig(&db)
        .args(["profile", "cypher", "MATCH (p:Person)-[:KNOWS]->(f) RETURN count(*) AS n", "--format", "json"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("\"operator\":\"DegreeAggregation\"")
                .and(predicate::str::contains("\"keys\":\"\""))
                .and(predicate::str::contains("ExpandCount").not()),
        );
}

#[test]
fn bad_input_is_an_error_and_changes_nothing() {
    let (dir, db) = loaded();
    let before = counts(&db);
    assert_eq!(before, "n,r\n10,15\n");
    // A CSV line with a missing field, and an edge to an unknown node.
    let nodes = dir.path().join("n.csv");
    std::fs::write(&nodes, "id,label,name\nx,Thing,X\ny,Thing\n").unwrap();
    let edges = dir.path().join("e.csv");
    std::fs::write(&edges, "src,dst,type\n").unwrap();
    sprig(&db).args(["load", "graph", "--nodes"]).arg(&nodes).arg("--edges").arg(&edges).assert().code(1).stderr(
        predicate::str::contains("error[csv]:").and(predicate::str::contains("n.csv:3: expected 3 fields, found 2")),
    );
    std::fs::write(&nodes, "id,label,name\nx,Thing,X\n").unwrap();
    std::fs::write(&edges, "src,dst,type\nx,nobody,REL\n").unwrap();
    sprig(&db)
        .args(["load", "graph", "--nodes"])
        .arg(&nodes)
        .arg("--edges")
        .arg(&edges)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("e.csv:2: dst 'nobody' is not a node id of this load"));
    assert_eq!(counts(&db), before);
    // A broken query: kind, position and caret.
    sprig(&db)
        .args(["cypher", "MATCH (n:Person RETURN n", "--format", "json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[syntax]").and(predicate::str::contains("at line 1, column 17")))
        .stderr(predicate::str::contains("  MATCH (n:Person RETURN n\n                  ^"))
        .stdout(predicate::str::contains("\"kind\":\"syntax\"").and(predicate::str::contains("\"column\":17")));
    // A type error half-way through a write: nothing of it stays.
    sprig(&db)
        .args(["cypher", "UNWIND [1, 2, 'x'] AS v CREATE (:N {v: v * 2})"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[type]"));
    // Deleting a node that still has relationships.
    sprig(&db)
        .args(["cypher", "MATCH (n:Person {name: 'Ada'}) DELETE n"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[constraint]").and(predicate::str::contains("DETACH DELETE")));
    // An undefined variable is caught before anything runs.
    sprig(&db)
        .args(["cypher", "CREATE (a:N) RETURN b"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[semantic]: variable 'b' is not defined"));
    assert_eq!(counts(&db), before);
}

#[test]
fn load_cypher_scripts_are_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let script = dir.path().join("s.cypher");
    std::fs::write(
        &script,
        "CREATE (:A {n: 1});\n// a comment; with a semicolon\nCREATE (:A {n: 2});\nMATCH (a:A) SET a.m = a.n * 10;\n",
    )
    .unwrap();
    sprig(&db).args(["load", "cypher"]).arg(&script).assert().success().stdout(predicate::str::contains("2 nodes"));
    sprig(&db)
        .args(["cypher", "MATCH (a:A) RETURN sum(a.m) AS s", "--format", "csv"])
        .assert()
        .success()
        .stdout("s\n30\n");
    std::fs::write(&script, "CREATE (:A {n: 3});\nRETURN 1/0;\n").unwrap();
    sprig(&db)
        .args(["load", "cypher"])
        .arg(&script)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[arithmetic]"));
    sprig(&db)
        .args(["cypher", "MATCH (a:A) RETURN count(a) AS c", "--format", "csv"])
        .assert()
        .success()
        .stdout("c\n2\n");
}

#[test]
fn a_runaway_query_stops_at_its_timeout() {
    let (_dir, db) = loaded();
    let started = std::time::Instant::now();
    sprig(&db)
        .args(["cypher", "MATCH (a), (b), (c), (d), (e), (f), (g), (h) RETURN count(*)", "--timeout", "200"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("error[timeout]"));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}
