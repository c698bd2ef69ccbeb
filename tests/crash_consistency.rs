//! Crash consistency: a child `sprig` process runs a fixed sequence of writes (Cypher
//! statements, multi-statement transactions, XML loads, CSV bulk loads, registry
//! imports) and is killed with SIGKILL at a random moment; the database is reopened
//! and checked, and a new child goes on from where the database says it stopped.
//!
//! After each kill the database must:
//! - open;
//! - pass `Database::check` (every index agrees with the data);
//! - hold exactly a prefix of the sequence: each operation is wholly present or wholly
//!   absent (both halves of a transaction, every node of a document, every row of a
//!   CSV load), and no operation is present after an absent one;
//! - hold every operation the child reported done before it died (durability);
//! - keep the accounts' balances exactly as the visible transfers make them.
//!
//! `cargo test` runs a few kills; the figure in docs/RELIABILITY.md comes from
//! `SPRIG_CRASH_KILLS=100 cargo test --release --test crash_consistency -- --nocapture`.
//! `SPRIG_CRASH_SEED` repeats a run.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sprig::{CypherOptions, Database, XPathValue};

const ACCOUNTS: i64 = 10;
const START_BALANCE: i64 = 100;

/// One operation of the sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Setup,
    SetupBulk,
    Step(u64),
    Transfer(u64),
    Xml(u64),
    Bulk(u64),
    Registry(u64),
}

fn sequence(len: usize) -> Vec<Op> {
    let mut ops = vec![Op::Setup, Op::SetupBulk];
    let mut k = 1;
    while ops.len() < len {
        ops.push(Op::Step(k));
        ops.push(Op::Transfer(k));
        if k % 3 == 0 {
            ops.push(Op::Xml(k));
        }
        if k % 10 == 0 {
            ops.push(Op::Bulk(k));
        }
        if k % 4 == 0 {
            ops.push(Op::Registry(k));
        }
        k += 1;
    }
    ops
}

/// xorshift64*: the kill times, from a seed that is printed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Collections the XML loads rotate over (each load replaces one), so that the
/// database does not grow with every load.
const XML_SLOTS: u64 = 4;
const BULK_NODES: u64 = 500;
const BULK_RELS_PER_NODE: u64 = 4;

struct Fixture {
    dir: PathBuf,
    doc_nodes: u64,
}

/// A document of about a MB, so that a kill often lands inside a load; its root
/// names the operation that loaded it.
fn document(k: u64) -> String {
    let mut xml = format!("<site k=\"{k}\">");
    for i in 0..6000 {
        xml.push_str(&format!(
            "<item id=\"i{i}\"><name>item {i}</name><part><part><text>deep {i} &amp; more</text></part></part>\
             <!-- c --><price>{}</price></item>",
            i % 97
        ));
    }
    xml.push_str("</site>");
    xml
}

fn write_fixture(dir: &Path) -> Fixture {
    let probe = Database::in_memory().unwrap();
    probe.load_xml("doc", document(1).as_bytes()).unwrap();
    let doc_nodes = probe.collections().unwrap()[0].nodes;
    let mut setup = String::new();
    for a in 0..ACCOUNTS {
        setup.push_str(&format!("CREATE (:Acct {{id: {a}, balance: {START_BALANCE}}});\n"));
    }
    setup.push_str("CREATE INDEX FOR (s:Step) ON (s.k);\n");
    setup.push_str("CREATE LINDEX notes FOR (s:Step) ON EACH [s.note] OPTIONS {hops: 1};\n");
    std::fs::write(dir.join("setup.cypher"), setup).unwrap();
    std::fs::write(
        dir.join("setup_bulk.cypher"),
        "CREATE LINDEX names FOR (i:Item) ON EACH [i.name] OPTIONS {hops: 1};\n\
         CREATE INDEX FOR (i:Item) ON (i.batch);\n",
    )
    .unwrap();
    Fixture { dir: dir.to_path_buf(), doc_nodes }
}

