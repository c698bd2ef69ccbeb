//! XML ingest: any bytes as a document. A load either succeeds, and then the
//! collection passes `Database::check` and answers queries, or fails and leaves no
//! collection behind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sprig::Database;

fuzz_target!(|data: &[u8]| {
    let db = Database::in_memory().expect("in-memory database");
    match db.load_xml("doc", data) {
        Ok(stats) => {
            let report = db.check().expect("check runs");
            assert!(report.problems.is_empty(), "check after load: {:?}", report.problems);
            let count = db.xpath("doc", "count(//node() | //@*)").expect("count");
            let _ = (count, stats);
            let _ = db.xpath("doc", "string(/)");
        }
        Err(_) => {
            assert!(db.collections().expect("collections").is_empty(), "a failed load left a collection");
        }
    }
});
