//! Many readers beside one writer on one `Database` (a cheap `Clone + Send + Sync`
//! handle). The writer moves money between accounts in transactions; the readers sum
//! the balances while it works. A reader never sees a transaction half done, so every
//! sum is the same.
//!
//!     cargo run --example threads

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use sprig::{params, Database};

fn total(db: &Database) -> Result<i64, sprig::Error> {
    let mut rows = db.cypher("MATCH (a:Account) RETURN sum(a.balance) AS total", ())?;
    match rows.next() {
        Some(row) => row?.get("total"),
        None => Ok(0),
    }
}

fn main() -> Result<(), sprig::Error> {
    let dir = std::env::temp_dir().join(format!("sprig-threads-{}", std::process::id()));
    let db = Database::open(&dir)?;
    db.cypher("UNWIND range(0, 99) AS i CREATE (:Account {id: i, balance: 100})", ())?;
    let expected = total(&db)?;
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (db, done) = (db.clone(), done.clone());
            thread::spawn(move || -> Result<u64, sprig::Error> {
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) {
                    let seen = total(&db)?;
                    assert_eq!(seen, expected, "a reader saw a transaction half done");
                    reads += 1;
                }
                Ok(reads)
            })
        })
        .collect();

    let writer = {
        let db = db.clone();
        thread::spawn(move || -> Result<(), sprig::Error> {
            for i in 0..200i64 {
                let mut tx = db.begin_write()?;
                let (from, to) = (i % 100, (i * 7 + 3) % 100);
                tx.cypher("MATCH (a:Account {id: $id}) SET a.balance = a.balance - 5", params! {"id" => from})?;
                tx.cypher("MATCH (a:Account {id: $id}) SET a.balance = a.balance + 5", params! {"id" => to})?;
                tx.commit()?;
            }
            Ok(())
        })
    };
    writer.join().expect("the writer thread")?;
    done.store(true, Ordering::Relaxed);
    let mut reads = 0;
    for r in readers {
        reads += r.join().expect("a reader thread")?;
    }
    println!("200 transfers committed; 8 readers summed the balances {reads} times, always {expected}");
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
