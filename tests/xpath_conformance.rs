//! The XPath 1.0 conformance suite: data-driven cases from
//! `tests/conformance/xpath/public.jsonl` (or the file named by `SPRIG_XPATH_CASES`),
//! each run against its document and compared with the expected JSON result.
//! Prints `N passed, N failed` and fails when any case fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
#[path = "common/redis.rs"]
mod redis;

use sprig::{Database, XPathOptions, XPathValue};

fn collection_name(doc: &str) -> String {
    let stem = Path::new(doc).file_stem().and_then(|s| s.to_str()).unwrap_or(doc);
    stem.chars().map(|c| if c == '-' || c == '.' { '_' } else { c }).collect()
}

fn result_json(value: &XPathValue) -> Result<Json, String> {
    Ok(match value {
        XPathValue::Number(n) => serde_json::json!({"kind": "number", "value": number_json(*n)}),
        XPathValue::String(s) => serde_json::json!({"kind": "string", "value": s}),
        XPathValue::Boolean(b) => serde_json::json!({"kind": "boolean", "value": b}),
        XPathValue::NodeSet(nodes) => {
            let mut out = Vec::new();
            for n in nodes.iter() {
                let n = n.map_err(|e| e.to_string())?;
                out.push(serde_json::json!({"type": n.node_type.as_str(), "path": n.path, "name": n.name, "string": n.string}));
            }
            serde_json::json!({"kind": "nodeset", "count": out.len(), "nodes": out})
        }
    })
}

fn number_json(n: f64) -> Json {
    if n.is_nan() {
        Json::from("NaN")
    } else if n.is_infinite() {
        Json::from(if n > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        serde_json::json!(n)
    }
}

fn numbers_match(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
        _ => a == b,
    }
}

fn node_key(n: &Json) -> (String, String, String, String) {
    let f = |k: &str| n.get(k).map(|v| v.as_str().unwrap_or_default().to_string()).unwrap_or_default();
    (f("type"), f("path"), f("name"), f("string"))
}

fn compare(expected: &Json, actual: &Json) -> Result<(), String> {
    let kind = expected["kind"].as_str().unwrap_or_default();
    if actual["kind"] != expected["kind"] {
        return Err(format!("expected kind {kind}, got {actual}"));
    }
    match kind {
        "number" => {
            if numbers_match(&expected["value"], &actual["value"]) {
                Ok(())
            } else {
                Err(format!("expected {}, got {}", expected["value"], actual["value"]))
            }
        }
        "nodeset" => {
            let exp = expected["nodes"].as_array().cloned().unwrap_or_default();
            let act = actual["nodes"].as_array().cloned().unwrap_or_default();
            if exp.len() != act.len() {
                return Err(format!("expected {} nodes, got {}", exp.len(), act.len()));
            }
            // Namespace nodes have no fixed order among themselves: compare as a multiset.
            let (mut e_ns, mut a_ns) = (Vec::new(), Vec::new());
            for (i, (e, a)) in exp.iter().zip(&act).enumerate() {
                let (ek, ak) = (node_key(e), node_key(a));
                if ek.0 == "namespace" || ak.0 == "namespace" {
                    e_ns.push(ek);
                    a_ns.push(ak);
                } else if ek != ak {
                    return Err(format!("node {i}: expected {ek:?}, got {ak:?}"));
                }
            }
            e_ns.sort();
            a_ns.sort();
            if e_ns != a_ns {
                return Err(format!("namespace nodes: expected {e_ns:?}, got {a_ns:?}"));
            }
            Ok(())
        }
        _ => {
            if expected["value"] == actual["value"] {
                Ok(())
            } else {
                Err(format!("expected {}, got {}", expected["value"], actual["value"]))
            }
        }
    }
}

/// Runs every case on `db` (loading each case's document into it once) and prints
/// the failures and `N passed, N failed`; returns the numbers.
fn run_cases(db: &Database) -> (usize, usize) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/xpath");
    // The public cases, and those that differential fuzzing and hold-out checks found.
    let case_files = match std::env::var("SPRIG_XPATH_CASES") {
        Ok(f) => vec![PathBuf::from(f)],
        Err(_) => vec![root.join("public.jsonl"), root.join("found.jsonl")],
    };
    let base = case_files[0].parent().unwrap_or(&root).to_path_buf();
    let mut text = String::new();
    for f in &case_files {
        text += &std::fs::read_to_string(f).expect("read the case file");
        text.push('\n');
    }
    let mut loaded: HashMap<String, Result<(), String>> = HashMap::new();
    let (mut passed, mut failed) = (0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Json = serde_json::from_str(line).expect("a JSON case");
        let id = case["id"].as_str().unwrap_or("?").to_string();
        let doc = case["doc"].as_str().unwrap_or_default().to_string();
        let collection = collection_name(&doc);
        let load = loaded.entry(doc.clone()).or_insert_with(|| {
            let file = std::fs::File::open(base.join(&doc)).map_err(|e| e.to_string())?;
            db.load_xml(&collection, std::io::BufReader::new(file)).map(|_| ()).map_err(|e| e.to_string())
        });
        if let Err(e) = load {
            println!("FAIL {id}: cannot load {doc}: {e}");
            failed += 1;
            continue;
        }
        let map = |k: &str| -> Vec<(String, String)> {
            case.get(k)
                .and_then(|v| v.as_object())
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                .unwrap_or_default()
        };
        let options = XPathOptions { namespaces: map("ns"), variables: map("vars"), ..Default::default() };
        let xpath = case["xpath"].as_str().unwrap_or_default();
        let expected = &case["expected"];
        let outcome = match (db.xpath_with(&collection, xpath, &options), expected["kind"].as_str()) {
            (Err(_), Some("error")) => Ok(()),
            (Err(e), _) => Err(format!("error: {e}")),
            (Ok(v), Some("error")) => Err(format!("expected an error, got {:?}", result_json(&v))),
            (Ok(v), _) => result_json(&v).and_then(|a| compare(expected, &a)),
        };
        match outcome {
            Ok(()) => passed += 1,
            Err(why) => {
                failed += 1;
                println!("FAIL {id}: {xpath}\n     {why}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    (passed, failed)
}

#[test]
fn xpath_conformance() {
    let (_, failed) = run_cases(&Database::in_memory().expect("in-memory database"));
    assert_eq!(failed, 0, "{failed} XPath conformance cases failed");
}

/// The same cases with the documents on a Redis Cluster.
#[test]
fn xpath_conformance_on_a_redis_cluster() {
    if !redis::cluster_tests_run() {
        return;
    }
    let cluster = redis::Cluster::start("8000");
    let db = Database::open(format!("redis://{}/xpath", cluster.seeds)).expect("opened on the cluster");
    let (passed, failed) = run_cases(&db);
    assert_eq!(failed, 0, "{failed} XPath conformance cases failed on the cluster");
    assert_eq!((passed, failed), run_cases(&Database::in_memory().expect("in-memory database")));
}
