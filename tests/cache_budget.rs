//! One read-cache budget for the whole database (`OpenOptions::cache_mb`): queries
//! give the same answers under a budget far smaller than the data, the cache stays
//! within it by evicting, and PROFILE reports what the cache did.

use std::fmt::Write as _;

use sprig::{CypherOptions, Database, OpenOptions, XPathOptions};

/// A graph whose decoded chunks take several MiB: 20,000 people with a bio each,
/// 100,000 KNOWS relationships with a weight.
fn graph_csv() -> (String, String) {
    let mut nodes = String::from("id,label,name,age,bio\n");
    for i in 0..20_000u64 {
        let bio = "lorem ipsum dolor sit amet ".repeat(1 + (i % 7) as usize);
        writeln!(nodes, "p{i},Person,person{i},{},{bio}", 18 + i % 60).unwrap();
    }
    let mut edges = String::from("src,dst,type,weight\n");
    let mut x = 12345u64;
    for i in 0..100_000u64 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        writeln!(edges, "p{},p{},KNOWS,{}", i % 20_000, (x >> 33) % 20_000, (x >> 20) % 100).unwrap();
    }
    (nodes, edges)
}

fn xml_doc() -> String {
    let mut doc = String::from("<site>");
    for i in 0..30_000 {
        write!(doc, "<item id='i{i}'><name>item {i}</name><price>{}</price></item>", i % 97).unwrap();
    }
    doc.push_str("</site>");
    doc
}

const QUERIES: [&str; 4] = [
    "MATCH (p:Person) WHERE p.age < 20 RETURN count(p) AS c",
    "MATCH (p:Person)-[k:KNOWS]->(f:Person) WHERE k.weight > 90 RETURN count(*) AS c",
    "MATCH (p:Person)-[:KNOWS]->(f)-[:KNOWS]->(g) WHERE p.name = 'person7' RETURN count(g) AS c",
    "MATCH (p:Person) RETURN p.age AS age, count(*) AS c ORDER BY age LIMIT 3",
];
const XPATHS: [&str; 2] = ["sum(//item[price > 50]/price)", "string(//item[@id='i29999']/name)"];

fn answers(db: &Database) -> Vec<String> {
    let mut out = Vec::new();
    for q in QUERIES {
        let rows: Vec<String> = db.cypher(q, ()).unwrap().map(|r| format!("{:?}", r.unwrap())).collect();
        out.push(rows.join(";"));
    }
    for x in XPATHS {
        out.push(format!("{:?}", db.xpath("shop", x).unwrap()));
    }
    out
}

#[test]
fn a_small_budget_gives_the_same_answers_and_stays_within_it() {
    let dir = tempfile::tempdir().unwrap();
    let (nodes, edges) = graph_csv();
    {
        let db = Database::open(dir.path()).unwrap();
        db.load_graph_csv("default", ("n", Box::new(nodes.as_bytes())), ("e", Box::new(edges.as_bytes())), &mut |_| {})
            .unwrap();
        db.load_xml("shop", xml_doc().as_bytes()).unwrap();
    }
    let roomy = {
        let db = Database::open(dir.path()).unwrap();
        let a = answers(&db);
        let stats = db.cache_stats();
        assert_eq!(stats.evictions(), 0, "the default budget holds this data: {stats:?}");
        assert!(stats.bytes > 2 * 1024 * 1024, "the data decodes to more than the small budget: {stats:?}");
        a
    };
    let db = Database::open_with(dir.path(), &OpenOptions { cache_mb: Some(1) }).unwrap();
    // Twice: the second round reads what the first evicted.
    assert_eq!(answers(&db), roomy);
    assert_eq!(answers(&db), roomy);
    let stats = db.cache_stats();
    assert_eq!(stats.capacity, 1024 * 1024);
    assert!(stats.evictions() > 0, "{stats:?}");
    assert!(stats.hits() > 0, "{stats:?}");
    // Within the budget, give or take the one entry that may exceed what is left.
    assert!(stats.bytes <= stats.capacity + 512 * 1024, "{stats:?}");
}

#[test]
fn profile_reports_the_cache_of_the_run() {
    let db = Database::in_memory().unwrap();
    db.cypher("UNWIND range(1, 3000) AS i CREATE (:Person {age: i})", ()).unwrap().for_each(drop);
    db.load_xml("shop", xml_doc().as_bytes()).unwrap();
    let q = "MATCH (p:Person) WHERE p.age > 10 RETURN count(p)";
    let profiled = db.profile_cypher(q, &CypherOptions::default(), 2).unwrap();
    let cache = profiled.cache.unwrap();
    // Warm after the timed runs: every chunk the scan reads is a hit.
    assert!(cache.hits() >= 3, "{cache:?}");
    assert_eq!(cache.misses(), 0, "{cache:?}");
    assert!(cache.spaces.iter().all(|s| s.space.name().starts_with("graph_")), "{cache:?}");
    let profiled = db.profile_xpath("shop", "count(//item[price > 50])", &XPathOptions::default(), 1).unwrap();
    let cache = profiled.cache.unwrap();
    assert!(cache.hits() + cache.misses() > 0, "{cache:?}");
    assert!(cache.spaces.iter().all(|s| s.space.name().starts_with("xml_")), "{cache:?}");
}
