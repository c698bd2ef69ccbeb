//! Cypher parser + planner + executor: any text, planned and run inside a write
//! transaction over the sample graph, then rolled back, so every input sees the same
//! graph. It must answer or fail with an error, within its timeout, and never panic.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sprig::{CypherOptions, Database};

fn db() -> &'static Database {
    static DB: OnceLock<Database> = OnceLock::new();
    DB.get_or_init(|| {
        let db = Database::in_memory().expect("in-memory database");
        sprig::fixtures::seed(&db).expect("fixtures load");
        db.cypher("CREATE INDEX FOR (p:Person) ON (p.name)", ()).expect("index");
        db
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    let options = CypherOptions {
        timeout: Some(Duration::from_millis(200)),
        params: sprig::params!("x" => 1i64, "s" => "Alice"),
        ..Default::default()
    };
    let _ = db().explain_cypher(query, &options);
    let Ok(mut tx) = db().begin_write() else { return };
    if let Ok(rows) = tx.cypher_with(query, &options) {
        for row in rows.take(1000) {
            if row.is_err() {
                break;
            }
        }
    }
    tx.rollback();
});
