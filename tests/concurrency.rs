//! Concurrency: 8 reader threads and 1 writer on one `Database` for a fixed time.
//!
//! The writer moves money between accounts, each transfer two `SET` statements in one
//! transaction (between them the sum is off), and now and then replaces an XML
//! collection whose every item carries the load's version. Readers check what a torn
//! read would break: the balances always sum to the same total over the same number
//! of accounts (summed by Cypher, and summed again row by row from a streaming
//! result), and a collection always holds one load's items, all of one version.
//! A second process opening the same database is refused as locked.
//!
//! `cargo test` runs 3 seconds; `SPRIG_CONCURRENCY_SECS=60 cargo test --release
//! --test concurrency -- --nocapture` gives the figure in docs/RELIABILITY.md.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sprig::{Database, XPathValue};

const ACCOUNTS: i64 = 100;
const START: i64 = 1000;
const ITEMS: usize = 500;

fn document(version: u64) -> String {
    let mut xml = format!("<bank version=\"{version}\">");
    for i in 0..ITEMS {
        xml.push_str(&format!("<item v=\"{version}\" n=\"{i}\"/>"));
    }
    xml.push_str("</bank>");
    xml
}

#[test]
fn readers_never_see_a_partial_transaction() {
    let secs = std::env::var("SPRIG_CONCURRENCY_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(3u64);
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    db.cypher(&format!("UNWIND range(0, {}) AS i CREATE (:Acct {{id: i, balance: {START}}})", ACCOUNTS - 1), ())
        .unwrap();
    db.cypher("CREATE INDEX FOR (a:Acct) ON (a.id)", ()).unwrap();
    db.load_xml("bank", document(0).as_bytes()).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let xml_reads = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for r in 0..8 {
        let (db, stop, reads, xml_reads) = (db.clone(), stop.clone(), reads.clone(), xml_reads.clone());
        readers.push(std::thread::spawn(move || -> Result<(), String> {
            while !stop.load(Ordering::Relaxed) {
                if r % 4 == 3 {
                    // XML: one load's items, all of its version.
                    let count = db.xpath("bank", "count(/bank/item)").map_err(|e| e.to_string())?;
                    let mixed =
                        db.xpath("bank", "count(/bank/item[@v != /bank/@version])").map_err(|e| e.to_string())?;
                    if count != XPathValue::Number(ITEMS as f64) || mixed != XPathValue::Number(0.0) {
                        return Err(format!("a torn collection: {count:?} items, {mixed:?} of another version"));
                    }
                    xml_reads.fetch_add(1, Ordering::Relaxed);
                } else if r % 2 == 0 {
                    let row = db
                        .cypher("MATCH (a:Acct) RETURN sum(a.balance) AS s, count(a) AS n", ())
                        .and_then(|rows| rows.single())
                        .map_err(|e| e.to_string())?;
                    let (s, n): (i64, i64) = (row.get("s").unwrap(), row.get("n").unwrap());
                    if s != ACCOUNTS * START || n != ACCOUNTS {
                        return Err(format!("a torn read: sum {s} over {n} accounts"));
                    }
                } else {
                    // Streaming rows: the sum of one pass over the accounts.
                    let rows = db.cypher("MATCH (a:Acct) RETURN a.balance AS b", ()).map_err(|e| e.to_string())?;
                    let mut sum = 0i64;
                    let mut n = 0i64;
                    for row in rows {
                        sum += row.map_err(|e| e.to_string())?.get::<i64>("b").unwrap();
                        n += 1;
                    }
                    if sum != ACCOUNTS * START || n != ACCOUNTS {
                        return Err(format!("a torn streaming read: sum {sum} over {n} accounts"));
                    }
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }));
    }

    let started = Instant::now();
    let mut transfers = 0u64;
    let mut loads = 0u64;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    while started.elapsed() < Duration::from_secs(secs) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let from = (rng % ACCOUNTS as u64) as i64;
        let to = ((rng >> 20) % ACCOUNTS as u64) as i64;
        let amount = (rng >> 40) % 50;
        let mut tx = db.begin_write().unwrap();
        tx.cypher(&format!("MATCH (a:Acct {{id: {from}}}) SET a.balance = a.balance - {amount}"), ()).unwrap();
        tx.cypher(&format!("MATCH (a:Acct {{id: {to}}}) SET a.balance = a.balance + {amount}"), ()).unwrap();
        tx.commit().unwrap();
        transfers += 1;
        if transfers % 25 == 0 {
            loads += 1;
            db.load_xml("bank", document(loads).as_bytes()).unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap().unwrap();
    }
    let total: i64 =
        db.cypher("MATCH (a:Acct) RETURN sum(a.balance) AS s", ()).unwrap().single().unwrap().get("s").unwrap();
    assert_eq!(total, ACCOUNTS * START);
    assert!(db.check().unwrap().is_ok());
    println!(
        "concurrency: {secs} s, {transfers} transfers, {loads} XML loads, {} Cypher reads and {} XPath reads, 0 torn",
        reads.load(Ordering::Relaxed) - xml_reads.load(Ordering::Relaxed),
        xml_reads.load(Ordering::Relaxed)
    );
    assert!(transfers > 0 && reads.load(Ordering::Relaxed) > 0 && xml_reads.load(Ordering::Relaxed) > 0);

    // A second process is refused while this one holds the database.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sprig"))
        .arg("--db")
        .arg(dir.path().join("db"))
        .arg("collections")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("locked by another process"), "{stderr}");
}
