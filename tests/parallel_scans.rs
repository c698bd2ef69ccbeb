//! Scans shared between two threads (`exec/parallel.rs`) give what one thread gives.
//!
//! A label of 90,000 nodes spans 88 chunks, enough for `NodeByLabelScan`,
//! `DegreeAggregation` and `ColumnAggregation` to hand half of them to a second
//! thread. Inside a write transaction that has changed the graph there is no second
//! view of it, so the same statement runs on one thread: each query is run both
//! ways, and also in a form the planner cannot run chunk-at-a-time. Aggregations
//! over a pipeline (scan, expansions, filters) split the pipeline in two
//! (`SplitPipeline`) the same way.

use std::fmt::Write as _;

use sprig::{Database, ResultValue};

const PEOPLE: u64 = 90_000;

fn graph_csv() -> (String, String) {
    let mut nodes = String::from("id,label,name,age,score,tag\n");
    for i in 0..PEOPLE {
        // `score` is an integer, a float or a string by turns; `tag` repeats.
        let score = match i % 7 {
            0 => format!("{}.5", i % 101),
            1 => "high".to_string(),
            _ => (i % 101).to_string(),
        };
        writeln!(nodes, "p{i},Person,n{},{},{score},t{}", i % 40_000, 18 + i % 63, i % 29).unwrap();
    }
    writeln!(nodes, "c0,City,Springfield,,,").unwrap();
    let mut edges = String::from("src,dst,type,since\n");
    let mut x = 99u64;
    for i in 0..PEOPLE {
        for _ in 0..(i % 4) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            writeln!(edges, "p{i},p{},KNOWS,{}", (x >> 33) % PEOPLE, 2000 + (x >> 20) % 25).unwrap();
        }
        if i % 3 == 0 {
            writeln!(edges, "p{i},c0,LIVES_IN,").unwrap();
        }
    }
    (nodes, edges)
}

fn rows(result: sprig::Result<sprig::Rows>) -> Vec<String> {
    let rows = result.unwrap();
    let columns = rows.columns().to_vec();
    rows.map(|r| {
        let r = r.unwrap();
        columns.iter().map(|c| format!("{:?}", r.get::<ResultValue>(c).unwrap())).collect::<Vec<_>>().join("|")
    })
    .collect()
}