/// The CSV files of bulk load `k`: every node and relationship carries `batch = k`.
fn write_bulk(dir: &Path, k: u64) {
    let mut nodes = String::from("id,label,name,batch\n");
    let mut edges = String::from("src,dst,type,batch\n");
    for i in 0..BULK_NODES {
        nodes.push_str(&format!("b{k}n{i},Item;Bulk,name {i} of {k},{k}\n"));
    }
    for i in 0..BULK_NODES {
        for j in 1..=BULK_RELS_PER_NODE {
            edges.push_str(&format!("b{k}n{i},b{k}n{},LINK,{k}\n", (i * 7 + j * 13) % BULK_NODES));
        }
    }
    std::fs::write(dir.join(format!("nodes{k}.csv")), nodes).unwrap();
    std::fs::write(dir.join(format!("edges{k}.csv")), edges).unwrap();
}

fn transfer(k: u64) -> (i64, i64, i64) {
    let from = (k % ACCOUNTS as u64) as i64;
    let to = ((k + 3) % ACCOUNTS as u64) as i64;
    (from, to, (k % 9 + 1) as i64)
}

/// The script lines of operation `i`, then its completion marker.
fn script_of(fx: &Fixture, i: usize, op: Op) -> String {
    let d = fx.dir.display();
    let body = match op {
        Op::Setup => format!(":load cypher {d}/setup.cypher crash;\n"),
        Op::SetupBulk => format!(":load cypher {d}/setup_bulk.cypher bulk;\n"),
        Op::Step(k) => format!(
            "USE crash MATCH (a:Acct {{id: 0}}) CREATE (a)-[:DID]->(:Step {{k: {k}, note: 'step{k} word{}'}});\n",
            k % 7
        ),
        Op::Transfer(k) => {
            let (from, to, amount) = transfer(k);
            let path = fx.dir.join(format!("transfer{k}.cypher"));
            std::fs::write(
                &path,
                format!(
                    "CREATE (:T {{k: {k}, part: 1}});\n\
                     MATCH (a:Acct {{id: {from}}}) SET a.balance = a.balance - {amount};\n\
                     MATCH (a:Acct {{id: {to}}}) SET a.balance = a.balance + {amount};\n\
                     CREATE (:T {{k: {k}, part: 2}});\n"
                ),
            )
            .unwrap();
            format!(":load cypher {} crash;\n", path.display())
        }
        Op::Xml(k) => {
            std::fs::write(fx.dir.join(format!("doc{k}.xml")), document(k)).unwrap();
            format!(":load xml {d}/doc{k}.xml doc{};\n", k % XML_SLOTS)
        }
        Op::Bulk(k) => {
            write_bulk(&fx.dir, k);
            format!(":load graph {d}/nodes{k}.csv {d}/edges{k}.csv bulk;\n")
        }
        Op::Registry(k) => format!("USE registry CREATE (:Model {{name: 'crash model {k}', sparsity: 0.5}});\n"),
    };
    format!("{body}RETURN 'done {i}' AS marker;\n")
}

fn cypher_ints(db: &Database, query: &str) -> Vec<i64> {
    let rows = db.cypher_with(query, &CypherOptions::default()).unwrap();
    let mut out = Vec::new();
    for row in rows {
        out.push(row.unwrap().get::<i64>("v").unwrap());
    }
    out
}

fn counts(values: Vec<i64>) -> BTreeMap<i64, usize> {
    let mut m = BTreeMap::new();
    for v in values {
        *m.entry(v).or_default() += 1;
    }
    m
}

