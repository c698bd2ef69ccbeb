//! The CSV bulk loader: the input is a nodes file and an edges file, split at the
//! first NUL byte. A load either succeeds, and the graph then passes
//! `Database::check` and has the nodes it reported, or fails and leaves no graph.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sprig::Database;

fuzz_target!(|data: &[u8]| {
    let (nodes, edges) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"src,dst,type\n"[..]),
    };
    let db = Database::in_memory().expect("in-memory database");
    match db.load_graph_csv("g", ("nodes.csv", Box::new(nodes)), ("edges.csv", Box::new(edges)), &mut |_| {}) {
        Ok(stats) => {
            let report = db.check().expect("check runs");
            assert!(report.problems.is_empty(), "check after load: {:?}", report.problems);
            let options = sprig::CypherOptions { graph: Some("g".into()), ..Default::default() };
            let n: i64 = db
                .cypher_with("MATCH (n) RETURN count(n) AS n", &options)
                .and_then(|rows| rows.single())
                .and_then(|row| row.get("n"))
                .expect("count");
            assert_eq!(n as u64, stats.nodes);
        }
        Err(_) => {
            assert!(db.graphs().expect("graphs").iter().all(|g| g != "g"), "a failed load left a graph");
        }
    }
});
