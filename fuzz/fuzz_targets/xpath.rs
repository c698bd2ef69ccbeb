//! XPath parser + compiler + evaluator: any text, over fixed documents with
//! namespaces, mixed content, IDs and recursion. It must answer or fail with an
//! error, within its timeout, and never panic.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sprig::{Database, XPathOptions};

const DOCS: &[(&str, &str)] = &[
    ("books", include_str!("../../tests/conformance/xpath/docs/books.xml")),
    ("mixed", include_str!("../../tests/conformance/xpath/docs/mixed.xml")),
    ("ns", include_str!("../../tests/conformance/xpath/docs/ns.xml")),
    ("rec", include_str!("../../tests/conformance/xpath/docs/recursive-small.xml")),
];

fn db() -> &'static Database {
    static DB: OnceLock<Database> = OnceLock::new();
    DB.get_or_init(|| {
        let db = Database::in_memory().expect("in-memory database");
        for (name, text) in DOCS {
            db.load_xml(name, text.as_bytes()).expect("fixture loads");
        }
        db
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The first byte picks the document, so one corpus covers all of them.
    let (pick, expr) = match text.char_indices().nth(1) {
        Some((i, _)) => (text.as_bytes()[0] as usize % DOCS.len(), &text[i..]),
        None => (0, text),
    };
    let options = XPathOptions {
        namespaces: vec![("b".into(), "urn:books".into()), ("x".into(), "urn:x".into())],
        variables: vec![("v".into(), "3".into())],
        timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    if let Ok(value) = db().xpath_with(DOCS[pick].0, expr, &options) {
        if let sprig::XPathValue::NodeSet(nodes) = value {
            for node in nodes.iter().take(64) {
                let _ = node;
            }
        }
    }
    let _ = db().explain_xpath(DOCS[pick].0, expr, &options);
});