/// Which operations the database holds; every violation found is pushed to `bad`.
fn visible(db: &Database, fx: &Fixture, ops: &[Op], bad: &mut Vec<String>) -> Vec<bool> {
    let graphs = db.graphs().unwrap();
    let collections: BTreeMap<String, u64> = db.collections().unwrap().into_iter().map(|c| (c.name, c.nodes)).collect();
    let has = |g: &str| graphs.iter().any(|x| x == g);
    let ints =
        |graph: &str, query: &str| if has(graph) { cypher_ints(db, &format!("USE {graph} {query}")) } else { vec![] };
    let accounts = ints("crash", "MATCH (a:Acct) RETURN a.balance AS v ORDER BY a.id");
    let steps = counts(ints("crash", "MATCH (s:Step) RETURN s.k AS v"));
    let parts = counts(ints("crash", "MATCH (t:T) RETURN t.k AS v"));
    let bulk_nodes = counts(ints("bulk", "MATCH (n:Item) RETURN n.batch AS v"));
    let bulk_rels = counts(ints("bulk", "MATCH ()-[r:LINK]->() RETURN r.batch AS v"));
    let models = counts(ints(
        "registry",
        "MATCH (m:Model) WHERE m.name STARTS WITH 'crash model ' RETURN toInteger(substring(m.name, 12)) AS v",
    ));
    // The operation that loaded each XML slot, and whether the slot is whole.
    let mut slots: BTreeMap<u64, i64> = BTreeMap::new();
    for slot in 0..XML_SLOTS {
        let name = format!("doc{slot}");
        let Some(&nodes) = collections.get(&name) else { continue };
        if nodes != fx.doc_nodes {
            bad.push(format!("collection {name} has {nodes} nodes, not {}", fx.doc_nodes));
        }
        let items = db.xpath(&name, "count(/site/item)").unwrap();
        if items != XPathValue::Number(6000.0) {
            bad.push(format!("collection {name} answers {items:?} items"));
        }
        if let XPathValue::Number(k) = db.xpath(&name, "number(/site/@k)").unwrap() {
            slots.insert(slot, k as i64);
        }
    }
    let mut seen = Vec::new();
    for op in ops {
        let v = match *op {
            Op::Setup => {
                if has("crash") && accounts.len() as i64 != ACCOUNTS {
                    bad.push(format!("setup: {} accounts", accounts.len()));
                }
                !accounts.is_empty()
            }
            Op::SetupBulk => has("bulk"),
            Op::Step(k) => {
                let n = steps.get(&(k as i64)).copied().unwrap_or(0);
                if n > 1 {
                    bad.push(format!("step {k} is there {n} times"));
                }
                n > 0
            }
            Op::Transfer(k) => {
                let n = parts.get(&(k as i64)).copied().unwrap_or(0);
                if n != 0 && n != 2 {
                    bad.push(format!("transaction {k} is there in part: {n} of 2 nodes"));
                }
                n > 0
            }
            Op::Xml(k) => slots.get(&(k % XML_SLOTS)).is_some_and(|&held| held >= k as i64),
            Op::Bulk(k) => {
                let n = bulk_nodes.get(&(k as i64)).copied().unwrap_or(0) as u64;
                let r = bulk_rels.get(&(k as i64)).copied().unwrap_or(0) as u64;
                if (n, r) != (0, 0) && (n, r) != (BULK_NODES, BULK_NODES * BULK_RELS_PER_NODE) {
                    bad.push(format!("bulk load {k} is there in part: {n} nodes, {r} relationships"));
                }
                n > 0
            }
            Op::Registry(k) => models.contains_key(&(k as i64)),
        };
        seen.push(v);
    }
    // Balances follow from the visible transfers.
    if accounts.len() as i64 == ACCOUNTS {
        let mut expect = vec![START_BALANCE; ACCOUNTS as usize];
        for (op, v) in ops.iter().zip(&seen) {
            if let (Op::Transfer(k), true) = (op, v) {
                let (from, to, amount) = transfer(*k);
                expect[from as usize] -= amount;
                expect[to as usize] += amount;
            }
        }
        if accounts != expect {
            bad.push(format!("balances {accounts:?}, the visible transfers give {expect:?}"));
        }
    }
    seen
}

fn sprig_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sprig"))
}

