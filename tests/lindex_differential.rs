//! Differential test of LIndex pruning: random graphs with random text, random
//! text-seeded patterns, each run with the LIndex (scans of candidates, expansions
//! that drop non-candidates, path pruning along expansion chains) and with
//! `CYPHER lindex=off`. Pruning may only remove work, never rows: both must give the
//! same bag of rows, on committed data, inside a write transaction that changed text,
//! labels and relationships, after its rollback and after a commit.

mod common;

use common::sorted_rows;
use proptest::prelude::*;
use sprig::{params, Database, WriteTransaction};

/// Words that contain one another, so that substring needles hit many tokens; one
/// longer than the index's token limit.
const WORDS: &[&str] = &["ab", "abc", "cab", "bca", "xyz", "zab", "a", "b", "c", "ab-c"];
const NEEDLES: &[&str] = &["ab", "abc", "b c", "ca", "zz", "x", " ", "", "cab ab", "a b", "bcab", "yz"];

fn long_word(seed: i64) -> String {
    format!("{}cab{}", "q".repeat(230), seed % 3)
}

/// `nodes` nodes, most labelled P (some Q as well), each with a text `t` of a few
/// words (or a number, or nothing) and relationships of types K and J.
fn random_graph(nodes: i64, rels: i64, seed: i64) -> Database {
    let db = Database::in_memory().unwrap();
    let words: Vec<String> = WORDS.iter().map(|w| w.to_string()).chain([long_word(seed)]).collect();
    db.cypher(
        "UNWIND range(0, $n - 1) AS i
         CREATE (x:X {i: i})
         WITH x, i, (i * $s + 11) % 13 AS k
         SET x.t = CASE WHEN k = 0 THEN null WHEN k = 1 THEN i
                   ELSE reduce(acc = '', j IN range(0, k % 4) |
                        acc + CASE WHEN j > 0 THEN ' ' ELSE '' END + $w[(i * 7 + j * $s + k) % size($w)]) END",
        params! {"n" => nodes, "s" => seed, "w" => words},
    )
    .unwrap();
    db.cypher("MATCH (x:X) WHERE (x.i * $s) % 5 <> 0 SET x:P", params! {"s" => seed}).unwrap();
    db.cypher("MATCH (x:X) WHERE (x.i + $s) % 3 = 0 SET x:Q", params! {"s" => seed}).unwrap();
    for (t, keep) in [("J", "="), ("K", "<>")] {
        db.cypher(
            &format!(
                "UNWIND range(0, $r - 1) AS e WITH e WHERE e % 3 {keep} 0
                 MATCH (a:X {{i: (e * $s + e / 3) % $n}}), (b:X {{i: (e * 7 + $s) % $n}})
                 CREATE (a)-[:{t}]->(b)"
            ),
            params! {"r" => rels, "s" => seed, "n" => nodes},
        )
        .unwrap();
    }
    db.cypher("CREATE INDEX x_i FOR (x:X) ON (x.i)", ()).unwrap();
    db.cypher("CREATE LINDEX near0 FOR (n:P) ON EACH [n.t] OPTIONS {hops: 0}", ()).unwrap();
    // Few walks per level: hubs get the marker that keeps them for long paths.
    db.cypher("CREATE LINDEX near2 FOR (n:P) ON EACH [n.t] OPTIONS {hops: 2, walks: 6}", ()).unwrap();
    db
}

/// Text-seeded patterns; `{N}` and `{M}` are replaced by needles.
const TEMPLATES: &[&str] = &[
    "MATCH (a:P) WHERE a.t CONTAINS '{N}' RETURN a.i",
    "MATCH (a:P:Q) WHERE a.t STARTS WITH '{N}' AND a.t ENDS WITH '{M}' RETURN a.i",
    "MATCH (a:P) WHERE a.t = '{N}' OR a.i = 1 RETURN a.i",
    "MATCH (a:P) WHERE a.t = '{N} {M}' RETURN a.i",
    "MATCH (a:P)-[:K]->(b:P) WHERE b.t CONTAINS '{N}' RETURN a.i, b.i",
    "MATCH (c:X)<-[:J]-(b:P)<-[:K]-(a:P) WHERE a.t STARTS WITH '{N}' AND c.i % 3 = 0 RETURN c.i, b.i, a.i",
    "MATCH (x:X {i: 2})-[:K]-(b)-[:J|K]->(c:P) WHERE c.t CONTAINS '{N}' RETURN b.i, c.i",
    "MATCH (a:X)-[:K]->(b:P)-[:K]->(c:P) WHERE a.i % 4 = 1 AND c.t CONTAINS '{N}' AND b.t CONTAINS '{M}' RETURN a.i, b.i, c.i",
    "MATCH (a:P)-[:K*1..2]->(b:P) WHERE a.t ENDS WITH '{N}' RETURN count(DISTINCT b)",
    "MATCH (a:X {i: 1})-[:K|J*0..3]-(b:P) WHERE b.t CONTAINS '{N}' RETURN b.i, count(*)",
    "MATCH (a:P)-[:K*2..3]->(b:P) WHERE a.i % 7 = 0 AND b.t STARTS WITH '{N}' RETURN a.i, b.i",
    "MATCH (a:X) WHERE a.i % 5 = 0 OPTIONAL MATCH (a)-[:K]->(b:P) WHERE b.t CONTAINS '{N}' RETURN a.i, b.i",
    "MATCH (a:X)<-[:K]-(b:X)<-[:K]-(c:P) WHERE a.i < 20 AND c.t CONTAINS '{N}' RETURN a.i, count(*)",
];

