//! Differential test of the Cypher planner's shortcuts (column aggregation, degree
//! aggregation, relationship column tests, into-checks, counts through expansions,
//! remembered node groups): random graphs, and for each query template the plan
//! the rules rewrite and the same query split by `WITH`, which no rule crosses.
//! Both must give the same rows (compared as bags: group order is free).

mod common;

use common::sorted_rows;
use proptest::prelude::*;
use sprig::{params, Database};

/// The rows of a query as sorted text, or the error kind when it fails.
fn bag(db: &Database, q: &str) -> Result<Vec<String>, String> {
    sorted_rows(db.cypher(q, ()))
}

/// Each pair: the query as written, and the same query with a `WITH` in the way.
const PAIRS: &[(&str, &str)] = &[
    (
        "MATCH (n:L) RETURN count(*), count(n.p), min(n.p), max(n.p), sum(n.i), avg(n.i), count(n)",
        "MATCH (n:L) WITH n RETURN count(*), count(n.p), min(n.p), max(n.p), sum(n.i), avg(n.i), count(n)",
    ),
    ("MATCH (n) RETURN min(n.i), max(n.i), count(n.w)", "MATCH (n) WITH n RETURN min(n.i), max(n.i), count(n.w)"),
    (
        "MATCH (a:L)-[:T]->(b:M) RETURN a.p, count(*)",
        "MATCH (a:L)-[r]->(b) WITH a, b, r WHERE type(r) = 'T' AND b:M RETURN a.p, count(*)",
    ),
    (
        "MATCH (a:M)<-[:T|U]-(b) RETURN a.i % 3, count(*)",
        "MATCH (a:M)<-[r]-(b) WITH a, r WHERE type(r) IN ['T', 'U'] RETURN a.i % 3, count(*)",
    ),
    (
        "MATCH (a:L)-[r:T]->(b) WHERE r.w > 2 RETURN count(r)",
        "MATCH (a:L)-[r:T]->(b) WITH r WHERE r.w > 2 RETURN count(r)",
    ),
    (
        "MATCH (a)-[r:U]->(b:L) WHERE r.w <= 1.5 AND r.w <> 1 RETURN a.p, count(*)",
        "MATCH (a)-[r:U]->(b:L) WITH a, r WHERE r.w <= 1.5 AND r.w <> 1 RETURN a.p, count(*)",
    ),
    (
        "MATCH (a)-[:T]->(b)-[:T|U]->(c)-[:T]->(a) RETURN count(*)",
        // Relationship isomorphism across the split: the third relationship must
        // differ from the first two, as it must within one MATCH.
        "MATCH (a)-[r1:T]->(b)-[r2:T|U]->(c) WITH a, b, c, r1, r2 MATCH (c)-[r3:T]->(a)
         WHERE r3 <> r1 AND r3 <> r2 RETURN count(*)",
    ),
    (
        "MATCH (a:L)-[:T]->(b)-[:T]->(a) WHERE a.i < b.i RETURN count(*)",
        "MATCH (a:L)-[r1:T]->(b) WITH a, b, r1 WHERE a.i < b.i MATCH (b)-[r2:T]->(a) WHERE r2 <> r1 RETURN count(*)",
    ),
    (
        "MATCH (a)-[:T]->(c)<-[:T]-(b), (a)-[:U]->(b) RETURN count(*)",
        "MATCH (a)-[:T]->(c)<-[:T]-(b) WITH a, b, c MATCH (a)-[:U]->(b) RETURN count(*)",
    ),
    (
        "MATCH (a)-[:T]->(c)<-[:T]-(b), (a)-[:U]->(b) RETURN a.i % 2, count(*)",
        "MATCH (a)-[:T]->(c)<-[:T]-(b) WITH a, b, c MATCH (a)-[:U]->(b) RETURN a.i % 2, count(*)",
    ),
    (
        "MATCH (a)-[:T]->(b) RETURN b.p, count(DISTINCT a), min(a.i)",
        "MATCH (a)-[:T]->(b) WITH a, b, b.p AS p RETURN p, count(DISTINCT a), min(a.i)",
    ),
    (
        "MATCH (a:L)-[:T]->(b)-[:U]->(c) RETURN c.p, count(DISTINCT b)",
        "MATCH (a:L)-[:T]->(b)-[:U]->(c) WITH b, c.p AS p RETURN p, count(DISTINCT b)",
    ),
];