/// Runs the harness: `kills` children killed at random moments, each checked.
fn run(kills: usize, seed: u64) -> (usize, usize, Vec<String>, BTreeMap<&'static str, usize>) {
    let tmp = tempfile::tempdir().unwrap();
    let fx = write_fixture(tmp.path());
    let db_path = tmp.path().join("crash.db");
    let ops = sequence(40_000);
    let mut rng = Rng(seed.max(1));
    let mut violations = Vec::new();
    let mut done = 0usize;
    let mut kills_made = 0;
    // The operation each kill interrupted (the first one the database does not hold).
    let mut interrupted: BTreeMap<&'static str, usize> = BTreeMap::new();
    for round in 0..kills {
        if done >= ops.len() {
            break;
        }
        let mut script = String::new();
        // More than a child gets through before its kill.
        for (i, op) in ops.iter().enumerate().skip(done).take(600) {
            script.push_str(&script_of(&fx, i, *op));
        }
        let script_path = tmp.path().join("script.sprig");
        std::fs::write(&script_path, script).unwrap();
        let mut child = Command::new(sprig_bin())
            .arg("--db")
            .arg(&db_path)
            .arg("--empty")
            .arg("--format")
            .arg("csv")
            .arg("-f")
            .arg(&script_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Opening takes a few ms; kill anywhere in the next second and a half.
        let wait = Duration::from_millis(20 + rng.next() % 1500);
        let started = Instant::now();
        let mut exited = false;
        while started.elapsed() < wait {
            if child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if !exited {
            child.kill().unwrap();
            kills_made += 1;
        }
        child.wait().unwrap();
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let reported =
            out.lines().filter_map(|l| l.strip_prefix("done ")).filter_map(|n| n.trim().parse::<usize>().ok()).max();

        let db = match Database::open(&db_path) {
            Ok(db) => db,
            Err(e) => {
                violations.push(format!("round {round}: the database does not open: {e}"));
                break;
            }
        };
        let report = db.check().unwrap();
        for p in report.problems {
            violations.push(format!("round {round}: check: {p}"));
        }
        let mut bad = Vec::new();
        let seen = visible(&db, &fx, &ops, &mut bad);
        let prefix = seen.iter().take_while(|v| **v).count();
        if let Some(late) = seen.iter().skip(prefix).position(|v| *v) {
            bad.push(format!(
                "operation {} ({:?}) is there but {prefix} ({:?}) is not",
                prefix + late,
                ops[prefix + late],
                ops[prefix]
            ));
        }
        if let Some(r) = reported {
            if r >= prefix {
                bad.push(format!("the child reported operation {r} done, the database holds {prefix} operations"));
            }
        }
        if exited && !err.trim().is_empty() {
            bad.push(format!("the child failed on its own: {}", err.trim()));
        }
        violations.extend(bad.into_iter().map(|b| format!("round {round}: {b}")));
        eprintln!(
            "round {round}: killed after {} ms, {} operations held (reported {reported:?})",
            wait.as_millis(),
            prefix
        );
        if !exited {
            let what = match ops.get(prefix) {
                Some(Op::Setup | Op::SetupBulk) => "setup script",
                Some(Op::Step(_)) => "Cypher statement",
                Some(Op::Transfer(_)) => "transaction of 4 statements",
                Some(Op::Xml(_)) => "XML load",
                Some(Op::Bulk(_)) => "CSV bulk load",
                Some(Op::Registry(_)) => "registry write",
                None => "nothing",
            };
            *interrupted.entry(what).or_default() += 1;
        }
        done = prefix;
        drop(db);
    }
    (kills_made, done, violations, interrupted)
}

#[test]
fn killed_writers_leave_a_committed_prefix_and_agreeing_indexes() {
    let kills = std::env::var("SPRIG_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let seed = std::env::var("SPRIG_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let (made, held, violations, interrupted) = run(kills, seed);
    println!("crash consistency: seed {seed}, {made} kills, {held} operations held, {} violations", violations.len());
    println!("kills landed before or inside: {interrupted:?}");
    assert!(violations.is_empty(), "seed {seed}:\n{}", violations.join("\n"));
    assert!(made > 0, "no child was killed");
    assert!(held > 0, "no operation ever landed");
}