/// (query, the same question in a form that reads row by row).
const QUERIES: [(&str, &str); 18] = [
    (
        "MATCH (p:Person) WHERE p.age < 20 RETURN count(p) AS c",
        "MATCH (p:Person) WITH p, p.age AS a WHERE a < 20 RETURN count(p) AS c",
    ),
    (
        "MATCH (p:Person {name: 'n39999'}) RETURN p.age AS a ORDER BY a",
        "MATCH (p:Person) WITH p, p.name AS n WHERE n = 'n39999' RETURN p.age AS a ORDER BY a",
    ),
    (
        "MATCH (p:Person) WHERE p.name CONTAINS '777' RETURN p.name AS n ORDER BY n",
        "MATCH (p:Person) WITH p.name AS n WHERE n CONTAINS '777' RETURN n ORDER BY n",
    ),
    (
        "MATCH (p:Person) WHERE p.score > 99 RETURN p.name AS n, p.score AS s",
        "MATCH (p:Person) WITH p, p.score AS s WHERE s > 99 RETURN p.name AS n, s",
    ),
    (
        "MATCH (p:Person) WHERE p.age > 79 RETURN p.name AS n ORDER BY p.age DESC, n SKIP 5 LIMIT 7",
        "MATCH (p:Person) WITH p, p.age AS a WHERE a > 79 RETURN p.name AS n ORDER BY a DESC, n SKIP 5 LIMIT 7",
    ),
    (
        "MATCH (p:Person) WHERE p.age = 40 RETURN p.name AS n LIMIT 3",
        "MATCH (p:Person) WITH p, p.age AS a WHERE a = 40 RETURN p.name AS n LIMIT 3",
    ),
    (
        "MATCH (p:Person)-[:KNOWS]->(:Person) RETURN p.tag AS t, count(*) AS d",
        "MATCH (p:Person)-[:KNOWS]->(f:Person) WITH p.tag AS t, f RETURN t, count(*) AS d",
    ),
    (
        "MATCH (p:Person)<-[:KNOWS]-(:Person) RETURN p.name AS n, count(*) AS d ORDER BY d DESC, n LIMIT 5",
        "MATCH (p:Person)<-[:KNOWS]-(f:Person) WITH p.name AS n, f RETURN n, count(*) AS d ORDER BY d DESC, n LIMIT 5",
    ),
    (
        "MATCH (a:Person)-[k:KNOWS]->(b:Person) WHERE k.since >= 2020 RETURN count(k) AS c",
        "MATCH (a:Person)-[k:KNOWS]->(b:Person) WITH k, k.since AS s WHERE s >= 2020 RETURN count(k) AS c",
    ),
    (
        "MATCH (p:Person) RETURN count(*) AS c, min(p.age) AS lo, max(p.age) AS hi, avg(p.age) AS m, sum(p.age) AS s",
        "MATCH (p:Person) WITH p.age AS a RETURN count(*) AS c, min(a) AS lo, max(a) AS hi, avg(a) AS m, sum(a) AS s",
    ),
    (
        "MATCH (p:Person) RETURN min(p.score) AS lo, max(p.score) AS hi, count(p.score) AS c",
        "MATCH (p:Person) WITH p.score AS s RETURN min(s) AS lo, max(s) AS hi, count(s) AS c",
    ),
    (
        "MATCH (p:Person)-[:LIVES_IN]->(c:City) WHERE p.age < 19 RETURN DISTINCT c.name AS n",
        "MATCH (p:Person)-[:LIVES_IN]->(c:City) WITH p, c, p.age AS a WHERE a < 19 RETURN DISTINCT c.name AS n",
    ),
    // Aggregations over a whole pipeline (scan, expansions, filters) split in two:
    // groups in the order one thread sees them, and every mergeable aggregate.
    (
        "MATCH (p:Person)-[:KNOWS]->(f:Person) WHERE p.age < 30 \
         RETURN f.tag AS t, count(*) AS c, count(DISTINCT p) AS d, sum(f.age) AS s, min(f.score) AS lo, max(f.name) AS hi",
        "MATCH (p:Person)-[:KNOWS]->(f:Person) WITH p, f, p.age AS a WHERE a < 30 \
         RETURN f.tag AS t, count(*) AS c, count(DISTINCT p) AS d, sum(f.age) AS s, min(f.score) AS lo, max(f.name) AS hi",
    ),
    (
        "MATCH (a:Person)-[:KNOWS]->(b:Person)-[:LIVES_IN]->(c:City) \
         RETURN count(*) AS n, count(DISTINCT b) AS d, avg(a.age) AS m, sum(b.age) AS s",
        "MATCH (a:Person)-[:KNOWS]->(b:Person) WITH a, b MATCH (b)-[:LIVES_IN]->(c:City) WITH a, b, c \
         RETURN count(*) AS n, count(DISTINCT b) AS d, avg(a.age) AS m, sum(b.age) AS s",
    ),
    (
        "MATCH (a:Person)-[:KNOWS]->(b:Person)-[:KNOWS]->(a) RETURN a.tag AS t, count(*) AS c",
        "MATCH (a:Person)-[r:KNOWS]->(b:Person) WITH a, b, r MATCH (b)-[s:KNOWS]->(x) WHERE x = a AND s <> r \
         RETURN a.tag AS t, count(*) AS c",
    ),
    // Sorts and a DISTINCT below a sort split their pipelines too; ties keep the
    // order one thread gives.
    (
        "MATCH (p:Person)-[:KNOWS]->(f:Person) WHERE p.age > 75 RETURN p.name AS n, f.age AS a ORDER BY a, n",
        "MATCH (p:Person)-[:KNOWS]->(f:Person) WITH p, f, p.age AS x WHERE x > 75 RETURN p.name AS n, f.age AS a ORDER BY a, n",
    ),
    (
        "MATCH (p:Person)-[:KNOWS]->(f:Person) RETURN f.tag AS t, p.name AS n ORDER BY t DESC, n LIMIT 40",
        "MATCH (p:Person)-[:KNOWS]->(f:Person) WITH p, f, f.tag AS t RETURN t, p.name AS n ORDER BY t DESC, n LIMIT 40",
    ),
    (
        "MATCH (p:Person)-[:KNOWS]->(f:Person) WHERE f.age < 30 RETURN DISTINCT p.name AS n, f.tag AS t ORDER BY n, t",
        "MATCH (p:Person)-[:KNOWS]->(f:Person) WITH p, f, f.age AS a WHERE a < 30 \
         RETURN DISTINCT p.name AS n, f.tag AS t ORDER BY n, t",
    ),
];

/// Sorts with many ties: rows that tie keep the order one thread gives them (the
/// first half's before the second's), which a row-by-row plan need not share.
const TIES: [&str; 2] = [
    "MATCH (p:Person)-[:KNOWS]->(f:Person) WHERE p.age > 70 RETURN p.name AS n, f.tag AS t ORDER BY t",
    "MATCH (p:Person)-[:KNOWS]->(f:Person) RETURN p.name AS n, f.tag AS t ORDER BY t DESC LIMIT 100",
];

#[test]
fn scans_on_two_threads_agree_with_one_thread_and_with_row_by_row_plans() {
    let db = Database::in_memory().unwrap();
    let (nodes, edges) = graph_csv();
    db.load_graph_csv("default", ("n", Box::new(nodes.as_bytes())), ("e", Box::new(edges.as_bytes())), &mut |_| {})
        .unwrap();
    let mut tx = db.begin_write().unwrap();
    // A change the queries do not see, after which the transaction scans on one thread.
    tx.cypher("CREATE (:Elsewhere {age: 1})", ()).unwrap();
    for (query, by_rows) in QUERIES {
        let shared = rows(db.cypher(query, ()));
        assert!(!shared.is_empty(), "{query}");
        assert_eq!(shared, rows(tx.cypher(query, ())), "one thread: {query}");
        let mut slow = rows(db.cypher(by_rows, ()));
        let mut fast = shared.clone();
        if !query.contains("ORDER BY") {
            slow.sort();
            fast.sort();
        }
        assert_eq!(fast, slow, "row by row: {query}");
    }
    for query in TIES {
        let shared = rows(db.cypher(query, ()));
        assert!(shared.len() >= 100, "{query}");
        assert_eq!(shared, rows(tx.cypher(query, ())), "one thread: {query}");
    }
    tx.rollback();
}