/// A graph of `nodes` nodes and `rels` relationships drawn from `seed`: labels L
/// and M on some nodes, `p` an integer, float, string or absent, relationships of
/// types T and U (self-loops and parallel relationships included) with `w` an
/// integer, float, string or absent. No float equals an integer: `4` and `4.0` are
/// one group whose key is the first value seen, which differs between plans.
fn random_graph(nodes: i64, rels: i64, seed: i64) -> Database {
    let db = Database::in_memory().unwrap();
    db.cypher("CREATE INDEX x_i FOR (x:X) ON (x.i)", ()).unwrap();
    db.cypher(
        "UNWIND range(0, $n - 1) AS i
         CREATE (x:X {i: i})
         SET x.p = CASE (i * $s + 7) % 6 WHEN 0 THEN null WHEN 1 THEN 'v' + toString(i % 5)
                   WHEN 2 THEN toFloat(i % 9) + 0.5 ELSE (i * $s) % 11 END",
        params! {"n" => nodes, "s" => seed},
    )
    .unwrap();
    db.cypher("MATCH (x:X) WHERE (x.i * $s) % 3 <> 0 SET x:L", params! {"s" => seed}).unwrap();
    db.cypher("MATCH (x:X) WHERE (x.i + $s) % 4 = 0 SET x:M", params! {"s" => seed}).unwrap();
    db.cypher(
        "UNWIND range(0, $r - 1) AS e
         MATCH (a:X {i: (e * $s + e / 3) % $n}), (b:X {i: (e * 7 + $s) % $n})
         CREATE (a)-[r:T]->(b)
         SET r.w = CASE e % 7 WHEN 0 THEN null WHEN 1 THEN 'w' WHEN 2 THEN toFloat(e % 5) / 2.0 + 0.25 ELSE e % 5 END",
        params! {"r" => rels, "s" => seed, "n" => nodes},
    )
    .unwrap();
    db.cypher(
        "MATCH (a:X)-[t:T]->(b:X) WHERE (a.i + b.i + $s) % 3 = 0
         CREATE (b)-[u:U]->(a) SET u.w = t.w",
        params! {"s" => seed},
    )
    .unwrap();
    db
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn shortcuts_agree_with_plans_that_cannot_take_them(
        nodes in 1i64..1500,
        density in 1i64..5,
        seed in 1i64..1000,
    ) {
        let db = random_graph(nodes, nodes * density, seed);
        for (fast, slow) in PAIRS {
            prop_assert_eq!(bag(&db, fast), bag(&db, slow), "{}", fast);
        }
        // Inside a transaction that changed some nodes and relationships, the
        // shortcuts read the changed chunks one entity at a time.
        let mut tx = db.begin_write().unwrap();
        tx.cypher(
            "MATCH (x:X) WHERE (x.i + $s) % 5 = 0 SET x.p = x.i % 4, x:M
             WITH x WHERE x.i % 2 = 0 REMOVE x:L",
            params! {"s" => seed},
        )
        .unwrap();
        tx.cypher("MATCH (x:X)-[r]->() WHERE (x.i * $s) % 7 = 1 DELETE r", params! {"s" => seed}).unwrap();
        tx.cypher(
            "MATCH (a:X), (b:X) WHERE a.i = ($s % $n) AND b.i % 13 = 0 CREATE (a)-[:T {w: 3}]->(b), (b)-[:U {w: 1.25}]->(a)",
            params! {"s" => seed, "n" => nodes},
        )
        .unwrap();
        for (fast, slow) in PAIRS {
            let f = sorted_rows(tx.cypher(fast, ()));
            let s = sorted_rows(tx.cypher(slow, ()));
            prop_assert_eq!(f, s, "in a transaction: {}", fast);
        }
        drop(tx);
    }
}
