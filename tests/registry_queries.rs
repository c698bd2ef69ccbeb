//! The queries of docs/registry.md, each run against the seeded registry and checked
//! against the `expected` block that follows it in the document.

use sprig::{Database, ResultValue, XPathValue};

fn cell(v: &ResultValue) -> String {
    match v {
        ResultValue::Null => "null".into(),
        ResultValue::Bool(b) => b.to_string(),
        ResultValue::Int(i) => i.to_string(),
        ResultValue::Float(f) => f.to_string(),
        ResultValue::String(s) => s.clone(),
        ResultValue::List(items) => format!("[{}]", items.iter().map(cell).collect::<Vec<_>>().join(", ")),
        other => format!("{other:?}"),
    }
}

fn run(db: &Database, lang: &str, query: &str) -> Result<Vec<String>, String> {
    if lang == "cypher" {
        let rows = db.cypher(query, ()).map_err(|e| format!("error[{}]: {e}", e.kind()))?;
        let mut out = Vec::new();
        for row in rows {
            let row = row.map_err(|e| e.to_string())?;
            out.push(row.values().iter().map(cell).collect::<Vec<_>>().join(" | "));
        }
        Ok(out)
    } else {
        match db.xpath("registry", query).map_err(|e| format!("error[{}]: {e}", e.kind()))? {
            XPathValue::NodeSet(nodes) => {
                nodes.iter().map(|n| n.map(|n| n.string).map_err(|e| e.to_string())).collect()
            }
            XPathValue::Number(n) => Ok(vec![n.to_string()]),
            XPathValue::String(s) => Ok(vec![s]),
            XPathValue::Boolean(b) => Ok(vec![b.to_string()]),
        }
    }
}

/// (line, language, query, expected rows) for each query block of the document.
fn cases(doc: &str) -> Vec<(usize, String, String, Vec<String>)> {
    let mut blocks: Vec<(usize, String, String)> = Vec::new();
    let mut current: Option<(usize, String, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(lang)) => current = Some((i + 1, lang.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some((_, _, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    let mut res = Vec::new();
    for pair in blocks.windows(2) {
        let [(line, lang, query), (_, next, expected)] = pair else { continue };
        if (lang == "cypher" || lang == "xpath") && next == "expected" {
            let expected = expected.lines().map(str::to_string).collect();
            res.push((*line, lang.clone(), query.trim().to_string(), expected));
        }
    }
    res
}

#[test]
fn documented_registry_queries_give_their_documented_answers() {
    let doc = include_str!("../docs/registry.md");
    let db = Database::in_memory().expect("database");
    sprig::fixtures::seed(&db).expect("seed");
    let cases = cases(doc);
    let (mut passed, mut failed) = (0, 0);
    for (line, lang, query, expected) in &cases {
        match run(&db, lang, query) {
            Ok(rows) if rows == *expected => passed += 1,
            other => {
                failed += 1;
                eprintln!("docs/registry.md:{line}: {lang} query\n{query}\nexpected {expected:#?}\ngot {other:#?}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    assert!(cases.len() >= 12, "the document lost its queries: {} found", cases.len());
    assert_eq!(failed, 0);
}
