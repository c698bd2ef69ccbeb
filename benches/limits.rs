//! How soon a timeout stops a pathological query, and what memory and nesting limits
//! answer. Run: `cargo bench --bench limits` (numbers in docs/RELIABILITY.md).
//!
//! A 100 ms timeout is given to each query, which would otherwise run for minutes;
//! the figure is the elapsed time until the `timeout` error, over 5 runs each.

use std::time::{Duration, Instant};

use sprig::{CypherOptions, Database, XPathOptions};

const TIMEOUT: Duration = Duration::from_millis(100);
const RUNS: usize = 5;

/// About 1.2 M elements, 9 levels deep: `//*//*//*` over it is quadratic.
fn document() -> String {
    let mut xml = String::from("<site>");
    for a in 0..40 {
        xml.push_str(&format!("<region n='{a}'>"));
        for b in 0..30 {
            xml.push_str("<category><list>");
            for c in 0..100 {
                xml.push_str(&format!("<item id='i{a}-{b}-{c}'><name>n{c}</name><d><p><t>x</t></p></d></item>"));
            }
            xml.push_str("</list></category>");
        }
        xml.push_str("</region>");
    }
    xml.push_str("</site>");
    xml
}

fn graph(db: &Database) {
    let n = 20_000u64;
    let mut nodes = String::from("id,label,name\n");
    let mut edges = String::from("src,dst,type\n");
    for i in 0..n {
        nodes.push_str(&format!("n{i},Person,p{i}\n"));
        for j in 1..=5u64 {
            edges.push_str(&format!("n{i},n{},KNOWS\n", (i * 31 + j * 977) % n));
        }
    }
    db.load_graph_csv(
        "default",
        ("nodes.csv", Box::new(nodes.as_bytes())),
        ("edges.csv", Box::new(edges.as_bytes())),
        &mut |_| {},
    )
    .expect("graph loads");
}

fn report(what: &str, mut run: impl FnMut() -> sprig::Result<()>) {
    let mut times = Vec::new();
    let mut kinds = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let result = run();
        times.push(started.elapsed());
        kinds.push(match result {
            Ok(()) => "finished".to_string(),
            Err(e) => e.kind().to_string(),
        });
    }
    times.sort();
    kinds.dedup();
    println!(
        "| {what} | {} | {:.1} | {:.1} | {:.1} |",
        kinds.join(", "),
        times[0].as_secs_f64() * 1e3,
        times[RUNS / 2].as_secs_f64() * 1e3,
        times[RUNS - 1].as_secs_f64() * 1e3
    );
}

fn main() {
    let db = Database::in_memory().expect("database");
    let xml = document();
    db.load_xml("big", xml.as_bytes()).expect("document loads");
    graph(&db);
    let xo = XPathOptions { timeout: Some(TIMEOUT), ..Default::default() };
    let co = CypherOptions { timeout: Some(TIMEOUT), ..Default::default() };
    println!(
        "document: {} MB; graph: 20,000 nodes, 100,000 relationships; timeout 100 ms, {RUNS} runs",
        xml.len() >> 20
    );
    println!("| query | error | min ms | median ms | max ms |");
    println!("|---|---|---:|---:|---:|");
    for q in [
        "count(//*//*//*[@id])",
        "string(//*//*//*[last()])",
        "count(//*[. = //name[1]])",
        "count(//item[following::item/@id = @id])",
    ] {
        report(&format!("XPath `{q}`"), || db.xpath_with("big", q, &xo).map(|_| ()));
    }
    for q in [
        "MATCH (a)-[*]->(b) RETURN count(*)",
        "MATCH (a), (b), (c) RETURN count(*)",
        "MATCH (a), (b) RETURN a.name, b.name ORDER BY a.name DESC LIMIT 1",
        "MATCH (a:Person), (b:Person) WHERE a.name < b.name RETURN count(*)",
        "MATCH p = shortestPath((a)-[*]-(b)) RETURN count(p)",
        "RETURN reduce(s = 0, x IN range(1, 100000000) | s + x)",
        "UNWIND range(1, 1000000000) AS x RETURN count(x)",
    ] {
        report(&format!("Cypher `{q}`"), || db.cypher_with(q, &co).and_then(|r| r.collect_rows()).map(|_| ()));
    }
    let small = CypherOptions { memory_limit: Some(256 << 20), ..Default::default() };
    for q in [
        "MATCH (a), (b) RETURN a.name, b.name ORDER BY a.name",
        "MATCH (a), (b) RETURN collect(a.name + b.name)",
        "RETURN size(range(1, 100000000000))",
    ] {
        report(&format!("Cypher `{q}`, 256 MiB limit"), || {
            db.cypher_with(q, &small).and_then(|r| r.collect_rows()).map(|_| ())
        });
    }
    let deep_x = "(".repeat(100_000) + "1" + &")".repeat(100_000);
    report("XPath with 100,000 nested parentheses", || db.xpath("big", &deep_x).map(|_| ()));
    let deep_c = format!("RETURN {}1{}", "[".repeat(100_000), "]".repeat(100_000));
    report("Cypher with 100,000 nested lists", || db.cypher(&deep_c, ()).map(|_| ()));
    let deep_doc = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
    report("XML nested 100,000 deep", || db.load_xml("deep", deep_doc.as_bytes()).map(|_| ()));
}
