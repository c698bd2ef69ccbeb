//! The malformed-input corpus (`tests/malformed/cases.jsonl`, made by
//! `tests/malformed/generate.py`): broken XML of every kind, bad CSV, bad XPath and
//! Cypher, type errors, pathological queries under a timeout or memory limit, bad
//! registry files. Each must fail with its expected error kind, without a panic, and
//! leave the database as it was (compared after every case, and `check` at the end).
//! Prints `N passed, N failed`.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use serde_json::Value;
use sprig::{CypherOptions, Database, XPathOptions};

fn text(case: &Value, field: &str) -> Option<Vec<u8>> {
    if let Some(s) = case.get(field).and_then(Value::as_str) {
        return Some(s.as_bytes().to_vec());
    }
    let hex = case.get(format!("{field}_hex"))?.as_str()?;
    Some((0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect())
}

/// Runs one case; `Ok(kind)` is the kind of the error it gave, `Err` a description
/// of anything else (success, a panic).
fn run(db: &Database, case: &Value) -> Result<String, String> {
    let target = case["target"].as_str().unwrap();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| -> sprig::Result<String> {
        match target {
            "xml" => db.load_xml("broken", &text(case, "input").unwrap()[..]).map(|s| format!("loaded {s:?}")),
            "csv" => {
                let nodes = text(case, "nodes").unwrap();
                let edges = text(case, "edges").unwrap();
                db.load_graph_csv(
                    "default",
                    ("nodes.csv", Box::new(&nodes[..])),
                    ("edges.csv", Box::new(&edges[..])),
                    &mut |_| {},
                )
                .map(|s| format!("loaded {s:?}"))
            }
            "xpath" => {
                let collection = case.get("collection").and_then(Value::as_str).unwrap_or("books");
                let options = XPathOptions { timeout: Some(Duration::from_secs(10)), ..Default::default() };
                db.xpath_with(collection, case["input"].as_str().unwrap(), &options).map(|v| format!("{v:?}"))
            }
            "cypher" => {
                let options = CypherOptions {
                    timeout: Some(Duration::from_millis(
                        case.get("timeout_ms").and_then(Value::as_u64).unwrap_or(10_000),
                    )),
                    memory_limit: case.get("memory_limit").and_then(Value::as_u64).map(|m| m as usize),
                    ..Default::default()
                };
                let rows = db.cypher_with(case["input"].as_str().unwrap(), &options)?.collect_rows()?;
                Ok(format!("{} rows", rows.columns().len()))
            }
            "registry" => {
                let format = match case["format"].as_str().unwrap() {
                    "xml" => sprig::registry::Format::Xml,
                    _ => sprig::registry::Format::Json,
                };
                db.registry_import_text(case["input"].as_str().unwrap(), format).map(|s| format!("imported {s:?}"))
            }
            other => panic!("unknown target {other}"),
        }
    }));
    match outcome {
        Ok(Ok(what)) => Err(format!("succeeded: {}", what.chars().take(120).collect::<String>())),
        Ok(Err(e)) => {
            if e.to_string().trim().is_empty() {
                return Err(format!("error of kind {} with no message", e.kind()));
            }
            Ok(e.kind().to_string())
        }
        Err(_) => Err("panicked".into()),
    }
}

/// What a case may not change: every collection with its size and string-value
/// length, every graph with its node and relationship counts, the registry's models.
fn fingerprint(db: &Database) -> String {
    let mut out = String::new();
    for c in db.collections().unwrap() {
        let len = db.xpath(&c.name, "string-length(string(/))").unwrap();
        out.push_str(&format!("{} {} {} {:?}\n", c.name, c.documents, c.nodes, len));
    }
    for g in db.graphs().unwrap() {
        let options = CypherOptions { graph: Some(g.clone()), ..Default::default() };
        let count = |q: &str| -> i64 { db.cypher_with(q, &options).unwrap().single().unwrap().get("n").unwrap() };
        let n = count("MATCH (n) RETURN count(n) AS n");
        let r = count("MATCH ()-[r]->() RETURN count(r) AS n");
        let p = count("MATCH (n) UNWIND keys(n) AS k RETURN count(k) AS n");
        out.push_str(&format!("graph {g} {n} {r} {p}\n"));
    }
    out.push_str(&format!("models {}\n", db.registry().unwrap().models.len()));
    out
}

#[test]
fn every_malformed_input_fails_cleanly_and_changes_nothing() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/malformed/cases.jsonl")).unwrap();
    let cases: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    sprig::fixtures::seed(&db).unwrap();
    let mut before = fingerprint(&db);
    let mut failures = Vec::new();
    for case in &cases {
        let id = format!("{}/{}", case["target"].as_str().unwrap(), case["id"].as_str().unwrap());
        let expect = case["expect"].as_str().unwrap();
        // A quiet hook while a case runs: a case that panics is reported below.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let started = std::time::Instant::now();
        let outcome = run(&db, case);
        std::panic::set_hook(hook);
        if started.elapsed() > Duration::from_secs(2) {
            eprintln!("{id}: {:.1} s", started.elapsed().as_secs_f64());
        }
        match outcome {
            Ok(kind) if kind == expect => {}
            Ok(kind) => failures.push(format!("{id}: expected an error of kind {expect}, got {kind}")),
            Err(what) => failures.push(format!("{id}: expected an error of kind {expect}, {what}")),
        }
        let after = fingerprint(&db);
        if after != before {
            failures.push(format!("{id}: the database changed:\n{before}---\n{after}"));
            before = after;
        }
    }
    let report = db.check().unwrap();
    failures.extend(report.problems.iter().map(|p| format!("check after the corpus: {p}")));
    let failed = failures.len();
    println!("{} passed, {failed} failed", cases.len().saturating_sub(failed));
    assert!(cases.len() >= 300, "the corpus has {} cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