fn query(template: &str, n: &str, m: &str) -> String {
    template.replace("{N}", n).replace("{M}", m)
}

/// Runs every template with and without pruning through `run`.
fn check_all(
    mut run: impl FnMut(&str) -> Result<Vec<String>, String>,
    pick: i64,
    when: &str,
) -> Result<(), TestCaseError> {
    for (k, t) in TEMPLATES.iter().enumerate() {
        let n = NEEDLES[(pick as usize + k) % NEEDLES.len()];
        let m = NEEDLES[(pick as usize * 3 + k * 5) % NEEDLES.len()];
        let q = query(t, n, m);
        let pruned = run(&q);
        let plain = run(&format!("CYPHER lindex=off {q}"));
        // Path candidates looked up before the first target, however small the expansion.
        let eager = run(&format!("CYPHER lindex=eager {q}"));
        prop_assert!(pruned.is_ok(), "{}: {} failed: {:?}", when, q, pruned);
        prop_assert_eq!(&pruned, &plain, "{}: {}", when, q);
        prop_assert_eq!(&eager, &plain, "{} (eager): {}", when, q);
    }
    Ok(())
}

fn change_things(tx: &mut WriteTransaction, seed: i64) {
    tx.cypher(
        "MATCH (x:X) WHERE (x.i + $s) % 4 = 0 SET x.t = 'bcab ' + coalesce(toString(x.t), 'zz')",
        params! {"s" => seed},
    )
    .unwrap();
    tx.cypher("MATCH (x:X) WHERE (x.i * $s) % 7 = 2 REMOVE x:P", params! {"s" => seed}).unwrap();
    tx.cypher("MATCH (x:X) WHERE (x.i * $s) % 7 = 3 SET x:P", params! {"s" => seed}).unwrap();
    tx.cypher("MATCH (x:X)-[r]->() WHERE (x.i * $s) % 6 = 1 DELETE r", params! {"s" => seed}).unwrap();
    tx.cypher(
        "MATCH (a:X), (b:X) WHERE a.i = $s % 17 AND b.i % 11 = 0 CREATE (a)-[:K]->(b), (b)-[:J]->(a)",
        params! {"s" => seed},
    )
    .unwrap();
    tx.cypher("CREATE (:X:P {i: -1, t: 'ab cab'})-[:K]->(:X:P {i: -2, t: 'xyz'})", ()).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn pruned_plans_return_what_unpruned_plans_return(
        nodes in 1i64..400,
        density in 1i64..4,
        seed in 1i64..1000,
        pick in 0i64..100,
    ) {
        let db = random_graph(nodes, nodes * density, seed);
        check_all(|q| sorted_rows(db.cypher(q, ())), pick, "committed")?;

        let mut tx = db.begin_write().unwrap();
        change_things(&mut tx, seed);
        check_all(|q| sorted_rows(tx.cypher(q, ())), pick + 1, "inside a write transaction")?;
        tx.rollback();
        check_all(|q| sorted_rows(db.cypher(q, ())), pick + 2, "after rollback")?;

        let mut tx = db.begin_write().unwrap();
        change_things(&mut tx, seed + 1);
        tx.commit().unwrap();
        check_all(|q| sorted_rows(db.cypher(q, ())), pick + 3, "after commit")?;
    }
}

/// The pruned plans do prune: the test above compares something.
#[test]
fn explain_shows_the_lindex_operators() {
    let db = random_graph(200, 2, 7);
    let plan = |q: &str| format!("{:?}", db.explain_cypher(q, &Default::default()).unwrap().plan);
    let scan = plan("MATCH (a:P)-[:K]->(b) WHERE a.t CONTAINS 'cab' RETURN b");
    assert!(scan.contains("LIndexScan") && scan.contains("near0: "), "{scan}");
    let path = plan("MATCH (c:X {i: 3})<-[:J]-(b:P)<-[:K]-(a:P) WHERE a.t CONTAINS 'cab' RETURN a");
    assert!(path.contains("(\"hops\", Int(1))") && path.contains("near2: "), "{path}");
    let off = plan("CYPHER lindex=off MATCH (a:P)-[:K]->(b) WHERE a.t CONTAINS 'cab' RETURN b");
    assert!(!off.contains("LIndex") && !off.contains("lindex="), "{off}");
}
